#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
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
                         ::testing::Values("zscore", "ewma", "cusum",
                                           "ramp"));

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

TEST(cusum, an_earlier_outage_does_not_blind_it_to_the_next_shift) {
  // Latency around 340 ms (sd 25), 70 samples into its history, spends 33
  // samples at 1,190 ms (an outage), comes back, and 160 samples later
  // shifts by 6 sd. A reference whose spread grew with every sample of the
  // outage (each adds up to 4 sd of residual to a spread that grows with
  // it) took 16 samples to see that shift; one that keeps its spread while
  // it votes sees it at once.
  auto c = make("cusum");
  auto xs = noise(600, 340, 25, 5);
  size_t i = 0;
  for (; i < 70; ++i)
    c(xs[i]);
  for (; i < 103; ++i)
    c(xs[i] + 850);
  for (; i < 263; ++i)
    c(xs[i]);
  int first = -1;
  for (; i < 290 && first < 0; ++i)
    if (c(xs[i] + 150).vote)
      first = static_cast<int>(i - 263);
  EXPECT_GE(first, 0) << "no vote in 27 samples of a 6 sd shift";
  EXPECT_LT(first, 4);
}

TEST(ramp, keeps_voting_on_a_steady_ramp_after_the_zscore_lost_it) {
  auto opts = defaults();
  auto z = make("zscore", opts);
  auto r = make("ramp", opts);
  auto xs = noise(800, 100, 1, 23);
  for (size_t i = 0; i < 500; ++i) {
    z(xs[i]);
    r(xs[i]);
  }
  // Half a sigma per sample, for good: a leak filling memory.
  int first_ramp = -1, last_ramp = -1, late_z_votes = 0;
  for (size_t i = 500; i < 800; ++i) {
    double x = xs[i] + 0.5 * static_cast<double>(i - 500);
    auto k = static_cast<int>(i - 500);
    if (z(x).vote && k >= static_cast<int>(opts.zscore.window))
      ++late_z_votes;
    if (r(x).vote) {
      if (first_ramp < 0)
        first_ramp = k;
      last_ramp = k;
    }
  }
  // A full rolling window of ramp sits about 1.7 sigma under its newest
  // value: the z-score is silent from then on.
  EXPECT_EQ(late_z_votes, 0);
  ASSERT_GE(first_ramp, 0);
  // The rise needs about half a span of ramp to stand out.
  EXPECT_LT(first_ramp, static_cast<int>(opts.ramp.span));
  // The rise keeps voting well past the z-score's window, and its slowly
  // learning reference absorbs a ramp that never ends within a few spans.
  EXPECT_GT(last_ramp, static_cast<int>(opts.zscore.window));
  EXPECT_LT(last_ramp, 200);
}

TEST(ramp, hardly_moves_for_one_spike) {
  auto r = make("ramp");
  for (auto x : noise(500, 100, 1, 25))
    r(x);
  // Ten sigmas once: a twentieth of it in the rise, then out again.
  auto v = r(110);
  EXPECT_FALSE(v.vote);
  EXPECT_LT(std::fabs(v.deviation), 3.0);
  int votes = 0;
  for (auto x : noise(60, 100, 1, 26))
    votes += r(x).vote ? 1 : 0;
  EXPECT_EQ(votes, 0);
}

TEST(ramp, does_not_take_the_climb_back_after_a_restart_for_a_leak) {
  auto r = make("ramp");
  auto xs = noise(600, 100, 1, 33);
  for (size_t i = 0; i < 500; ++i)
    r(xs[i]);
  // A restart: memory drops by 40 % at once, then the new process warms up
  // back to the usual level over 30 samples.
  bool voted_on_drop = false;
  for (size_t i = 500; i < 503; ++i)
    voted_on_drop = r(xs[i] - 40).vote || voted_on_drop;
  EXPECT_TRUE(voted_on_drop) << "a drop this large is news";
  // Half a span on, the drop has left the last two quarter spans, which
  // now climb: from then on, through the climb and after it, silence.
  auto half = defaults().ramp.span / 2;
  int climb_votes = 0;
  for (size_t i = 503; i < 600; ++i) {
    double back = std::min(40.0, 40.0 * static_cast<double>(i - 503) / 30);
    bool vote = r(xs[i] - 40 + back).vote;
    if (i >= 503 + half)
      climb_votes += vote ? 1 : 0;
  }
  EXPECT_EQ(climb_votes, 0);
}

TEST(ramp, stays_exact_over_a_long_run_with_large_offsets) {
  auto r = make("ramp");
  int votes = 0;
  for (auto x : noise(200000, 1e6, 1, 27))
    votes += r(x).vote ? 1 : 0;
  EXPECT_LT(votes, 200000 * 0.001);
  // Rounding in the running sums would show as a rise out of nothing.
  EXPECT_LT(std::fabs(r(1e6).deviation), 5.0);
}

TEST(ramp, scores_at_most_like_cusum_so_a_slope_alone_cannot_shout) {
  auto r = make("ramp");
  for (auto x : noise(300, 100, 1, 29))
    r(x);
  double best = 0;
  for (int i = 0; i < 40; ++i)
    best = std::max(best, r(100 + 20.0 * i).score);
  // Twice the threshold, where CUSUM caps its score as well.
  EXPECT_NEAR(best, 0.8, 1e-9);
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
