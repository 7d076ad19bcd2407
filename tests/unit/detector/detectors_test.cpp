#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "actors/detector/cusum.hpp"
#include "actors/detector/ensemble.hpp"
#include "actors/detector/ewma.hpp"
#include "actors/detector/zscore.hpp"
#include "messages/errc.hpp"

using namespace vigil::detector;

namespace {

/// Runs one detector kind over its own state block.
class runner {
public:
  explicit runner(std::unique_ptr<detector_kind> k)
    : kind_(std::move(k)), state_(kind_->state_size()) {
    kind_->init(state_.data());
  }
  verdict operator()(double x) { return kind_->update(state_.data(), x, 0); }

private:
  std::unique_ptr<detector_kind> kind_;
  std::vector<std::byte> state_;
};

vigil::detection_options defaults() {
  return vigil::detection_options{};
}

runner make(const char* name, vigil::detection_options opts = defaults()) {
  return runner{make_detector(name, opts)};
}

std::vector<double> noise(size_t n, double mean, double sd, unsigned seed) {
  std::mt19937 gen{seed};
  std::normal_distribution<double> dist{mean, sd};
  std::vector<double> xs(n);
  for (auto& x : xs)
    x = dist(gen);
  return xs;
}

class every_detector : public ::testing::TestWithParam<const char*> {};

TEST_P(every_detector, stays_silent_while_warming_up) {
  auto d = make(GetParam());
  for (int i = 0; i < 29; ++i) {
    auto v = d(i % 2 == 0 ? 0 : 1000); // wild, but still warming up
    EXPECT_FALSE(v.warm) << i;
    EXPECT_FALSE(v.vote) << i;
    EXPECT_EQ(v.score, 0) << i;
  }
}

TEST_P(every_detector, rarely_votes_on_gaussian_noise) {
  auto d = make(GetParam());
  int votes = 0;
  auto xs = noise(20000, 100, 5, 7);
  for (auto x : xs)
    votes += d(x).vote ? 1 : 0;
  // A 3-sigma rule fires on ~0.3 % of Gaussian values; allow estimation
  // noise, but not a detector that cries wolf.
  EXPECT_LT(votes, 20000 * 0.01) << GetParam();
}

TEST_P(every_detector, votes_on_a_large_step_and_scores_it_high) {
  auto d = make(GetParam());
  for (auto x : noise(300, 100, 2, 11))
    d(x);
  bool voted = false;
  double best = 0;
  // CUSUM needs a few samples to accumulate; the point detectors fire at
  // once.
  for (int i = 0; i < 5; ++i) {
    auto v = d(160);
    voted = voted || v.vote;
    best = std::max(best, v.score);
  }
  EXPECT_TRUE(voted) << GetParam();
  // At least twice the threshold (CUSUM caps its sums there).
  EXPECT_GE(best, 0.8) << GetParam();
}

TEST_P(every_detector, treats_a_flat_line_change_as_anomalous) {
  auto d = make(GetParam());
  for (int i = 0; i < 100; ++i)
    EXPECT_FALSE(d(1.0).vote);
  bool voted = false;
  for (int i = 0; i < 3; ++i)
    voted = voted || d(0.0).vote;
  EXPECT_TRUE(voted) << GetParam();
}

INSTANTIATE_TEST_SUITE_P(kinds, every_detector,
                         ::testing::Values("zscore", "ewma", "cusum"));

TEST(zscore, reports_the_band_it_expected) {
  auto d = make("zscore");
  for (int i = 0; i < 60; ++i)
    d(i % 2 == 0 ? 9.0 : 11.0);
  auto v = d(10.0);
  ASSERT_TRUE(v.warm);
  EXPECT_NEAR((v.expected_lo + v.expected_hi) / 2, 10.0, 1e-6);
  // sd of the alternating 9/11 window is ~1.008, the band 3 sigmas wide.
  EXPECT_NEAR(v.expected_hi - 10.0, 3.0 * 1.0084, 0.01);
  EXPECT_FALSE(v.vote);
}

TEST(zscore, adapts_to_a_new_level_within_one_window) {
  auto opts = defaults();
  auto d = make("zscore", opts);
  for (auto x : noise(200, 10, 1, 3))
    d(x);
  EXPECT_TRUE(d(50).vote);
  for (auto x : noise(opts.zscore.window, 50, 1, 4))
    d(x);
  EXPECT_FALSE(d(50).vote);
}

TEST(zscore, stays_exact_over_a_long_run_with_large_offsets) {
  auto d = make("zscore");
  // A value far from zero with a small spread stresses the running sums.
  for (auto x : noise(200000, 1e6, 1, 5))
    d(x);
  auto v = d(1e6);
  EXPECT_NEAR(v.deviation, 0, 0.5);
  EXPECT_NEAR(v.expected_hi - v.expected_lo, 6.0, 1.5);
}

TEST(ewma, one_spike_does_not_blind_it_to_the_next) {
  auto d = make("ewma");
  for (auto x : noise(300, 100, 1, 9))
    d(x);
  EXPECT_TRUE(d(1000).vote);
  EXPECT_TRUE(d(108).vote) << "the band must not have been blown open";
}

TEST(cusum, sees_a_slow_drift_the_point_detectors_miss) {
  auto opts = defaults();
  auto z = make("zscore", opts);
  auto c = make("cusum", opts);
  auto xs = noise(2000, 100, 1, 21);
  for (size_t i = 0; i < 500; ++i) {
    z(xs[i]);
    c(xs[i]);
  }
  // Drift by 0.02 sigma per sample: 1 sigma after 50 samples.
  int z_votes = 0;
  int first_cusum = -1;
  for (size_t i = 500; i < 700; ++i) {
    double x = xs[i] + 0.02 * static_cast<double>(i - 500);
    z_votes += z(x).vote ? 1 : 0;
    if (c(x).vote && first_cusum < 0)
      first_cusum = static_cast<int>(i - 500);
  }
  EXPECT_GE(first_cusum, 0);
  EXPECT_LT(first_cusum, 150);
  EXPECT_LT(z_votes, 5);
}

TEST(ensemble, needs_min_votes_agreeing_detectors) {
  auto opts = defaults();
  auto ens = ensemble::make(opts);
  ASSERT_TRUE(ens);
  std::vector<std::byte> state((*ens)->state_size());
  (*ens)->init(state.data());
  for (auto x : noise(300, 100, 2, 13)) {
    auto r = (*ens)->update(state.data(), x, 0);
    (void) r;
  }
  auto r = (*ens)->update(state.data(), 200, 0);
  EXPECT_EQ(r.warm, 3u);
  EXPECT_GE(r.votes, 2u);
  EXPECT_TRUE(r.anomalous);
  EXPECT_GT(r.score, 0.9);
  EXPECT_LT(r.expected_lo, 100);
  EXPECT_GT(r.expected_hi, 100);
  opts.min_votes = 3;
  auto strict = ensemble::make(opts);
  ASSERT_TRUE(strict);
  std::vector<std::byte> s2((*strict)->state_size());
  (*strict)->init(s2.data());
  for (int i = 0; i < 300; ++i)
    (*strict)->update(s2.data(), 100 + (i % 5) - 2, 0);
  // CUSUM clips each residual, so a single spike on a calm series is not
  // unanimous.
  EXPECT_FALSE((*strict)->update(s2.data(), 200, 0).anomalous);
}

TEST(ensemble, refuses_unknown_detectors_and_impossible_votes) {
  auto opts = defaults();
  opts.detectors = {"zscore", "nope"};
  auto e = ensemble::make(opts);
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error(), vigil::errc::invalid_config);
  opts.detectors = {"zscore"};
  opts.min_votes = 2;
  EXPECT_FALSE(ensemble::make(opts));
}

TEST(ensemble, layout_changes_with_the_detectors_and_their_shape) {
  auto a = defaults();
  auto b = defaults();
  b.zscore.window = 30;
  auto c = defaults();
  c.detectors = {"ewma", "zscore", "cusum"};
  auto la = (*ensemble::make(a))->layout();
  EXPECT_NE(la, (*ensemble::make(b))->layout());
  EXPECT_NE(la, (*ensemble::make(c))->layout());
  // Thresholds are not part of the state's shape.
  auto d = defaults();
  d.ewma.threshold = 4;
  EXPECT_EQ(la, (*ensemble::make(d))->layout());
}

} // namespace
