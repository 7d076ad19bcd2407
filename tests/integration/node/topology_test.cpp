// The service graph through a real vigild: spans of the OpenTelemetry JS
// SDK's three traces (frontend -> checkout -> payments, one trace with
// errors) and a static edge come back from GET /api/v1/topology.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/support/node/replay.hpp"

using namespace std::chrono_literals;
using namespace vigil;
using json = nlohmann::json;

namespace {

json edge_of(const json& topo, const std::string& caller,
             const std::string& callee) {
  for (auto& e : topo["edges"])
    if (e["caller"] == caller && e["callee"] == callee)
      return e;
  return {};
}

TEST(topology, learns_edges_from_real_traces_and_merges_static_ones) {
  test::temp_dir dir;
  test::vigild node{dir.str() + "/data"};
  ASSERT_TRUE(node.ready()) << node.proc().stderr_text();
  auto st = node.post("/api/v1/topology",
                      R"({"edges":[{"caller":"checkout","callee":"orders-db"}]})",
                      "application/json");
  ASSERT_TRUE(st);
  ASSERT_EQ(st->status, 200u) << st->body;
  // Children before parents: the payments spans go first.
  for (auto file : {"otlp_traces_03_trace1_payments.bin",
                    "otlp_traces_06_trace2_error_payments.bin",
                    "otlp_traces_09_trace3_payments.bin",
                    "otlp_traces_02_trace1_checkout.bin",
                    "otlp_traces_05_trace2_error_checkout.bin",
                    "otlp_traces_08_trace3_checkout.bin",
                    "otlp_traces_01_trace1_frontend.bin",
                    "otlp_traces_04_trace2_error_frontend.bin",
                    "otlp_traces_07_trace3_frontend.bin"}) {
    auto r = test::replay(node, file, "/v1/traces");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200u) << file << ": " << r->body;
  }
  json topo;
  ASSERT_TRUE(test::wait_until(
    [&] {
      auto r = node.get("/api/v1/topology");
      if (!r || r->status != 200)
        return false;
      topo = json::parse(r->body);
      auto fc = edge_of(topo, "frontend", "checkout");
      auto cp = edge_of(topo, "checkout", "payments");
      return !fc.is_null() && !cp.is_null() && fc["calls"] == 3
             && cp["calls"] == 3;
    },
    30s))
    << topo.dump();
  auto fc = edge_of(topo, "frontend", "checkout");
  auto cp = edge_of(topo, "checkout", "payments");
  EXPECT_EQ(fc["errors"], 1);
  EXPECT_EQ(cp["errors"], 1);
  EXPECT_TRUE(fc["learned"].get<bool>());
  EXPECT_GT(fc["latency_mean_ms"].get<double>(), 0);
  auto db = edge_of(topo, "checkout", "orders-db");
  ASSERT_FALSE(db.is_null()) << topo.dump();
  EXPECT_TRUE(db["static"].get<bool>());
  EXPECT_EQ(db["calls"], 0);
  EXPECT_EQ(topo["nodes"], (json{"checkout", "frontend", "orders-db",
                                 "payments"}));
  // The admin token guards it like every other query.
  auto c = node.client();
  auto anon = c.send(http::verb::get, "/api/v1/topology");
  ASSERT_TRUE(anon);
  EXPECT_EQ(anon->status, 401u);
}

} // namespace
