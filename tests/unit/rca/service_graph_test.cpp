#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "actors/rca/service_graph.hpp"
#include "runtime/codec/otlp.hpp"
#include "tests/support/support.hpp"

namespace {

using namespace vigil;
using namespace vigil::rca;
using strings = std::vector<std::string>;

// The nine protobuf trace fixtures: three traces (the second one failing in
// payments), each exported by frontend, checkout and payments separately.
const strings trace_fixtures = {
  "otlp_traces_01_trace1_frontend",       "otlp_traces_02_trace1_checkout",
  "otlp_traces_03_trace1_payments",       "otlp_traces_04_trace2_error_frontend",
  "otlp_traces_05_trace2_error_checkout", "otlp_traces_06_trace2_error_payments",
  "otlp_traces_07_trace3_frontend",       "otlp_traces_08_trace3_checkout",
  "otlp_traces_09_trace3_payments",
};

std::vector<span_record> decode(const std::string& name) {
  auto got = codec::decode_otlp_traces(
    vigil::test::read_fixture(name + ".bin"), codec::wire_format::protobuf, {});
  EXPECT_TRUE(got) << name;
  return got ? got->spans : std::vector<span_record>{};
}

std::vector<std::vector<span_record>> all_batches() {
  std::vector<std::vector<span_record>> out;
  for (const auto& name : trace_fixtures)
    out.push_back(decode(name));
  return out;
}

// Names like "c3" (snprintf: GCC 12 warns falsely on "c" + to_string).
std::string id(const char* prefix, int i) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%s%d", prefix, i);
  return buf;
}

span_record span(std::string trace, std::string id, std::string parent,
                 std::string service, int64_t end_ms, bool error = false,
                 int64_t dur_ms = 10) {
  span_record s;
  s.trace_id = std::move(trace);
  s.span_id = std::move(id);
  s.parent_span_id = std::move(parent);
  s.service = std::move(service);
  s.start_ns = (end_ms - dur_ms) * 1'000'000;
  s.end_ns = end_ms * 1'000'000;
  s.status = static_cast<uint8_t>(error ? span_status::error
                                        : span_status::unset);
  return s;
}

// Expected edges and counts read off the fixtures' .decoded.txt: in every
// trace the checkout SERVER span's parent is frontend's CLIENT "POST", and
// the payments SERVER span's parent is checkout's CLIENT "POST"; in trace 2
// both of those SERVER spans have status ERROR. Checkout's postgres CLIENT
// span has no child span (postgres is not instrumented), so no edge.
TEST(service_graph, fixtures_in_order_give_frontend_checkout_payments) {
  service_graph g;
  for (const auto& batch : all_batches())
    g.add_spans(batch);
  EXPECT_EQ(g.counters().spans, 3u + 4 + 3 + 3 + 4 + 2 + 3 + 4 + 3);
  EXPECT_EQ(g.service_count(), 3u);
  ASSERT_EQ(g.edge_count(), 2u);
  auto fc = g.edge("frontend", "checkout");
  auto cp = g.edge("checkout", "payments");
  ASSERT_TRUE(fc);
  ASSERT_TRUE(cp);
  EXPECT_EQ(fc->calls, 3u);
  EXPECT_EQ(fc->errors, 1u);
  EXPECT_EQ(cp->calls, 3u);
  EXPECT_EQ(cp->errors, 1u);
  EXPECT_TRUE(fc->learned);
  EXPECT_FALSE(fc->is_static);
  // Checkout's server span took 77, 277 and 77 ms.
  EXPECT_GT(fc->latency_mean_ms, 77.0);
  EXPECT_LT(fc->latency_mean_ms, 277.0);
  EXPECT_GT(fc->latency_p95_ms, 0.0);
  EXPECT_FALSE(g.edge("payments", "checkout"));
  EXPECT_EQ(g.callees("frontend"), strings{"checkout"});
  EXPECT_EQ(g.callees("checkout"), strings{"payments"});
  EXPECT_EQ(g.callers("payments"), strings{"checkout"});
  EXPECT_TRUE(g.callers("frontend").empty());
  EXPECT_EQ(g.component("payments"),
            (strings{"checkout", "frontend", "payments"}));
  EXPECT_EQ(g.pending_children(), 0u);
}

TEST(service_graph, fixtures_in_reverse_order_join_children_before_parents) {
  auto batches = all_batches();
  std::reverse(batches.begin(), batches.end());
  service_graph g;
  for (const auto& batch : batches)
    g.add_spans(batch);
  ASSERT_EQ(g.edge_count(), 2u);
  EXPECT_EQ(g.edge("frontend", "checkout")->calls, 3u);
  EXPECT_EQ(g.edge("frontend", "checkout")->errors, 1u);
  EXPECT_EQ(g.edge("checkout", "payments")->calls, 3u);
  EXPECT_EQ(g.edge("checkout", "payments")->errors, 1u);
  EXPECT_GE(g.counters().late_joins, 6u);
  EXPECT_EQ(g.pending_children(), 0u);
}

TEST(service_graph, fixtures_in_shuffled_span_order_give_the_same_edges) {
  std::vector<span_record> spans;
  for (const auto& batch : all_batches())
    spans.insert(spans.end(), batch.begin(), batch.end());
  std::mt19937 gen{7};
  for (int round = 0; round < 5; ++round) {
    std::shuffle(spans.begin(), spans.end(), gen);
    service_graph g;
    for (const auto& s : spans)
      g.add_span(s);
    auto edges = g.edges();
    ASSERT_EQ(edges.size(), 2u);
    EXPECT_EQ(edges[0].caller, "checkout");
    EXPECT_EQ(edges[0].callee, "payments");
    EXPECT_EQ(edges[0].stats.calls, 3u);
    EXPECT_EQ(edges[0].stats.errors, 1u);
    EXPECT_EQ(edges[1].caller, "frontend");
    EXPECT_EQ(edges[1].callee, "checkout");
    EXPECT_EQ(edges[1].stats.calls, 3u);
    EXPECT_EQ(edges[1].stats.errors, 1u);
  }
}

TEST(service_graph, learned_edges_age_out_but_static_edges_stay) {
  graph_options opts;
  opts.edge_ttl_ms = 60'000;
  service_graph g{opts};
  EXPECT_TRUE(g.add_static_edge("checkout", "orders-db"));
  g.add_span(span("t1", "a", "", "frontend", 1'000));
  g.add_span(span("t1", "b", "a", "checkout", 1'000));
  ASSERT_TRUE(g.edge("frontend", "checkout"));
  g.advance(1'000 + 60'000);
  EXPECT_TRUE(g.edge("frontend", "checkout")) << "not older than the TTL";
  g.advance(1'000 + 2 * 60'000);
  EXPECT_FALSE(g.edge("frontend", "checkout"));
  EXPECT_EQ(g.counters().aged_edges, 1u);
  auto st = g.edge("checkout", "orders-db");
  ASSERT_TRUE(st);
  EXPECT_TRUE(st->is_static);
  EXPECT_EQ(g.callees("checkout"), strings{"orders-db"});
  // A static edge that is also seen in traces keeps its stats and stays.
  g.add_span(span("t2", "c", "", "checkout", 200'000));
  g.add_span(span("t2", "d", "c", "orders-db", 200'000, true));
  g.advance(10'000'000);
  st = g.edge("checkout", "orders-db");
  ASSERT_TRUE(st);
  EXPECT_EQ(st->calls, 1u);
  EXPECT_EQ(st->errors, 1u);
  EXPECT_TRUE(st->learned);
}

TEST(service_graph, children_whose_parent_never_comes_expire) {
  graph_options opts;
  opts.pending_ttl_ms = 10'000;
  service_graph g{opts};
  g.add_span(span("t1", "child", "missing", "checkout", 1'000));
  EXPECT_EQ(g.pending_children(), 1u);
  g.add_span(span("t9", "x", "", "other", 20'000));
  EXPECT_EQ(g.pending_children(), 0u);
  EXPECT_EQ(g.counters().expired_pending, 1u);
  // The parent arriving late no longer makes an edge.
  g.add_span(span("t1", "missing", "", "frontend", 20'000));
  EXPECT_EQ(g.edge_count(), 0u);
}

TEST(service_graph, known_spans_are_forgotten_after_their_ttl) {
  graph_options opts;
  opts.known_span_ttl_ms = 5'000;
  service_graph g{opts};
  g.add_span(span("t1", "p", "", "frontend", 1'000));
  g.advance(10'000);
  EXPECT_EQ(g.known_spans(), 0u);
  g.add_span(span("t1", "c", "p", "checkout", 10'000));
  EXPECT_EQ(g.edge_count(), 0u);
  EXPECT_EQ(g.pending_children(), 1u);
}

TEST(service_graph, same_service_parent_and_child_make_no_edge) {
  service_graph g;
  g.add_span(span("t1", "p", "", "checkout", 1'000));
  g.add_span(span("t1", "c", "p", "checkout", 1'000));
  EXPECT_EQ(g.edge_count(), 0u);
}

TEST(service_graph, bounds_drop_and_count_services_edges_and_pending) {
  graph_options opts;
  opts.max_services = 3;
  opts.max_edges = 1;
  opts.max_pending = 2;
  opts.max_known_spans = 4;
  service_graph g{opts};
  EXPECT_TRUE(g.add_static_edge("a", "b"));
  EXPECT_FALSE(g.add_static_edge("b", "c")) << "edge bound";
  EXPECT_EQ(g.counters().dropped_edges, 1u);
  EXPECT_FALSE(g.add_static_edge("d", "e")) << "service bound";
  EXPECT_GE(g.counters().dropped_services, 1u);
  EXPECT_LE(g.service_count(), 3u);
  EXPECT_EQ(g.edge_count(), 1u);
  for (int i = 0; i < 5; ++i)
    g.add_span(span("t", id("c", i), id("p", i), "x", 1'000));
  EXPECT_EQ(g.pending_children(), 2u);
  EXPECT_EQ(g.counters().dropped_pending, 3u);
  for (int i = 0; i < 10; ++i)
    g.add_span(span("u", id("s", i), "", "x", 1'000));
  EXPECT_LE(g.known_spans(), 4u);
  EXPECT_GT(g.counters().forgotten_spans, 0u);
}

TEST(service_graph, service_bound_makes_room_after_ageing) {
  graph_options opts;
  opts.max_services = 2;
  opts.edge_ttl_ms = 1'000;
  service_graph g{opts};
  g.add_span(span("t1", "a", "", "old-a", 1'000));
  g.add_span(span("t1", "b", "a", "old-b", 1'000));
  ASSERT_EQ(g.edge_count(), 1u);
  g.advance(100'000);
  EXPECT_EQ(g.edge_count(), 0u);
  g.add_span(span("t2", "a", "", "new-a", 100'000));
  g.add_span(span("t2", "b", "a", "new-b", 100'000));
  EXPECT_TRUE(g.edge("new-a", "new-b"));
  EXPECT_FALSE(g.find("old-a"));
  EXPECT_EQ(g.service_count(), 2u);
}

TEST(service_graph, components_split_disconnected_services) {
  service_graph g;
  g.add_static_edge("a", "b");
  g.add_static_edge("c", "b");
  g.add_static_edge("x", "y");
  EXPECT_EQ(g.component("c"), (strings{"a", "b", "c"}));
  EXPECT_EQ(g.component("y"), (strings{"x", "y"}));
  EXPECT_EQ(g.component("nobody"), strings{"nobody"});
  auto ids = g.component_ids();
  EXPECT_EQ(ids[*g.find("a")], ids[*g.find("c")]);
  EXPECT_NE(ids[*g.find("a")], ids[*g.find("x")]);
}

TEST(service_graph, p95_estimate_tracks_a_slow_tail) {
  service_graph g;
  std::mt19937 gen{1};
  std::uniform_int_distribution<int> pct{0, 99};
  for (int i = 0; i < 5'000; ++i) {
    auto id = std::to_string(i);
    auto slow = pct(gen) < 10; // 10% of calls take 500 ms, the rest 10 ms
    g.add_span(span(id, "p", "", "a", 1'000 + i));
    g.add_span(span(id, "c", "p", "b", 1'000 + i, false, slow ? 500 : 10));
  }
  auto st = g.edge("a", "b");
  ASSERT_TRUE(st);
  EXPECT_GT(st->latency_p95_ms, 100.0);
  EXPECT_LT(st->latency_p95_ms, 600.0);
  EXPECT_LT(st->latency_mean_ms, st->latency_p95_ms);
}

} // namespace
