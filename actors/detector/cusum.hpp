#pragma once

#include "actors/detector/detector.hpp"

namespace vigil::detector {

/// Two-sided CUSUM on residuals standardised by a slowly adapting reference
/// (an EWMA with a small weight). Accumulates small persistent deviations,
/// so it sees slow drifts and small level shifts the point detectors miss.
/// Each residual is clipped to 4 sigmas, so a single spike cannot trip it,
/// and the sums are capped at twice the decision interval so that it
/// recovers soon after the deviation ends.
class cusum final : public detector_kind {
public:
  cusum(cusum_options opts, uint32_t warmup);
  std::string_view name() const override { return "cusum"; }
  size_t state_size() const override;
  void init(std::byte* state) const override;
  verdict update(std::byte* state, double x,
                 int64_t ts_ms) const override;
  uint64_t layout() const override;

private:
  cusum_options opts_;
  uint32_t warmup_;
};

} // namespace vigil::detector
