#pragma once

// The detectors' sample counts and per-sample weights are meant for one
// sampling step (detection.reference_step). A service sampled more often
// has them scaled so they cover the same event time: otherwise at a 1 s
// step a z-score window is a minute, the EWMA remembers ten seconds and an
// anomaly "persists" after three seconds.

#include <cstdint>
#include <vector>

#include "config/options.hpp"

namespace vigil::detector {

/// Counts are scaled by at most this factor (a 10 s reference at a step of
/// about 170 ms), which bounds the state a series may need.
constexpr uint32_t max_step_factor = 60;

/// How many times `reference` the observed `step_ms` fits, rounded, in
/// [1, max_step_factor]; 1 when either is not positive. A step longer than
/// the reference keeps the counts as configured (they are minimums: fewer
/// samples would not make a statistic).
uint32_t step_factor(duration reference, int64_t step_ms);

/// `opts` with every sample count multiplied by `factor` and every
/// per-sample weight a reduced so that (1 - a')^factor = 1 - a.
detection_options scaled_to_step(const detection_options& opts,
                                 uint32_t factor);

/// The typical gap between consecutive samples of the same series, from
/// the first gaps a service shows: their median, so a missed scrape or a
/// burst of late samples does not decide it.
class step_estimator {
public:
  /// Decides after `needed` gaps (at least 1).
  explicit step_estimator(uint32_t needed);
  /// Records one gap in ms (ignored unless positive).
  void add(int64_t gap_ms);
  bool ready() const { return gaps_.size() >= needed_; }
  /// The median gap; 0 before any gap.
  int64_t step_ms() const;

private:
  uint32_t needed_;
  std::vector<int64_t> gaps_;
};

} // namespace vigil::detector
