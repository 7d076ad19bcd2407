// detection.rules: per-metric detectors, routing, snapshots with and
// without rules.

#include <gtest/gtest.h>

#include <random>

#include "actors/detector/service_tables.hpp"
#include "tests/unit/detector/tables_fixture.hpp"
#include "runtime/hash.hpp"

using namespace vigil;
using namespace vigil::detector;

namespace {

TEST(detector_rule, reads_globs_detectors_and_votes_and_names_errors) {
  auto r = parse_detector_rule("disk_*_bytes=cusum,seasonal:1");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->glob, "disk_*_bytes");
  EXPECT_EQ(r->detectors, (std::vector<std::string>{"cusum", "seasonal"}));
  EXPECT_EQ(r->min_votes, 1u);
  auto plain = parse_detector_rule("latency_seconds=zscore");
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->min_votes, 0u);
  for (auto bad : {"no_equals", "=zscore", "x=", "x=zscore,", "x=zscor",
                   "x=zscore,zscore", "x=zscore:2", "x=zscore:0",
                   "x=zscore:a", "x{a}=zscore"})
    EXPECT_FALSE(parse_detector_rule(bad)) << bad;
  auto err = parse_detector_rule("x=zscor");
  EXPECT_NE(rule_error_text(err.error()).find("'zscor' is not a detector"),
            std::string::npos)
    << rule_error_text(err.error());
}

struct rules_test : test::tables_fixture {
  // 200 noisy values of both series, then a spike in both.
  void feed(service_tables& t) {
    std::mt19937 gen{1};
    std::uniform_real_distribution<double> u{97, 103};
    for (int i = 0; i <= 200; ++i) {
      sample_batch b;
      double spike = i == 200 ? 1000 : 0;
      add(b, "disk_used_bytes{dev=\"a\"}", 1000 + i * 10'000, u(gen) + spike);
      add(b, "latency_ms", 1000 + i * 10'000, u(gen) + spike);
      t.ingest(b, out);
    }
  }

  std::vector<std::string> detectors_of(const std::string& metric) {
    for (auto& ev : out)
      if (ev.metric == metric && ev.phase == anomaly_phase::onset) {
        std::vector<std::string> names;
        for (auto& v : ev.votes)
          names.push_back(v.detector);
        return names;
      }
    return {};
  }
};

TEST_F(rules_test, a_matching_metric_is_judged_by_its_rules_detectors) {
  opts.rules = {"disk_*=cusum,ewma:1"};
  auto t = make();
  EXPECT_EQ(t->table_for("disk_used_bytes"), 0u);
  EXPECT_EQ(t->table_for("latency_ms"), 1u);
  feed(*t);
  EXPECT_EQ(detectors_of("disk_used_bytes"),
            (std::vector<std::string>{"cusum", "ewma"}));
  EXPECT_EQ(detectors_of("latency_ms"),
            (std::vector<std::string>{"zscore", "ewma", "cusum"}));
  EXPECT_EQ(t->series(), 2u);
  EXPECT_EQ(t->totals().samples, 402u);
}

TEST_F(rules_test, observers_see_values_in_event_time_order_across_tables) {
  opts.rules = {"disk_*=cusum,ewma:1"};
  auto t = make();
  std::vector<int64_t> seen;
  t->set_observer([&](uint64_t, std::string_view, int64_t ts, double,
                      std::vector<anomaly_event>&) { seen.push_back(ts); });
  sample_batch b;
  // The rule's table holds the later samples, the default table the
  // earlier ones; one table after the other would replay them 2, 4, 1, 3.
  add(b, "disk_used_bytes", 2000, 1);
  add(b, "latency_ms", 1000, 1);
  add(b, "disk_used_bytes", 4000, 1);
  add(b, "latency_ms", 3000, 1);
  t->ingest(b, out);
  EXPECT_EQ(seen, (std::vector<int64_t>{1000, 2000, 3000, 4000}));
}

TEST_F(rules_test, memory_and_heap_gauges_are_judged_by_their_slope_too) {
  auto t = make(); // the default rules
  for (auto metric : {"container_memory_working_set_bytes",
                      "process_resident_memory_bytes", "jvm_memory_used_bytes",
                      "node_memory_MemAvailable_bytes"})
    EXPECT_EQ(t->table_for(metric), 0u) << metric;
  EXPECT_EQ(t->table_for("go_memstats_heap_inuse_bytes"), 1u);
  for (auto metric : {"http_request_duration_seconds", "cpu_usage"})
    EXPECT_EQ(t->table_for(metric), 2u) << metric;
}

TEST_F(rules_test, the_first_matching_rule_wins) {
  opts.rules = {"latency_*=zscore", "*=ewma"};
  auto t = make();
  EXPECT_EQ(t->table_for("latency_ms"), 0u);
  EXPECT_EQ(t->table_for("disk_used_bytes"), 1u);
}

TEST_F(rules_test, snapshots_round_trip_with_rules) {
  opts.rules = {"disk_*=cusum,ewma:1"};
  auto a = make();
  feed(*a);
  auto bytes = a->snapshot(0);
  auto b = restored(bytes, 2, 0);
  EXPECT_EQ(b->snapshot(0), bytes);
  // A rule removed since: its series are dropped, the rest come back.
  opts.rules.clear();
  auto c = make();
  auto partial = c->restore(bytes);
  ASSERT_TRUE(partial);
  EXPECT_EQ(partial->series, 1u);
  // Damaged envelopes are refused, not half-read.
  EXPECT_FALSE(c->restore(bytes.substr(0, bytes.size() / 2)));
}

TEST_F(rules_test, without_rules_it_is_one_plain_table) {
  opts.rules.clear();
  auto t = make();
  feed(*t);
  auto bytes = t->snapshot(0);
  series_table plain{"svc", *ensemble::make(opts), opts};
  ASSERT_TRUE(plain.restore(bytes));
  EXPECT_EQ(plain.series(), 2u);
  // And a plain table's snapshot restores into tables with rules: into
  // the default table.
  opts.rules = {"disk_*=cusum"};
  auto with_rules = make();
  auto info = with_rules->restore(plain.snapshot(0));
  ASSERT_TRUE(info);
  EXPECT_EQ(info->series, 2u);
}

} // namespace
