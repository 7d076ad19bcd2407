// Incident grouping beyond the basics: suppression and flap damping stop
// creation but never resolution, domains learned late merge incidents,
// hand-offs, the timeline, rankings, and the stored form.

#include <gtest/gtest.h>

#include "actors/correlator/correlator.hpp"
#include "actors/correlator/incident_codec.hpp"
#include "actors/correlator/incidents.hpp"

using namespace vigil;
using namespace vigil::correlator;

namespace {

constexpr int64_t second = 1000;
constexpr int64_t minute = 60 * second;
constexpr int64_t t0 = 1'704'067'200'000;

anomaly_event anomaly(std::string service, std::string metric, int64_t ts,
                      anomaly_phase phase = anomaly_phase::onset) {
  anomaly_event ev;
  ev.service = std::move(service);
  ev.metric = std::move(metric);
  ev.series = ev.metric + "{pod=\"1\"}";
  ev.ts_ms = ts;
  ev.score = 0.9;
  ev.phase = phase;
  ev.votes = {{"ewma", 0.9, 5, true}, {"zscore", 0.2, 1, false}};
  return ev;
}

TEST(incident_flow, a_suppressed_symptom_opens_nothing_but_joins_and_recovers) {
  incident_book book;
  auto r = book.fold(anomaly("a", "latency_ms", t0), "d", true);
  EXPECT_TRUE(r.suppressed);
  EXPECT_EQ(r.incident, 0u);
  EXPECT_EQ(book.open_count(), 0u);
  // Once an incident is open, a silenced symptom may join it...
  auto open = book.fold(anomaly("b", "latency_ms", t0 + second), "d");
  auto joined = book.fold(anomaly("a", "latency_ms", t0 + 2 * second), "d",
                          true);
  EXPECT_EQ(joined.incident, open.incident);
  // ...and recoveries always pass: the incident still resolves.
  book.fold(anomaly("a", "latency_ms", t0 + 3 * second,
                    anomaly_phase::recovered),
            "d", true);
  book.fold(anomaly("b", "latency_ms", t0 + 3 * second,
                    anomaly_phase::recovered),
            "d");
  EXPECT_EQ(book.tick(t0 + 30 * minute).size(), 1u);
}

TEST(incident_flow, a_flapping_symptom_stops_opening_incidents) {
  incident_options o;
  o.flap_max_opens = 3;
  o.flap_window_ms = 60 * minute;
  o.resolve_after_ms = minute;
  o.group_window_ms = minute;
  incident_book book{o};
  int opened = 0;
  int damped = 0;
  for (int i = 0; i < 6; ++i) {
    auto at = t0 + i * 5 * minute;
    auto r = book.fold(anomaly("a", "errors", at), "d");
    opened += r.opened;
    damped += r.damped;
    book.fold(anomaly("a", "errors", at + second, anomaly_phase::recovered),
              "d");
    book.tick(at + 3 * minute);
  }
  EXPECT_EQ(opened, 3);
  EXPECT_EQ(damped, 3);
  // After a quiet hour it may open again.
  EXPECT_TRUE(book.fold(anomaly("a", "errors", t0 + 200 * minute), "d").opened);
  // Damping off: every flap opens.
  o.flap_max_opens = 0;
  incident_book loose{o};
  opened = 0;
  for (int i = 0; i < 6; ++i) {
    auto at = t0 + i * 5 * minute;
    opened += loose.fold(anomaly("a", "errors", at), "d").opened;
    loose.fold(anomaly("a", "errors", at + second, anomaly_phase::recovered),
               "d");
    loose.tick(at + 3 * minute);
  }
  EXPECT_EQ(opened, 6);
}

TEST(incident_flow, an_old_simmering_incident_does_not_swallow_a_new_fault) {
  incident_options o;
  o.max_span_ms = 30 * minute;
  o.group_window_ms = 5 * minute;
  incident_book book{o};
  // Sporadic noise every 4 minutes keeps the first incident near...
  auto first = book.fold(anomaly("a", "latency_ms", t0), "d").incident;
  for (int i = 1; i <= 7; ++i)
    EXPECT_EQ(book.fold(anomaly("a", "latency_ms", t0 + i * 4 * minute), "d")
                .incident,
              first);
  // ...but past max_span a new fault opens its own incident.
  auto fault = book.fold(anomaly("b", "errors", t0 + 32 * minute), "d");
  EXPECT_TRUE(fault.opened);
  EXPECT_NE(fault.incident, first);
}

TEST(incident_flow, a_lone_blip_opens_nothing_until_another_service_agrees) {
  incident_options o;
  o.open_min_services = 2;
  o.open_wait_ms = 2 * minute;
  incident_book book{o};
  // A benign spike in one service (two of its series): held, then stale.
  EXPECT_TRUE(book.fold(anomaly("a", "latency_ms", t0), "d").pending);
  EXPECT_TRUE(book.fold(anomaly("a", "cpu", t0 + second), "d").pending);
  EXPECT_EQ(book.open_count(), 0u);
  // Another service 5 minutes later: the blip went stale, still nothing.
  EXPECT_TRUE(book.fold(anomaly("b", "errors", t0 + 5 * minute), "d").pending);
  // A third within the wait corroborates: one incident with both, opened
  // at the first held onset.
  auto r = book.fold(anomaly("c", "errors", t0 + 6 * minute), "d");
  EXPECT_TRUE(r.opened);
  const auto* inc = book.find(r.incident);
  ASSERT_NE(inc, nullptr);
  EXPECT_EQ(inc->services(), (std::vector<std::string>{"b", "c"}));
  EXPECT_EQ(inc->opened_ms, t0 + 5 * minute);
  // An anomaly that persists (re-announced) opens alone; so does an alert.
  auto lasting = anomaly("x", "latency_ms", t0 + 60 * minute);
  lasting.phase = anomaly_phase::ongoing;
  EXPECT_TRUE(book.fold(lasting, "e").opened);
  auto alert = anomaly("y", "HighLatency", t0 + 60 * minute);
  alert.kind = anomaly_kind::alert;
  EXPECT_TRUE(book.fold(alert, "f").opened);
}

TEST(incident_flow, inside_a_domain_symptoms_group_along_the_topology) {
  incident_options o;
  o.open_min_services = 2;
  o.adjacency = true;
  incident_book book{o};
  // web -> api -> db, and elsewhere in the same component batch -> queue
  // (linked to the rest only through a far-away service).
  book.set_neighbours({{"web", {"api"}},
                       {"api", {"web", "db"}},
                       {"db", {"api"}},
                       {"batch", {"queue"}},
                       {"queue", {"batch"}}});
  EXPECT_TRUE(book.fold(anomaly("db", "latency_ms", t0), "shop").pending);
  // An unrelated blip elsewhere does not corroborate db.
  EXPECT_TRUE(
    book.fold(anomaly("batch", "errors", t0 + 5 * second), "shop").pending);
  // db's caller does: one incident with both.
  auto fault = book.fold(anomaly("api", "latency_ms", t0 + 10 * second),
                         "shop");
  ASSERT_TRUE(fault.opened);
  EXPECT_EQ(book.find(fault.incident)->services(),
            (std::vector<std::string>{"api", "db"}));
  // The next hop joins through api.
  EXPECT_EQ(book.fold(anomaly("web", "latency_ms", t0 + 20 * second), "shop")
              .incident,
            fault.incident);
  // batch's neighbour corroborates batch: a second incident, not a join.
  auto other = book.fold(anomaly("queue", "lag", t0 + 30 * second), "shop");
  EXPECT_TRUE(other.opened);
  EXPECT_NE(other.incident, fault.incident);
  EXPECT_EQ(book.find(other.incident)->services(),
            (std::vector<std::string>{"batch", "queue"}));
  // A service outside the topology groups by domain alone.
  EXPECT_NE(book.fold(anomaly("legacy", "cpu", t0 + 40 * second), "shop")
              .incident,
            0u);
}

TEST(incident_flow, out_of_order_halves_of_one_fault_merge_when_linked) {
  incident_options o;
  o.open_min_services = 2;
  o.adjacency = true;
  incident_book book{o};
  // db is called by api (called by web) and by reports (called by admin).
  book.set_neighbours({{"db", {"api", "reports"}},
                       {"api", {"db", "web"}},
                       {"web", {"api"}},
                       {"reports", {"db", "admin"}},
                       {"admin", {"reports"}}});
  // The callers' symptoms arrive first, two unlinked halves.
  book.fold(anomaly("reports", "latency_ms", t0 + 20 * second), "d");
  auto x = book.fold(anomaly("admin", "latency_ms", t0 + 30 * second), "d");
  book.fold(anomaly("api", "latency_ms", t0 + 20 * second), "d");
  auto y = book.fold(anomaly("web", "latency_ms", t0 + 30 * second), "d");
  ASSERT_TRUE(x.opened);
  ASSERT_TRUE(y.opened);
  EXPECT_EQ(book.open_count(), 2u);
  // db, late, links both: one incident.
  auto r = book.fold(anomaly("db", "latency_ms", t0), "d");
  EXPECT_EQ(book.open_count(), 1u);
  EXPECT_EQ(r.incident, x.incident) << "the older one survives";
  EXPECT_EQ(book.find(r.incident)->services(),
            (std::vector<std::string>{"admin", "api", "db", "reports", "web"}));
  EXPECT_EQ(book.find(y.incident)->merged_into, x.incident);
}

TEST(incident_flow, a_domain_learned_late_merges_the_incidents_of_one_fault) {
  incident_book book;
  // Before the topology is known every service is its own domain.
  auto db = book.fold(anomaly("db", "latency_ms", t0), "db");
  auto api = book.fold(anomaly("api", "latency_ms", t0 + 10 * second), "api");
  auto other = book.fold(anomaly("x", "latency_ms", t0 + 20 * second), "x");
  ASSERT_EQ(book.open_count(), 3u);
  auto r = book.remap([](const std::string& s) {
    return s == "x" ? std::string{"x"} : std::string{"api"};
  });
  ASSERT_EQ(r.merged.size(), 1u);
  EXPECT_EQ(r.merged[0], std::make_pair(api.incident, db.incident));
  EXPECT_EQ(book.open_count(), 2u);
  const auto* kept = book.find(db.incident);
  EXPECT_EQ(kept->services(), (std::vector<std::string>{"api", "db"}));
  EXPECT_EQ(kept->domain, "api");
  const auto* gone = book.find(api.incident);
  EXPECT_TRUE(gone->closed());
  EXPECT_EQ(gone->merged_into, db.incident);
  EXPECT_FALSE(book.find(other.incident)->closed());
  // New symptoms of the merged domain join the survivor.
  EXPECT_EQ(book.fold(anomaly("fe", "latency_ms", t0 + minute), "api").incident,
            db.incident);
}

TEST(incident_flow, a_handed_over_incident_is_adopted_or_merged) {
  incident_book a;
  incident_book b;
  auto id = a.fold(anomaly("db", "latency_ms", t0), "shop").incident;
  incident moved = *a.find(id);
  ASSERT_TRUE(a.release(id));
  EXPECT_EQ(a.find(id), nullptr);
  // b has nothing near: it keeps the incident under its id.
  EXPECT_EQ(b.adopt(moved), id);
  EXPECT_EQ(b.open_count(), 1u);
  // A second one of the same domain and time merges into it.
  incident_options o;
  incident_book c;
  c.set_id_source([] { return uint64_t{77}; });
  auto other = c.fold(anomaly("api", "latency_ms", t0 + second), "shop");
  EXPECT_EQ(b.adopt(*c.find(other.incident)), id);
  EXPECT_EQ(b.find(id)->services(),
            (std::vector<std::string>{"api", "db"}));
  EXPECT_EQ(b.find(77)->merged_into, id);
}

TEST(incident_flow, a_merge_keeps_a_symptom_that_came_back_as_two_spans) {
  // db's latency blipped and recovered in one incident; when it went bad
  // again, the new stretch went into another, and the two merge.
  incident_book b;
  auto id = b.fold(anomaly("db", "latency_ms", t0), "shop").incident;
  b.fold(anomaly("db", "latency_ms", t0 + 50 * second,
                 anomaly_phase::recovered),
         "shop");
  incident_book c;
  c.set_id_source([] { return uint64_t{77}; });
  auto later = c.fold(anomaly("db", "latency_ms", t0 + 3 * minute), "shop");
  ASSERT_EQ(b.adopt(*c.find(later.incident)), id);
  auto ev = evidence_of(b.find(id)->symptoms);
  ASSERT_EQ(ev.size(), 1u);
  ASSERT_EQ(ev[0].spans.size(), 2u);
  EXPECT_EQ(ev[0].spans[0].from_ms, t0);
  EXPECT_EQ(ev[0].spans[0].until_ms, t0 + 50 * second);
  EXPECT_EQ(ev[0].spans[1].from_ms, t0 + 3 * minute);
  EXPECT_EQ(ev[0].spans[1].until_ms, 0) << "still going";
}

TEST(incident_flow, the_timeline_tells_the_story_in_order) {
  incident_book book;
  change_event deploy;
  deploy.service = "db";
  deploy.kind = "deploy";
  deploy.version = "v2";
  deploy.author = "ci";
  deploy.ts_ms = t0 - 5 * minute;
  book.add_change(deploy, "shop");
  auto id = book.fold(anomaly("db", "db_connections_in_use", t0), "shop")
              .incident;
  book.fold(anomaly("api", "latency_ms", t0 + 10 * second), "shop");
  rca_result r;
  r.candidates = {{"db", 0.8, {"deploy 5 min before onset"}, 1}};
  r.confidence_level = "high";
  r.confidence = 0.8;
  r.ranked_at_ms = t0 + 10 * second;
  ASSERT_TRUE(book.set_root_cause(id, r));
  ASSERT_TRUE(book.set_status(id, incident_status::acknowledged,
                              t0 + minute, "alice", "looking"));
  const auto& tl = book.find(id)->timeline;
  std::vector<std::string> kinds;
  for (const auto& e : tl)
    kinds.push_back(e.kind);
  EXPECT_EQ(kinds, (std::vector<std::string>{"change", "status",
                                             "metric_anomaly",
                                             "metric_anomaly", "root_cause",
                                             "status"}));
  EXPECT_NE(tl.front().text.find("deploy of db to v2 by ci"),
            std::string::npos);
  EXPECT_NE(tl.back().text.find("acknowledged by alice: looking"),
            std::string::npos);
  for (size_t i = 1; i < tl.size(); ++i)
    EXPECT_LE(tl[i - 1].ts_ms, tl[i].ts_ms);
  // The change is there for ranking too.
  auto changes = book.changes_of({"db"}, t0 - 30 * minute, t0);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].version, "v2");
}

TEST(incident_flow, a_merge_keeps_one_entry_for_a_change_both_heard_of) {
  // Two halves of one fault opened in two domains; db's deploy went on
  // both timelines. Once the topology joins the domains they merge, with
  // the deploy on the timeline once.
  incident_book book;
  auto a = book.fold(anomaly("db", "latency_ms", t0), "east").incident;
  auto b = book.fold(anomaly("api", "latency_ms", t0 + second), "west")
             .incident;
  book.fold(anomaly("db", "errors", t0 + 2 * second), "west");
  ASSERT_NE(a, b);
  change_event deploy;
  deploy.service = "db";
  deploy.kind = "deploy";
  deploy.version = "v2";
  deploy.ts_ms = t0 + 3 * second;
  book.add_change(deploy, "east");
  auto r = book.remap([](const std::string&) { return std::string{"all"}; });
  ASSERT_EQ(r.merged.size(), 1u);
  auto* kept = book.find(r.merged[0].second);
  ASSERT_NE(kept, nullptr);
  EXPECT_EQ(std::count_if(kept->timeline.begin(), kept->timeline.end(),
                          [](const timeline_entry& e) {
                            return e.kind == "change";
                          }),
            1);
}

TEST(incident_flow, the_stored_form_reads_back_whole) {
  incident_book book;
  auto id = book.fold(anomaly("db", "latency_ms", t0), "shop").incident;
  book.fold(anomaly("api", "latency_ms", t0 + second), "shop");
  rca_result r;
  r.candidates = {{"db", 0.7, {"callees healthy", "first onset"}, 1}};
  r.confidence_level = "medium";
  r.confidence = 0.5;
  book.set_root_cause(id, r);
  const auto& inc = *book.find(id);
  incident back;
  ASSERT_TRUE(decode(encode(inc), back));
  EXPECT_EQ(back.id, inc.id);
  EXPECT_EQ(back.domain, "shop");
  EXPECT_EQ(back.type, inc.type);
  EXPECT_EQ(back.severity, inc.severity);
  EXPECT_EQ(back.opened_ms, t0);
  EXPECT_EQ(back.detected_ms, t0);
  ASSERT_EQ(back.symptoms.size(), 2u);
  EXPECT_EQ(back.symptoms[0].detectors, std::vector<std::string>{"ewma"});
  EXPECT_EQ(back.timeline.size(), inc.timeline.size());
  ASSERT_EQ(back.root_cause.candidates.size(), 1u);
  EXPECT_EQ(back.root_cause.candidates[0].evidence.size(), 2u);
  auto v = to_view(back, false);
  EXPECT_EQ(v.title, "anomaly in db (+1 service)");
  EXPECT_EQ(v.services, (std::vector<std::string>{"api", "db"}));
  EXPECT_FALSE(decode("\xff\xff garbage", back));
}

TEST(incident_flow, silences_read_the_series_labels_and_alerts_become_symptoms) {
  auto ev = anomaly("payments", "latency_ms", t0);
  ev.series = R"(latency_ms{pod="p-1",team="pay\"ments"})";
  auto labels = labels_of(ev);
  EXPECT_EQ(labels, (label_set{{"service", "payments"},
                               {"metric", "latency_ms"},
                               {"kind", "metric"},
                               {"pod", "p-1"},
                               {"team", "pay\"ments"}}));
  alert_record a;
  a.fingerprint = "abc";
  a.status = "firing";
  a.service = "orders-db";
  a.labels = {{"alertname", "PoolExhausted"}, {"severity", "critical"}};
  a.starts_at_ms = t0;
  auto x = anomaly_of(a, t0 + minute, "unknown");
  EXPECT_EQ(x.kind, anomaly_kind::alert);
  EXPECT_EQ(x.metric, "PoolExhausted");
  EXPECT_EQ(x.phase, anomaly_phase::onset);
  EXPECT_EQ(x.ts_ms, t0);
  EXPECT_DOUBLE_EQ(x.score, 1.0);
  a.status = "resolved";
  a.ends_at_ms = t0 + 2 * minute;
  auto y = anomaly_of(a, t0 + 3 * minute, "unknown");
  EXPECT_EQ(y.phase, anomaly_phase::recovered);
  EXPECT_EQ(y.ts_ms, t0 + 2 * minute);
  // Firing then resolved: one symptom that recovers.
  incident_book book;
  auto id = book.fold(x, "d").incident;
  book.fold(y, "d");
  EXPECT_TRUE(book.find(id)->symptoms.front().recovered);
  EXPECT_EQ(book.find(id)->type, "alert");
}

TEST(incident_flow, silence_specs_are_checked_when_applied) {
  suppression_set set;
  silence_spec s;
  s.id = "s1";
  s.matchers = {"service=~\"pay.*\""};
  s.starts_ms = t0;
  s.ends_ms = t0 + minute;
  s.author = "bob";
  EXPECT_TRUE(apply(s, set));
  s.matchers = {"service=~\"(\""};
  auto bad = apply(s, set);
  ASSERT_FALSE(bad);
  s.matchers = {"service=\"x\""};
  s.weekdays = 0x60; // sat, sun
  s.start_minute = 120;
  s.duration_minutes = 60;
  EXPECT_FALSE(apply(s, set)) << "a recurrence and a range at once";
  s.starts_ms = s.ends_ms = 0;
  s.id = "w1";
  EXPECT_TRUE(apply(s, set));
  silence_spec back;
  ASSERT_TRUE(decode(encode(s), back));
  EXPECT_EQ(back.weekdays, 0x60u);
  EXPECT_EQ(back.matchers, s.matchers);
  EXPECT_EQ(partition_of("shop", 4), partition_of("shop", 4));
  EXPECT_LT(partition_of("shop", 4), 4u);
  EXPECT_EQ(partition_of("shop", 1), 0u);
}

} // namespace

TEST(incident_flow, two_hop_adjacency_bridges_a_quiet_service) {
  // web -> api -> db, and api stays quiet while db fails and web suffers;
  // edge -> web is a third hop from db.
  auto neighbours = std::unordered_map<std::string, std::vector<std::string>>{
    {"web", {"api", "edge"}}, {"api", {"web", "db"}},
    {"db", {"api"}},          {"edge", {"web"}}};
  for (uint32_t hops : {1u, 2u}) {
    incident_options o;
    o.adjacency = true;
    o.adjacency_hops = hops;
    incident_book book{o};
    book.set_neighbours(neighbours);
    auto db = anomaly("db", "latency_ms", t0);
    db.phase = anomaly_phase::ongoing;
    auto fault = book.fold(db, "shop");
    ASSERT_TRUE(fault.opened);
    auto web = anomaly("web", "latency_ms", t0 + 30 * second);
    web.phase = anomaly_phase::ongoing;
    auto r = book.fold(web, "shop");
    if (hops == 1) {
      EXPECT_NE(r.incident, fault.incident) << "one hop: web is not db's";
    } else {
      EXPECT_EQ(r.incident, fault.incident) << "two hops: web joins via api";
      // edge is three hops from db but one from web, which is in it now.
      auto edge = anomaly("edge", "latency_ms", t0 + 60 * second);
      edge.phase = anomaly_phase::ongoing;
      EXPECT_EQ(book.fold(edge, "shop").incident, fault.incident);
    }
  }
}

TEST(incident_flow, a_new_fault_does_not_join_a_neighbour_that_went_bad_long_ago) {
  // cache has fired since t0 (noise that keeps an incident open); its
  // callee db fails 20 minutes later. With link_by_onset (the default) db
  // opens its own incident; linking by "still firing" folds it into the
  // old one.
  auto neighbours = std::unordered_map<std::string, std::vector<std::string>>{
    {"cache", {"db"}}, {"db", {"cache", "api"}}, {"api", {"db"}}};
  for (bool by_onset : {true, false}) {
    incident_options o;
    o.adjacency = true;
    o.link_by_onset = by_onset;
    incident_book book{o};
    book.set_neighbours(neighbours);
    uint64_t old_id = 0;
    for (int64_t m = 0; m <= 20; m += 2) {
      auto noise = anomaly("cache", "memory_bytes", t0 + m * 60 * second);
      noise.phase = anomaly_phase::ongoing;
      auto r = book.fold(noise, "shop");
      if (m == 0)
        old_id = r.incident;
      ASSERT_EQ(r.incident, old_id);
    }
    auto db = anomaly("db", "latency_ms", t0 + 20 * 60 * second + second);
    db.phase = anomaly_phase::ongoing;
    auto fault = book.fold(db, "shop");
    if (!by_onset) {
      EXPECT_EQ(fault.incident, old_id) << "still firing links";
      continue;
    }
    ASSERT_TRUE(fault.opened) << "the fault opens its own incident";
    ASSERT_NE(fault.incident, old_id);
    // The fault's front links its caller 30 s later.
    auto api = anomaly("api", "latency_ms", t0 + 20 * 60 * second + 30 * second);
    api.phase = anomaly_phase::ongoing;
    EXPECT_EQ(book.fold(api, "shop").incident, fault.incident);
    // A topology update (the same domain for all) merges nothing: the two
    // opened 20 minutes apart.
    auto r = book.remap([](const std::string&) { return std::string{"shop"}; });
    EXPECT_TRUE(r.merged.empty());
    EXPECT_FALSE(book.find(fault.incident)->closed());
    EXPECT_FALSE(book.find(old_id)->closed());
  }
}

TEST(incident_flow, one_domain_does_not_merge_incidents_that_do_not_touch) {
  // Two faults at the same time in one large component, far apart in it:
  // a topology update that puts them in one domain keeps them apart.
  auto neighbours = std::unordered_map<std::string, std::vector<std::string>>{
    {"a", {"b"}}, {"b", {"a", "c"}}, {"c", {"b", "d"}},
    {"d", {"c", "e"}}, {"e", {"d", "f"}}, {"f", {"e"}}};
  incident_options o;
  o.adjacency = true;
  incident_book book{o};
  book.set_neighbours(neighbours);
  auto x = anomaly("a", "latency_ms", t0);
  x.phase = anomaly_phase::ongoing;
  auto y = anomaly("f", "latency_ms", t0 + 10 * second);
  y.phase = anomaly_phase::ongoing;
  auto one = book.fold(x, "left");
  auto two = book.fold(y, "right");
  ASSERT_TRUE(one.opened);
  ASSERT_TRUE(two.opened);
  auto r = book.remap([](const std::string&) { return std::string{"all"}; });
  EXPECT_TRUE(r.merged.empty());
  // Halves that touch still merge: b (next to a) opened apart, then remap.
  auto z = anomaly("b", "latency_ms", t0 + 20 * second);
  z.phase = anomaly_phase::ongoing;
  auto three = book.fold(z, "middle");
  ASSERT_TRUE(three.opened) << "another domain: its own incident";
  r = book.remap([](const std::string&) { return std::string{"all"}; });
  ASSERT_EQ(r.merged.size(), 1u);
  EXPECT_EQ(r.merged[0].second, one.incident);
  EXPECT_FALSE(book.find(two.incident)->closed());
}

TEST(incident_flow, without_a_topology_one_storm_is_one_incident_in_time) {
  // No edge is known (no traces, no static topology): every service falls
  // in one domain and groups by time, with the rules neighbours follow.
  std::unordered_map<std::string, std::string> components{{"a", "a"},
                                                          {"b", "a"}};
  EXPECT_EQ(domain_of(components, "b"), "a");
  EXPECT_EQ(domain_of(components, "db"), unconnected_domain);
  EXPECT_EQ(domain_of(components, "api"), unconnected_domain);
  incident_options o;
  o.adjacency = true;
  o.link_by_onset = true;
  incident_book book{o};
  const auto& d = unconnected_domain;
  // cache's memory has fired since t0, keeping an incident open.
  uint64_t old_id = 0;
  for (int64_t m = 0; m <= 20; m += 2) {
    auto noise = anomaly("cache", "memory_bytes", t0 + m * minute);
    noise.phase = anomaly_phase::ongoing;
    auto r = book.fold(noise, d);
    if (m == 0)
      old_id = r.incident;
    ASSERT_EQ(r.incident, old_id);
  }
  // A fault 20 minutes on: db first, then three services within a minute.
  auto db = anomaly("db", "latency_ms", t0 + 20 * minute + second);
  db.phase = anomaly_phase::ongoing;
  auto fault = book.fold(db, d);
  ASSERT_TRUE(fault.opened) << "a symptom that began long ago links nothing";
  ASSERT_NE(fault.incident, old_id);
  for (auto [service, at] : {std::pair{"api", 20 * second},
                             std::pair{"web", 40 * second},
                             std::pair{"mobile", 55 * second}}) {
    auto x = anomaly(service, "latency_ms", t0 + 20 * minute + at);
    x.phase = anomaly_phase::ongoing;
    EXPECT_EQ(book.fold(x, d).incident, fault.incident) << service;
  }
  EXPECT_EQ(book.find(fault.incident)->services(),
            (std::vector<std::string>{"api", "db", "mobile", "web"}));
  EXPECT_EQ(book.open_count(), 2u);
}
