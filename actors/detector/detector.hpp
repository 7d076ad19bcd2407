#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/options.hpp"

namespace vigil::detector {

/// One detector's opinion of one value.
struct verdict {
  /// Calibrated score in [0, 1]; 0.5 at the detector's own threshold.
  double score = 0;
  /// Signed deviation from the expectation, in the detector's unit (sigmas
  /// for all current detectors); positive = above.
  double deviation = 0;
  /// The band the detector expected the value in; NaN when it has none.
  double expected_lo = std::numeric_limits<double>::quiet_NaN();
  double expected_hi = std::numeric_limits<double>::quiet_NaN();
  /// False while warming up: then `vote` is false and `score` 0.
  bool warm = false;
  /// Whether the detector calls the value anomalous.
  bool vote = false;
  /// The value lies beyond everything the detector has seen (a new
  /// extreme); the anomaly-likelihood stage passes such a value through at
  /// full score.
  bool certain = false;
};

/// Maps a deviation onto [0, 1) so that 0 deviation scores 0, the
/// threshold 0.5, twice the threshold 0.8 and ten times 0.99: r^2/(1+r^2)
/// with r = deviation/threshold, which costs a division where exp() would
/// cost a third of the ensemble's time.
inline double calibrate(double deviation, double threshold) {
  double r = deviation / threshold;
  double r2 = r * r;
  return r2 / (1.0 + r2);
}

/// A floor for a standard deviation estimate, so a perfectly flat series
/// still has a finite (but strict) band: relative to the level, and above
/// the rounding noise of the 32-bit values some detectors keep.
inline double sd_floor(double level) {
  return 1e-6 * std::fabs(level) + 1e-12;
}

/// A streaming detector algorithm. Stateless itself: per-series state lives
/// in a caller-owned block of `state_size()` bytes (plain data, no
/// destructor, copyable with memcpy), so a series' whole ensemble is one
/// allocation and a snapshot is a byte copy. Adding a detector means writing
/// one such class and registering it in `make_detector`; the pipeline only
/// sees this interface.
class detector_kind {
public:
  virtual ~detector_kind() = default;
  /// The name used in config and in anomaly explanations ("zscore").
  virtual std::string_view name() const = 0;
  /// Bytes of per-series state; a multiple of 8.
  virtual size_t state_size() const = 0;
  /// Initialises a zeroed state block.
  virtual void init(std::byte* state) const = 0;
  /// Judges `x` against the state, then folds it in.
  /// `ts_ms` is the value's event time (ms since the epoch; strictly
  /// increasing per series) for detectors that know time of day or week.
  virtual verdict update(std::byte* state, double x, int64_t ts_ms) const
    = 0;
  /// Identifies the state layout and parameters; snapshots taken under a
  /// different value are not restored into this detector.
  virtual uint64_t layout() const = 0;
  /// Whether this detector's own score, times likelihood.novelty_weight,
  /// stays a floor of the ensemble score after the likelihood stage (a
  /// detector whose score means "never seen before" must not be averaged
  /// away by its history).
  virtual bool floors_likelihood() const { return false; }
};

/// Creates the detector `name` configured by `opts`; nullptr for an unknown
/// name.
std::unique_ptr<detector_kind> make_detector(std::string_view name,
                                             const detection_options& opts);

/// Names `make_detector` knows.
std::vector<std::string_view> detector_names();

} // namespace vigil::detector
