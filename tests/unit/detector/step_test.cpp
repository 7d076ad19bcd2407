// detection.reference_step: a service sampled faster than the reference
// step is judged by the means of blocks of its samples, so the detectors'
// counts and weights keep their meaning in event time.

#include <cmath>
#include <random>

#include <gtest/gtest.h>

#include "actors/detector/service_tables.hpp"
#include "actors/detector/step.hpp"
#include "runtime/hash.hpp"
#include "tests/unit/detector/tables_fixture.hpp"

using namespace vigil;
using namespace vigil::detector;

namespace {

TEST(step_block, counts_how_many_steps_fit_a_reference_step_never_fewer) {
  duration ten_s{10'000};
  EXPECT_EQ(step_block(ten_s, 1000), 10u);
  EXPECT_EQ(step_block(ten_s, 5000), 2u);
  EXPECT_EQ(step_block(ten_s, 3000), 3u);
  EXPECT_EQ(step_block(ten_s, 10'000), 1u);
  EXPECT_EQ(step_block(ten_s, 15'000), 1u) << "judged sample by sample";
  EXPECT_EQ(step_block(ten_s, 60'000), 1u);
  EXPECT_EQ(step_block(ten_s, 7000), 1u) << "rounded: 1.43";
  EXPECT_EQ(step_block(ten_s, 50), max_step_block) << "capped";
  EXPECT_EQ(step_block(duration{0}, 1000), 1u) << "off";
  EXPECT_EQ(step_block(ten_s, 0), 1u) << "unknown step";
}

TEST(step_estimator, takes_the_median_gap_after_enough_gaps) {
  step_estimator e{9};
  EXPECT_EQ(e.step_ms(), 0);
  for (int i = 0; i < 6; ++i)
    e.add(1000);
  e.add(0);  // two samples at one instant: no gap
  e.add(-5); // out of order: no gap
  EXPECT_FALSE(e.ready());
  e.add(2000); // a missed scrape
  e.add(3000);
  EXPECT_FALSE(e.ready());
  e.add(40); // a late sample right before the next one
  ASSERT_TRUE(e.ready());
  EXPECT_EQ(e.step_ms(), 1000);
}

struct step_tables : test::tables_fixture {
  std::mt19937 gen{7};
  std::normal_distribution<double> noise{100, 1};
  int64_t t = 1'000'000;

  // `n` samples of a latency and a heap gauge (judged by the rule table),
  // `step` ms apart, noise around 100 plus `shift`.
  void feed(service_tables& tables, int n, int64_t step, double shift = 0) {
    for (int i = 0; i < n; ++i) {
      t += step;
      sample_batch b;
      add(b, "latency_ms", t, noise(gen) + shift);
      add(b, "jvm_heap_bytes", t, noise(gen));
      tables.ingest(b, out);
    }
  }

  size_t count(anomaly_phase phase) const {
    size_t n = 0;
    for (auto& ev : out)
      n += ev.phase == phase && ev.metric == "latency_ms";
    return n;
  }
};

TEST_F(step_tables, warm_up_lasts_the_same_event_time_at_any_shorter_step) {
  auto fast = make();
  feed(*fast, 250, 1000);
  EXPECT_EQ(fast->step_ms(), 1000);
  EXPECT_EQ(fast->step_block(), 10u);
  EXPECT_EQ(fast->warm(), 0u) << "250 s is not yet 30 samples of 10 s";
  EXPECT_EQ(fast->totals().samples, 500u) << "every sample is counted";
  feed(*fast, 60, 1000);
  EXPECT_EQ(fast->warm(), 2u) << "both tables, the rule's too";

  auto slow = make();
  feed(*slow, opts.warmup_samples + 1, 10'000);
  EXPECT_EQ(slow->step_ms(), 10'000);
  EXPECT_EQ(slow->step_block(), 1u);
  EXPECT_EQ(slow->warm(), 2u);

  opts.reference_step = duration{0};
  auto off = make();
  feed(*off, opts.warmup_samples + 1, 1000);
  EXPECT_EQ(off->step_block(), 1u);
  EXPECT_EQ(off->warm(), 2u) << "off: the counts as configured";
}

TEST_F(step_tables, series_that_come_and_go_do_not_hide_the_step) {
  // More series with one sample each than the step learner follows
  // (max_step_series), then a series sampled every second: no gap is
  // seen among the first, and the step is still learnt from the last.
  auto tables = make();
  for (size_t i = 0; i < 3 * max_step_series; ++i) {
    t += 10;
    sample_batch b;
    add(b, "once_" + std::to_string(i), t, 1);
    tables->ingest(b, out);
  }
  EXPECT_EQ(tables->step_ms(), 0);
  for (int i = 0; i < 20; ++i) {
    t += 1000;
    sample_batch b;
    add(b, "latency_ms", t, noise(gen));
    tables->ingest(b, out);
  }
  EXPECT_EQ(tables->step_ms(), 1000);
  EXPECT_EQ(tables->step_block(), 10u);
}

TEST_F(step_tables, a_few_seconds_blip_is_not_persisting_but_a_shift_is) {
  // At a 1 s step, five anomalous seconds are a blip: an onset, never
  // confirmed as persisting (the unscaled counts confirm it after three
  // samples). Two minutes of the same shift are.
  for (bool scaled : {true, false}) {
    SCOPED_TRACE(scaled ? "scaled" : "unscaled");
    opts.reference_step = duration{scaled ? 10'000 : 0};
    out.clear();
    auto tables = make();
    feed(*tables, 1500, 1000);
    out.clear(); // noise a few times in 1500 samples
    feed(*tables, 5, 1000, 25);
    feed(*tables, 120, 1000);
    EXPECT_EQ(count(anomaly_phase::onset), 1u);
    EXPECT_EQ(count(anomaly_phase::ongoing), scaled ? 0u : 1u);
    EXPECT_EQ(count(anomaly_phase::recovered), 1u);
    if (!scaled)
      continue;
    out.clear();
    feed(*tables, 600, 1000);
    feed(*tables, 120, 1000, 25);
    EXPECT_EQ(count(anomaly_phase::onset), 1u);
    EXPECT_EQ(count(anomaly_phase::ongoing), 1u);
  }
}

TEST_F(step_tables, a_sparse_error_rate_at_one_second_is_seen_as_a_level) {
  // Requests fail once in a while: per second, an error rate is mostly 0
  // with a few spikes. A fault makes one second in three show an error.
  // At 10 s that is a level shift, and so it is judged: one anomaly,
  // confirmed as persisting, lasting as long as the fault. Judged second
  // by second it is a string of short stretches, each ended by the next
  // quiet seconds.
  auto rate = [&](double p) {
    std::uniform_real_distribution<double> u{0, 1};
    return u(gen) < p ? 1.0 / 12 : 0.0;
  };
  for (bool blocks : {true, false}) {
    SCOPED_TRACE(blocks ? "blocks" : "second by second");
    opts.reference_step = duration{blocks ? 10'000 : 0};
    auto tables = make();
    auto send = [&](int n, double p) {
      for (int i = 0; i < n; ++i) {
        t += 1000;
        sample_batch b;
        add(b, "error_rate", t, rate(p));
        tables->ingest(b, out);
      }
    };
    send(1800, 0.005);
    out.clear();
    send(300, 1.0 / 3);
    size_t onsets = 0;
    size_t ongoing = 0;
    size_t recovered = 0;
    for (auto& ev : out) {
      onsets += ev.phase == anomaly_phase::onset;
      ongoing += ev.phase == anomaly_phase::ongoing;
      recovered += ev.phase == anomaly_phase::recovered;
    }
    if (blocks) {
      EXPECT_EQ(onsets, 1u);
      EXPECT_GE(ongoing, 1u);
      EXPECT_EQ(recovered, 0u);
    } else {
      // One stretch after another, each ended by the next quiet seconds.
      EXPECT_GT(onsets, 3u);
      EXPECT_GT(recovered, 3u);
    }
  }
}

TEST_F(step_tables, a_snapshot_brings_the_step_back) {
  auto a = make();
  feed(*a, 400, 1000);
  ASSERT_EQ(a->warm(), 2u);
  auto bytes = a->snapshot(0);

  auto b = restored(bytes, 2, 0);
  EXPECT_EQ(b->step_ms(), 1000);
  EXPECT_EQ(b->step_block(), 10u);
  EXPECT_EQ(b->warm(), 2u);
  // What follows is judged alike by both: a shift of a minute, confirmed
  // by each after the same number of blocks, at the same score.
  auto rng = gen;
  auto t0 = t;
  feed(*a, 60, 1000, 25);
  auto before = out;
  out.clear();
  gen = rng;
  t = t0;
  feed(*b, 60, 1000, 25);
  ASSERT_EQ(out.size(), before.size());
  ASSERT_GE(count(anomaly_phase::ongoing), 1u);
  for (size_t i = 0; i < out.size(); ++i) {
    EXPECT_EQ(out[i].phase, before[i].phase);
    EXPECT_EQ(out[i].ts_ms, before[i].ts_ms);
    EXPECT_DOUBLE_EQ(out[i].score, before[i].score);
  }

  // Without rules the snapshot is a plain table's; the step travels too.
  opts.rules.clear();
  auto plain = make();
  feed(*plain, 400, 1000);
  auto back = restored(plain->snapshot(0), 2, 0);
  EXPECT_EQ(back->step_block(), 10u);
  EXPECT_EQ(back->warm(), 2u);

  // A reference step changed since: the blocks follow it; what the
  // detectors learnt stays.
  opts.reference_step = duration{5000};
  auto changed = restored(plain->snapshot(0), 2, 0);
  EXPECT_EQ(changed->step_block(), 5u);
  EXPECT_EQ(changed->warm(), 2u);
}

} // namespace
