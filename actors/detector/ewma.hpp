#pragma once

#include "actors/detector/detector.hpp"

namespace vigil::detector {

/// Exponentially weighted mean and variance with a k-sigma band. A value
/// outside the band moves the estimates only as far as a value at twice the
/// band edge would, so one spike does not blow the band open; a lasting
/// level shift is still absorbed within tens of samples.
class ewma final : public detector_kind {
public:
  ewma(ewma_options opts, uint32_t warmup);
  std::string_view name() const override { return "ewma"; }
  size_t state_size() const override;
  void init(std::byte* state) const override;
  verdict update(std::byte* state, double x,
                 int64_t ts_ms) const override;
  uint64_t layout() const override;

private:
  ewma_options opts_;
  uint32_t warmup_;
};

} // namespace vigil::detector
