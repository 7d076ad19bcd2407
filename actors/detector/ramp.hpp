#pragma once

#include "actors/detector/detector.hpp"

namespace vigil::detector {

/// The rise between the means of a series' last two spans of `span`
/// values, standardised against the history of that rise. A point detector
/// compares a value with the window it is climbing through, so it loses a
/// steady ramp once its window fills (a linear ramp settles about 1.7
/// sigma above a rolling mean, however steep); the rise between spans
/// stays as large as the slope for as long as the ramp lasts. It sees a
/// memory leak, a filling queue or disk by their slope. The rise's mean and
/// variance adapt slowly, learning only a clipped part of an outlying
/// rise, so a lasting ramp is absorbed in tens of samples rather than a few.
///
/// A drop (a restart halving memory) also makes a large rise, negative for
/// two spans, most of which the values spend climbing back. So a rise
/// counts only while the slope goes on and leads away from the usual
/// level: the newer span lies beyond a slowly learned level (which stands
/// still while the rise is out of the ordinary), the last quarter span
/// moved the rise's way, and the newest value leads the newer span.
///
/// Its score is capped at twice the threshold (0.8), as CUSUM's is: a
/// slope with one other detector agreeing is worth an incident, a slope
/// alone is not. Reports no band: a band on a slope says little about the
/// next value.
class ramp final : public detector_kind {
public:
  ramp(ramp_options opts, uint32_t warmup);
  std::string_view name() const override { return "ramp"; }
  size_t state_size() const override;
  void init(std::byte* state) const override;
  verdict update(std::byte* state, double x,
                 int64_t ts_ms) const override;
  uint64_t layout() const override;

private:
  ramp_options opts_;
  uint32_t warmup_;
};

} // namespace vigil::detector
