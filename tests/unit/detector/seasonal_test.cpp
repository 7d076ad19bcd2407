// The seasonal baseline: periods found from the data, a nightly batch job
// learned, daytime surges still caught.

#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "actors/detector/seasonal.hpp"
#include "actors/detector/zscore.hpp"

using namespace vigil::detector;

namespace {

constexpr int64_t minute = 60'000;
constexpr int64_t hour = 60 * minute;
constexpr int64_t day = 24 * hour;
constexpr int64_t monday = 1'704'067'200'000; // 2024-01-01 00:00 UTC

struct seasonal_runner {
  explicit seasonal_runner(vigil::seasonal_options o = {})
    : kind(o, 30), state(kind.state_size()) {
    kind.init(state.data());
  }
  verdict operator()(double x, int64_t ts) {
    return kind.update(state.data(), x, ts);
  }
  int model() const { return seasonal::model_of(state.data()); }
  seasonal kind;
  std::vector<std::byte> state;
};

// CPU % of a service with a batch job from 02:00 to 02:30 every night.
double cpu(int64_t ts, std::mt19937& gen) {
  std::normal_distribution<double> noise{0, 2};
  auto t = ts % day;
  double base = t >= 2 * hour && t < 2 * hour + 30 * minute ? 90 : 30;
  return base + noise(gen);
}

TEST(seasonal, learns_a_nightly_batch_job_and_stays_quiet_at_night) {
  seasonal_runner d;
  zscore plain{{}, 30};
  std::vector<std::byte> zs(plain.state_size());
  plain.init(zs.data());
  std::mt19937 gen{1};
  int64_t ts = monday;
  for (; ts < monday + 7 * day; ts += minute)
    d(cpu(ts, gen), ts);
  EXPECT_GE(d.model(), 1) << "the daily rhythm pays and should be chosen";
  int seasonal_votes = 0;
  int zscore_votes = 0;
  for (; ts < monday + 10 * day; ts += minute) {
    double x = cpu(ts, gen);
    seasonal_votes += d(x, ts).vote;
    zscore_votes += plain.update(zs.data(), x, ts).vote;
  }
  EXPECT_LE(seasonal_votes, 3) << "three nights of the known batch job";
  // The same data through a detector that knows no time of day: the job's
  // start and end vote every night.
  EXPECT_GE(zscore_votes, 3);
}

TEST(seasonal, catches_a_daytime_surge_the_night_job_never_excused) {
  seasonal_runner d;
  std::mt19937 gen{2};
  int64_t ts = monday;
  for (; ts < monday + 7 * day + 14 * hour; ts += minute)
    d(cpu(ts, gen), ts);
  // 14:00 on day eight: 75 % and rising, where 30 % is normal.
  bool voted = false;
  int64_t first_vote = -1;
  for (int i = 0; i < 30; ++i, ts += minute) {
    auto v = d(75 + i * 0.5, ts);
    if (v.vote && !voted) {
      voted = true;
      first_vote = i;
    }
  }
  EXPECT_TRUE(voted);
  EXPECT_LE(first_vote, 2);
}

TEST(seasonal, judges_a_series_without_rhythm_as_flat) {
  seasonal_runner d;
  std::mt19937 gen{3};
  std::normal_distribution<double> noise{100, 5};
  int votes = 0;
  int64_t ts = monday;
  for (; ts < monday + 21 * day; ts += 5 * minute)
    votes += d(noise(gen), ts).vote;
  EXPECT_EQ(d.model(), 0);
  // 6,048 samples of Gaussian noise at a 4-sigma band: a handful at most.
  EXPECT_LE(votes, 10);
}

TEST(seasonal, finds_a_weekly_rhythm_after_two_weeks) {
  seasonal_runner d;
  std::mt19937 gen{4};
  std::normal_distribution<double> noise{0, 1};
  auto load = [&](int64_t ts) {
    auto dow = (ts / day + 3) % 7;
    auto h = ts % day / hour;
    double daily = h >= 8 && h < 20 ? 40 : 10;
    return (dow >= 5 ? daily / 4 : daily) + noise(gen);
  };
  int64_t ts = monday;
  for (; ts < monday + 13 * day; ts += 10 * minute)
    d(load(ts), ts);
  EXPECT_LE(d.model(), 1) << "no weekly model before two weeks of data";
  for (; ts < monday + 28 * day; ts += 10 * minute)
    d(load(ts), ts);
  EXPECT_EQ(d.model(), 2);
  // Monday noon load on a Saturday noon: a weekday level on a weekend.
  int64_t saturday_noon = monday + 33 * day + 12 * hour;
  for (; ts < saturday_noon; ts += 10 * minute)
    d(load(ts), ts);
  EXPECT_TRUE(d(40, ts).vote);
  EXPECT_FALSE(d(10 + noise(gen), ts + 10 * minute).vote);
}

TEST(seasonal, state_is_a_plain_copy_and_layout_follows_slots) {
  seasonal_runner a;
  std::mt19937 gen{5};
  int64_t ts = monday;
  for (; ts < monday + 3 * day; ts += 5 * minute)
    a(cpu(ts, gen), ts);
  seasonal_runner b;
  b.state = a.state;
  for (int i = 0; i < 100; ++i, ts += 5 * minute) {
    double x = cpu(ts, gen) * (i == 50 ? 3 : 1);
    EXPECT_EQ(a(x, ts).score, b(x, ts).score) << i;
  }
  EXPECT_NE(seasonal({.day_slots = 24}, 30).layout(),
            seasonal({.day_slots = 48}, 30).layout());
  EXPECT_LE(seasonal({}, 30).state_size(), 280u);
}

} // namespace
