#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "actors/detector/iforest.hpp"
#include "messages/errc.hpp"

using namespace vigil::detector;

namespace {

constexpr double nan_v = std::numeric_limits<double>::quiet_NaN();
constexpr double inf_v = std::numeric_limits<double>::infinity();

/// `n` rows of standard normal noise in `d` dimensions.
Eigen::MatrixXd gaussian(size_t n, size_t d, unsigned seed) {
  std::mt19937 gen{seed};
  std::normal_distribution<double> dist;
  Eigen::MatrixXd x(n, d);
  for (Eigen::Index r = 0; r < x.rows(); ++r)
    for (Eigen::Index c = 0; c < x.cols(); ++c)
      x(r, c) = dist(gen);
  return x;
}

/// Three unit blobs and `outliers` uniform rows over a box around them;
/// `labels` gets 1 for the outliers.
Eigen::MatrixXd blobs(size_t inliers, size_t outliers, size_t d,
                      std::vector<int>& labels, unsigned seed) {
  std::mt19937 gen{seed};
  std::normal_distribution<double> noise;
  std::uniform_real_distribution<double> centre{-5, 5};
  std::uniform_real_distribution<double> box{-9, 9};
  std::vector<std::vector<double>> centres(3, std::vector<double>(d));
  for (auto& c : centres)
    for (auto& v : c)
      v = centre(gen);
  Eigen::MatrixXd x(inliers + outliers, d);
  labels.assign(inliers + outliers, 0);
  for (size_t r = 0; r < inliers + outliers; ++r) {
    auto& c = centres[r % 3];
    for (size_t k = 0; k < d; ++k)
      x(static_cast<Eigen::Index>(r), static_cast<Eigen::Index>(k))
        = r < inliers ? c[k] + noise(gen) : box(gen);
    labels[r] = r < inliers ? 0 : 1;
  }
  return x;
}

/// ROC-AUC by the rank-sum statistic (ties count half).
double auc(const std::vector<double>& scores, const std::vector<int>& labels) {
  double pairs = 0;
  double wins = 0;
  for (size_t i = 0; i < scores.size(); ++i) {
    if (labels[i] != 1)
      continue;
    for (size_t j = 0; j < scores.size(); ++j) {
      if (labels[j] != 0)
        continue;
      pairs += 1;
      wins += scores[i] > scores[j] ? 1.0 : scores[i] == scores[j] ? 0.5 : 0;
    }
  }
  return wins / pairs;
}

std::vector<double> score_all(const isolation_forest& f,
                              const Eigen::MatrixXd& x) {
  std::vector<double> out(static_cast<size_t>(x.rows()));
  std::vector<double> row(f.dims());
  for (Eigen::Index r = 0; r < x.rows(); ++r) {
    for (size_t c = 0; c < f.dims(); ++c)
      row[c] = x(r, static_cast<Eigen::Index>(c));
    out[static_cast<size_t>(r)] = f.score(row.data());
  }
  return out;
}

isolation_forest fit_or_fail(const Eigen::MatrixXd& x, iforest_params p = {}) {
  auto f = isolation_forest::fit(x, p);
  if (!f) {
    ADD_FAILURE() << vigil::render(f.error());
    std::abort();
  }
  return std::move(*f);
}

} // namespace

TEST(iforest, c_of_n_follows_the_harmonic_formula) {
  EXPECT_EQ(iforest_c(0), 0);
  EXPECT_EQ(iforest_c(1), 0);
  EXPECT_DOUBLE_EQ(iforest_c(2), 1.0);            // 2 H(1) - 1
  EXPECT_DOUBLE_EQ(iforest_c(3), 3.0 - 4.0 / 3);  // 2 H(2) - 4/3
  EXPECT_DOUBLE_EQ(iforest_c(4), 11.0 / 3 - 1.5); // 2 H(3) - 6/4
  for (size_t n : {10, 64, 65, 66, 100, 256, 1000, 100000}) {
    double h = 0;
    for (size_t k = n - 1; k >= 1; --k)
      h += 1.0 / static_cast<double>(k);
    double expected
      = 2 * h - 2.0 * static_cast<double>(n - 1) / static_cast<double>(n);
    EXPECT_NEAR(iforest_c(n), expected, 1e-10) << n;
  }
  // The paper's ln(n-1) + γ approximation of H agrees for large n.
  EXPECT_NEAR(iforest_c(256),
              2 * (std::log(255.0) + 0.5772156649) - 2 * 255.0 / 256, 5e-3);
}

TEST(iforest, obvious_outliers_score_above_every_inlier) {
  auto x = gaussian(1000, 4, 7);
  Eigen::MatrixXd probe(5, 4);
  // Far out in several features at once: axis-parallel splits isolate a
  // point that is extreme in one feature only (8, 0, 0, 0) barely better
  // than an inlier (sklearn scores it 0.52 too).
  probe << 6, 6, 6, 6, //
    0, -8, 8, 8,       //
    5, -5, 5, -5,      //
    10, 10, 10, 10,    //
    -6, 6, -6, 6;
  auto f = fit_or_fail(x);
  auto in = score_all(f, x);
  auto out = score_all(f, probe);
  std::sort(in.begin(), in.end());
  double p99 = in[in.size() * 99 / 100];
  for (double s : out) {
    EXPECT_GT(s, p99);
    EXPECT_GT(s, 0.6);
    EXPECT_LE(s, 1.0);
  }
  for (double s : in) {
    EXPECT_GT(s, 0.0);
    EXPECT_LT(s, 1.0);
  }
  // The centre of the data looks like the most normal point there is.
  double centre[4] = {0, 0, 0, 0};
  EXPECT_LT(f.score(centre), 0.45);
}

TEST(iforest, separates_uniform_outliers_from_blobs) {
  for (size_t d : {2, 8}) {
    std::vector<int> labels;
    auto x = blobs(2000, 100, d, labels, 11);
    auto f = fit_or_fail(x);
    // sklearn's IsolationForest reaches about 0.94 (d = 2) and 1.0 (d = 8)
    // on data like this.
    EXPECT_GT(auc(score_all(f, x), labels), d == 2 ? 0.9 : 0.98) << d;
  }
}

TEST(iforest, equal_seeds_give_equal_forests_and_other_seeds_do_not) {
  auto x = gaussian(600, 3, 1);
  iforest_params p;
  p.seed = 42;
  auto a = fit_or_fail(x, p);
  auto b = fit_or_fail(x, p);
  EXPECT_EQ(a.serialize(), b.serialize());
  EXPECT_EQ(score_all(a, x), score_all(b, x));
  p.seed = 43;
  auto c = fit_or_fail(x, p);
  EXPECT_NE(a.serialize(), c.serialize());
}

TEST(iforest, respects_its_parameters) {
  auto x = gaussian(1000, 2, 3);
  iforest_params p;
  p.trees = 37;
  p.sample_size = 64;
  auto f = fit_or_fail(x, p);
  EXPECT_EQ(f.trees(), 37u);
  EXPECT_EQ(f.sample_size(), 64u);
  EXPECT_EQ(f.dims(), 2u);
  // Height limit ceil(log2 64) = 6: at most 2^7 - 1 nodes per tree.
  EXPECT_LE(f.nodes(), 37u * 127u);
  p.max_depth = 1; // stumps: one split, two leaves
  auto stumps = fit_or_fail(x, p);
  EXPECT_EQ(stumps.nodes(), 37u * 3u);
}

TEST(iforest, batch_scores_equal_one_row_scores) {
  auto x = gaussian(1000, 5, 9); // not a multiple of the block or lanes
  x(17, 3) = nan_v;
  auto f = fit_or_fail(gaussian(800, 5, 10));
  std::vector<double> batch(1000);
  f.score(x, batch.data());
  auto one = score_all(f, x);
  for (size_t i = 0; i < batch.size(); ++i) {
    if (i == 17) {
      EXPECT_TRUE(std::isnan(batch[i]));
      EXPECT_TRUE(std::isnan(one[i]));
    } else {
      EXPECT_EQ(batch[i], one[i]) << i;
    }
  }
}

TEST(iforest, serialised_forest_scores_identically) {
  auto x = gaussian(700, 6, 5);
  auto f = fit_or_fail(x);
  auto bytes = f.serialize();
  auto g = isolation_forest::deserialize(bytes);
  ASSERT_TRUE(g) << vigil::render(g.error());
  EXPECT_EQ(g->dims(), f.dims());
  EXPECT_EQ(g->trees(), f.trees());
  EXPECT_EQ(g->sample_size(), f.sample_size());
  Eigen::MatrixXd probe = gaussian(1000, 6, 6) * 3.0;
  EXPECT_EQ(score_all(*g, probe), score_all(f, probe));
  EXPECT_EQ(g->serialize(), bytes);
}

TEST(iforest, deserialise_rejects_damaged_buffers) {
  auto f = fit_or_fail(gaussian(300, 2, 5));
  auto bytes = f.serialize();
  auto expect_malformed = [](std::vector<std::byte> b, const char* what) {
    auto g = isolation_forest::deserialize(b);
    ASSERT_FALSE(g) << what;
    EXPECT_EQ(g.error(), vigil::errc::malformed) << what;
  };
  expect_malformed({}, "empty");
  expect_malformed({bytes.begin(), bytes.begin() + 10}, "truncated header");
  expect_malformed({bytes.begin(), bytes.end() - 1}, "truncated body");
  auto longer = bytes;
  longer.push_back(std::byte{0});
  expect_malformed(longer, "trailing byte");
  auto magic = bytes;
  magic[0] = std::byte{'X'};
  expect_malformed(magic, "magic");
  auto version = bytes;
  version[4] = std::byte{isolation_forest::format_version + 1};
  expect_malformed(version, "newer version");
  // The first node follows the header (7 x 4 + 8 bytes) and the roots; its
  // `left` index sits 12 bytes in. Point it far outside the forest.
  auto bad_index = bytes;
  size_t first_node = 36 + f.trees() * 4;
  for (size_t i = 0; i < 4; ++i)
    bad_index[first_node + 12 + i] = std::byte{0xff};
  expect_malformed(bad_index, "child index out of range");
  auto bad_feature = bytes;
  bad_feature[first_node + 8] = std::byte{0x7f};
  expect_malformed(bad_feature, "feature out of range");
}

TEST(iforest, refuses_degenerate_input_with_a_clear_error) {
  iforest_params p;
  auto expect_error
    = [&](const Eigen::MatrixXd& x, vigil::errc code, const char* needle) {
        auto f = isolation_forest::fit(x, p);
        ASSERT_FALSE(f) << needle;
        EXPECT_EQ(f.error(), code);
        EXPECT_NE(vigil::render(f.error()).find(needle), std::string::npos)
          << vigil::render(f.error());
      };
  expect_error(Eigen::MatrixXd(100, 0), vigil::errc::malformed, "d = 0");
  expect_error(Eigen::MatrixXd::Constant(500, 3, 4.2), vigil::errc::malformed,
               "equal");
  expect_error(Eigen::MatrixXd::Constant(1, 3, 1.0), vigil::errc::malformed,
               "at least 2 rows");
  expect_error(Eigen::MatrixXd::Constant(10, 2, nan_v), vigil::errc::malformed,
               "at least 2 rows");
  p.trees = 0;
  expect_error(gaussian(100, 2, 1), vigil::errc::invalid_config, "trees");
  p = {};
  p.sample_size = 1;
  expect_error(gaussian(100, 2, 1), vigil::errc::invalid_config, "sample_size");
}

TEST(iforest, skips_rows_with_nan_or_infinity) {
  auto x = gaussian(400, 3, 2);
  x(0, 0) = nan_v;
  x(5, 2) = inf_v;
  x(9, 1) = -inf_v;
  auto f = fit_or_fail(x);
  EXPECT_EQ(f.skipped_rows(), 3u);
  // The same forest as one fitted on the clean rows only.
  Eigen::MatrixXd clean(397, 3);
  for (Eigen::Index r = 0, k = 0; r < x.rows(); ++r)
    if (x.row(r).allFinite())
      clean.row(k++) = x.row(r);
  EXPECT_EQ(f.serialize(), fit_or_fail(clean).serialize());
}

TEST(iforest, scores_nan_as_nan_and_infinity_as_an_extreme) {
  auto f = fit_or_fail(gaussian(500, 2, 4));
  double with_nan[2] = {0, nan_v};
  EXPECT_TRUE(std::isnan(f.score(with_nan)));
  double with_inf[2] = {inf_v, 0};
  double far[2] = {1e6, 0};
  double s = f.score(with_inf);
  EXPECT_GT(s, 0.6);
  EXPECT_LE(s, 1.0);
  EXPECT_EQ(s, f.score(far));
}

TEST(iforest, uses_every_row_when_fewer_than_psi) {
  auto x = gaussian(50, 2, 8);
  x(49, 0) = 12; // one far point among 50
  auto f = fit_or_fail(x);
  EXPECT_EQ(f.sample_size(), 50u);
  auto s = score_all(f, x);
  EXPECT_EQ(std::max_element(s.begin(), s.end()) - s.begin(), 49);
}
