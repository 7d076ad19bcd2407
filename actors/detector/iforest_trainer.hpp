#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "actors/detector/iforest.hpp"

namespace vigil::detector {

/// How an `iforest_trainer` keeps its window and when it retrains.
struct iforest_trainer_options {
  /// The forest fitted on each training. Default: 100 trees, ψ = 256.
  iforest_params forest;
  /// Most recent feature vectors kept for training (a sliding window).
  /// Default: 2048. Bounds: 2..1<<20.
  uint32_t window = 2048;
  /// Vectors needed before the first model; also the retry spacing after a
  /// failed first training. Default: 256. Bounds: 2..window.
  uint32_t min_samples = 256;
  /// Retrain after this many new vectors; 0 = never by count.
  /// Default: 1024.
  uint32_t retrain_every = 1024;
  /// Retrain when this much event time passed since the last training and
  /// some vector came in since; 0 = never by time. Default: 3600000 (1 h).
  int64_t retrain_interval_ms = 3'600'000;
  /// Centre each feature on the window's median and divide by its MAD
  /// (x 1.4826) before fitting and scoring. The forest's scores do not
  /// depend on it (its splits are uniform between each feature's min and
  /// max), but deviations are then reported in robust sigmas. Default: true.
  bool robust_scaling = true;
  /// The raw score that calibrates to 0.5: this quantile of the window's
  /// own scores, refreshed at every training. Default: 0.995.
  /// Bounds: (0.5, 1).
  double threshold_quantile = 0.995;
  /// When > 0, a fixed raw score to calibrate to 0.5 instead of the
  /// quantile (the paper suggests ~0.6). Default: 0. Bounds: [0, 1).
  double score_threshold = 0;
};

/// What a training produces: robust scaling, the forest, and the score
/// calibration taken from the training window. Immutable; shared between
/// the scoring thread and the trainer.
struct iforest_model {
  /// The forest, fitted on scaled vectors.
  isolation_forest forest;
  /// Per feature: the window's median (0 without scaling).
  std::vector<double> center;
  /// Per feature: 1 / robust sigma (1 without scaling or for a feature that
  /// did not vary in the window).
  std::vector<double> inv_scale;
  /// Median raw score of the training window: calibrates to 0.
  double score_median = 0;
  /// Raw score that calibrates to 0.5 (and above which the model votes).
  double score_threshold = 1;
  /// Vectors the model was trained on.
  size_t rows = 0;
  /// 1 for the first model a trainer published, then 2, ...
  uint64_t generation = 0;

  /// Writes the scaled `x` (dims values) to `out`.
  void scale(const double* x, double* out) const;

  /// Maps a raw forest score onto [0, 1) with 0.5 at `score_threshold`
  /// (see `calibrate` in detector.hpp).
  double calibrated(double raw) const;

  /// Fits a model on the rows of `x` as `opts` say; errors as
  /// `isolation_forest::fit`.
  static caf::expected<iforest_model> fit(const Eigen::MatrixXd& x,
                                          const iforest_trainer_options& opts,
                                          uint64_t seed);

  /// Writes the model (scaling, calibration, forest) in a versioned,
  /// little-endian byte format, for snapshots.
  std::vector<std::byte> serialize() const;

  /// Restores a model written by `serialize`; error (errc::malformed) for a
  /// foreign, damaged or newer-version buffer.
  static caf::expected<iforest_model>
  deserialize(std::span<const std::byte> bytes);

  /// Version of the byte format `serialize` writes.
  static constexpr uint32_t format_version = 1;
};

/// Runs a job somewhere else (a pool, an actor, a thread); the job must run
/// exactly once.
using iforest_executor = std::function<void(std::function<void()>)>;

/// Keeps a sliding window of recent feature vectors and refits an
/// `iforest_model` off the scoring path: every `retrain_every` vectors or
/// `retrain_interval_ms` of event time, on the executor given at
/// construction or else on a thread it owns (joined by the next training
/// and by the destructor). At most one training is in flight; a finished
/// one swaps its model in under a mutex that only ever guards a pointer
/// copy, so `add` and `model` never wait for a training. `add` and `model`
/// belong to one (the scoring) thread; the rest may be called from any.
class iforest_trainer {
public:
  /// A trainer for vectors of `dims` values. With `exec` empty it starts
  /// one std::thread per training.
  iforest_trainer(size_t dims, iforest_trainer_options opts,
                  iforest_executor exec = {});

  /// Joins the trainer's own thread. A job handed to an executor may
  /// outlive the trainer; it then publishes into state nobody reads.
  ~iforest_trainer();

  iforest_trainer(const iforest_trainer&) = delete;
  iforest_trainer& operator=(const iforest_trainer&) = delete;

  /// Appends `x` (dims values) at event time `ts_ms` and starts a training
  /// when one is due and none is in flight. Returns false, taking nothing,
  /// when a value is NaN or infinite.
  bool add(const double* x, int64_t ts_ms);

  /// The newest model, or nullptr before the first. Costs one atomic load
  /// unless a training finished since the last call.
  const iforest_model* model();

  /// The newest model, from any thread.
  std::shared_ptr<const iforest_model> shared_model() const;

  /// Makes `m` the current model (e.g. one restored from a snapshot) unless
  /// its dims differ, in which case it returns false. On the scoring thread. A
  /// training in flight still replaces it when it finishes. The window starts
  /// empty after a restore; the next training is due `retrain_every` vectors
  /// later.
  bool install(iforest_model m);

  /// Starts a training on the current window unless one is in flight or
  /// the window holds fewer than 2 vectors. Returns whether it started.
  bool train_now();

  /// Whether a training is in flight.
  bool training() const;

  /// Models published so far.
  uint64_t generation() const;

  /// Trainings that failed (e.g. a window of identical vectors); the
  /// previous model stays.
  uint64_t failures() const;

  /// The error of the latest failed training, empty when none failed.
  std::string last_error() const;

  /// Waits until no training is in flight or `deadline` passed; returns
  /// whether none is in flight.
  bool wait_idle(std::chrono::milliseconds deadline) const;

  /// Vectors in the window.
  size_t window_size() const { return count_; }

  /// Number of values per vector.
  size_t dims() const { return dims_; }

  /// The options given at construction.
  const iforest_trainer_options& options() const { return opts_; }

private:
  // State shared with the training jobs, which may outlive the trainer when
  // they run on a foreign executor.
  struct shared_state {
    mutable std::mutex mtx;
    mutable std::condition_variable idle;
    std::shared_ptr<const iforest_model> model;
    std::string last_error;
    // Written under `mtx` (for `idle`), read without it on the hot path.
    std::atomic<bool> in_flight{false};
    std::atomic<uint64_t> generation{0};
    std::atomic<uint64_t> failures{0};
  };

  bool due(int64_t ts_ms) const;
  void start(int64_t ts_ms);

  size_t dims_;
  iforest_trainer_options opts_;
  iforest_executor exec_;
  std::shared_ptr<shared_state> shared_;
  std::thread worker_;
  // The window: a ring of opts_.window rows of dims_ values.
  std::vector<double> ring_;
  size_t head_ = 0;
  size_t count_ = 0;
  uint64_t since_start_ = 0;
  uint64_t starts_ = 0;
  int64_t last_start_ms_ = 0;
  // The scoring thread's copy of the newest model and its generation.
  std::shared_ptr<const iforest_model> current_;
  uint64_t seen_ = 0;
};

} // namespace vigil::detector
