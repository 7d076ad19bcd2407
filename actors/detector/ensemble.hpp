#pragma once

#include <array>
#include <memory>
#include <string>
#include <vector>

#include <caf/expected.hpp>

#include "actors/detector/detector.hpp"

namespace vigil::detector {

/// At most this many detectors run on one series.
constexpr size_t max_detectors = 8;

/// What the ensemble concluded about one value.
struct ensemble_result {
  /// Ensemble score in [0, 1]: the mean of the `min_votes` highest scores of
  /// the warm detectors, so it is high only when enough of them agree.
  /// With `detection.likelihood` on, it is instead how unusual the recent
  /// average of that score is against its history (a detector that is
  /// `certain` scores 1). Within `refractory_samples` after an anomalous
  /// value it is capped at 0.25, below every detector's threshold.
  double score = 0;
  /// Detectors that voted "anomalous".
  uint32_t votes = 0;
  /// Detectors that were warm.
  uint32_t warm = 0;
  /// votes >= min_votes.
  bool anomalous = false;
  /// The widest band the warm detectors expected (NaN when none had one).
  double expected_lo = 0;
  double expected_hi = 0;
  /// One verdict per detector, in ensemble order.
  std::array<verdict, max_detectors> verdicts;
};

/// A set of detectors run together on every value of a series, with the
/// consensus rule "anomalous when at least `min_votes` warm detectors
/// agree". Holds no series state: each series owns one block of
/// `state_size()` bytes that the ensemble lays its detectors' states into.
class ensemble {
public:
  /// Builds the ensemble `opts.detectors` names; error (errc::invalid_config)
  /// for an unknown detector or an impossible vote count.
  static caf::expected<std::shared_ptr<const ensemble>>
  make(const detection_options& opts);

  /// Bytes of one series' state block.
  size_t state_size() const { return size_; }
  /// Initialises a fresh (zeroed) state block.
  void init(std::byte* state) const;
  /// Judges `x` and folds it into every detector's state.
  ensemble_result update(std::byte* state, double x, int64_t ts_ms) const;
  /// Identifies the whole block's layout (detectors, order, parameters,
  /// byte order) for snapshot compatibility.
  uint64_t layout() const { return layout_; }
  /// The detectors, in order.
  const std::vector<std::unique_ptr<detector_kind>>& detectors() const {
    return kinds_;
  }
  uint32_t min_votes() const { return min_votes_; }

private:
  ensemble() = default;
  /// Leads the block when the refractory period or the likelihood stage
  /// is on: samples left in the refractory period.
  struct header {
    uint64_t quiet;
  };
  /// Follows the header when the likelihood stage is on: samples seen, mean
  /// and variance of the averaged score, the running sum of the last
  /// `average` raw scores; then those scores.
  struct likelihood_state {
    uint64_t n;
    double mu;
    double var;
    double sum;
  };
  /// Applies the likelihood stage to `r`.
  void judge_likelihood(std::byte* state, ensemble_result& r) const;
  uint32_t refractory_ = 0;
  likelihood_options likelihood_;
  std::vector<std::unique_ptr<detector_kind>> kinds_;
  std::vector<size_t> offsets_;
  size_t size_ = 0;
  uint32_t min_votes_ = 2;
  uint64_t layout_ = 0;
};

} // namespace vigil::detector
