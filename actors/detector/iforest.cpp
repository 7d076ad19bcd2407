#include "actors/detector/iforest.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>
#include <string>

#include "messages/errc.hpp"

namespace vigil::detector {

namespace {

constexpr double euler_gamma = 0.5772156649015329;
constexpr double inf = std::numeric_limits<double>::infinity();

/// H(i) = 1 + 1/2 + ... + 1/i: summed exactly up to 64, beyond that the
/// asymptotic series (its error there is below 1e-12).
double harmonic(size_t i) {
  if (i <= 64) {
    double h = 0;
    for (size_t k = i; k >= 1; --k) // smallest terms first
      h += 1.0 / static_cast<double>(k);
    return h;
  }
  auto x = static_cast<double>(i);
  double x2 = x * x;
  return std::log(x) + euler_gamma + 1.0 / (2 * x) - 1.0 / (12 * x2)
         + 1.0 / (120 * x2 * x2);
}

/// splitmix64 as a stream: small, fast, and the same on every platform (the
/// standard distributions are not), so a seed means the same forest
/// everywhere.
class rng {
public:
  explicit rng(uint64_t seed) : state_(seed) {}

  uint64_t next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }

  /// Uniform in [0, k); the bias of the multiply-shift is below 2^-40 for
  /// the k used here.
  size_t below(size_t k) {
    using u128 = unsigned __int128;
    return static_cast<size_t>((static_cast<u128>(next()) * k) >> 64);
  }

  /// Uniform in [0, 1).
  double unit() { return static_cast<double>(next() >> 11) * 0x1p-53; }

private:
  uint64_t state_;
};

caf::error malformed(const std::string& what) {
  return caf::make_error(errc::malformed, "isolation_forest: " + what);
}

caf::error invalid(const std::string& what) {
  return caf::make_error(errc::invalid_config, "isolation_forest: " + what);
}

// -- byte format helpers --------------------------------------------------

constexpr uint32_t format_magic = 0x52464956; // "VIFR" in little endian

void put_u32(std::vector<std::byte>& out, uint32_t x) {
  for (int i = 0; i < 4; ++i)
    out.push_back(static_cast<std::byte>((x >> (8 * i)) & 0xff));
}

void put_f64(std::vector<std::byte>& out, double x) {
  auto bits = std::bit_cast<uint64_t>(x);
  for (int i = 0; i < 8; ++i)
    out.push_back(static_cast<std::byte>((bits >> (8 * i)) & 0xff));
}

/// Reads little-endian values off a byte span; `ok()` turns false (and
/// stays so) on the first read past the end.
class reader {
public:
  explicit reader(std::span<const std::byte> in) : in_(in) {}

  uint32_t u32() { return static_cast<uint32_t>(take(4)); }

  double f64() { return std::bit_cast<double>(take(8)); }

  bool ok() const { return ok_; }

  size_t left() const { return in_.size() - pos_; }

private:
  uint64_t take(size_t n) {
    if (!ok_ || left() < n) {
      ok_ = false;
      return 0;
    }
    uint64_t x = 0;
    for (size_t i = 0; i < n; ++i)
      x |= static_cast<uint64_t>(in_[pos_ + i]) << (8 * i);
    pos_ += n;
    return x;
  }

  std::span<const std::byte> in_;
  size_t pos_ = 0;
  bool ok_ = true;
};

} // namespace

double iforest_c(size_t n) {
  if (n <= 1)
    return 0;
  auto m = static_cast<double>(n);
  return 2.0 * harmonic(n - 1) - 2.0 * (m - 1.0) / m;
}

/// Grows the trees of one forest over a column-major copy of the usable
/// rows (a split scans one feature over a node's rows).
class iforest_builder {
public:
  iforest_builder(isolation_forest& forest, std::vector<double> cols,
                  size_t rows, uint32_t max_depth, uint64_t seed)
    : f_(forest), cols_(std::move(cols)), rows_(rows), max_depth_(max_depth),
      gen_(seed) {
    perm_.resize(rows_);
    for (size_t i = 0; i < rows_; ++i)
      perm_[i] = static_cast<uint32_t>(i);
    features_.resize(f_.dims_);
    for (size_t i = 0; i < f_.dims_; ++i)
      features_[i] = static_cast<uint32_t>(i);
    // A leaf holds at most ψ rows; c(n) by table, not by a harmonic sum
    // per leaf (that sum was most of the fit time).
    c_.resize(f_.sample_size_ + 1);
    for (size_t n = 0; n < c_.size(); ++n)
      c_[n] = iforest_c(n);
  }

  void grow_tree() {
    // A partial Fisher-Yates shuffle of the persistent permutation leaves a
    // uniform sample without replacement in its first ψ places.
    auto psi = f_.sample_size_;
    for (size_t i = 0; i < psi; ++i)
      std::swap(perm_[i], perm_[i + gen_.below(rows_ - i)]);
    sample_.assign(perm_.begin(), perm_.begin() + static_cast<ptrdiff_t>(psi));
    auto root = add_nodes(1);
    f_.roots_.push_back(root);
    height_ = 0;
    grow(root, sample_.data(), psi, 0);
    f_.steps_ = std::max(f_.steps_, height_);
  }

private:
  uint32_t add_nodes(size_t n) {
    auto first = static_cast<uint32_t>(f_.nodes_.size());
    for (size_t i = 0; i < n; ++i) {
      f_.nodes_.push_back({inf, 0, first + static_cast<uint32_t>(i)});
      f_.path_.push_back(0);
    }
    return first;
  }

  double value(uint32_t row, uint32_t feature) const {
    return cols_[static_cast<size_t>(feature) * rows_ + row];
  }

  void leaf(uint32_t slot, size_t count, uint32_t depth) {
    f_.nodes_[slot] = {inf, 0, slot};
    f_.path_[slot] = depth + c_[count];
    height_ = std::max(height_, depth);
  }

  void grow(uint32_t slot, uint32_t* idx, size_t count, uint32_t depth) {
    if (depth >= max_depth_ || count <= 1) {
      leaf(slot, count, depth);
      return;
    }
    // Draw features without replacement until one varies over this node's
    // rows; when none does, the rows cannot be told apart: a leaf.
    auto d = features_.size();
    for (size_t k = 0; k < d; ++k) {
      std::swap(features_[k], features_[k + gen_.below(d - k)]);
      auto f = features_[k];
      double lo = value(idx[0], f);
      double hi = lo;
      for (size_t i = 1; i < count; ++i) {
        double v = value(idx[i], f);
        lo = std::min(lo, v);
        hi = std::max(hi, v);
      }
      if (!(hi > lo))
        continue;
      // lo <= split < hi keeps both sides non-empty; the guard catches the
      // rounding of lo + u (hi - lo) up to hi.
      double split = lo + gen_.unit() * (hi - lo);
      if (split >= hi)
        split = lo;
      auto mid = std::partition(
        idx, idx + count, [&](uint32_t r) { return value(r, f) <= split; });
      auto nl = static_cast<size_t>(mid - idx);
      auto left = add_nodes(2);
      f_.nodes_[slot] = {split, f, left};
      grow(left, idx, nl, depth + 1);
      grow(left + 1, idx + nl, count - nl, depth + 1);
      return;
    }
    leaf(slot, count, depth);
  }

  isolation_forest& f_;
  std::vector<double> cols_;
  size_t rows_;
  uint32_t max_depth_;
  rng gen_;
  std::vector<uint32_t> perm_;
  std::vector<uint32_t> sample_;
  std::vector<uint32_t> features_;
  std::vector<double> c_;
  uint32_t height_ = 0;
};

caf::expected<isolation_forest>
isolation_forest::fit(const Eigen::MatrixXd& x, const iforest_params& params) {
  if (params.trees < 1 || params.trees > 10000)
    return invalid("trees must be in 1..10000, got "
                   + std::to_string(params.trees));
  if (params.sample_size < 2 || params.sample_size > (1u << 20))
    return invalid("sample_size must be in 2..1048576, got "
                   + std::to_string(params.sample_size));
  if (params.max_depth > 64)
    return invalid("max_depth must be in 0..64, got "
                   + std::to_string(params.max_depth));
  auto d = static_cast<size_t>(x.cols());
  if (d == 0)
    return malformed("rows have no features (d = 0)");
  if (d > std::numeric_limits<uint32_t>::max())
    return malformed("too many features");
  // Keep the finite rows, column-major.
  std::vector<uint32_t> usable;
  usable.reserve(static_cast<size_t>(x.rows()));
  for (Eigen::Index r = 0; r < x.rows(); ++r)
    if (x.row(r).allFinite())
      usable.push_back(static_cast<uint32_t>(r));
  auto n = usable.size();
  if (n < 2)
    return malformed("need at least 2 rows without NaN/infinity, got "
                     + std::to_string(n) + " of " + std::to_string(x.rows()));
  std::vector<double> cols(n * d);
  bool varies = false;
  for (size_t f = 0; f < d; ++f) {
    auto col = x.col(static_cast<Eigen::Index>(f));
    double* out = cols.data() + f * n;
    for (size_t i = 0; i < n; ++i)
      out[i] = col(usable[i]);
    varies = varies || std::any_of(out, out + n, [&](double v) {
               return v != out[0];
             });
  }
  if (!varies)
    return malformed("all " + std::to_string(n)
                     + " usable rows are equal: nothing to isolate");
  isolation_forest forest;
  forest.dims_ = d;
  forest.skipped_rows_ = static_cast<size_t>(x.rows()) - n;
  forest.sample_size_ = std::min<size_t>(params.sample_size, n);
  auto depth = params.max_depth;
  if (depth == 0)
    depth = static_cast<uint32_t>(
      std::ceil(std::log2(static_cast<double>(forest.sample_size_))));
  // Node indices are 32-bit; a tree of ψ rows has at most 2ψ - 1 nodes.
  auto max_nodes = size_t{params.trees} * (2 * forest.sample_size_ - 1);
  if (max_nodes > std::numeric_limits<int32_t>::max())
    return invalid("trees x sample_size too large");
  forest.inv_c_ = 1.0 / iforest_c(forest.sample_size_);
  forest.roots_.reserve(params.trees);
  forest.nodes_.reserve(max_nodes);
  forest.path_.reserve(forest.nodes_.capacity());
  iforest_builder builder{forest, std::move(cols), n, depth, params.seed};
  for (uint32_t t = 0; t < params.trees; ++t)
    builder.grow_tree();
  forest.nodes_.shrink_to_fit();
  forest.path_.shrink_to_fit();
  return forest;
}

double isolation_forest::mean_path(const double* x) const {
  const node* nd = nodes_.data();
  const uint32_t* roots = roots_.data();
  size_t trees = roots_.size();
  double sum = 0;
  // Sixteen walks side by side: each is a chain of dependent loads, so
  // interleaving them lets the core overlap their latencies. The walks take
  // steps_ steps whatever the leaf depth; a leaf holds them in place. The
  // last group's spare lanes walk its first tree again and are not counted:
  // that costs no time, the group's latency is one walk's.
  constexpr size_t lanes = 16;
  for (size_t t = 0; t < trees; t += lanes) {
    auto used = std::min(lanes, trees - t);
    uint32_t at[lanes];
    for (size_t k = 0; k < lanes; ++k)
      at[k] = roots[t + (k < used ? k : 0)];
    for (uint32_t s = 0; s < steps_; ++s)
      for (size_t k = 0; k < lanes; ++k) {
        const node& n = nd[at[k]];
        at[k] = n.left + (x[n.feature] > n.split);
      }
    for (size_t k = 0; k < used; ++k)
      sum += path_[at[k]];
  }
  return sum / static_cast<double>(trees);
}

double isolation_forest::score(const double* x) const {
  for (size_t i = 0; i < dims_; ++i)
    if (std::isnan(x[i]))
      return std::numeric_limits<double>::quiet_NaN();
  return std::exp2(-mean_path(x) * inv_c_);
}

void isolation_forest::score_rows(const double* rows, size_t n,
                                  double* out) const {
  // Tree by tree over blocks of rows: one tree's nodes stay in L1 while a
  // block walks it, sixteen rows side by side (see mean_path).
  constexpr size_t block = 256;
  constexpr size_t lanes = 16;
  const node* nd = nodes_.data();
  double sums[block];
  for (size_t first = 0; first < n; first += block) {
    auto m = std::min(block, n - first);
    const double* x = rows + first * dims_;
    std::fill(sums, sums + m, 0.0);
    for (auto root : roots_) {
      for (size_t i = 0; i < m; i += lanes) {
        auto used = std::min(lanes, m - i);
        const double* xs[lanes];
        uint32_t at[lanes];
        for (size_t k = 0; k < lanes; ++k) {
          xs[k] = x + (i + (k < used ? k : 0)) * dims_;
          at[k] = root;
        }
        for (uint32_t s = 0; s < steps_; ++s)
          for (size_t k = 0; k < lanes; ++k) {
            const node& nk = nd[at[k]];
            at[k] = nk.left + (xs[k][nk.feature] > nk.split);
          }
        for (size_t k = 0; k < used; ++k)
          sums[i + k] += path_[at[k]];
      }
    }
    auto trees = static_cast<double>(roots_.size());
    for (size_t i = 0; i < m; ++i) {
      const double* row = x + i * dims_;
      bool has_nan
        = std::any_of(row, row + dims_, [](double v) { return std::isnan(v); });
      out[first + i] = has_nan ? std::numeric_limits<double>::quiet_NaN()
                               : std::exp2(-sums[i] / trees * inv_c_);
    }
  }
}

void isolation_forest::score(const Eigen::MatrixXd& x, double* out) const {
  // Column-major rows are strided: copy each into a row-major block first
  // (one allocation per call, none per row).
  constexpr size_t block = 256;
  std::vector<double> buf(block * dims_);
  auto n = static_cast<size_t>(x.rows());
  for (size_t first = 0; first < n; first += block) {
    auto m = std::min(block, n - first);
    for (size_t f = 0; f < dims_; ++f) {
      const double* col = x.data() + f * n + first;
      for (size_t i = 0; i < m; ++i)
        buf[i * dims_ + f] = col[i];
    }
    score_rows(buf.data(), m, out + first);
  }
}

std::vector<std::byte> isolation_forest::serialize() const {
  std::vector<std::byte> out;
  out.reserve(32 + roots_.size() * 4 + nodes_.size() * 24);
  put_u32(out, format_magic);
  put_u32(out, format_version);
  put_u32(out, static_cast<uint32_t>(dims_));
  put_u32(out, static_cast<uint32_t>(sample_size_));
  put_u32(out, steps_);
  put_u32(out, static_cast<uint32_t>(roots_.size()));
  put_u32(out, static_cast<uint32_t>(nodes_.size()));
  put_f64(out, inv_c_);
  for (auto r : roots_)
    put_u32(out, r);
  for (auto& n : nodes_) {
    put_f64(out, n.split);
    put_u32(out, n.feature);
    put_u32(out, n.left);
  }
  for (auto p : path_)
    put_f64(out, p);
  return out;
}

caf::expected<isolation_forest>
isolation_forest::deserialize(std::span<const std::byte> bytes) {
  reader in{bytes};
  if (in.u32() != format_magic || !in.ok())
    return malformed("not an isolation forest (bad magic)");
  auto version = in.u32();
  if (version != format_version)
    return malformed("unsupported format version " + std::to_string(version)
                     + " (this build reads " + std::to_string(format_version)
                     + ")");
  isolation_forest f;
  f.dims_ = in.u32();
  f.sample_size_ = in.u32();
  f.steps_ = in.u32();
  auto trees = in.u32();
  auto nodes = in.u32();
  f.inv_c_ = in.f64();
  if (!in.ok())
    return malformed("truncated header");
  if (f.dims_ == 0 || f.sample_size_ < 2 || trees == 0 || nodes < trees
      || f.steps_ > nodes || !(f.inv_c_ > 0) || !std::isfinite(f.inv_c_))
    return malformed("inconsistent header");
  // Exact length check before allocating anything sized by the input.
  if (in.left() != size_t{trees} * 4 + size_t{nodes} * 24)
    return malformed("length does not match the header");
  f.roots_.resize(trees);
  for (auto& r : f.roots_) {
    r = in.u32();
    if (r >= nodes)
      return malformed("root index out of range");
  }
  f.nodes_.resize(nodes);
  for (uint32_t i = 0; i < nodes; ++i) {
    auto& n = f.nodes_[i];
    n.split = in.f64();
    n.feature = in.u32();
    n.left = in.u32();
    // Every index a walk can reach stays in range, so a damaged buffer can
    // give wrong scores but never read out of bounds.
    bool is_leaf = n.split == inf;
    if (std::isnan(n.split) || n.feature >= f.dims_
        || (is_leaf ? n.left != i : size_t{n.left} + 1 >= nodes))
      return malformed("bad node " + std::to_string(i));
  }
  f.path_.resize(nodes);
  for (auto& p : f.path_) {
    p = in.f64();
    if (!std::isfinite(p) || p < 0)
      return malformed("bad path length");
  }
  return f;
}

} // namespace vigil::detector
