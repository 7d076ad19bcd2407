#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include <Eigen/Core>
#include <caf/expected.hpp>

namespace vigil::detector {

/// Parameters of an Isolation Forest fit.
struct iforest_params {
  /// Number of trees. Default: 100. Bounds: 1..10000.
  uint32_t trees = 100;
  /// Rows drawn (without replacement) per tree, ψ; capped at the number of
  /// usable rows. Default: 256. Bounds: 2..1<<20.
  uint32_t sample_size = 256;
  /// Height limit of each tree; 0 means ceil(log2 ψ) as in the paper.
  /// Default: 0. Bounds: 0..64.
  uint32_t max_depth = 0;
  /// Seed of the tree-building RNG; equal seeds and data give equal forests.
  /// Default: 1.
  uint64_t seed = 1;
};

/// c(n): the average path length of an unsuccessful search in a binary
/// search tree of n keys, 2 H(n-1) - 2 (n-1) / n, with exact harmonic
/// numbers for small n (so c(2) = 1) and the asymptotic series above; 0 for
/// n <= 1.
double iforest_c(size_t n);

/// An Isolation Forest (Liu, Ting & Zhou, 2008) over d-dimensional rows.
/// Immutable once fitted, so one instance may be scored from any number of
/// threads. Trees are stored as flat arrays; a leaf loops to itself, so
/// scoring walks every tree a fixed number of steps without branching on
/// the node kind, and several trees are walked side by side.
class isolation_forest {
public:
  /// An empty forest (no trees, scores NaN); `fit` or `deserialize` makes a
  /// usable one.
  isolation_forest() = default;

  /// Fits a forest on the rows of `x` (one sample per row). Rows holding a
  /// NaN or an infinity are skipped; error (errc::invalid_config) for bad
  /// parameters, (errc::malformed) for d = 0, fewer than 2 usable rows, or
  /// usable rows that are all equal (nothing to isolate).
  static caf::expected<isolation_forest> fit(const Eigen::MatrixXd& x,
                                             const iforest_params& params);

  /// Restores a forest written by `serialize`; error (errc::malformed) for a
  /// foreign, truncated, inconsistent or newer-version buffer.
  static caf::expected<isolation_forest>
  deserialize(std::span<const std::byte> bytes);

  /// Writes the forest in a versioned, little-endian byte format.
  std::vector<std::byte> serialize() const;

  /// Anomaly score 2^(-E[h(x)] / c(ψ)) in (0, 1] of the `dims()` values at
  /// `x`; NaN when one of them is NaN (±infinity is a legal extreme).
  double score(const double* x) const;

  /// Mean path length E[h(x)] over the trees (the score's exponent).
  double mean_path(const double* x) const;

  /// Scores every row of `x` into `out` (x.rows() values).
  void score(const Eigen::MatrixXd& x, double* out) const;

  /// Scores `n` rows stored row after row at `rows` into `out`.
  void score_rows(const double* rows, size_t n, double* out) const;

  /// Number of features per row.
  size_t dims() const { return dims_; }

  /// Number of trees.
  size_t trees() const { return roots_.size(); }

  /// The ψ used: min(sample_size, usable rows).
  size_t sample_size() const { return sample_size_; }

  /// Rows skipped by `fit` for holding a NaN or an infinity.
  size_t skipped_rows() const { return skipped_rows_; }

  /// Total number of nodes over all trees.
  size_t nodes() const { return nodes_.size(); }

  /// Version of the byte format `serialize` writes.
  static constexpr uint32_t format_version = 1;

private:
  // A split node sends x to `left` when x[feature] <= split, else to
  // left + 1. A leaf has feature 0, split +inf and left = itself, so it keeps
  // every x (NaN included) in place.
  struct node {
    double split;
    uint32_t feature;
    uint32_t left;
  };

  size_t dims_ = 0;
  size_t sample_size_ = 0;
  size_t skipped_rows_ = 0;
  // Steps that reach a leaf in every tree: the tallest tree's height.
  uint32_t steps_ = 0;
  // 1 / c(ψ), the score's normaliser.
  double inv_c_ = 0;
  std::vector<uint32_t> roots_;
  std::vector<node> nodes_;
  // Per node: depth + c(rows in the leaf) for leaves; unused for splits.
  std::vector<double> path_;

  friend class iforest_builder;
};

} // namespace vigil::detector
