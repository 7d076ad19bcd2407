#pragma once

// The detectors' sample counts and per-sample weights are meant for one
// sampling step (detection.reference_step). A service sampled more often
// has each series averaged over blocks of samples spanning about that
// step, and the detectors judge the means: otherwise at a 1 s step a
// z-score window is a minute, the EWMA remembers ten seconds, an anomaly
// "persists" after three seconds, and a rate of sparse events (one error
// in a few seconds) is a string of spikes instead of a level.

#include <cstddef>
#include <cstdint>
#include <vector>

#include "config/options.hpp"

namespace vigil::detector {

/// Blocks hold at most this many samples (a 10 s reference at a step of
/// about 170 ms).
constexpr uint32_t max_step_block = 60;

/// Series a service follows at most while it learns its step.
constexpr size_t max_step_series = 4096;

/// How many samples of `step_ms` make one `reference` step, rounded, in
/// [1, max_step_block]; 1 when either is not positive. A step longer than
/// the reference is judged sample by sample.
uint32_t step_block(duration reference, int64_t step_ms);

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
  std::vector<double> gaps_;
};

} // namespace vigil::detector
