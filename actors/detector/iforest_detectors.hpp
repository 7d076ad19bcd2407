#pragma once

#include <cstdint>
#include <limits>
#include <span>
#include <vector>

#include "actors/detector/detector.hpp"
#include "actors/detector/iforest_trainer.hpp"

namespace vigil::detector {

/// An Isolation Forest detector's opinion of one feature vector.
struct iforest_verdict {
  /// Calibrated score (0.5 at the model's threshold), vote and warm-up as
  /// for every detector. `deviation` is the robust z (window median / MAD)
  /// of the feature that deviates most, and the expected band is that
  /// feature's median ± 3 robust sigmas, in the caller's units (NaN for
  /// the series detector, whose features are transformed values).
  verdict v;
  /// The forest's raw score in (0, 1]; NaN while warming up or skipped.
  double raw = std::numeric_limits<double>::quiet_NaN();
  /// Index of the feature that deviates most; -1 when not scored.
  int32_t feature = -1;
  /// The input held a NaN or an infinity: neither scored nor learned.
  bool skipped = false;
  /// Generation of the model that judged (0 while warming up).
  uint64_t model = 0;
};

/// Isolation Forest over a service's multivariate feature vector (latency,
/// error rate, throughput, saturation, ...: whatever fixed `dims` numbers
/// the caller passes, always in the same order). Scores each vector with
/// the newest model, then adds it to the training window; trains in the
/// background (see `iforest_trainer`). Silent until the first model exists.
class iforest_vector_detector {
public:
  /// A detector for vectors of `dims` values.
  iforest_vector_detector(size_t dims, iforest_trainer_options opts = {},
                          iforest_executor exec = {});

  /// Judges `x` (dims values) with the current model, then learns it.
  iforest_verdict update(std::span<const double> x, int64_t ts_ms);

  /// Judges `x` without learning it.
  iforest_verdict judge(std::span<const double> x);

  /// The background trainer (model generation, wait_idle, ...).
  iforest_trainer& trainer() { return trainer_; }

private:
  iforest_trainer trainer_;
  std::vector<double> scaled_;
};

/// How `iforest_series_detector` turns a series into feature vectors.
struct iforest_series_options {
  /// Values per feature vector (the last w values, oldest first).
  /// Default: 16. Bounds: 2..1024.
  uint32_t window = 16;
  /// Use the w differences of the last w + 1 values instead of the values,
  /// so the vector describes the series' moves. Default: false.
  bool difference = false;
  /// Subtract the window's mean from each vector, so the shape counts and
  /// not the level (ignored with `difference`). Default: true.
  bool subtract_level = true;
  /// Divide each (level-free) vector by the window's mean absolute level,
  /// so shapes compare across scales; a zero level leaves the vector as it
  /// is. Default: false.
  bool divide_by_level = false;
  /// Training window, retraining and calibration of the forest over these
  /// vectors. Default: see `iforest_trainer_options`.
  iforest_trainer_options trainer;
};

/// Isolation Forest over sliding windows of one series, so a value that is
/// ordinary on its own but makes an unusual shape with its predecessors
/// (a missing daily peak, a sawtooth, a flattened stretch) stands out.
/// Silent until `window` values arrived and the first model exists.
class iforest_series_detector {
public:
  /// A detector over windows shaped by `opts`.
  explicit iforest_series_detector(iforest_series_options opts = {},
                                   iforest_executor exec = {});

  /// Judges the window ending in `x`, then learns it. A NaN or infinite
  /// `x` is skipped and does not enter the window.
  iforest_verdict update(double x, int64_t ts_ms);

  /// The background trainer (model generation, wait_idle, ...).
  iforest_trainer& trainer() { return trainer_; }

  /// Number of features per vector: `window`.
  size_t dims() const { return opts_.window; }

private:
  iforest_series_options opts_;
  iforest_trainer trainer_;
  // The last window + 1 values, a ring.
  std::vector<double> values_;
  size_t head_ = 0;
  size_t count_ = 0;
  std::vector<double> features_;
  std::vector<double> scaled_;
};

} // namespace vigil::detector
