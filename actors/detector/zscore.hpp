#pragma once

#include "actors/detector/detector.hpp"

namespace vigil::detector {

/// Rolling z-score: how many standard deviations a value lies from the mean
/// of the last `window` values. Keeps the window as 32-bit floats (compared
/// against the value rounded the same way) with running sums that are
/// recomputed exactly once per window to stop drift.
class zscore final : public detector_kind {
public:
  zscore(zscore_options opts, uint32_t warmup);
  std::string_view name() const override { return "zscore"; }
  size_t state_size() const override;
  void init(std::byte* state) const override;
  verdict update(std::byte* state, double x,
                 int64_t ts_ms) const override;
  uint64_t layout() const override;

private:
  zscore_options opts_;
  uint32_t warmup_;
};

} // namespace vigil::detector
