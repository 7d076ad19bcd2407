#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <random>

#include "actors/detector/series_table.hpp"
#include "runtime/hash.hpp"
#include "tests/support/support.hpp"

using namespace vigil;
using namespace vigil::detector;

namespace {

/// Builds sample batches for one service by hand.
struct batch_builder {
  sample_batch b;
  explicit batch_builder(std::string service = "checkout") {
    b.service = std::move(service);
  }
  batch_builder& add(std::string_view text, int64_t ts_ms, double value,
                     uint8_t flags = 0) {
    sample s;
    s.series = hash64(text);
    s.ts_ms = ts_ms;
    s.value = value;
    s.text_offset = static_cast<uint32_t>(b.texts.size());
    s.text_size = static_cast<uint32_t>(text.size());
    s.flags = flags;
    b.texts.append(text);
    b.samples.push_back(s);
    return *this;
  }
};

// prefix followed by i. (Built by appending: GCC 12 warns falsely about
// `"literal" + std::string` under -O2, its -Wrestrict bug 105329.)
std::string named(const char* prefix, int i) {
  std::string out{prefix};
  out += std::to_string(i);
  return out;
}

struct table_test : ::testing::Test {
  detection_options opts;
  std::shared_ptr<const ensemble> ens = *ensemble::make(opts);
  series_table table{"checkout", ens, opts};
  std::vector<anomaly_event> out;

  void feed(std::string_view text, int64_t ts_ms, double value,
            uint8_t flags = 0) {
    batch_builder bb;
    bb.add(text, ts_ms, value, flags);
    table.ingest(bb.b, out);
  }

  // A noisy baseline of `n` samples, 10 s apart, starting at `t0`. The
  // noise is bounded (uniform, sd 1.7) so no value is a genuine outlier.
  int64_t baseline(std::string_view text, int64_t t0, size_t n,
                   unsigned seed = 1) {
    std::mt19937 gen{seed};
    std::uniform_real_distribution<double> dist{97, 103};
    for (size_t i = 0; i < n; ++i)
      feed(text, t0 + static_cast<int64_t>(i) * 10000, dist(gen));
    return t0 + static_cast<int64_t>(n) * 10000;
  }
};

constexpr std::string_view latency = "latency_ms{route=\"/pay\"}";

TEST_F(table_test, emits_onset_then_recovered_for_a_spike) {
  auto t = baseline(latency, 1000000, 200);
  EXPECT_TRUE(out.empty());
  feed(latency, t, 200);
  ASSERT_EQ(out.size(), 1u);
  auto& onset = out[0];
  EXPECT_EQ(onset.phase, anomaly_phase::onset);
  EXPECT_EQ(onset.service, "checkout");
  EXPECT_EQ(onset.metric, "latency_ms");
  EXPECT_EQ(onset.series, latency);
  EXPECT_EQ(onset.ts_ms, t);
  EXPECT_EQ(onset.value, 200);
  EXPECT_GT(onset.score, 0.9);
  EXPECT_LT(onset.expected_hi, 200);
  size_t voters = 0;
  for (auto& v : onset.votes)
    voters += v.vote ? 1 : 0;
  EXPECT_GE(voters, 2u);
  // Back to normal for recovery_samples values ends the stretch.
  std::mt19937 gen{99};
  std::uniform_real_distribution<double> dist{97, 103};
  for (int i = 1; i <= 40 && out.size() == 1; ++i)
    feed(latency, t + i * 10000, dist(gen));
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[1].phase, anomaly_phase::recovered);
  EXPECT_EQ(out[1].onset_ts_ms, t);
  EXPECT_EQ(table.stats().anomalies, 1u);
}

TEST_F(table_test, re_announces_a_lasting_anomaly_once_per_interval) {
  opts.reemit_interval = duration{60000};
  opts.confirm_samples = 0; // only the interval re-announces here
  opts.cusum.alpha = 0.001; // keep the reference from adapting quickly
  series_table slow{"checkout", *ensemble::make(opts), opts};
  std::mt19937 gen{5};
  std::uniform_real_distribution<double> dist{97, 103};
  int64_t t = 0;
  for (int i = 0; i < 200; ++i, t += 10000) {
    batch_builder bb;
    bb.add(latency, t, dist(gen));
    slow.ingest(bb.b, out);
  }
  // Alternate far-off values so the point detectors keep voting.
  for (int i = 0; i < 30; ++i, t += 10000) {
    batch_builder bb;
    bb.add(latency, t, i % 2 == 0 ? 400 : -200);
    slow.ingest(bb.b, out);
  }
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(out[0].phase, anomaly_phase::onset);
  size_t ongoing = 0;
  for (size_t i = 1; i < out.size(); ++i) {
    if (out[i].phase == anomaly_phase::ongoing) {
      ++ongoing;
      EXPECT_GE(out[i].ts_ms - out[i - 1].ts_ms, 60000);
    }
  }
  // 300 s of anomaly, one re-announcement per minute at most.
  EXPECT_GE(ongoing, 1u);
  EXPECT_LE(ongoing, 5u);
}

// Feeds `n` samples of `value` (plus a little noise), 10 s apart, from
// `t`; returns the time after the last.
static int64_t level(series_table& t, std::vector<anomaly_event>& out, int64_t at,
              int n, double value, unsigned seed = 3) {
  std::mt19937 gen{seed};
  std::uniform_real_distribution<double> dist{-3, 3};
  for (int i = 0; i < n; ++i, at += 10000) {
    batch_builder bb;
    bb.add(latency, at, value + dist(gen));
    t.ingest(bb.b, out);
  }
  return at;
}

static size_t count_phase(const std::vector<anomaly_event>& out, anomaly_phase p) {
  return static_cast<size_t>(std::count_if(
    out.begin(), out.end(), [&](const auto& e) { return e.phase == p; }));
}

TEST_F(table_test, holds_a_level_shift_until_the_level_comes_back) {
  auto t = baseline(latency, 1000000, 200);
  // 400 for 20 min: long enough for every detector to adapt to it.
  t = level(table, out, t, 120, 400);
  ASSERT_GE(out.size(), 1u);
  EXPECT_EQ(out[0].phase, anomaly_phase::onset);
  EXPECT_EQ(count_phase(out, anomaly_phase::recovered), 0u)
    << "a lasting shift must stay an anomaly while it lasts";
  // Back to the old level: recovered after recovery_samples.
  auto back = t;
  level(table, out, t, 20, 100);
  ASSERT_EQ(count_phase(out, anomaly_phase::recovered), 1u);
  auto rec = std::find_if(out.begin(), out.end(), [](const auto& e) {
    return e.phase == anomaly_phase::recovered;
  });
  EXPECT_LE(rec->ts_ms, back + 10000 * (opts.recovery_samples + 1));
  EXPECT_EQ(rec->onset_ts_ms, out[0].ts_ms);
}

TEST_F(table_test, without_hold_a_level_shift_recovers_as_the_detectors_adapt) {
  opts.hold_max = duration{0};
  series_table t2{"checkout", *ensemble::make(opts), opts};
  std::swap(table, t2);
  auto t = baseline(latency, 1000000, 200);
  level(table, out, t, 120, 400);
  EXPECT_EQ(count_phase(out, anomaly_phase::recovered), 1u)
    << "the detectors no longer adapt to a shift: this test shows nothing";
}

TEST_F(table_test, hold_max_accepts_a_new_level_after_a_while) {
  opts.hold_max = duration{5 * 60'000};
  series_table t2{"checkout", *ensemble::make(opts), opts};
  std::swap(table, t2);
  auto t = baseline(latency, 1000000, 200);
  auto shift = t;
  level(table, out, t, 120, 400);
  ASSERT_EQ(count_phase(out, anomaly_phase::recovered), 1u);
  auto rec = std::find_if(out.begin(), out.end(), [](const auto& e) {
    return e.phase == anomaly_phase::recovered;
  });
  EXPECT_GE(rec->ts_ms, shift + 5 * 60'000);
  EXPECT_LE(rec->ts_ms, shift + 7 * 60'000);
}

TEST_F(table_test, confirms_a_persisting_anomaly_once_and_not_a_blip) {
  auto t = baseline(latency, 1000000, 200);
  // A one-sample blip: onset and recovered, nothing in between.
  feed(latency, t, 250);
  t = level(table, out, t + 10000, 10, 100);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[1].phase, anomaly_phase::recovered);
  out.clear();
  // A shift: onset, then one re-announcement at the confirm_samples-th
  // anomalous sample, none more within the re-emit interval.
  auto shift = t;
  level(table, out, t, 12, 400);
  ASSERT_GE(out.size(), 2u);
  EXPECT_EQ(out[0].phase, anomaly_phase::onset);
  EXPECT_EQ(out[1].phase, anomaly_phase::ongoing);
  EXPECT_EQ(out[1].ts_ms, shift + 10000 * (opts.confirm_samples - 1));
  EXPECT_EQ(out[1].onset_ts_ms, shift);
  EXPECT_EQ(out.size(), 2u);
}

TEST_F(table_test, a_persisting_anomaly_scores_the_mean_of_its_confirmation) {
  auto t = baseline(latency, 1000000, 200);
  // A lasting shift: the adaptive detectors score its first sample high
  // and absorb part of it by the confirm_samples-th.
  std::vector<double> scores;
  for (uint32_t i = 0; i < opts.confirm_samples; ++i, t += 10000) {
    batch_builder bb;
    bb.add(latency, t, 160);
    table.ingest(bb.b, out, &scores);
  }
  ASSERT_EQ(out.size(), 2u);
  ASSERT_EQ(out[1].phase, anomaly_phase::ongoing);
  ASSERT_EQ(scores.size(), opts.confirm_samples);
  ASSERT_LT(scores.back(), scores.front()) << "the detectors did not adapt";
  // Each sample after the onset counts with the ensemble's score or, if
  // higher, its distance from the band expected at the onset.
  double centre = 0.5 * (out[0].expected_lo + out[0].expected_hi);
  double half = 0.5 * (out[0].expected_hi - out[0].expected_lo);
  ASSERT_GT(half, 0);
  double q = (160 - centre) / half;
  double banded = q * q / (1 + q * q);
  double mean = 0, plain = 0;
  for (size_t i = 0; i < scores.size(); ++i) {
    mean += i == 0 ? scores[i] : std::max(scores[i], banded);
    plain += scores[i];
  }
  mean /= static_cast<double>(scores.size());
  plain /= static_cast<double>(scores.size());
  EXPECT_NEAR(out[0].score, scores.front(), 1e-12);
  EXPECT_NEAR(out[1].score, mean, 1e-6)
    << "the confirmation judges the stretch, not its last sample";
  EXPECT_GT(out[1].score, scores.back());
  EXPECT_GT(out[1].score, plain + 0.01)
    << "the onset's band judges the shift the detectors began to take in";
  // Re-announcements keep the confirmation's score as a floor.
  opts.reemit_interval = duration{60000};
  series_table again{"checkout", *ensemble::make(opts), opts};
  std::vector<anomaly_event> later;
  int64_t u = 1000000;
  std::mt19937 gen{1};
  std::uniform_real_distribution<double> dist{97, 103};
  for (int i = 0; i < 200; ++i, u += 10000) {
    batch_builder bb;
    bb.add(latency, u, dist(gen));
    again.ingest(bb.b, later);
  }
  for (int i = 0; i < 12; ++i, u += 10000) {
    batch_builder bb;
    bb.add(latency, u, 160);
    again.ingest(bb.b, later);
  }
  ASSERT_GE(count_phase(later, anomaly_phase::ongoing), 2u);
  for (const auto& e : later) {
    if (e.phase == anomaly_phase::ongoing) {
      EXPECT_NEAR(e.score, later[1].score, 1e-6);
    }
  }
}

TEST_F(table_test, a_snapshot_keeps_the_confirmation_under_way) {
  auto t = baseline(latency, 1000000, 200);
  feed(latency, t, 160);
  feed(latency, t + 10000, 160);
  auto bytes = table.snapshot(1);
  series_table copy{"checkout", ens, opts};
  ASSERT_TRUE(copy.restore(bytes));
  std::vector<anomaly_event> restored;
  for (uint32_t i = 2; i < opts.confirm_samples; ++i) {
    feed(latency, t + i * 10000, 160);
    batch_builder bb;
    bb.add(latency, t + i * 10000, 160);
    copy.ingest(bb.b, restored);
  }
  ASSERT_EQ(out.back().phase, anomaly_phase::ongoing);
  ASSERT_EQ(restored.size(), 1u);
  EXPECT_EQ(restored[0].score, out.back().score);
}

TEST_F(table_test, a_blip_just_before_a_shift_does_not_date_it) {
  auto t = baseline(latency, 1000000, 200);
  feed(latency, t, 250); // a blip
  t = level(table, out, t + 10000, 2, 100); // normal, not yet recovered
  auto shift = t;
  level(table, out, t, 10, 400);
  ASSERT_GE(out.size(), 2u);
  EXPECT_EQ(out[0].phase, anomaly_phase::onset);
  EXPECT_EQ(count_phase(out, anomaly_phase::recovered), 0u);
  ASSERT_EQ(out[1].phase, anomaly_phase::ongoing);
  EXPECT_EQ(out[1].onset_ts_ms, shift)
    << "the persisting anomaly began with the shift, not the blip";
}

TEST_F(table_test, a_blip_on_a_flat_series_ends_with_the_blip) {
  // A series of zeros has a nearly empty band; small values after a blip
  // must not hold the stretch open (only values at least halfway to the
  // onset value do).
  constexpr std::string_view errors = "error_ratio";
  int64_t t = 1000000;
  for (int i = 0; i < 200; ++i, t += 10000)
    feed(errors, t, 0);
  feed(errors, t, 0.02);
  t += 10000;
  ASSERT_EQ(out.size(), 1u);
  for (int i = 0; i < 30; ++i, t += 10000)
    feed(errors, t, i % 3 == 2 ? 0.003 : 0);
  EXPECT_EQ(count_phase(out, anomaly_phase::recovered), 1u);
}

TEST_F(table_test, a_snapshot_keeps_the_hold_of_an_open_stretch) {
  auto t = baseline(latency, 1000000, 200);
  t = level(table, out, t, 30, 400);
  auto bytes = table.snapshot(1);
  series_table copy{"checkout", ens, opts};
  ASSERT_TRUE(copy.restore(bytes));
  std::vector<anomaly_event> after;
  level(copy, after, t, 90, 400, 4);
  EXPECT_EQ(count_phase(after, anomaly_phase::recovered), 0u);
  level(copy, after, t + 900'000, 20, 100, 5);
  EXPECT_EQ(count_phase(after, anomaly_phase::recovered), 1u);
}

TEST_F(table_test, judges_counters_by_their_rate_across_resets) {
  constexpr std::string_view requests = "http_requests_total{code=\"200\"}";
  double total = 0;
  int64_t t = 0;
  for (int i = 0; i < 100; ++i, t += 10000) {
    total += 50; // 5 requests/s
    feed(requests, t, total, sample_flags::counter);
  }
  EXPECT_TRUE(out.empty()) << "a steadily growing counter is normal";
  // A restart resets the counter: the rate stays 5/s, nothing to report.
  total = 50;
  feed(requests, t, total, sample_flags::counter);
  t += 10000;
  for (int i = 0; i < 10; ++i, t += 10000) {
    total += 50;
    feed(requests, t, total, sample_flags::counter);
  }
  EXPECT_TRUE(out.empty());
  // Ten times the traffic is an anomaly, reported as a per-second rate.
  total += 5000;
  feed(requests, t, total, sample_flags::counter);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_NEAR(out[0].value, 500.0, 1e-9);
}

TEST_F(table_test, a_counter_twice_at_one_instant_makes_no_rate) {
  // Remote write without timestamps gives every sample ts 0.
  feed("req_total", 0, 10, sample_flags::counter);
  feed("req_total", 0, 20, sample_flags::counter);
  feed("req_total", 10000, 30, sample_flags::counter);
  EXPECT_EQ(table.stats().nan_values, 0u);
  EXPECT_TRUE(out.empty());
}

TEST_F(table_test, drops_out_of_order_and_duplicate_samples) {
  feed(latency, 20000, 1);
  feed(latency, 10000, 2);
  feed(latency, 20000, 3);
  EXPECT_EQ(table.stats().out_of_order, 2u);
  EXPECT_EQ(table.stats().samples, 1u);
}

TEST_F(table_test, stale_markers_end_a_series_and_a_new_value_revives_it) {
  feed(latency, 1000, 1);
  feed("other", 1000, 1);
  EXPECT_EQ(table.active(), 2u);
  feed(latency, 2000, std::nan(""), sample_flags::stale);
  EXPECT_EQ(table.active(), 1u);
  EXPECT_EQ(table.series(), 2u);
  EXPECT_EQ(table.stats().stale_markers, 1u);
  EXPECT_EQ(table.stats().nan_values, 0u);
  feed(latency, 3000, 1);
  EXPECT_EQ(table.active(), 2u);
  // A marker for a series never seen creates nothing.
  feed("never_seen", 3000, std::nan(""), sample_flags::stale);
  EXPECT_EQ(table.series(), 2u);
}

TEST_F(table_test, ordinary_nan_values_are_skipped_not_judged) {
  feed(latency, 1000, std::nan(""));
  EXPECT_EQ(table.stats().nan_values, 1u);
  EXPECT_EQ(table.stats().samples, 0u);
  EXPECT_EQ(table.active(), 1u);
}

TEST_F(table_test, infinities_and_huge_values_never_poison_a_series) {
  auto t = baseline(latency, 0, 100);
  feed(latency, t, std::numeric_limits<double>::infinity());
  feed(latency, t + 10000, -std::numeric_limits<double>::infinity());
  feed(latency, t + 20000, 1e300);
  EXPECT_EQ(table.stats().nan_values, 3u);
  // The series still judges normally afterwards.
  feed(latency, t + 30000, 500);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_GT(out[0].score, 0.9);
  EXPECT_TRUE(std::isfinite(out[0].expected_hi));
}

TEST_F(table_test, expires_series_silent_for_longer_than_the_ttl) {
  opts.series_ttl = duration{3600000};
  series_table t{"checkout", ens, opts};
  batch_builder a;
  a.add("old", 0, 1).add("fresh", 3000000, 1);
  t.ingest(a.b, out);
  EXPECT_EQ(t.expire(), 0u);
  batch_builder b;
  b.add("fresh", 3700000, 1);
  t.ingest(b.b, out);
  EXPECT_EQ(t.expire(), 1u);
  EXPECT_EQ(t.series(), 1u);
  EXPECT_EQ(t.active(), 1u);
}

TEST_F(table_test, never_mixes_two_series_that_share_a_hash) {
  // The guard is the text length (kept beside the hash): a collision of
  // two texts of different lengths is caught without touching the text.
  sample_batch b;
  b.service = "checkout";
  b.texts = "aaabbbb";
  b.samples.push_back({42, 1000, 1, 0, 3, 0});
  b.samples.push_back({42, 2000, 2, 3, 4, 0});
  table.ingest(b, out);
  EXPECT_EQ(table.stats().collisions, 1u);
  EXPECT_EQ(table.series(), 1u);
}

TEST_F(table_test, a_restored_snapshot_continues_exactly_where_it_left_off) {
  auto t = baseline(latency, 0, 150, 3);
  baseline("cpu_seconds_total", 0, 150, 4);
  auto bytes = table.snapshot(123);
  series_table copy{"checkout", ens, opts};
  auto info = copy.restore(bytes);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->series, 2u);
  EXPECT_EQ(info->reset, 0u);
  EXPECT_EQ(copy.stats().samples, table.stats().samples);
  // Same inputs after the snapshot give the same events, to the bit.
  std::vector<anomaly_event> a, b;
  for (int i = 0; i < 50; ++i) {
    batch_builder bb;
    bb.add(latency, t + i * 10000, i == 20 ? 300 : 100 + (i % 3));
    table.ingest(bb.b, a);
    copy.ingest(bb.b, b);
  }
  ASSERT_EQ(a.size(), b.size());
  ASSERT_FALSE(a.empty());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].ts_ms, b[i].ts_ms);
    EXPECT_EQ(a[i].score, b[i].score);
    EXPECT_EQ(a[i].phase, b[i].phase);
  }
}

TEST_F(table_test, a_snapshot_from_other_detectors_keeps_series_but_relearns) {
  baseline(latency, 0, 100);
  auto bytes = table.snapshot(1);
  auto other = opts;
  other.zscore.window = 20;
  series_table changed{"checkout", *ensemble::make(other), other};
  auto info = changed.restore(bytes);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->series, 1u);
  EXPECT_EQ(info->reset, 1u);
  EXPECT_EQ(changed.warm(), 0u);
}

TEST_F(table_test, refuses_a_corrupt_snapshot) {
  series_table t{"checkout", ens, opts};
  EXPECT_FALSE(t.restore("\xff\xff\xff garbage"));
}

TEST_F(table_test, forgets_and_reuses_expired_series_without_losing_others) {
  opts.series_ttl = duration{60000};
  series_table t{"checkout", ens, opts};
  // Many series, then only the even ones keep reporting: the odd ones
  // expire, their slots are reused, and every survivor is still found.
  for (int round = 0; round < 3; ++round) {
    batch_builder bb;
    for (int i = 0; i < 2000; ++i)
      if (round == 0 || i % 2 == 0)
        bb.add(named("s", i), 1000 + round * 100000, i);
    t.ingest(bb.b, out);
    t.expire();
  }
  EXPECT_EQ(t.series(), 1000u);
  batch_builder fresh;
  for (int i = 0; i < 500; ++i)
    fresh.add(named("new", i), 400000, 1);
  for (int i = 0; i < 2000; i += 2)
    fresh.add(named("s", i), 400000, 1);
  auto before = t.stats().samples;
  t.ingest(fresh.b, out);
  EXPECT_EQ(t.series(), 1500u);
  EXPECT_EQ(t.stats().samples - before, 1500u);
  EXPECT_EQ(t.stats().out_of_order, 0u);
  auto copy_bytes = t.snapshot(1);
  series_table copy{"checkout", ens, opts};
  ASSERT_TRUE(copy.restore(copy_bytes));
  EXPECT_EQ(copy.series(), 1500u);
}

/// Feeds a recorded series (`unix-seconds value` lines, see
/// tests/fixtures/detector/README.md) to a table and returns its events
/// from `start` on.
std::vector<anomaly_event> events_of(const std::string& file, int64_t start,
                                     const std::string& metric,
                                     const detection_options& o = {}) {
  auto e = ensemble::make(o);
  EXPECT_TRUE(e);
  series_table t{"svc", *e, o};
  std::ifstream in{test::fixture_path("detector/" + file)};
  EXPECT_TRUE(in) << file;
  std::vector<anomaly_event> all, events;
  int64_t ts = 0;
  double v = 0;
  size_t n = 0;
  while (in >> ts >> v) {
    batch_builder bb{"svc"};
    bb.add(metric, ts * 1000, v);
    events.clear();
    t.ingest(bb.b, events);
    ++n;
    for (auto& ev : events)
      if (ts >= start)
        all.push_back(ev);
  }
  EXPECT_GT(n, 150u) << file;
  return all;
}

/// When a recorded fault first says something that could open an
/// incident (correlation.min_score, 0.8): seconds from `start_s` to the
/// first anomaly event from then on scoring at least that; 0 when none
/// does.
int64_t first_strong_event(const std::string& file, int64_t start_s,
                           const detection_options& o,
                           const std::string& metric) {
  for (auto& ev : events_of(file, start_s, metric, o))
    if (ev.phase != anomaly_phase::recovered && ev.score >= 0.8)
      return ev.ts_ms / 1000 - start_s;
  return 0;
}

int64_t first_strong_leak_event(const std::string& file, int64_t start_s,
                                std::vector<std::string> detectors) {
  detection_options o;
  o.detectors = std::move(detectors);
  return first_strong_event(file, start_s, o, "memory_bytes");
}

TEST(ramp_in_a_table, speaks_up_early_in_recorded_leaks_the_point_detectors_miss) {
  // Without `ramp` neither leak says anything strong before its case window
  // ends (12 and 13 minutes on); with it both do within ten minutes.
  for (auto [file, start] : {std::pair{"leak_case_0277.txt", 1710034961},
                             std::pair{"leak_case_0057.txt", 1706615003}}) {
    EXPECT_EQ(first_strong_leak_event(file, start, {"zscore", "ewma", "cusum"}),
              0)
      << file;
    auto with = first_strong_leak_event(file, start,
                                        {"zscore", "ewma", "cusum", "ramp"});
    EXPECT_GT(with, 0) << file;
    EXPECT_LT(with, 600) << file;
  }
}

TEST(confirmation_in_a_table, judges_a_recorded_step_by_the_band_it_broke_out_of) {
  // Two recorded faults whose first sample is only part of the step: by
  // the third, the z-score and EWMA have taken the first ones in, and
  // their mean stayed under 0.8 (correlation.min_score), so the fault
  // opened no incident. Judged by the band expected at the onset, the
  // persisting anomaly is announced strong within a minute.
  for (auto [file, start, metric] :
       {std::tuple{"step_case_0110.txt", 1741879675, "latency_p99_ms"},
        std::tuple{"step_case_0254.txt", 1757184963, "cpu_usage"}}) {
    detection_options o;
    auto at = first_strong_event(file, start, o, metric);
    EXPECT_GT(at, 0) << file;
    EXPECT_LT(at, 60) << file;
    // Without the onset's band (no holding either): nothing that strong
    // for the first five minutes.
    o.hold_max = duration{0};
    auto plain = first_strong_event(file, start, o, metric);
    EXPECT_TRUE(plain == 0 || plain > 300) << file << " " << plain;
  }
}

TEST(confirmation_in_a_table, a_run_that_starts_again_keeps_the_band_of_its_onset) {
  // A recorded error burst (0 -> about 5 %, noise as wide as the step):
  // its first sample is 12 %, the next fall back, and a run not yet
  // confirmed starts again after normal samples. Judged each time against
  // a band its own first samples had widened, it never confirmed and the
  // fault opened no incident; against its onset's band it is persisting
  // within two minutes and stays so for the rest of the window.
  detection_options o;
  auto e = ensemble::make(o);
  ASSERT_TRUE(e);
  series_table t{"media", *e, o};
  std::ifstream in{test::fixture_path("detector/step_case_0298.txt")};
  ASSERT_TRUE(in);
  const int64_t start = 1702605908;
  int64_t ts = 0;
  double v = 0;
  int64_t confirmed = 0;
  int64_t recovered = 0;
  std::vector<anomaly_event> events;
  while (in >> ts >> v) {
    batch_builder bb{"media"};
    bb.add("error_rate", ts * 1000, v);
    events.clear();
    t.ingest(bb.b, events);
    for (const auto& ev : events) {
      if (ts < start)
        continue;
      if (ev.phase == anomaly_phase::ongoing && confirmed == 0)
        confirmed = ts;
      if (ev.phase == anomaly_phase::recovered && confirmed > 0
          && recovered == 0)
        recovered = ts;
    }
  }
  EXPECT_EQ(ts, 1702606750) << "read to the end of the window";
  ASSERT_GT(confirmed, 0) << "never persisting";
  EXPECT_LT(confirmed - start, 120);
  EXPECT_EQ(recovered, 0) << "recovered " << recovered - start
                          << " s into an error burst that lasts";
}

TEST(confirmation_in_a_table, a_stretch_whose_onset_was_inside_the_band_is_held_by_it) {
  // A CPU hog's first sample (0.54) is still inside the ensemble's band;
  // CUSUM and EWMA vote on the turn. The values then settle at 0.64-0.70,
  // far beyond the band expected at the onset (about 0.43-0.55), but
  // without a band of its own the stretch followed the adapting detectors
  // and recovered two minutes in. It must last to the end of the window.
  // And its confirmation must be strong: the mean of its first three
  // samples is 0.77 (the onset one scores 0.63), under
  // correlation.min_score's 0.8, so the root would open no incident; the
  // confirming sample, where the step settled, scores 0.87.
  const int64_t inject = 1746647421;
  auto evs = events_of("step_case_0239.txt", inject, "cpu_usage");
  auto confirmed = std::find_if(evs.begin(), evs.end(), [](auto& ev) {
    return ev.phase == anomaly_phase::ongoing;
  });
  ASSERT_NE(confirmed, evs.end()) << "never persisting";
  EXPECT_LT(confirmed->ts_ms / 1000 - inject, 60);
  EXPECT_GE(confirmed->score, 0.8);
  for (auto it = confirmed; it != evs.end(); ++it)
    EXPECT_NE(it->phase, anomaly_phase::recovered)
      << "recovered " << it->ts_ms / 1000 - inject << " s into the hog";
  EXPECT_GE(evs.back().ts_ms / 1000 - inject, 900) << "re-announced late on";
}

TEST_F(table_test, costs_less_than_a_kibibyte_per_series) {
  for (int i = 0; i < 1000; ++i) {
    batch_builder bb;
    auto text = "node_network_receive_bytes_total{device=\"eth"
                + std::to_string(i)
                + "\",instance=\"10.0.0.1:9100\",job=\"node\"}";
    for (int k = 0; k < 3; ++k)
      bb.add(text, 1000 * (k + 1), k);
    table.ingest(bb.b, out);
  }
  EXPECT_LT(table.memory_bytes() / table.series(), 1024u);
}

} // namespace
