// The pattern-novelty detector and the ensemble's refractory period.

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "actors/detector/ensemble.hpp"
#include "actors/detector/novelty.hpp"

using namespace vigil::detector;

namespace {

struct novelty_runner {
  explicit novelty_runner(vigil::novelty_options o = {}, uint32_t warmup = 30)
    : kind(o, warmup), state(kind.state_size()) {
    kind.init(state.data());
  }
  /// One value a minute from 2024-01-01 (a Monday), 00:00 UTC.
  verdict operator()(double x) {
    return kind.update(state.data(), x, 1'704'067'200'000 + 60'000 * n++);
  }
  novelty kind;
  int64_t n = 0;
  std::vector<std::byte> state;
};

// A clean periodic signal: a square-ish wave with a period of 8.
double wave(int i) {
  return std::sin(i * 2 * M_PI / 8) * 10 + 50;
}

TEST(novelty, is_silent_on_a_repeating_shape_once_it_has_seen_it) {
  novelty_runner d{{.day_slots = 0}};
  for (int i = 0; i < 64; ++i)
    d(wave(i));
  for (int i = 64; i < 2000; ++i) {
    auto v = d(wave(i));
    ASSERT_TRUE(v.warm);
    EXPECT_EQ(v.score, 0) << i;
    EXPECT_FALSE(v.vote) << i;
  }
}

TEST(novelty, fires_when_a_busy_signal_goes_flat) {
  novelty_runner d;
  for (int i = 0; i < 500; ++i)
    d(wave(i));
  // Stuck at the mean: the pattern "mid, mid, mid" never occurred.
  double best = 0;
  bool voted = false;
  for (int i = 0; i < 4; ++i) {
    auto v = d(50.0);
    best = std::max(best, v.score);
    voted = voted || v.vote;
  }
  EXPECT_TRUE(voted);
  EXPECT_GE(best, 0.5);
}

TEST(novelty, scores_a_new_extreme_as_new) {
  novelty_runner d;
  std::mt19937 gen{7};
  std::uniform_real_distribution<double> u{0, 1};
  for (int i = 0; i < 3000; ++i)
    d(u(gen));
  // The range now spans [0, 1); 5 lands in a band of its own once the
  // range widens, and no pattern ending there was ever seen.
  auto v = d(5.0);
  EXPECT_TRUE(v.vote);
  EXPECT_DOUBLE_EQ(v.score, 1.0);
}

TEST(novelty, knows_the_hours_a_level_belongs_to) {
  vigil::novelty_options o;
  o.depth = 2;
  novelty d{o, 30};
  std::vector<std::byte> state(d.state_size());
  d.init(state.data());
  constexpr int64_t monday = 1'704'067'200'000; // 2024-01-01 00:00 UTC
  constexpr int64_t step = 600'000;             // 10 minutes
  auto busy = [](int64_t ts) {
    auto hour = ts / 3'600'000 % 24;
    auto weekday = (ts / 86'400'000 + 3) % 7 < 5;
    return weekday && hour >= 9 && hour < 17;
  };
  // The range is known from the start (bands are relative to it).
  d.update(state.data(), 100, monday - step);
  d.update(state.data(), 10, monday - step / 2);
  int64_t ts = monday;
  for (; ts < monday + 14 * 86'400'000; ts += step)
    d.update(state.data(), busy(ts) ? 100 : 10 + (ts / step) % 3, ts);
  // Monday of week three: 03:00 busy is a band never seen at that hour.
  int64_t night = ts + 3 * 3'600'000;
  int64_t morning = ts + 10 * 3'600'000;
  d.update(state.data(), 11, night - step);
  auto at_night = d.update(state.data(), 100, night);
  d.update(state.data(), 11, morning - step);
  auto at_ten = d.update(state.data(), 100, morning);
  EXPECT_GT(at_night.score, 0);
  EXPECT_EQ(at_ten.score, 0);
  // A Saturday at ten is new as well: busy never happened on weekends.
  int64_t saturday = ts + 5 * 86'400'000 + 10 * 3'600'000;
  d.update(state.data(), 11, saturday - step);
  EXPECT_GT(d.update(state.data(), 100, saturday).score, 0);
}

TEST(novelty, has_a_bounded_fixed_size_state) {
  novelty_runner d{{.levels = 6, .depth = 4, .day_slots = 0}};
  EXPECT_EQ(d.kind.pattern_bits(), 6u + 36 + 216 + 1296);
  novelty with_days{{.levels = 6, .depth = 4, .day_slots = 24}, 30};
  EXPECT_EQ(with_days.pattern_bits(), 6u + 36 + 216 + 1296 + 2 * 24 * 6);
  EXPECT_LE(with_days.state_size(), 320u);
  EXPECT_LE(d.kind.state_size(), 256u);
  EXPECT_EQ(d.kind.state_size() % 8, 0u);
  // More patterns than fit are cut at the depth that fits 4096 per length.
  novelty too_deep{{.levels = 64, .depth = 5, .day_slots = 0}, 30};
  EXPECT_EQ(too_deep.pattern_bits(), 64u + 4096);
}

TEST(novelty, state_is_a_plain_copy) {
  novelty_runner a;
  for (int i = 0; i < 300; ++i)
    a(wave(i) + (i % 13));
  novelty_runner b;
  b.state = a.state;
  b.n = a.n;
  for (int i = 300; i < 400; ++i) {
    double x = wave(i) * (i % 50 == 0 ? 3 : 1);
    auto va = a(x);
    auto vb = b(x);
    EXPECT_EQ(va.score, vb.score) << i;
  }
}

TEST(novelty, layout_follows_levels_and_depth) {
  novelty a{{.levels = 6, .depth = 4}, 30};
  novelty b{{.levels = 8, .depth = 4}, 30};
  novelty c{{.levels = 6, .depth = 3}, 30};
  novelty d{{.levels = 6, .depth = 4, .day_slots = 12}, 30};
  EXPECT_NE(a.layout(), b.layout());
  EXPECT_NE(a.layout(), c.layout());
  EXPECT_NE(a.layout(), d.layout());
  EXPECT_EQ(a.layout(), (novelty{{.levels = 6, .depth = 4}, 10}.layout()));
}

vigil::detection_options novelty_only(uint32_t refractory) {
  vigil::detection_options o;
  o.detectors = {"novelty"};
  o.min_votes = 1;
  o.refractory_samples = refractory;
  return o;
}

TEST(ensemble_refractory, scores_an_event_once_then_stays_below_threshold) {
  auto e = *ensemble::make(novelty_only(20));
  auto plain = *ensemble::make(novelty_only(0));
  EXPECT_EQ(e->state_size(), plain->state_size() + 8);
  std::vector<std::byte> s(e->state_size());
  std::vector<std::byte> p(plain->state_size());
  e->init(s.data());
  plain->init(p.data());
  for (int i = 0; i < 500; ++i) {
    e->update(s.data(), wave(i), 0);
    plain->update(p.data(), wave(i), 0);
  }
  // Ten flat samples, then a jump, then more flatness: many novel values.
  std::vector<double> event(10, 50.0);
  event.push_back(100.0);
  event.push_back(-40.0);
  int above_plain = 0;
  int above = 0;
  for (double x : event) {
    auto r = e->update(s.data(), x, 0);
    auto q = plain->update(p.data(), x, 0);
    above += r.score >= 0.5;
    above_plain += q.score >= 0.5;
    // Onsets are still reported: the verdict itself is untouched.
    EXPECT_EQ(r.anomalous, q.anomalous);
  }
  EXPECT_EQ(above, 1);
  EXPECT_GT(above_plain, 1);
}

TEST(ensemble_refractory, ends_after_the_configured_samples) {
  auto e = *ensemble::make(novelty_only(5));
  std::vector<std::byte> s(e->state_size());
  e->init(s.data());
  for (int i = 0; i < 500; ++i)
    e->update(s.data(), wave(i), 0);
  EXPECT_GE(e->update(s.data(), 1000.0, 0).score, 0.5); // fires, quiet = 5
  for (int i = 0; i < 5; ++i)
    EXPECT_LT(e->update(s.data(), -1000.0 * (i + 2), 0).score, 0.5) << i;
  EXPECT_GE(e->update(s.data(), -1e6, 0).score, 0.5);
}

} // namespace

namespace {

vigil::detection_options nab_like() {
  vigil::detection_options o;
  o.detectors = {"novelty"};
  o.min_votes = 1;
  o.novelty.extreme_margin = 0;
  o.likelihood.enabled = true;
  return o;
}

TEST(ensemble_likelihood, silences_a_series_that_is_always_a_little_new) {
  auto e = *ensemble::make(nab_like());
  std::vector<std::byte> s(e->state_size());
  e->init(s.data());
  // Noise inside a fixed range: new patterns keep turning up now and then.
  std::mt19937 gen{9};
  std::uniform_real_distribution<double> u{0, 1};
  e->update(s.data(), 0.0, 0);
  e->update(s.data(), 1.0, 0);
  int high_late = 0;
  for (int i = 0; i < 3000; ++i) {
    auto r = e->update(s.data(), u(gen), 0);
    // While the likelihood warms up only the novelty floor speaks.
    if (i < 298) {
      EXPECT_LE(r.score, 0.7 * r.verdicts[0].score + 1e-12) << i;
    }
    if (i >= 1000)
      high_late += r.score >= 0.5;
  }
  EXPECT_EQ(high_late, 0);
  // A value beyond everything seen is certain: full score.
  auto r = e->update(s.data(), 5.0, 0);
  EXPECT_DOUBLE_EQ(r.score, 1.0);
  EXPECT_TRUE(r.anomalous);
}

TEST(ensemble_likelihood, has_its_own_state_and_layout) {
  auto with = *ensemble::make(nab_like());
  auto o = nab_like();
  o.likelihood.enabled = false;
  auto without = *ensemble::make(o);
  EXPECT_EQ(with->state_size(),
            without->state_size() + 8 + 32 + 8 * o.likelihood.average);
  EXPECT_NE(with->layout(), without->layout());
}

} // namespace
