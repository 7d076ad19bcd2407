// The log pipeline of one service: new-template and error-spike anomalies
// in event time, warm-up, examples and snapshots.

#include <gtest/gtest.h>

#include "actors/detector/log_state.hpp"

using namespace vigil;
using namespace vigil::detector;

namespace {

constexpr int64_t t0 = 1704110400000; // 2024-01-01T12:00:00Z
constexpr int64_t minute = 60'000;

log_record rec(int64_t ts, std::string body) {
  log_record r;
  r.ts_ms = ts;
  r.body = std::move(body);
  return r;
}

// 30 minutes of steady traffic: 20 info lines and 1 error line a minute.
void clean_half_hour(log_state& s, std::vector<anomaly_event>& out) {
  for (int m = 0; m < 30; ++m) {
    for (int i = 0; i < 20; ++i)
      s.ingest(rec(t0 + m * minute + i * 1000,
                   "INFO request " + std::to_string(m * 100 + i)
                     + " served in " + std::to_string(i + 3) + "ms"),
               out);
    s.ingest(rec(t0 + m * minute + 30'000,
                 "ERROR upstream 10.0.0.1:80 timed out after 5000ms"),
             out);
  }
}

} // namespace

TEST(log_state, stays_quiet_on_steady_traffic) {
  log_state s{"checkout", {}};
  std::vector<anomaly_event> out;
  clean_half_hour(s, out);
  EXPECT_TRUE(s.warm());
  EXPECT_TRUE(out.empty()) << out.front().template_text;
  EXPECT_EQ(s.miner().size(), 2u);
}

TEST(log_state, reports_an_error_spike_with_its_template_and_examples) {
  log_state s{"checkout", {}};
  std::vector<anomaly_event> out;
  clean_half_hour(s, out);
  ASSERT_TRUE(out.empty());
  auto at = t0 + 30 * minute;
  for (int i = 0; i < 40; ++i)
    s.ingest(rec(at + i * 500, "ERROR upstream 10.0.0." + std::to_string(i)
                                 + ":80 timed out after 5000ms"),
             out);
  ASSERT_FALSE(out.empty());
  std::vector<anomaly_event> tpl;
  std::vector<anomaly_event> total;
  for (auto& ev : out) {
    EXPECT_EQ(ev.kind, anomaly_kind::log_error_spike);
    (ev.template_id.empty() ? total : tpl).push_back(ev);
  }
  ASSERT_EQ(tpl.size(), 1u);
  ASSERT_EQ(total.size(), 1u);
  EXPECT_EQ(tpl[0].template_text, "upstream <*> timed out after <*>");
  EXPECT_EQ(tpl[0].phase, anomaly_phase::onset);
  EXPECT_EQ(tpl[0].examples.size(), 3u);
  EXPECT_NE(tpl[0].examples.back().find("timed out"), std::string::npos);
  // Severity weight (ERROR 0.8) x spike (>= 5) x criticality 1.
  EXPECT_GE(tpl[0].value, 0.8 * 5);
  EXPECT_GT(tpl[0].score, 0.5);
  EXPECT_LE(tpl[0].score, 1.0);
  EXPECT_EQ(total[0].metric, "log_errors");
}

TEST(log_state, criticality_scales_the_score) {
  log_options o;
  o.criticality = 2.0;
  log_state hi{"a", o};
  log_state lo{"a", {}};
  std::vector<anomaly_event> a;
  std::vector<anomaly_event> b;
  clean_half_hour(hi, a);
  clean_half_hour(lo, b);
  for (int i = 0; i < 30; ++i) {
    auto r = rec(t0 + 30 * minute + i, "ERROR upstream 10.0.0.1:80 timed out"
                                       " after 5000ms");
    hi.ingest(r, a);
    lo.ingest(r, b);
  }
  ASSERT_FALSE(a.empty());
  ASSERT_FALSE(b.empty());
  EXPECT_DOUBLE_EQ(a[0].value, 2 * b[0].value);
}

TEST(log_state, reports_a_new_template_only_after_warm_up) {
  log_state s{"billing", {}};
  std::vector<anomaly_event> out;
  s.ingest(rec(t0, "ERROR first ever line"), out);
  EXPECT_TRUE(out.empty());
  clean_half_hour(s, out);
  ASSERT_TRUE(out.empty());
  s.ingest(rec(t0 + 31 * minute, "2024-01-01 12:31:00,000 FATAL [main] "
                                  "com.x.Db - Disk /dev/sda1 is full"),
           out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].kind, anomaly_kind::log_new_template);
  EXPECT_EQ(out[0].template_text, "Disk <*> is full");
  EXPECT_EQ(out[0].examples.size(), 1u);
  EXPECT_DOUBLE_EQ(out[0].score, 1.0);
  // Seen again: no second report.
  out.clear();
  s.ingest(rec(t0 + 32 * minute, "2024-01-01 12:32:00,000 FATAL [main] "
                                  "com.x.Db - Disk /dev/sdb1 is full"),
           out);
  EXPECT_TRUE(out.empty());
}

TEST(log_state, uses_the_time_inside_the_line_as_event_time) {
  log_state s{"x", {}};
  std::vector<anomaly_event> out;
  // Received five minutes later: the line's own time counts.
  s.ingest(rec(t0 + 5 * minute, "2024-01-01 12:00:00,000 INFO [m] a.B - hi"),
           out);
  EXPECT_EQ(s.stats().last_ts_ms, t0);
}

TEST(log_state, does_not_let_a_line_from_the_future_move_its_clock) {
  log_state s{"x", {}};
  std::vector<anomaly_event> out;
  s.ingest(rec(t0, "9999-12-31 23:59:59,000 ERROR [m] a.B - from the future"),
           out);
  EXPECT_EQ(s.stats().last_ts_ms, t0);
  s.ingest(rec(t0 + minute, "2024-01-01 12:01:00,000 INFO [m] a.B - now"),
           out);
  EXPECT_EQ(s.stats().last_ts_ms, t0 + minute);
}

TEST(log_state, a_snapshot_brings_templates_and_baselines_back) {
  log_state s{"checkout", {}};
  std::vector<anomaly_event> out;
  clean_half_hour(s, out);
  auto bytes = s.snapshot();
  log_state r{"checkout", {}};
  ASSERT_TRUE(r.restore(bytes));
  EXPECT_EQ(r.miner().size(), s.miner().size());
  EXPECT_TRUE(r.warm());
  EXPECT_EQ(r.snapshot(), bytes);
  // The restored state knows the steady error: one more is no anomaly,
  // and a known template is not new.
  r.ingest(rec(t0 + 30 * minute, "ERROR upstream 10.0.0.9:80 timed out "
                                 "after 5000ms"),
           out);
  EXPECT_TRUE(out.empty());
  EXPECT_FALSE(r.restore("garbage"));
  EXPECT_FALSE(r.restore(bytes.substr(0, bytes.size() / 2)));
  EXPECT_EQ(r.miner().size(), s.miner().size());
}

TEST(log_state, bad_lines_never_crash_the_pipeline) {
  log_state s{"x", {}};
  std::vector<anomaly_event> out;
  s.ingest(rec(0, ""), out);
  s.ingest(rec(t0, std::string(1 << 20, 'x')), out);
  std::string bin(4096, '\0');
  for (size_t i = 0; i < bin.size(); ++i)
    bin[i] = static_cast<char>(i * 31);
  s.ingest(rec(t0, bin), out);
  s.ingest(rec(t0, "\xc3\x28 invalid \xa0\xa1 utf8"), out);
  EXPECT_EQ(s.stats().lines, 4u);
}
