// Incident grouping: one fault's storm of anomalies is one incident, two
// independent faults are two; dedup, classification, severity, lifecycle,
// auto-resolution.

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "actors/correlator/incident_codec.hpp"
#include "actors/correlator/incidents.hpp"
#include "actors/correlator/summary.hpp"

using namespace vigil;
using namespace vigil::correlator;

namespace {

constexpr int64_t second = 1000;
constexpr int64_t minute = 60 * second;
constexpr int64_t t0 = 1'704'067'200'000;

// prefix + i, built by appending (GCC 12's -Wrestrict warns falsely about
// `"literal" + std::string`).
std::string named(const char* prefix, int64_t i) {
  std::string out{prefix};
  out += std::to_string(i);
  return out;
}

anomaly_event anomaly(std::string service, std::string metric, int64_t ts,
                      double score = 0.9,
                      anomaly_phase phase = anomaly_phase::onset) {
  anomaly_event ev;
  ev.service = std::move(service);
  ev.metric = std::move(metric);
  ev.series = ev.metric + "{pod=\"1\"}";
  ev.ts_ms = ts;
  ev.score = score;
  ev.phase = phase;
  return ev;
}

TEST(incident_book, a_storm_of_anomalies_from_one_fault_is_one_incident) {
  incident_book book;
  std::mt19937 gen{1};
  std::uniform_int_distribution<int> svc{0, 11};
  std::uniform_int_distribution<int> metric{0, 4};
  std::uniform_int_distribution<int64_t> when{0, 3 * minute};
  const char* metrics[] = {"latency_ms", "errors_total", "cpu_ratio",
                           "queue_depth", "rps"};
  int opened = 0;
  for (int i = 0; i < 250; ++i) {
    auto r = book.fold(anomaly(named("svc-", svc(gen)),
                               metrics[metric(gen)], t0 + when(gen)),
                       "component-a");
    opened += r.opened;
  }
  EXPECT_EQ(opened, 1);
  ASSERT_EQ(book.open_count(), 1u);
  auto* inc = book.list(true).front();
  EXPECT_EQ(inc->services().size(), 12u);
  // 12 services x 5 metrics at most: duplicates folded into symptoms.
  EXPECT_LE(inc->symptoms.size(), 60u);
  uint64_t events = 0;
  for (auto& s : inc->symptoms)
    events += s.events;
  EXPECT_EQ(events, 250u);
  EXPECT_EQ(inc->severity, incident_severity::critical);
}

TEST(incident_book, two_faults_in_disconnected_parts_are_two_incidents) {
  incident_book book;
  for (int i = 0; i < 100; ++i) {
    book.fold(anomaly(named("a", i % 5), "latency_ms",
                      t0 + i * second),
              "component-a");
    book.fold(anomaly(named("b", i % 5), "latency_ms",
                      t0 + i * second),
              "component-b");
  }
  EXPECT_EQ(book.open_count(), 2u);
  for (auto* inc : book.list(true))
    EXPECT_EQ(inc->services().size(), 5u);
}

TEST(incident_book, a_symptom_after_the_window_opens_a_new_incident) {
  incident_book book;
  auto first = book.fold(anomaly("a", "latency_ms", t0), "d");
  auto near = book.fold(anomaly("b", "latency_ms", t0 + 4 * minute), "d");
  auto far = book.fold(anomaly("c", "latency_ms", t0 + 10 * minute), "d");
  EXPECT_TRUE(first.opened);
  EXPECT_EQ(near.incident, first.incident);
  EXPECT_TRUE(far.opened);
  EXPECT_NE(far.incident, first.incident);
}

TEST(incident_book, classifies_by_the_rules_its_symptoms_vote_for) {
  incident_options o;
  o.classification = {"*memory*=high_memory_usage",
                      "db_connections*=database_connection_exhaustion",
                      "*5xx*=high_error_rate_5xx"};
  incident_book book{o};
  book.fold(anomaly("orders-db", "db_connections_in_use", t0), "d");
  book.fold(anomaly("orders-db", "db_connections_waiting", t0 + second), "d");
  book.fold(anomaly("checkout", "latency_ms", t0 + 2 * second), "d");
  auto* inc = book.list(true).front();
  EXPECT_EQ(inc->type, "database_connection_exhaustion");
  EXPECT_FALSE(parse_classification("no_type"));
  EXPECT_FALSE(parse_classification("=x"));
}

TEST(incident_book, a_confident_root_cause_types_the_incident_by_its_own_symptoms) {
  incident_options o;
  o.classification = {"*pool*=database_connection_exhaustion",
                      "*latency*=high_latency"};
  incident_book book{o};
  book.fold(anomaly("orders-db", "db_pool_in_use", t0), "d");
  for (int i = 0; i < 5; ++i)
    book.fold(anomaly(named("caller-", i), "latency_ms", t0 + second), "d");
  auto* inc = book.list(true).front();
  // The callers outvote the database...
  EXPECT_EQ(inc->type, "high_latency");
  rca_result r;
  r.candidates.push_back({"orders-db", 0.9, {}, 5});
  r.confidence_level = "low";
  ASSERT_TRUE(book.set_root_cause(inc->id, r));
  EXPECT_EQ(inc->type, "high_latency"); // a guess decides nothing
  r.confidence_level = "high";
  ASSERT_TRUE(book.set_root_cause(inc->id, r));
  // ...until the ranking names it: then its own symptoms decide.
  EXPECT_EQ(inc->type, "database_connection_exhaustion");
  // A root cause whose symptoms match no rule leaves the vote to everyone.
  r.candidates.front().service = "nobody";
  ASSERT_TRUE(book.set_root_cause(inc->id, r));
  EXPECT_EQ(inc->type, "high_latency");
}

TEST(incident_book, resolves_when_every_symptom_recovered_and_stayed_quiet) {
  incident_options o;
  o.resolve_after_ms = 10 * minute;
  incident_book book{o};
  auto r = book.fold(anomaly("a", "latency_ms", t0), "d");
  book.fold(anomaly("b", "latency_ms", t0 + minute), "d");
  book.fold(anomaly("a", "latency_ms", t0 + 2 * minute, 0,
                    anomaly_phase::recovered),
            "d");
  EXPECT_TRUE(book.tick(t0 + 30 * minute).empty()) << "b has not recovered";
  book.fold(anomaly("b", "latency_ms", t0 + 3 * minute, 0,
                    anomaly_phase::recovered),
            "d");
  EXPECT_TRUE(book.tick(t0 + 5 * minute).empty()) << "not quiet long enough";
  EXPECT_EQ(book.tick(t0 + 12 * minute), (std::vector<uint64_t>{r.incident}));
  EXPECT_EQ(book.find(r.incident)->status, incident_status::resolved);
  EXPECT_EQ(book.open_count(), 0u);
  // A recovery of something no incident holds changes nothing.
  EXPECT_EQ(book.fold(anomaly("z", "latency_ms", t0 + 13 * minute, 0,
                              anomaly_phase::recovered),
                      "d")
              .incident,
            0u);
}

TEST(incident_book, lifecycle_moves_only_forward) {
  incident_book book;
  auto id = book.fold(anomaly("a", "latency_ms", t0), "d").incident;
  EXPECT_TRUE(book.set_status(id, incident_status::acknowledged, t0));
  EXPECT_FALSE(book.set_status(id, incident_status::open, t0));
  EXPECT_FALSE(book.set_status(id, incident_status::acknowledged, t0));
  EXPECT_TRUE(book.set_status(id, incident_status::resolved, t0 + minute));
  EXPECT_EQ(book.find(id)->resolved_ms, t0 + minute);
  EXPECT_FALSE(book.set_status(999, incident_status::resolved, t0));
  // An acknowledged incident still takes new symptoms; a resolved one not.
  auto next = book.fold(anomaly("a", "latency_ms", t0 + 2 * minute), "d");
  EXPECT_TRUE(next.opened);
}

TEST(incident_book, stays_bounded) {
  incident_options o;
  o.max_incidents = 3;
  o.max_symptoms = 2;
  incident_book book{o};
  for (int i = 0; i < 3; ++i)
    book.fold(anomaly(named("s", i), "m", t0), "d");
  auto* inc = book.list(true).front();
  EXPECT_EQ(inc->symptoms.size(), 2u);
  EXPECT_EQ(inc->dropped_symptoms, 1u);
  for (int i = 0; i < 10; ++i) {
    auto id = book.fold(anomaly("x", "m", t0 + (i + 1) * 60 * minute),
                        named("d", i))
                .incident;
    ASSERT_TRUE(book.set_status(id, incident_status::resolved, t0));
  }
  EXPECT_LE(book.list(false).size(), 3u);
  EXPECT_EQ(book.open_count(), 1u);
}

TEST(incident_summary, says_what_where_why_and_what_was_done) {
  incident_options o;
  o.classification = {"*pool*=database_connection_exhaustion"};
  incident_book book{o};
  book.fold(anomaly("orders-db", "db_pool_in_use", t0), "d");
  book.fold(anomaly("checkout", "latency_ms", t0 + second), "d");
  auto* inc = book.list(true).front();
  rca_result r;
  r.candidates.push_back(
    {"orders-db", 0.9, {"deploy v2 10 min before onset", "callees healthy"}, 1});
  r.confidence_level = "high";
  ASSERT_TRUE(book.set_root_cause(inc->id, r));
  action_view a;
  a.id = 1;
  a.incident = inc->id;
  a.step = "release-idle";
  a.action = "shell";
  a.status = "succeeded";
  ASSERT_TRUE(book.record_action(a, t0 + 2 * second));
  auto text = template_summary(*inc);
  for (auto part : {"database_connection_exhaustion", "2 services affected",
                    "(checkout, orders-db)", "began with db_pool_in_use on "
                    "orders-db", "Likely root cause: orders-db (confidence "
                    "high): deploy v2 10 min before onset",
                    "release-idle (shell) succeeded", "Status: open."})
    EXPECT_NE(text.find(part), std::string::npos) << part << "\n" << text;
  // Without a confident ranking it does not name a cause.
  r.confidence_level = "unknown";
  r.confidence_reason = "conflicting evidence";
  ASSERT_TRUE(book.set_root_cause(inc->id, r));
  text = template_summary(*inc);
  EXPECT_EQ(text.find("Likely root cause"), std::string::npos) << text;
  EXPECT_NE(text.find("not clear yet (conflicting evidence)"),
            std::string::npos);
}

} // namespace

namespace {

incident_options persisting_opts() {
  incident_options o;
  o.persisting_only = true;
  return o;
}

// Every anomaly, blips too, opens and extends incidents.
incident_options every_anomaly_opts() {
  incident_options o;
  o.persisting_only = false;
  return o;
}

anomaly_event confirmed(std::string service, std::string metric,
                        int64_t onset, int64_t ts) {
  auto ev = anomaly(std::move(service), std::move(metric), ts, 0.95,
                    anomaly_phase::ongoing);
  ev.onset_ts_ms = onset;
  return ev;
}

} // namespace

TEST(incident_book, evidence_arriving_late_dates_the_detection_back) {
  // Detector shards run apart: evidence stamped earlier than what opened
  // an incident can arrive after it. What would have opened the incident
  // by itself moves detected_ms back; a blip or weak evidence does not.
  auto o = persisting_opts();
  o.min_score = 0.8;
  incident_book book{o};
  auto r = book.fold(confirmed("web", "latency_ms", t0 + 90'000,
                               t0 + 120'000),
                     "d");
  ASSERT_TRUE(r.opened);
  auto* inc = book.find(r.incident);
  ASSERT_NE(inc, nullptr);
  EXPECT_EQ(inc->detected_ms, t0 + 120'000);
  book.fold(anomaly("db", "errors", t0 + 20'000), "d");
  EXPECT_EQ(inc->detected_ms, t0 + 120'000) << "a blip opens nothing";
  auto weak = confirmed("db", "memory", t0, t0 + 25'000);
  weak.score = 0.5;
  book.fold(weak, "d");
  EXPECT_EQ(inc->detected_ms, t0 + 120'000) << "too weak to open";
  EXPECT_EQ(inc->opened_ms, t0) << "yet its onset dates the incident";
  EXPECT_EQ(book.fold(confirmed("db", "query_ms", t0 + 10'000, t0 + 30'000),
                      "d")
              .incident,
            r.incident);
  EXPECT_EQ(inc->detected_ms, t0 + 30'000) << "it would have opened it";
}

TEST(incident_book, with_persisting_only_blips_open_nothing) {
  incident_book book{persisting_opts()};
  for (int i = 0; i < 20; ++i) {
    auto r = book.fold(anomaly(named("svc-", i), "latency_ms", t0 + i * 5000),
                       "d");
    EXPECT_FALSE(r.opened);
    EXPECT_TRUE(r.blip);
  }
  EXPECT_EQ(book.open_count(), 0u);
  // The detector re-announces one of them: it persisted. It opens an
  // incident dated back to its onset.
  auto r = book.fold(confirmed("svc-3", "latency_ms", t0 + 15'000,
                               t0 + 35'000),
                     "d");
  EXPECT_TRUE(r.opened);
  auto* inc = book.find(r.incident);
  ASSERT_NE(inc, nullptr);
  EXPECT_EQ(inc->opened_ms, t0 + 15'000);
  EXPECT_EQ(inc->detected_ms, t0 + 35'000) << "known once it persisted";
  ASSERT_EQ(inc->symptoms.size(), 1u);
  EXPECT_EQ(inc->symptoms[0].first_ms, t0 + 15'000);
  EXPECT_EQ(inc->symptoms[0].sustained_since_ms, t0 + 15'000);
  // Alerts and log error spikes are persisting evidence too.
  auto alert = anomaly("other", "HighErrorRate", t0 + 40 * minute);
  alert.kind = anomaly_kind::alert;
  EXPECT_TRUE(book.fold(alert, "e").opened);
}

TEST(incident_book, blips_join_an_incident_but_do_not_keep_it_taking_symptoms) {
  incident_book book{persisting_opts()};
  auto r = book.fold(confirmed("db", "latency_ms", t0, t0 + 20'000), "d");
  ASSERT_TRUE(r.opened);
  // A blip within the group window joins.
  auto j = book.fold(anomaly("api", "latency_ms", t0 + 3 * minute), "d");
  EXPECT_EQ(j.incident, r.incident);
  // Blips every 3 minutes would chain the incident along forever if they
  // counted; they do not: 5 minutes after the last persisting evidence a
  // blip finds no incident to join.
  for (int64_t m = 6; m <= 24; m += 3) {
    auto b = book.fold(anomaly(named("noise-", m), "cpu", t0 + m * minute),
                       "d");
    EXPECT_FALSE(b.opened);
    EXPECT_EQ(b.incident, 0u) << "minute " << m;
  }
  // A new persisting anomaly 25 minutes later is a new incident.
  auto later = book.fold(confirmed("cache", "latency_ms", t0 + 25 * minute,
                                   t0 + 25 * minute + 20'000),
                         "d");
  EXPECT_TRUE(later.opened);
  EXPECT_NE(later.incident, r.incident);
}

TEST(incident_book, without_persisting_only_blips_chain_an_incident_along) {
  // The contrast that shows what persisting_only is for.
  incident_book book;
  auto r = book.fold(confirmed("db", "latency_ms", t0, t0 + 20'000), "d");
  ASSERT_TRUE(r.opened);
  for (int64_t m = 3; m <= 24; m += 3)
    EXPECT_EQ(book.fold(anomaly(named("noise-", m), "cpu", t0 + m * minute),
                        "d")
                .incident,
              r.incident);
  auto later = book.fold(confirmed("cache", "latency_ms", t0 + 25 * minute,
                                   t0 + 25 * minute + 20'000),
                         "d");
  EXPECT_EQ(later.incident, r.incident);
}

TEST(incident_book, counts_how_long_each_service_was_anomalous) {
  incident_book book{every_anomaly_opts()};
  auto id = book.fold(anomaly("a", "latency_ms", t0), "d").incident;
  ASSERT_NE(id, 0u);
  book.fold(anomaly("b", "latency_ms", t0 + 10 * second), "d");
  book.take_rank_dirty();
  // a recovers after 50 s: that ranks the incident again.
  book.fold(anomaly("a", "latency_ms", t0 + 50 * second, 0,
                    anomaly_phase::recovered),
            "d");
  EXPECT_EQ(book.take_rank_dirty(), std::vector<uint64_t>{id});
  // ... and so does any later event (durations grow).
  auto later = anomaly("b", "latency_ms", t0 + 2 * minute, 0.9,
                       anomaly_phase::ongoing);
  later.onset_ts_ms = t0 + 10 * second;
  book.fold(later, "d");
  EXPECT_EQ(book.take_rank_dirty(), std::vector<uint64_t>{id});
  // a again, from 3 min, for one more stretch still going on.
  book.fold(anomaly("a", "latency_ms", t0 + 3 * minute), "d");
  book.fold(anomaly("a", "latency_ms", t0 + 4 * minute, 0.9,
                    anomaly_phase::ongoing),
            "d");
  auto ev = evidence_of(book.find(id)->symptoms);
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[0].service, "a");
  EXPECT_EQ(ev[0].active_since_ms, t0 + 3 * minute);
  EXPECT_EQ(ev[0].anomalous_ms, 50 * second + minute);
  EXPECT_EQ(ev[1].service, "b");
  EXPECT_EQ(ev[1].active_since_ms, t0 + 10 * second);
  EXPECT_EQ(ev[1].anomalous_ms, 2 * minute - 10 * second);
  // When each was anomalous: a's symptom up to its recovery, then again
  // from 3 min, still going on (not one span from t0: a restart's blip that
  // comes back with a fault is no symptom that never ended); b's from its
  // onset on.
  ASSERT_EQ(ev[0].spans.size(), 2u);
  EXPECT_EQ(ev[0].spans[0].from_ms, t0);
  EXPECT_EQ(ev[0].spans[0].until_ms, t0 + 50 * second);
  EXPECT_EQ(ev[0].spans[1].from_ms, t0 + 3 * minute);
  EXPECT_EQ(ev[0].spans[1].until_ms, 0);
  ASSERT_EQ(ev[1].spans.size(), 1u);
  EXPECT_EQ(ev[1].spans[0].from_ms, t0 + 10 * second);
  // The stored form keeps the ended stretches.
  incident back;
  ASSERT_TRUE(decode(encode(*book.find(id)), back));
  EXPECT_EQ(evidence_of(back.symptoms)[0].anomalous_ms, ev[0].anomalous_ms);
  // All recovered: nothing active, the time stays.
  book.fold(anomaly("a", "latency_ms", t0 + 5 * minute, 0,
                    anomaly_phase::recovered),
            "d");
  auto ev2 = evidence_of(book.find(id)->symptoms);
  EXPECT_EQ(ev2[0].active_since_ms, 0);
  EXPECT_EQ(ev2[0].anomalous_ms, 50 * second + 2 * minute);
  // Recovered again, it stays two spans, the latest now ended.
  ASSERT_EQ(ev2[0].spans.size(), 2u);
  EXPECT_EQ(ev2[0].spans[0].until_ms, t0 + 50 * second);
  EXPECT_EQ(ev2[0].spans[1].from_ms, t0 + 3 * minute);
  EXPECT_EQ(ev2[0].spans[1].until_ms, t0 + 5 * minute) << "its recovery";
  // ... and so does the stored form.
  ASSERT_TRUE(decode(encode(*book.find(id)), back));
  auto stored = evidence_of(back.symptoms);
  ASSERT_EQ(stored[0].spans.size(), 2u);
  EXPECT_EQ(stored[0].spans[0].until_ms, t0 + 50 * second);
  EXPECT_EQ(stored[0].spans[1].until_ms, t0 + 5 * minute);
}

TEST(incident_book, ranking_evidence_marks_traffic_and_log_moments) {
  incident_book book{every_anomaly_opts()};
  auto id = book.fold(anomaly("api", "request_rate", t0), "d").incident;
  ASSERT_NE(id, 0u);
  book.fold(anomaly("api", "latency_ms", t0 + 10 * second), "d");
  auto log = anomaly("api", "", t0 + 20 * second);
  log.kind = anomaly_kind::log_new_template;
  log.template_text = "upstream <*> refused";
  book.fold(log, "d");
  const std::vector<std::string> traffic{"*request_rate*", "*_rps"};
  auto ev = evidence_of(book.find(id)->symptoms, traffic);
  ASSERT_EQ(ev.size(), 1u);
  ASSERT_EQ(ev[0].spans.size(), 3u);
  EXPECT_TRUE(ev[0].spans[0].traffic);
  EXPECT_FALSE(ev[0].spans[1].traffic);
  EXPECT_FALSE(ev[0].spans[2].traffic);
  // The log line is a moment: it ends where it began and is not "still
  // going on" (no detector announces a log line's recovery).
  EXPECT_EQ(ev[0].spans[2].from_ms, t0 + 20 * second);
  EXPECT_EQ(ev[0].spans[2].until_ms, t0 + 20 * second);
  EXPECT_EQ(ev[0].spans[0].until_ms, 0) << "request_rate still anomalous";
  EXPECT_TRUE(failing_at(ev[0], t0 + 5 * minute, 0)) << "latency still bad";
  // Without globs nothing is traffic.
  EXPECT_FALSE(evidence_of(book.find(id)->symptoms)[0].spans[0].traffic);
  // Only the log line: its service is anomalous for no time and not now.
  incident_book logs_only{every_anomaly_opts()};
  auto lid = logs_only.fold(log, "d").incident;
  ASSERT_NE(lid, 0u);
  auto lev = evidence_of(logs_only.find(lid)->symptoms, traffic);
  ASSERT_EQ(lev.size(), 1u);
  EXPECT_EQ(lev[0].active_since_ms, 0);
  EXPECT_EQ(lev[0].anomalous_ms, 0);
  EXPECT_FALSE(anomalous_at(lev[0], t0 + 5 * minute, 5 * second));
}

namespace {

// db <- api <- web, grouped along the topology.
incident_options chain_opts(bool link_by_persisting) {
  auto o = persisting_opts();
  o.adjacency = true;
  o.link_by_onset = true;
  o.link_by_persisting = link_by_persisting;
  return o;
}

// chain_opts(true) with rejoin_while_anomalous, as configured by default.
incident_options default_chain_opts() {
  auto o = chain_opts(true);
  o.rejoin_while_anomalous = true;
  return o;
}

const std::unordered_map<std::string, std::vector<std::string>> chain{
  {"db", {"api"}}, {"api", {"db", "web"}}, {"web", {"api"}}};

} // namespace

TEST(incident_book, with_link_by_persisting_a_blip_joins_but_links_nothing) {
  // db fails; its caller api blips once; web, api's caller only, then goes
  // bad for its own reasons. api's blip is the only thing between them.
  for (bool by_persisting : {true, false}) {
    incident_book book{chain_opts(by_persisting)};
    book.set_neighbours(chain);
    auto fault = book.fold(confirmed("db", "pool_in_use", t0,
                                     t0 + 20 * second),
                           "d");
    ASSERT_TRUE(fault.opened);
    auto blip = book.fold(anomaly("api", "latency_ms", t0 + 30 * second), "d");
    EXPECT_EQ(blip.incident, fault.incident) << "a blip still joins";
    auto web = book.fold(confirmed("web", "cpu", t0 + minute,
                                   t0 + minute + 20 * second),
                         "d");
    if (by_persisting) {
      EXPECT_TRUE(web.opened) << "api's blip links nothing";
      EXPECT_NE(web.incident, fault.incident);
    } else {
      EXPECT_EQ(web.incident, fault.incident) << "linked through the blip";
    }
  }
  // Once api's anomaly persists, it links web as before.
  auto o = default_chain_opts();
  incident_book book{o};
  book.set_neighbours(chain);
  auto fault = book.fold(confirmed("db", "pool_in_use", t0, t0 + 20 * second),
                         "d");
  book.fold(confirmed("api", "latency_ms", t0 + 30 * second,
                      t0 + 50 * second),
            "d");
  EXPECT_EQ(book.fold(confirmed("web", "cpu", t0 + minute,
                                t0 + minute + 20 * second),
                      "d")
              .incident,
            fault.incident);
}

TEST(incident_book, a_service_that_recovered_rejoins_only_through_its_neighbours) {
  // api fails for good; its caller web blips with it and recovers. Five
  // minutes later web's own CPU goes bad and persists: api's symptom began
  // six minutes before, too long ago to link, so only web's own past could.
  for (bool rejoin_while_anomalous : {true, false}) {
    auto o = chain_opts(true);
    o.rejoin_while_anomalous = rejoin_while_anomalous;
    incident_book book{o};
    book.set_neighbours(chain);
    auto fault = book.fold(confirmed("api", "latency_ms", t0,
                                     t0 + 20 * second),
                           "d");
    ASSERT_TRUE(fault.opened);
    EXPECT_EQ(book.fold(anomaly("web", "latency_ms", t0 + 30 * second), "d")
                .incident,
              fault.incident);
    book.fold(anomaly("web", "latency_ms", t0 + 50 * second, 0,
                      anomaly_phase::recovered),
              "d");
    // api is still failing (re-announced), so the incident takes symptoms.
    book.fold(confirmed("api", "latency_ms", t0, t0 + 5 * minute), "d");
    auto later = book.fold(confirmed("web", "cpu", t0 + 6 * minute,
                                     t0 + 6 * minute + 20 * second),
                           "d");
    if (rejoin_while_anomalous) {
      EXPECT_TRUE(later.opened) << "web had recovered";
      EXPECT_NE(later.incident, fault.incident);
    } else {
      EXPECT_EQ(later.incident, fault.incident) << "its recovered blip links";
    }
  }
  // While one of web's symptoms is still anomalous, web's new ones join.
  auto o = chain_opts(true);
  o.rejoin_while_anomalous = true;
  incident_book book{o};
  book.set_neighbours(chain);
  auto fault = book.fold(confirmed("api", "latency_ms", t0, t0 + 20 * second),
                         "d");
  book.fold(anomaly("web", "latency_ms", t0 + 30 * second), "d");
  book.fold(confirmed("api", "latency_ms", t0, t0 + 5 * minute), "d");
  EXPECT_EQ(book.fold(confirmed("web", "cpu", t0 + 6 * minute,
                                t0 + 6 * minute + 20 * second),
                      "d")
              .incident,
            fault.incident);
  // A log event counts as anomalous within group_window of its last line.
  incident_book logs{o};
  logs.set_neighbours(chain);
  auto first = logs.fold(confirmed("api", "latency_ms", t0, t0 + 20 * second),
                         "d");
  auto line = anomaly("web", "log", t0 + 30 * second);
  line.kind = anomaly_kind::log_error_spike;
  EXPECT_EQ(logs.fold(line, "d").incident, first.incident);
  logs.fold(confirmed("api", "latency_ms", t0, t0 + 2 * minute), "d");
  line.ts_ms = t0 + 150 * second;
  logs.fold(line, "d");
  logs.fold(confirmed("api", "latency_ms", t0, t0 + 5 * minute), "d");
  // api's symptom began 6 min ago: web's last error line links it.
  EXPECT_EQ(logs.fold(confirmed("web", "cpu", t0 + 6 * minute,
                                t0 + 6 * minute + 20 * second),
                      "d")
              .incident,
            first.incident)
    << "its error burst was 3.5 min ago";
  logs.fold(anomaly("web", "cpu", t0 + 390 * second, 0,
                    anomaly_phase::recovered),
            "d");
  logs.fold(confirmed("api", "latency_ms", t0, t0 + 8 * minute), "d");
  auto late = logs.fold(confirmed("web", "memory", t0 + 9 * minute,
                                  t0 + 9 * minute + 20 * second),
                        "d");
  EXPECT_TRUE(late.opened) << "web's error burst ended long ago";
}

TEST(incident_book, cpu_that_moved_with_the_request_rate_is_load_not_failure) {
  // A callee's callers retry: its request rate and CPU rise together.
  // Another service's CPU rises on its own (a hog); a third one's rises
  // 40 s after its request rate did.
  incident_book book{every_anomaly_opts()};
  auto id = book.fold(anomaly("db", "request_rate", t0), "d").incident;
  ASSERT_NE(id, 0u);
  book.fold(anomaly("db", "cpu_usage", t0 + 5 * second), "d");
  book.fold(anomaly("hog", "cpu_usage", t0 + 5 * second), "d");
  book.fold(anomaly("late", "request_rate", t0 + 10 * second), "d");
  book.fold(anomaly("late", "cpu_usage", t0 + 50 * second), "d");
  const std::vector<std::string> traffic{"*request_rate*"};
  const std::vector<std::string> load{"*cpu*"};
  auto ev = evidence_of(book.find(id)->symptoms, traffic, load, 10 * second);
  ASSERT_EQ(ev.size(), 3u); // db, hog, late (by name)
  ASSERT_EQ(ev[0].service, "db");
  ASSERT_EQ(ev[0].spans.size(), 2u);
  EXPECT_TRUE(ev[0].spans[0].traffic && ev[0].spans[1].traffic)
    << "db's CPU followed its load";
  EXPECT_FALSE(failing_at(ev[0], t0 + 5 * second, 0));
  EXPECT_TRUE(anomalous_at(ev[0], t0 + 5 * second, 0));
  ASSERT_EQ(ev[1].service, "hog");
  EXPECT_FALSE(ev[1].spans[0].traffic) << "no load came with it";
  EXPECT_TRUE(failing_at(ev[1], t0 + 5 * second, 0));
  ASSERT_EQ(ev[2].service, "late");
  EXPECT_FALSE(ev[2].spans[1].traffic) << "40 s apart: not the same load";
  // The same within a slack of 0, and without load globs nothing is load.
  auto tight = evidence_of(book.find(id)->symptoms, traffic, load, 0);
  EXPECT_FALSE(tight[0].spans[1].traffic);
  auto none = evidence_of(book.find(id)->symptoms, traffic);
  EXPECT_TRUE(none[0].spans[0].traffic);
  EXPECT_FALSE(none[0].spans[1].traffic);
}

TEST(incident_book, each_stretch_of_a_symptom_is_judged_as_load_by_itself) {
  // A callee's CPU blips with its restart and recovers; minutes later its
  // caller fails, sends it fewer requests, and its request rate and CPU
  // fall together (the CPU's anomaly confirmed 20 s after the rate's).
  incident_book book{every_anomaly_opts()};
  auto id = book.fold(anomaly("cache", "cpu_usage", t0), "d").incident;
  ASSERT_NE(id, 0u);
  book.fold(anomaly("cache", "cpu_usage", t0 + minute, 0,
                    anomaly_phase::recovered),
            "d");
  book.fold(anomaly("cache", "request_rate", t0 + 4 * minute), "d");
  book.fold(anomaly("cache", "cpu_usage", t0 + 4 * minute + 20 * second),
            "d");
  auto ev = evidence_of(book.find(id)->symptoms, {"*request_rate*"},
                        {"*cpu*"}, 30 * second);
  ASSERT_EQ(ev.size(), 1u);
  ASSERT_EQ(ev[0].spans.size(), 3u); // CPU twice, request rate
  int load = 0, failing = 0;
  for (const auto& sp : ev[0].spans) {
    if (sp.from_ms == t0)
      failing += sp.traffic ? 0 : 1;
    else
      load += sp.traffic ? 1 : 0;
  }
  EXPECT_EQ(failing, 1) << "the restart's blip had no load with it";
  EXPECT_EQ(load, 2) << "the CPU's second stretch came with the load";
  // With a slack shorter than the CPU's lag the two are not one load.
  auto tight = evidence_of(book.find(id)->symptoms, {"*request_rate*"},
                           {"*cpu*"}, 10 * second);
  EXPECT_FALSE(std::all_of(tight[0].spans.begin() + 1, tight[0].spans.end(),
                           [](const auto& sp) { return sp.traffic; }));
}

TEST(incident_book, a_symptom_still_anomalous_stays_with_its_incident) {
  // db fails for good at t0; its incident then hears nothing new for
  // minutes. At 8 min web, then api (db's neighbour) go bad for a reason
  // of their own: a second incident. db's re-announcement at 10 min is the
  // same ongoing symptom: it updates db's incident, not the one taking
  // evidence now next to it.
  auto o = default_chain_opts();
  incident_book book{o};
  book.set_neighbours(chain);
  auto fault = book.fold(confirmed("db", "pool_in_use", t0, t0 + 20 * second),
                         "d");
  ASSERT_TRUE(fault.opened);
  auto other = book.fold(confirmed("web", "cpu", t0 + 8 * minute,
                                   t0 + 8 * minute + 20 * second),
                         "d");
  ASSERT_TRUE(other.opened);
  ASSERT_NE(other.incident, fault.incident);
  EXPECT_EQ(book.fold(confirmed("api", "latency_ms", t0 + 8 * minute + 30 * second,
                                t0 + 9 * minute),
                      "d")
              .incident,
            other.incident);
  auto again = book.fold(confirmed("db", "pool_in_use", t0, t0 + 10 * minute),
                         "d");
  EXPECT_EQ(again.incident, fault.incident);
  EXPECT_FALSE(again.new_symptom);
  auto* inc = book.find(fault.incident);
  ASSERT_EQ(inc->symptoms.size(), 1u);
  EXPECT_EQ(inc->symptoms[0].last_ms, t0 + 10 * minute);
  EXPECT_EQ(inc->symptoms[0].events, 2u);
  auto services = book.find(other.incident)->services();
  EXPECT_EQ(std::count(services.begin(), services.end(), "db"), 0);
  // Once it recovered, db's next stretch is a newcomer: its neighbour api
  // links it to the incident taking evidence now.
  book.fold(anomaly("db", "pool_in_use", t0 + 11 * minute, 0,
                    anomaly_phase::recovered),
            "d");
  auto next = book.fold(confirmed("db", "pool_in_use", t0 + 11 * minute + 30 * second,
                                  t0 + 12 * minute),
                        "d");
  EXPECT_EQ(next.incident, other.incident);
  // A blip that joined an incident does not hold its own confirmation
  // there: that is new persisting evidence, grouped as such.
  incident_book blips{persisting_opts()};
  auto first = blips.fold(confirmed("api", "latency_ms", t0, t0 + 20 * second),
                          "d");
  EXPECT_EQ(blips.fold(anomaly("db", "pool_in_use", t0 + 310 * second), "d")
              .incident,
            first.incident);
  auto own = blips.fold(confirmed("db", "pool_in_use", t0 + 310 * second,
                                  t0 + 340 * second),
                        "d");
  EXPECT_TRUE(own.opened);
  EXPECT_NE(own.incident, first.incident);
}

namespace {

// default_chain_opts with a restart settling for 5 min.
incident_options settle_opts() {
  auto o = default_chain_opts();
  o.restart_settle_ms = 5 * minute;
  return o;
}

change_event change(std::string service, std::string kind, int64_t ts) {
  change_event c;
  c.service = std::move(service);
  c.kind = std::move(kind);
  c.version = "v2";
  c.ts_ms = ts;
  return c;
}

anomaly_event recovery(std::string service, std::string metric, int64_t ts) {
  return anomaly(std::move(service), std::move(metric), ts, 0,
                 anomaly_phase::recovered);
}

// db's `kind` at t0, then its error rate failing from 20 s on, announced
// at 40 s; whether that was held.
bool hold_db_failure(incident_book& book, const char* kind) {
  book.set_neighbours(chain);
  book.add_change(change("db", kind, t0), "d");
  return book
    .fold(confirmed("db", "error_rate", t0 + 20 * second, t0 + 40 * second),
          "d")
    .settling;
}

} // namespace

TEST(incident_book, a_restart_that_passes_while_it_settles_opens_nothing) {
  // db is deployed at t0; its fresh heap reads as a memory anomaly from
  // 10 s on and grows back within three minutes.
  for (int64_t settle : {int64_t{0}, 5 * minute}) {
    auto o = settle_opts();
    o.restart_settle_ms = settle;
    incident_book book{o};
    book.set_neighbours(chain);
    book.add_change(change("db", "deploy", t0), "d");
    auto r = book.fold(confirmed("db", "memory_bytes", t0 + 10 * second,
                                 t0 + 30 * second),
                       "d");
    if (settle == 0) {
      EXPECT_TRUE(r.opened) << "without settling, the fresh heap opens one";
      continue;
    }
    EXPECT_FALSE(r.opened);
    EXPECT_TRUE(r.settling);
    EXPECT_EQ(book.settling_count(), 1u);
    book.fold(confirmed("db", "memory_bytes", t0 + 10 * second,
                        t0 + 90 * second),
              "d");
    EXPECT_EQ(book.settling_count(), 1u) << "one symptom, held once";
    book.fold(recovery("db", "memory_bytes", t0 + 3 * minute), "d");
    EXPECT_EQ(book.settling_count(), 0u);
    book.tick(t0 + 10 * minute);
    EXPECT_EQ(book.open_count(), 0u);
    EXPECT_TRUE(book.list(false).empty());
  }
}

TEST(incident_book, a_bad_release_opens_once_its_restart_settled) {
  // db's new version fails 20 s after the deploy and keeps failing: the
  // incident opens 5 min after the deploy, dated by the first failure.
  incident_book book{settle_opts()};
  EXPECT_TRUE(hold_db_failure(book, "deploy"));
  book.tick(t0 + 4 * minute + 59 * second);
  EXPECT_EQ(book.open_count(), 0u);
  book.tick(t0 + 5 * minute);
  ASSERT_EQ(book.open_count(), 1u);
  const auto* inc = book.list(true).front();
  EXPECT_EQ(inc->opened_ms, t0 + 20 * second);
  EXPECT_EQ(inc->detected_ms, t0 + 5 * minute) << "known once it settled";
  EXPECT_EQ(book.settling_count(), 0u);
  // Evidence after the restart settled releases what was held, whether or
  // not a tick came first: the held symptom opens the incident and its
  // re-announcement joins it.
  incident_book late{settle_opts()};
  EXPECT_TRUE(hold_db_failure(late, "rollback"));
  auto again = late.fold(confirmed("db", "error_rate", t0 + 20 * second,
                                   t0 + 6 * minute),
                         "d");
  ASSERT_EQ(late.open_count(), 1u);
  EXPECT_EQ(again.incident, late.list(true).front()->id);
  EXPECT_EQ(late.list(true).front()->detected_ms, t0 + 5 * minute);
  EXPECT_EQ(late.settling_count(), 0u);
}

TEST(incident_book, a_settling_symptom_joins_what_its_neighbours_open) {
  // db's release breaks it; its caller api fails because of it and opens
  // the incident (api did not restart). db's held symptom joins it at
  // once, and db's later symptoms join it directly.
  incident_book book{settle_opts()};
  EXPECT_TRUE(hold_db_failure(book, "deploy"));
  auto api = book.fold(confirmed("api", "latency_ms", t0 + 30 * second,
                                 t0 + 50 * second),
                       "d");
  ASSERT_TRUE(api.opened);
  EXPECT_EQ(book.settling_count(), 0u);
  auto* inc = book.find(api.incident);
  EXPECT_EQ(inc->services(), (std::vector<std::string>{"api", "db"}));
  EXPECT_EQ(inc->opened_ms, t0 + 20 * second) << "dated by db's onset";
  EXPECT_EQ(inc->detected_ms, t0 + 50 * second)
    << "db's held evidence could not open it";
  auto cpu = book.fold(confirmed("db", "cpu_usage", t0 + 30 * second,
                                 t0 + 60 * second),
                       "d");
  EXPECT_FALSE(cpu.settling);
  EXPECT_EQ(cpu.incident, api.incident);
  EXPECT_EQ(book.open_count(), 1u);
}

TEST(incident_book, only_a_restart_s_own_early_metric_anomalies_settle) {
  auto opens_at_once = [](const change_event& c, anomaly_event ev) {
    incident_book book{settle_opts()};
    book.set_neighbours(chain);
    book.add_change(c, "d");
    return book.fold(ev, "d").opened;
  };
  auto deploy = change("db", "deploy", t0);
  auto early = confirmed("db", "memory_bytes", t0 + 10 * second,
                         t0 + 30 * second);
  EXPECT_FALSE(opens_at_once(deploy, early));
  EXPECT_FALSE(opens_at_once(change("db", "restart", t0), early));
  // The deploy reported up to 30 s after the process restarted.
  EXPECT_FALSE(opens_at_once(change("db", "deploy", t0 + 30 * second), early));
  // A config change or a scale-out starts no new process.
  EXPECT_TRUE(opens_at_once(change("db", "config", t0), early));
  EXPECT_TRUE(opens_at_once(change("db", "scale", t0), early));
  // Another service's deploy.
  EXPECT_TRUE(opens_at_once(change("api", "deploy", t0), early));
  // A failure that began more than a minute after the restart is no
  // effect of it.
  EXPECT_TRUE(opens_at_once(deploy, confirmed("db", "memory_bytes",
                                              t0 + 61 * second,
                                              t0 + 90 * second)));
  // Nor one that began well before it.
  EXPECT_TRUE(opens_at_once(deploy, confirmed("db", "memory_bytes",
                                              t0 - 31 * second,
                                              t0 + 10 * second)));
  // An alert and a log error spike speak for themselves.
  auto alert = anomaly("db", "HighErrorRate", t0 + 20 * second);
  alert.kind = anomaly_kind::alert;
  EXPECT_TRUE(opens_at_once(deploy, alert));
  auto spike = confirmed("db", "errors", t0 + 10 * second, t0 + 30 * second);
  spike.kind = anomaly_kind::log_error_spike;
  spike.template_text = "ERROR connection refused <*>";
  EXPECT_TRUE(opens_at_once(deploy, spike));
}

TEST(incident_book, settling_symptoms_stay_bounded) {
  // More held than max_settling: the oldest is folded in as it is.
  auto o = settle_opts();
  o.max_settling = 3;
  incident_book book{o};
  for (int i = 0; i < 4; ++i)
    book.add_change(change(named("svc-", i), "deploy", t0), "d");
  for (int i = 0; i < 3; ++i)
    EXPECT_TRUE(book.fold(confirmed(named("svc-", i), "memory_bytes",
                                    t0 + 10 * second, t0 + 30 * second),
                          "d")
                  .settling);
  EXPECT_EQ(book.open_count(), 0u);
  EXPECT_TRUE(book.fold(confirmed("svc-3", "memory_bytes", t0 + 10 * second,
                                  t0 + 31 * second),
                        "d")
                .settling);
  EXPECT_EQ(book.settling_count(), 3u);
  ASSERT_EQ(book.open_count(), 1u);
  EXPECT_EQ(book.list(true).front()->services(),
            (std::vector<std::string>{"svc-0"}));
}

TEST(incident_book, a_settling_symptom_follows_its_service_s_new_domain) {
  // db's failure is held under the domain known then; the topology learned
  // later puts db in api's domain, where api's failure opens an incident
  // that db's held symptom joins.
  incident_book book{settle_opts()};
  EXPECT_TRUE(hold_db_failure(book, "deploy"));
  book.remap([](const std::string&) { return std::string{"shop"}; });
  auto api = book.fold(confirmed("api", "latency_ms", t0 + 30 * second,
                                 t0 + 50 * second),
                       "shop");
  ASSERT_TRUE(api.opened);
  EXPECT_EQ(book.settling_count(), 0u);
  EXPECT_EQ(book.find(api.incident)->services(),
            (std::vector<std::string>{"api", "db"}));
}
