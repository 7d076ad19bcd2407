#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "actors/rca/ranker.hpp"

namespace {

using namespace vigil;
using namespace vigil::rca;

constexpr int64_t t0 = 1'700'000'000'000; // ms since the epoch
constexpr int64_t minute = 60'000;

service_graph graph_of(
  std::initializer_list<std::pair<const char*, const char*>> edges) {
  service_graph g;
  for (auto [caller, callee] : edges)
    g.add_static_edge(caller, callee);
  return g;
}

service_evidence anomaly(std::string service, int64_t onset_ms,
                         double score = 5.0) {
  return {std::move(service), onset_ms, score, 3, {"latency"}};
}

change_event deploy(std::string service, std::string version, int64_t ts) {
  change_event ch;
  ch.service = std::move(service);
  ch.kind = "deploy";
  ch.version = std::move(version);
  ch.ts_ms = ts;
  return ch;
}

bool has_evidence(const candidate& c, const std::string& needle) {
  for (const auto& e : c.evidence)
    if (e.find(needle) != std::string::npos)
      return true;
  return false;
}

TEST(ranker, chain_with_earliest_leaf_names_the_leaf_with_high_confidence) {
  auto g = graph_of({{"a", "b"}, {"b", "c"}});
  rank_input in;
  in.anomalous = {anomaly("a", t0 + 2 * minute), anomaly("b", t0 + minute),
                  anomaly("c", t0)};
  auto r = rank(g, in);
  ASSERT_EQ(r.candidates.size(), 3u);
  EXPECT_EQ(r.candidates[0].service, "c");
  EXPECT_EQ(r.candidates[0].blast_radius, 2u);
  EXPECT_EQ(r.candidates[0].upstream_callers, 2u);
  EXPECT_EQ(r.confidence, confidence_level::high) << r.confidence_reason;
  EXPECT_GT(r.confidence_score, 0.5);
  EXPECT_TRUE(has_evidence(r.candidates[0], "callees healthy"));
  EXPECT_TRUE(has_evidence(r.candidates[0], "onset first at"));
  EXPECT_TRUE(has_evidence(r.candidates[0], "personalised PageRank"));
  EXPECT_TRUE(has_evidence(r.candidates[1], "explained by anomalous callee"));
  for (const auto& c : r.candidates) {
    EXPECT_GE(c.score, 0.0);
    EXPECT_LE(c.score, 1.0);
  }
  EXPECT_GT(r.candidates[0].score, r.candidates[1].score);
  EXPECT_EQ(nearest_anomalous_ancestor(g, in), "c");
}

TEST(ranker, diamond_names_the_shared_callee) {
  // a calls b and c, both call d; d fails first, the rest follow.
  auto g = graph_of({{"a", "b"}, {"a", "c"}, {"b", "d"}, {"c", "d"}});
  rank_input in;
  in.anomalous = {anomaly("a", t0 + 90'000), anomaly("b", t0 + 30'000),
                  anomaly("c", t0 + 40'000), anomaly("d", t0)};
  auto r = rank(g, in);
  ASSERT_FALSE(r.candidates.empty());
  EXPECT_EQ(r.candidates[0].service, "d");
  EXPECT_EQ(r.candidates[0].blast_radius, 3u);
  EXPECT_EQ(r.confidence, confidence_level::high) << r.confidence_reason;
  EXPECT_EQ(nearest_anomalous_ancestor(g, in), "d");
}

TEST(ranker, diamond_with_healthy_branch_still_names_the_shared_callee) {
  auto g = graph_of({{"a", "b"}, {"a", "c"}, {"b", "d"}, {"c", "d"}});
  rank_input in;
  in.anomalous = {anomaly("a", t0 + 90'000), anomaly("b", t0 + 30'000),
                  anomaly("d", t0)};
  auto r = rank(g, in);
  ASSERT_FALSE(r.candidates.empty());
  EXPECT_EQ(r.candidates[0].service, "d");
}

TEST(ranker, independent_faults_in_disconnected_components_rank_apart) {
  auto g = graph_of({{"a", "b"}, {"b", "c"}, {"x", "y"}, {"y", "z"}});
  rank_input in;
  in.anomalous = {anomaly("a", t0 + minute), anomaly("b", t0 + 30'000),
                  anomaly("c", t0),          anomaly("x", t0 + 2 * minute),
                  anomaly("y", t0 + minute + 10'000)};
  auto parts = rank_by_component(g, in);
  ASSERT_EQ(parts.size(), 2u);
  std::vector<std::string> tops;
  for (const auto& p : parts) {
    tops.push_back(p.candidates.front().service);
    EXPECT_NE(p.confidence, confidence_level::unknown) << p.confidence_reason;
  }
  std::sort(tops.begin(), tops.end());
  EXPECT_EQ(tops, (std::vector<std::string>{"c", "y"}));
  // Each part holds only its own component's services.
  for (const auto& p : parts)
    for (const auto& c : p.candidates)
      EXPECT_EQ(c.service < "x", p.candidates.front().service < "x");
}

TEST(ranker, deploy_on_caller_beats_a_callee_that_went_bad_later) {
  auto g = graph_of({{"a", "b"}, {"b", "c"}});
  rank_input in;
  in.anomalous = {anomaly("a", t0 + 30'000), anomaly("b", t0),
                  anomaly("c", t0 + minute)};
  in.changes = {deploy("b", "v1.2.3", t0 - 4 * minute),
                deploy("a", "v9", t0 - 3 * 60 * minute)}; // too old to count
  auto r = rank(g, in);
  ASSERT_FALSE(r.candidates.empty());
  EXPECT_EQ(r.candidates[0].service, "b");
  EXPECT_TRUE(has_evidence(r.candidates[0], "deploy v1.2.3 4 min before onset"))
    << r.candidates[0].evidence.front();
  EXPECT_TRUE(has_evidence(r.candidates[0], "anomalous callees started later"));
  for (const auto& c : r.candidates) {
    if (c.service == "a") {
      EXPECT_EQ(c.change, 0.0);
    }
  }
}

TEST(ranker, a_deploy_on_another_service_keeps_confidence_below_high) {
  // c (b's callee) went bad first and explains b, so c leads; but b was
  // deployed just before its own onset. The signals disagree, so the ranker
  // must not claim high confidence.
  auto g = graph_of({{"a", "b"}, {"b", "c"}});
  rank_input in;
  in.anomalous = {anomaly("a", t0 + minute), anomaly("b", t0 + 30'000),
                  anomaly("c", t0)};
  in.changes = {deploy("b", "v2", t0 + 20'000)};
  auto r = rank(g, in);
  ASSERT_FALSE(r.candidates.empty());
  EXPECT_NE(r.confidence, confidence_level::high);
}

TEST(ranker, cycle_terminates_and_says_unknown_when_nothing_is_isolated) {
  auto g = graph_of({{"a", "b"}, {"b", "a"}});
  rank_input in;
  in.anomalous = {anomaly("a", t0), anomaly("b", t0 + 1'000)};
  auto r = rank(g, in);
  ASSERT_EQ(r.candidates.size(), 2u);
  EXPECT_EQ(r.confidence, confidence_level::unknown);
  EXPECT_EQ(r.confidence_score, 0.0);
  EXPECT_FALSE(nearest_anomalous_ancestor(g, in).empty());
}

TEST(ranker, cycle_with_a_healthy_exit_ranks_the_exit) {
  auto g = graph_of({{"a", "b"}, {"b", "a"}, {"b", "c"}});
  rank_input in;
  in.anomalous = {anomaly("a", t0 + minute), anomaly("b", t0 + 30'000),
                  anomaly("c", t0)};
  auto r = rank(g, in);
  ASSERT_FALSE(r.candidates.empty());
  EXPECT_EQ(r.candidates[0].service, "c");
  EXPECT_EQ(nearest_anomalous_ancestor(g, in), "c");
}

TEST(ranker, all_services_anomalous_at_once_without_changes_is_not_high) {
  auto g = graph_of({{"a", "b"}, {"b", "c"}, {"a", "d"}, {"d", "c"}});
  rank_input in;
  in.anomalous = {anomaly("a", t0), anomaly("b", t0), anomaly("c", t0),
                  anomaly("d", t0)};
  auto r = rank(g, in);
  ASSERT_FALSE(r.candidates.empty());
  EXPECT_NE(r.confidence, confidence_level::high);
  EXPECT_NE(r.confidence, confidence_level::unknown);
}

TEST(ranker, unrelated_simultaneous_anomalies_are_low_confidence) {
  auto g = graph_of({{"a", "b"}, {"c", "d"}});
  rank_input in;
  in.anomalous = {anomaly("b", t0), anomaly("d", t0)};
  auto r = rank(g, in);
  ASSERT_EQ(r.candidates.size(), 2u);
  EXPECT_EQ(r.confidence, confidence_level::low);
}

TEST(ranker, an_earlier_isolated_rival_without_change_makes_it_unknown) {
  // b has the larger score and more upstream anomalies, but x (healthy
  // callees) started a minute earlier: the signals disagree.
  auto g = graph_of({{"a", "b"}, {"a2", "b"}, {"a3", "b"}, {"w", "x"}});
  rank_input in;
  in.anomalous = {anomaly("a", t0 + 2 * minute), anomaly("a2", t0 + 2 * minute),
                  anomaly("a3", t0 + 2 * minute), anomaly("b", t0 + minute),
                  anomaly("x", t0, 0.5)};
  auto r = rank(g, in);
  ASSERT_FALSE(r.candidates.empty());
  EXPECT_EQ(r.candidates[0].service, "b");
  EXPECT_EQ(r.confidence, confidence_level::unknown) << r.confidence_reason;
}

TEST(ranker, the_loudest_deviation_leads_when_nothing_else_separates) {
  // Two callers of one healthy store, anomalous together: the one whose
  // metrics moved by far the most (in its own standard deviations) leads.
  auto g = graph_of({{"web", "api"}, {"web", "search"}});
  rank_input in;
  auto api = anomaly("api", t0);
  api.max_deviation = 30;
  auto search = anomaly("search", t0);
  search.max_deviation = 4;
  in.anomalous = {search, api};
  auto r = rank(g, in);
  ASSERT_EQ(r.candidates.size(), 2u);
  EXPECT_EQ(r.candidates[0].service, "api");
  EXPECT_GT(r.candidates[0].magnitude, r.candidates[1].magnitude);
  EXPECT_TRUE(has_evidence(r.candidates[0], "largest deviation 30"));
  // Without deviations the signal is absent, not zero-weighted noise.
  in.anomalous = {anomaly("search", t0), anomaly("api", t0)};
  auto plain = rank(g, in);
  EXPECT_DOUBLE_EQ(plain.candidates[0].magnitude, 0);
}

TEST(ranker, many_unexplained_services_keep_confidence_low) {
  // db is first and explains api, but two more services went bad with
  // healthy callees: noise or a second cause. A clear lead is not enough.
  auto g = graph_of({{"api", "db"}, {"web", "cache"}, {"jobs", "queue"}});
  rank_input in;
  in.anomalous = {anomaly("db", t0), anomaly("api", t0 + minute),
                  anomaly("cache", t0 + 2 * minute),
                  anomaly("queue", t0 + 3 * minute)};
  in.changes = {deploy("db", "v2", t0 - 5 * minute)};
  auto r = rank(g, in);
  ASSERT_FALSE(r.candidates.empty());
  EXPECT_EQ(r.candidates[0].service, "db");
  EXPECT_EQ(r.confidence, confidence_level::low) << r.confidence_reason;
  EXPECT_NE(r.confidence_reason.find("healthy callees"), std::string::npos);
}

TEST(ranker, empty_input_is_unknown) {
  service_graph g;
  auto r = rank(g, {});
  EXPECT_TRUE(r.candidates.empty());
  EXPECT_EQ(r.confidence, confidence_level::unknown);
  EXPECT_STREQ(to_string(r.confidence), "unknown");
  EXPECT_TRUE(rank_by_component(g, {}).empty());
  EXPECT_EQ(nearest_anomalous_ancestor(g, {}), "");
}

TEST(ranker, services_missing_from_the_topology_are_at_most_low) {
  service_graph g;
  rank_input in;
  in.anomalous = {anomaly("ghost", t0)};
  auto r = rank(g, in);
  ASSERT_EQ(r.candidates.size(), 1u);
  EXPECT_EQ(r.candidates[0].service, "ghost");
  EXPECT_EQ(r.confidence, confidence_level::low);
  EXPECT_TRUE(has_evidence(r.candidates[0], "not in the topology"));
}

TEST(ranker, duplicate_evidence_merges_and_window_filters) {
  auto g = graph_of({{"a", "b"}});
  rank_input in;
  in.window_start_ms = t0;
  in.anomalous = {anomaly("b", t0 + minute, 2), anomaly("b", t0, 9),
                  anomaly("a", t0 + 2 * minute), anomaly("old", t0 - minute)};
  auto r = rank(g, in);
  ASSERT_EQ(r.candidates.size(), 2u);
  EXPECT_EQ(r.candidates[0].service, "b");
  EXPECT_EQ(r.candidates[0].onset_ms, t0);
}

TEST(ranker, weights_are_configurable) {
  // With every weight but change at zero, only the deploy matters.
  auto g = graph_of({{"a", "b"}, {"b", "c"}});
  rank_input in;
  in.anomalous = {anomaly("a", t0 + minute), anomaly("b", t0 + 30'000),
                  anomaly("c", t0)};
  in.changes = {deploy("a", "v7", t0 - minute)};
  ranker_options opts;
  opts.w_isolation = opts.w_earliness = opts.w_propagation = 0;
  opts.w_pagerank = 0;
  auto r = rank(g, in, opts);
  ASSERT_FALSE(r.candidates.empty());
  EXPECT_EQ(r.candidates[0].service, "a");
  EXPECT_EQ(rank(g, in).candidates[0].service, "c");
}

} // namespace

namespace {

service_evidence persisting(std::string service, int64_t first_ms,
                            int64_t sustained_ms, double score = 5.0) {
  auto e = anomaly(std::move(service), first_ms, score);
  e.sustained_onset_ms = sustained_ms;
  return e;
}

} // namespace

TEST(ranker, blips_ride_along_but_only_persisting_anomalies_are_ranked) {
  // x and y blipped early (noise) and have healthy callees; the fault is
  // db, whose anomaly persisted, with api above it.
  auto g = graph_of({{"api", "db"}, {"x", "q"}, {"y", "q"}});
  rank_input in;
  in.anomalous = {anomaly("x", t0), anomaly("y", t0 + 10'000),
                  persisting("db", t0 + 5 * minute, t0 + 5 * minute),
                  persisting("api", t0 + 6 * minute, t0 + 6 * minute)};
  auto r = rank(g, in);
  ASSERT_EQ(r.candidates.size(), 2u);
  EXPECT_EQ(r.candidates[0].service, "db");
  EXPECT_EQ(r.candidates[1].service, "api");
  EXPECT_TRUE(has_evidence(r.candidates[0], "onset first at"));
  // Without the filter the blips are candidates, and earlier ones.
  ranker_options all;
  all.persisting_only = false;
  auto r2 = rank(g, in, all);
  ASSERT_EQ(r2.candidates.size(), 4u);
  EXPECT_FALSE(has_evidence(r2.candidates[0], "onset first at")
               && r2.candidates[0].service == "db");
}

TEST(ranker, a_persisting_service_is_dated_by_its_persisting_anomaly) {
  // b blipped long before the fault and persisted only once the fault
  // reached it from c.
  auto g = graph_of({{"b", "c"}});
  rank_input in;
  in.anomalous = {persisting("b", t0, t0 + 10 * minute),
                  persisting("c", t0 + 9 * minute, t0 + 9 * minute)};
  auto r = rank(g, in);
  ASSERT_EQ(r.candidates.size(), 2u);
  EXPECT_EQ(r.candidates[0].service, "c");
  EXPECT_EQ(r.candidates[0].onset_ms, t0 + 9 * minute);
}

TEST(ranker, a_change_after_onset_counts_less_than_one_before) {
  auto g = graph_of({{"a", "z"}, {"b", "z"}});
  rank_input in;
  in.anomalous = {anomaly("a", t0), anomaly("b", t0)};
  in.changes = {deploy("a", "v2", t0 - 2 * minute),
                deploy("b", "v7", t0 + 10'000)};
  auto r = rank(g, in);
  ASSERT_EQ(r.candidates.size(), 2u);
  EXPECT_EQ(r.candidates[0].service, "a");
  EXPECT_GT(r.candidates[0].change, 1.5 * r.candidates[1].change);
  EXPECT_GT(r.candidates[1].change, 0);
}

TEST(ranker, only_a_change_before_the_onset_makes_it_high) {
  auto g = graph_of({{"a", "b"}});
  rank_input in;
  in.anomalous = {anomaly("b", t0)};
  in.changes = {deploy("b", "v2", t0 + 5'000)};
  auto after = rank(g, in);
  ASSERT_EQ(after.candidates.size(), 1u);
  EXPECT_NE(after.confidence, confidence_level::high)
    << "a deploy just after the onset may be the restart that blipped";
  in.changes = {deploy("b", "v2", t0 - 2 * minute)};
  auto before = rank(g, in);
  EXPECT_EQ(before.confidence, confidence_level::high)
    << before.confidence_reason;
}

namespace {

service_evidence lasting(std::string service, int64_t onset_ms,
                         double deviation) {
  auto e = anomaly(std::move(service), onset_ms);
  e.max_deviation = deviation;
  e.sustained_onset_ms = onset_ms;
  return e;
}

/// web calls api, api calls cache; cache was deployed at t0 (the given
/// spans, its latest still going), api fails from 150 s and web from
/// 170 s, both still at the window's end (12 min).
rank_input deployed_cache_under_failing_api(std::vector<anomaly_span> spans,
                                            double cache_deviation);

/// A service failing from `onset_ms` on, still at the window's end, for
/// the 9 minutes the tests below give it.
service_evidence still_failing(std::string service, int64_t onset_ms,
                               double deviation) {
  auto e = lasting(std::move(service), onset_ms, deviation);
  e.spans = {{onset_ms, 0, false}};
  e.active_since_ms = onset_ms;
  e.anomalous_ms = 9 * minute;
  return e;
}

rank_input deployed_cache_under_failing_api(std::vector<anomaly_span> spans,
                                            double cache_deviation) {
  auto cache = lasting("cache", t0, cache_deviation);
  cache.active_since_ms = spans.back().from_ms;
  cache.spans = std::move(spans);
  cache.anomalous_ms = 9 * minute;
  rank_input in;
  in.anomalous = {cache, still_failing("api", t0 + 150'000, 20),
                  still_failing("web", t0 + 170'000, 20)};
  in.changes = {deploy("cache", "v7", t0 + 5'000)};
  in.window_end_ms = t0 + 12 * minute;
  return in;
}

} // namespace

TEST(ranker, a_callee_that_went_bad_after_its_caller_does_not_explain_it) {
  // fe's pool runs dry; its callee api then sees fewer, failing calls and
  // deviates far more (a small, quiet series). api started 30 s after fe:
  // it explains nothing upstream, and fe explains api.
  auto g = graph_of({{"fe", "api"}, {"fe", "auth"}});
  rank_input in;
  in.anomalous = {lasting("fe", t0, 20), lasting("api", t0 + 30'000, 900)};
  auto r = rank(g, in);
  ASSERT_EQ(r.candidates.size(), 2u);
  EXPECT_EQ(r.candidates[0].service, "fe");
  EXPECT_DOUBLE_EQ(r.candidates[0].propagation, 1.0);
  EXPECT_EQ(r.candidates[1].blast_radius, 0u) << "fe went bad before api";
  EXPECT_DOUBLE_EQ(r.candidates[1].propagation, 0.0);
}

TEST(ranker, blips_upstream_count_for_the_persisting_cause) {
  // A long incident: noise has persisted in n since a minute before the
  // fault; db's fault then makes its callers blip (short anomalies only).
  // The blips are not candidates, but they are what db explains, and what
  // puts it above the earlier n (which explains nothing).
  auto g = graph_of({{"api", "db"}, {"web", "api"}, {"x", "n"}});
  rank_input in;
  auto blip = [](std::string s, int64_t onset) {
    auto e = anomaly(std::move(s), onset);
    e.max_deviation = 8;
    return e;
  };
  in.anomalous = {lasting("n", t0 - minute, 10),
                  lasting("db", t0, 10), blip("api", t0 + 20'000),
                  blip("web", t0 + 45'000)};
  auto r = rank(g, in);
  ASSERT_EQ(r.candidates.size(), 2u) << "blips are not candidates";
  EXPECT_EQ(r.candidates[0].service, "db");
  EXPECT_EQ(r.candidates[0].blast_radius, 2u);
  EXPECT_EQ(r.candidates[1].service, "n");
  EXPECT_EQ(r.candidates[1].blast_radius, 0u);
  // Callers that went bad long after the horizon are not its doing.
  ranker_options short_horizon;
  short_horizon.propagation_horizon_ms = 10'000;
  auto s = rank(g, in, short_horizon);
  ASSERT_FALSE(s.candidates.empty());
  for (const auto& c : s.candidates)
    EXPECT_EQ(c.blast_radius, 0u) << c.service;
}

TEST(ranker, a_bystander_that_recovered_loses_to_the_fault_that_lasts) {
  // n went bad three minutes before the fault, dragged its caller web
  // along and recovered after 40 s; db's fault is still going on (and so
  // is api above it). Onset order favours n; how long each has been
  // anomalous does not.
  auto g = graph_of({{"api", "db"}, {"web", "n"}});
  rank_input in;
  auto n = persisting("n", t0, t0);
  n.anomalous_ms = 40'000;
  auto web = anomaly("web", t0 + 10'000);
  web.anomalous_ms = 30'000;
  auto db = persisting("db", t0 + 3 * minute, t0 + 3 * minute);
  db.active_since_ms = t0 + 3 * minute;
  db.anomalous_ms = minute;
  auto api = anomaly("api", t0 + 3 * minute + 20'000);
  api.active_since_ms = api.onset_ms;
  api.anomalous_ms = 20'000;
  in.anomalous = {n, web, db, api};
  in.window_end_ms = t0 + 15 * minute;
  auto r = rank(g, in);
  ASSERT_EQ(r.candidates.size(), 2u);
  EXPECT_EQ(r.candidates[0].service, "db");
  // Up to the latest evidence, not its own last event: 12 min, still.
  EXPECT_DOUBLE_EQ(r.candidates[0].persistence, 1.0);
  EXPECT_NEAR(r.candidates[1].persistence, 40.0 / (12 * 60), 1e-9);
  EXPECT_TRUE(has_evidence(r.candidates[0], "anomalous for 12 min, still"));
  EXPECT_TRUE(has_evidence(r.candidates[1], "anomalous for 40 s, recovered"));
  // A blip that went bad first is no rival: the confidence is not
  // "unknown" (evidence conflicts) as for an earlier lasting service.
  EXPECT_NE(r.confidence, confidence_level::unknown) << r.confidence_reason;
  // Without the signal, the earlier n leads.
  ranker_options none;
  none.w_persistence = 0;
  auto r0 = rank(g, in, none);
  ASSERT_EQ(r0.candidates.size(), 2u);
  EXPECT_EQ(r0.candidates[0].service, "n");
  // Evidence without durations (older stored incidents) leaves it out.
  for (auto& e : in.anomalous)
    e.active_since_ms = e.anomalous_ms = 0;
  auto r1 = rank(g, in);
  ASSERT_EQ(r1.candidates.size(), 2u);
  EXPECT_EQ(r1.candidates[0].service, "n");
  EXPECT_EQ(r1.candidates[0].persistence, 0.0);
}

namespace {

// web -> fe -> db: db anomalous from t0 for `db_for`, then back to normal;
// fe from `fe_onset` on and still; web (a blip) `web_after` later.
rank_input chain_input(int64_t db_for, int64_t fe_onset, int64_t web_after,
                       int64_t window_end) {
  rank_input in;
  auto db = lasting("db", t0, 10);
  db.spans = {{t0, t0 + db_for}};
  db.anomalous_ms = db_for;
  auto fe = lasting("fe", fe_onset, 10);
  fe.spans = {{fe_onset, 0}};
  fe.active_since_ms = fe_onset;
  auto web = anomaly("web", fe_onset + web_after);
  web.spans = {{web.onset_ms, 0}};
  in.anomalous = {db, fe, web};
  in.window_end_ms = window_end;
  return in;
}

} // namespace

TEST(ranker, a_callee_back_to_normal_before_its_caller_went_bad_explains_nothing) {
  // db blipped and recovered after 40 s; two minutes later its caller fe
  // went bad and stays bad (its own fault). db went bad first, but it was
  // fine when fe went bad: fe is unexplained, and db dragged nobody down.
  auto g = graph_of({{"web", "fe"}, {"fe", "db"}});
  auto in = chain_input(40'000, t0 + 3 * minute, 20'000, t0 + 5 * minute);
  auto r = rank(g, in);
  ASSERT_EQ(r.candidates.size(), 2u);
  EXPECT_EQ(r.candidates[0].service, "fe");
  EXPECT_DOUBLE_EQ(r.candidates[0].isolation, 1.0);
  EXPECT_EQ(r.candidates[0].blast_radius, 1u) << "web";
  EXPECT_EQ(r.candidates[1].service, "db");
  EXPECT_EQ(r.candidates[1].blast_radius, 0u);
  EXPECT_DOUBLE_EQ(r.candidates[1].propagation, 0.0);
  // Still bad when fe went bad (another symptom, not yet recovered): db
  // explains fe again.
  in.anomalous[0].spans.push_back({t0 + 2 * minute, 0});
  auto still = rank(g, in);
  ASSERT_EQ(still.candidates.size(), 2u);
  EXPECT_EQ(still.candidates[0].service, "db");
  EXPECT_DOUBLE_EQ(still.candidates[1].isolation, 0.0);
  // Recovered within the onset slack of fe's onset: still counts.
  in.anomalous[0].spans = {{t0, t0 + 3 * minute - 2'000}};
  auto edge = rank(g, in);
  ASSERT_EQ(edge.candidates.size(), 2u);
  EXPECT_EQ(edge.candidates[0].service, "db");
  // When it is not known (older stored incidents), going bad first is
  // enough, as before.
  in.anomalous[0].spans.clear();
  auto unknown = rank(g, in);
  ASSERT_EQ(unknown.candidates.size(), 2u);
  EXPECT_EQ(unknown.candidates[0].service, "db");
}

TEST(ranker, a_short_hiccup_downstream_does_not_explain_a_lasting_failure) {
  // fe went bad and stays bad for ten minutes; its callee db hiccupped at
  // the same moment and was back to normal 20 s later. db was failing when
  // fe went bad, but a hiccup that short cannot be why fe keeps failing.
  auto g = graph_of({{"web", "fe"}, {"fe", "db"}});
  auto in = chain_input(20'000, t0 + 2'000, 28'000, t0 + 10 * minute);
  auto r = rank(g, in);
  ASSERT_EQ(r.candidates.size(), 2u);
  EXPECT_EQ(r.candidates[0].service, "fe");
  EXPECT_DOUBLE_EQ(r.candidates[0].isolation, 1.0);
  // Failing for four of fe's ten minutes, db explains fe.
  in.anomalous[0].spans = {{t0, t0 + 4 * minute}};
  in.anomalous[0].anomalous_ms = 4 * minute;
  auto longer = rank(g, in);
  ASSERT_EQ(longer.candidates.size(), 2u);
  EXPECT_EQ(longer.candidates[0].service, "db");
  EXPECT_DOUBLE_EQ(longer.candidates[1].isolation, 0.0);
  // With the share at 0, any overlap explains, as before.
  ranker_options any;
  any.explain_min_share = 0;
  in.anomalous[0].spans = {{t0, t0 + 20'000}};
  in.anomalous[0].anomalous_ms = 20'000;
  auto old = rank(g, in, any);
  ASSERT_EQ(old.candidates.size(), 2u);
  EXPECT_DOUBLE_EQ(old.candidates[0].service == "fe"
                     ? old.candidates[0].isolation
                     : old.candidates[1].isolation,
                   0.0);
}

TEST(ranker, evidence_of_one_service_folds_its_spans) {
  rca_evidence a;
  a.service = "db";
  a.onset_ms = t0;
  a.spans = {{t0, t0 + minute}};
  rca_evidence b = a;
  b.onset_ms = t0 + 5 * minute;
  b.spans = {{t0 + 5 * minute, 0}};
  EXPECT_FALSE(anomalous_at(a, t0 + 3 * minute, 5'000));
  EXPECT_TRUE(anomalous_at(a, t0 + minute + 4'000, 5'000));
  EXPECT_FALSE(anomalous_at(a, t0 - 10'000, 5'000));
  fold_into(a, b);
  EXPECT_EQ(a.onset_ms, t0);
  EXPECT_FALSE(anomalous_at(a, t0 + 3 * minute, 5'000));
  EXPECT_TRUE(anomalous_at(a, t0 + 60 * minute, 5'000)) << "still going on";
  // Past the cap the last span widens: never "not anomalous" by mistake.
  rca_evidence c;
  c.spans = {{t0, t0 + 1'000}};
  for (int i = 1; i < 40; ++i) {
    rca_evidence more;
    more.onset_ms = t0 + i * minute;
    more.spans = {{more.onset_ms, more.onset_ms + 1'000}};
    fold_into(c, more);
  }
  EXPECT_EQ(c.spans.size(), rca_evidence::max_spans);
  for (int i = 0; i < 40; ++i)
    EXPECT_TRUE(anomalous_at(c, t0 + i * minute, 0)) << i;
  EXPECT_FALSE(anomalous_at(c, t0 + 30'000, 0)) << "before the cap";
  rca_evidence unknown;
  EXPECT_TRUE(anomalous_at(unknown, t0, 0));
}

TEST(ranker, a_callee_whose_traffic_changed_does_not_explain_its_caller) {
  // bff starts failing; its callee usage sees its request rate fall at
  // once (bff sends fewer calls), within the onset slack. A change of
  // traffic is what callers send, not a failure: bff is unexplained.
  auto g = graph_of({{"bff", "usage"}});
  rank_input in;
  auto bff = lasting("bff", t0 + 2'000, 10);
  bff.spans = {{bff.onset_ms, 0}};
  auto usage = lasting("usage", t0, 10);
  usage.spans = {{t0, 0, true}};
  in.anomalous = {bff, usage};
  auto r = rank(g, in);
  ASSERT_EQ(r.candidates.size(), 2u);
  EXPECT_EQ(r.candidates[0].service, "bff");
  EXPECT_DOUBLE_EQ(r.candidates[0].isolation, 1.0);
  EXPECT_EQ(r.candidates[1].blast_radius, 0u) << "usage dragged nobody";
  // Failing as well (its latency too): usage explains bff again.
  in.anomalous[1].spans.push_back({t0, 0, false});
  auto failing = rank(g, in);
  ASSERT_EQ(failing.candidates.size(), 2u);
  EXPECT_EQ(failing.candidates[0].service, "usage");
  EXPECT_DOUBLE_EQ(failing.candidates[1].isolation, 0.0);
}

TEST(ranker, a_flat_series_gone_astronomical_does_not_drown_every_deviation) {
  // api calls db and cache. cache's error ratio had been exactly flat,
  // so its few failed requests a minute before db went bad are nine
  // million of its standard deviations; it was fine again 5 min later.
  // db moved by 12 and is still failing, and so is api above it.
  auto g = graph_of({{"api", "db"}, {"api", "cache"}});
  rank_input in;
  auto cache = lasting("cache", t0 - minute, 9e6);
  cache.anomalous_ms = 5 * minute;
  auto db = lasting("db", t0, 12);
  db.active_since_ms = t0;
  db.anomalous_ms = 10 * minute;
  auto api = lasting("api", t0 + 20'000, 12);
  api.active_since_ms = api.onset_ms;
  api.anomalous_ms = 10 * minute;
  in.anomalous = {cache, db, api};
  in.window_end_ms = t0 + 10 * minute;
  auto r = rank(g, in);
  ASSERT_EQ(r.candidates.size(), 3u);
  EXPECT_EQ(r.candidates[0].service, "db");
  auto of = [](const ranking& x, const std::string& s) {
    for (const auto& c : x.candidates)
      if (c.service == s)
        return c;
    return candidate{};
  };
  // Saturated at 100 sigma: 12 sigma is still about half as loud.
  EXPECT_DOUBLE_EQ(of(r, "cache").magnitude, 1.0);
  EXPECT_NEAR(of(r, "db").magnitude, std::log1p(12.0) / std::log1p(100.0),
              1e-9);
  EXPECT_TRUE(has_evidence(of(r, "cache"),
                           "largest deviation over 100.00 sigma"));
  EXPECT_TRUE(has_evidence(of(r, "db"), "largest deviation 12.00 sigma"));
  // Uncapped, db's deviation counts for almost nothing and cache leads.
  ranker_options uncapped;
  uncapped.magnitude_cap_sigma = 1e300;
  auto raw = rank(g, in, uncapped);
  ASSERT_EQ(raw.candidates.size(), 3u);
  EXPECT_LT(of(raw, "db").magnitude, 0.2);
  EXPECT_EQ(raw.candidates[0].service, "cache");
}

TEST(ranker, a_restart_s_passing_symptoms_say_nothing_of_where_a_fault_began) {
  // web calls api, api calls cache. cache was deployed at t0: a fresh
  // heap (memory low for 200 s) — then, from 170 s, fewer requests,
  // because api began to fail at 150 s and still does (web 20 s later).
  // The fresh heap covers api's onset, yet it is the restart's, not a
  // failure that could explain api.
  auto g = graph_of({{"web", "api"}, {"api", "cache"}});
  auto in = deployed_cache_under_failing_api(
    {{t0, t0 + 200'000, false}, {t0 + 170'000, 0, true}}, 30);
  auto r = rank(g, in);
  ASSERT_EQ(r.candidates.size(), 3u);
  EXPECT_EQ(r.candidates[0].service, "api");
  EXPECT_DOUBLE_EQ(r.candidates[0].isolation, 1.0);
  EXPECT_TRUE(has_evidence(r.candidates[1], "1 passing symptom of its"))
    << r.candidates[1].service;
  // Without setting them aside, the restart's fresh heap "explains" api.
  ranker_options off;
  off.restart_window_ms = 0;
  auto raw = rank(g, in, off);
  ASSERT_EQ(raw.candidates.size(), 3u);
  EXPECT_EQ(raw.candidates[0].service, "cache");
  // A symptom that began with the deploy and is still going on is the
  // release's fault, not a restart passing: cache stays the cause.
  in.anomalous[0].spans = {{t0, 0, false}};
  in.anomalous[0].active_since_ms = t0;
  auto bad = rank(g, in);
  ASSERT_EQ(bad.candidates.size(), 3u);
  EXPECT_EQ(bad.candidates[0].service, "cache");
}

TEST(ranker, a_service_with_nothing_but_its_traffic_left_is_no_cause_despite_a_deploy) {
  // cache was deployed at t0 and blipped with the restart (back to normal
  // at 60 s). At 150 s api began to fail, and at once cache's request rate
  // and CPU fell (api sends it less): all cache has left is the traffic it
  // is sent. Its deploy explains nothing, and its callers explain it.
  auto g = graph_of({{"web", "api"}, {"api", "cache"}});
  auto in = deployed_cache_under_failing_api(
    {{t0, t0 + 60'000, false}, {t0 + 150'000, 0, true}}, 100);
  auto r = rank(g, in);
  ASSERT_EQ(r.candidates.size(), 3u);
  EXPECT_EQ(r.candidates[0].service, "api");
  const auto& c = r.candidates[1].service == "cache" ? r.candidates[1]
                                                     : r.candidates[2];
  ASSERT_EQ(c.service, "cache");
  EXPECT_DOUBLE_EQ(c.change, 0.0);
  EXPECT_DOUBLE_EQ(c.isolation, 0.5);
  EXPECT_TRUE(has_evidence(c, "only the traffic it was sent changed"));
  // Its latency failing too from 150 s: a bad release, the cause again.
  in.anomalous[0].spans.push_back({t0 + 150'000, 0, false});
  auto failing = rank(g, in);
  ASSERT_EQ(failing.candidates.size(), 3u);
  EXPECT_EQ(failing.candidates[0].service, "cache");
  EXPECT_GT(failing.candidates[0].change, 0.5);
}

TEST(ranker, a_service_is_dated_by_its_failing_not_by_the_traffic_it_is_sent) {
  // api starts failing at 150 s and at once sends its callee db fewer
  // requests; db's own errors blip 8 minutes later, far off a flat zero.
  // db went bad at 8 min, not at 150 s: it explains nothing and is no
  // earlier than api.
  auto g = graph_of({{"web", "api"}, {"api", "db"}});
  rank_input in;
  auto api = still_failing("api", t0 + 150'000, 20);
  auto web = still_failing("web", t0 + 170'000, 20);
  auto db = lasting("db", t0 + 150'000, 1e9);
  db.spans = {{t0 + 150'000, 0, true}, {t0 + 8 * minute, t0 + 9 * minute}};
  db.active_since_ms = t0 + 150'000;
  db.anomalous_ms = 9 * minute;
  in.anomalous = {api, web, db};
  in.window_end_ms = t0 + 12 * minute;
  auto r = rank(g, in);
  ASSERT_EQ(r.candidates.size(), 3u);
  EXPECT_EQ(r.candidates[0].service, "api");
  for (const auto& c : r.candidates)
    if (c.service == "db") {
      EXPECT_EQ(c.onset_ms, t0 + 8 * minute);
      EXPECT_LT(c.earliness, 1.0);
    }
  // With nothing but its traffic, db is dated by that.
  in.anomalous[2].spans.pop_back();
  auto traffic = rank(g, in);
  for (const auto& c : traffic.candidates)
    if (c.service == "db")
      EXPECT_EQ(c.onset_ms, t0 + 150'000);
}
