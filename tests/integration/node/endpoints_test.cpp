// Every endpoint of CONTRACT §3 against a real vigild, fed the real captured
// requests of Prometheus 2.42, Alertmanager 0.25 and the OpenTelemetry JS
// SDK.

#include <gtest/gtest.h>

#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include "runtime/codec/compression.hpp"
#include "tests/support/node/replay.hpp"

using namespace std::chrono_literals;
using namespace vigil;
using json = nlohmann::json;

namespace {

struct endpoints : ::testing::Test {
  test::temp_dir dir;
  std::unique_ptr<test::vigild> node;

  void SetUp() override {
    node = std::make_unique<test::vigild>(dir.str() + "/data");
    ASSERT_TRUE(node->ready()) << node->proc().stderr_text();
  }

  json services() {
    auto r = node->get("/api/v1/services");
    EXPECT_TRUE(r);
    EXPECT_EQ(r->status, 200u);
    return json::parse(r->body);
  }

  json service(const std::string& name) {
    auto all = services();
    for (auto& s : all["services"])
      if (s["name"] == name)
        return s;
    return {};
  }

  // Ingest is acknowledged on admission; detectors catch up right after.
  void wait_for_samples(uint64_t n) {
    EXPECT_TRUE(test::wait_until(
      [&] { return test::scrape(*node, "vigil_detector_samples_total") >= n; },
      30s))
      << "detectors saw " << test::scrape(*node, "vigil_detector_samples_total");
  }
};

TEST_F(endpoints, announces_readiness_and_writes_a_private_admin_token) {
  EXPECT_FALSE(node->node_id().empty());
  EXPECT_NE(node->cluster_port(), 0);
  struct stat st{};
  ASSERT_EQ(::stat((node->data_dir() + "/admin.token").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(node->admin_token().size(), 64u);
  auto c = node->client();
  auto health = c.send(http::verb::get, "/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200u);
  auto ready = c.send(http::verb::get, "/readyz");
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, 200u);
  EXPECT_EQ(json::parse(ready->body)["ready"], true);
}

TEST_F(endpoints, takes_prometheus_remote_write_including_stale_markers) {
  uint64_t samples = 0;
  for (auto f : {"remote_write_01_first.bin", "remote_write_02_node_exporter.bin",
                 "remote_write_03_metadata_only.bin",
                 "remote_write_04_target_down_stale_markers.bin",
                 "remote_write_05_alerts_targetdown_firing.bin",
                 "remote_write_06_alerts_targetdown_stale.bin",
                 "remote_write_07_last_partial_at_shutdown.bin"}) {
    auto r = test::replay(*node, f, "/api/v1/write");
    ASSERT_TRUE(r) << f;
    EXPECT_EQ(r->status, 204u) << f << ": " << r->body;
  }
  // 6 data requests: 5 x 500 samples + 223 at shutdown; 320 of them are
  // staleness markers, which end series instead of being judged.
  samples = 5 * 500 + 223;
  EXPECT_EQ(test::scrape(*node, "vigil_ingest_samples_total{endpoint=\"remote_"
                                "write\"}"),
            samples);
  EXPECT_EQ(test::scrape(*node, "vigil_ingest_requests_total{endpoint=\"remote_"
                                "write\",code=\"204\"}"),
            7);
  // Every answer is timed, the metadata-only one included.
  EXPECT_EQ(test::scrape(*node, "vigil_ingest_request_duration_seconds_count{"
                                "endpoint=\"remote_write\"}"),
            7);
  EXPECT_TRUE(test::wait_until(
    [&] {
      auto s = service("node");
      return !s.is_null() && s["series"].get<int>() > 0;
    },
    30s));
  auto n = service("node");
  auto p = service("prometheus");
  ASSERT_FALSE(p.is_null());
  EXPECT_GT(p["series"].get<int>(), 100);
  // node-exporter was killed: its series got staleness markers.
  EXPECT_LT(n["series_active"].get<int>(), n["series"].get<int>());
}

TEST_F(endpoints, takes_otlp_metrics_traces_and_logs_in_every_encoding) {
  struct {
    const char* file;
    const char* target;
    const char* type;
  } cases[] = {
    {"otlp_metrics_01.bin", "/v1/metrics", "application/x-protobuf"},
    {"otlp_metrics_02.bin", "/v1/metrics", "application/x-protobuf"},
    {"otlp_traces_01_trace1_frontend.bin", "/v1/traces",
     "application/x-protobuf"},
    {"otlp_traces_05_trace2_error_checkout.bin", "/v1/traces",
     "application/x-protobuf"},
    {"otlp_traces_gzip_02_checkout.bin", "/v1/traces",
     "application/x-protobuf"},
    {"otlp_traces_json_03_payments.json", "/v1/traces", "application/json"},
    {"otlp_logs_01.bin", "/v1/logs", "application/x-protobuf"},
  };
  for (auto& c : cases) {
    auto r = test::replay(*node, c.file, c.target);
    ASSERT_TRUE(r) << c.file;
    EXPECT_EQ(r->status, 200u) << c.file << ": " << r->body;
    EXPECT_EQ(r->header("Content-Type"), c.type) << c.file;
    if (std::string_view{c.type} == "application/json")
      EXPECT_EQ(r->body, "{}");
    else
      EXPECT_TRUE(r->body.empty());
  }
  // Spans: 3 (frontend) + 4 (checkout) + 4 (gzip checkout) + 3 (JSON
  // payments).
  EXPECT_EQ(test::scrape(*node, "vigil_ingest_routed_total{kind=\"span\"}"),
            14);
  EXPECT_TRUE(test::wait_until(
    [&] {
      auto s = service("payments");
      return !s.is_null() && s["log_records"].get<int>() == 4;
    },
    30s));
  auto checkout = service("checkout");
  ASSERT_FALSE(checkout.is_null());
  EXPECT_GT(checkout["series"].get<int>(), 0);
}

TEST_F(endpoints, takes_alertmanager_webhooks) {
  int alerts = 0;
  for (auto f : {"alertmanager_01_firing_TargetUp_3alerts.json",
                 "alertmanager_03_firing_TargetDown.json",
                 "alertmanager_07_resolved_TargetDown.json"}) {
    auto r = test::replay(*node, f, "/api/v1/alerts/alertmanager");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200u) << r->body;
    alerts += json::parse(r->body)["accepted"].get<int>();
  }
  EXPECT_EQ(alerts, 5);
  EXPECT_TRUE(test::wait_until(
    [&] {
      return test::scrape(*node,
                          "vigil_alerts_received_total{status=\"resolved\"}")
             == 1;
    },
    10s));
  EXPECT_EQ(test::scrape(*node, "vigil_alerts_received_total{status=\"firing\"}"),
            4);
}

TEST_F(endpoints, takes_ndjson_samples_logs_changes_and_topology) {
  auto r = node->post("/api/v1/samples",
                      "{\"service\":\"checkout\",\"metric\":\"latency_ms\","
                      "\"value\":12.5,\"ts\":1700000000.5,\"labels\":{"
                      "\"route\":\"/pay\"}}\n"
                      "{\"service\":\"orders-db\",\"metric\":\"connections\","
                      "\"value\":40,\"ts\":1700000000}\n",
                      "application/x-ndjson");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200u);
  EXPECT_EQ(json::parse(r->body)["accepted"], 2);
  r = node->post("/api/v1/logs?service=checkout",
                 "payment ok id=1\npayment failed id=2\n\n", "text/plain");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200u) << r->body;
  EXPECT_EQ(json::parse(r->body)["accepted"], 2);
  r = node->post("/api/v1/logs",
                 "{\"ts\":1700000001,\"service\":\"orders-db\",\"line\":"
                 "\"too many connections\"}\n",
                 "application/x-ndjson");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200u) << r->body;
  r = node->post("/api/v1/changes",
                 "{\"service\":\"orders-db\",\"kind\":\"deploy\",\"version\":"
                 "\"v42\",\"ts\":1700000000}",
                 "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200u) << r->body;
  r = node->post("/api/v1/topology",
                 "{\"edges\":[{\"caller\":\"checkout\",\"callee\":"
                 "\"orders-db\"}]}",
                 "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200u) << r->body;
  wait_for_samples(2);
  EXPECT_TRUE(test::wait_until(
    [&] {
      auto s = service("checkout");
      return !s.is_null() && s["log_records"] == 2;
    },
    10s));
  auto db = service("orders-db");
  ASSERT_FALSE(db.is_null());
  EXPECT_EQ(db["samples"], 1);
  EXPECT_EQ(db["series"], 1);
  EXPECT_EQ(test::scrape(*node, "vigil_changes_received_total"), 1);
  EXPECT_EQ(test::scrape(*node, "vigil_topology_edges_received_total"), 1);
}

TEST_F(endpoints, lists_anomalies_a_step_produces) {
  std::string body;
  for (int i = 0; i < 120; ++i) {
    double v = i < 100 ? 100 + (i % 5) : 400;
    body += "{\"service\":\"checkout\",\"metric\":\"latency_ms\",\"value\":"
            + std::to_string(v) + ",\"ts\":" + std::to_string(1700000000 + i * 10)
            + "}\n";
  }
  auto r = node->post("/api/v1/samples", body, "application/x-ndjson");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200u);
  json list;
  EXPECT_TRUE(test::wait_until(
    [&] {
      auto a = node->get("/api/v1/anomalies?service=checkout&limit=10");
      if (!a || a->status != 200)
        return false;
      list = json::parse(a->body)["anomalies"];
      return !list.empty();
    },
    30s));
  ASSERT_FALSE(list.empty());
  auto& first = list.back();
  EXPECT_EQ(first["service"], "checkout");
  EXPECT_EQ(first["metric"], "latency_ms");
  EXPECT_EQ(first["phase"], "onset");
  EXPECT_DOUBLE_EQ(first["ts"].get<double>(), 1700001000.0);
  EXPECT_GE(first["detectors"].size(), 2u);
  EXPECT_GT(first["score"].get<double>(), 0.5);
  EXPECT_LT(first["expected"][1].get<double>(), 400);
  // Filters.
  auto none = node->get("/api/v1/anomalies?service=nope");
  ASSERT_TRUE(none);
  EXPECT_TRUE(json::parse(none->body)["anomalies"].empty());
  auto later = node->get("/api/v1/anomalies?since=1800000000");
  ASSERT_TRUE(later);
  EXPECT_TRUE(json::parse(later->body)["anomalies"].empty());
  EXPECT_GE(test::scrape(*node, "vigil_anomalies_total"), 1);
}

TEST_F(endpoints, services_show_their_sampling_step_and_block) {
  // "fast" is sampled every second, "slow" every 15 s: 100 samples each.
  // The fast service is judged by the means of blocks of ten samples (the
  // 10 s reference step), so after 100 s it is still warming up; the slow
  // one, after 25 minutes, is warm.
  std::string body;
  for (int i = 0; i < 100; ++i)
    for (auto [service, step] : {std::pair{"fast", 1}, std::pair{"slow", 15}})
      body += std::string{"{\"service\":\""} + service
              + "\",\"metric\":\"latency_ms\",\"value\":"
              + std::to_string(100 + i % 5)
              + ",\"ts\":" + std::to_string(1700000000 + i * step) + "}\n";
  auto r = node->post("/api/v1/samples", body, "application/x-ndjson");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200u);
  wait_for_samples(200);
  auto fast = service("fast");
  auto slow = service("slow");
  ASSERT_FALSE(fast.is_null());
  ASSERT_FALSE(slow.is_null());
  EXPECT_DOUBLE_EQ(fast["step"].get<double>(), 1.0);
  EXPECT_EQ(fast["step_block"], 10);
  EXPECT_EQ(fast["warmup"], "warming");
  EXPECT_DOUBLE_EQ(slow["step"].get<double>(), 15.0);
  EXPECT_EQ(slow["step_block"], 1);
  EXPECT_EQ(slow["warmup"], "warm");
}

TEST_F(endpoints, exposes_every_contract_metric_name) {
  auto c = node->client();
  auto r = c.send(http::verb::get, "/metrics");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200u);
  EXPECT_EQ(r->header("Content-Type"),
            "text/plain; version=0.0.4; charset=utf-8");
  for (auto name :
       {"vigil_ingest_samples_total", "vigil_ingest_requests_total",
        "vigil_ingest_rejected_total", "vigil_series_active",
        "vigil_services_active", "vigil_anomalies_total",
        "vigil_incidents_open", "vigil_incidents_total", "vigil_actions_total",
        "vigil_notifications_total", "vigil_actor_restarts_total",
        "vigil_cluster_nodes", "vigil_shards_owned"})
    EXPECT_NE(r->body.find(std::string{"# TYPE "} + name + " "),
              std::string::npos)
      << name;
  EXPECT_EQ(test::metric_value(r->body, "vigil_shards_owned"), 256);
  EXPECT_EQ(test::metric_value(r->body, "vigil_cluster_nodes{state=\"up\"}"),
            1);
}

TEST_F(endpoints, requires_the_admin_token_for_queries_only) {
  auto c = node->client();
  auto no_token = c.send(http::verb::get, "/api/v1/services");
  ASSERT_TRUE(no_token);
  EXPECT_EQ(no_token->status, 401u);
  auto wrong = c.send(http::verb::get, "/api/v1/anomalies", {},
                      {{"Authorization", "Bearer nope"}});
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->status, 401u);
  EXPECT_NE(wrong->body.find("\"error\""), std::string::npos);
  // Ingest is open when no ingest token is configured.
  auto ingest = c.send(http::verb::post, "/api/v1/samples",
                       "{\"service\":\"a\",\"metric\":\"m\",\"value\":1,"
                       "\"ts\":1}\n",
                       {{"Content-Type", "application/x-ndjson"}});
  ASSERT_TRUE(ingest);
  EXPECT_EQ(ingest->status, 200u);
  EXPECT_GE(test::scrape(*node, "vigil_http_rejected_total{endpoint="
                                "\"services\",reason=\"unauthorized\"}"),
            1);
}

TEST(endpoints_with_ingest_token, refuse_ingest_without_it) {
  test::temp_dir dir;
  test::vigild node{dir.str() + "/data", {},
                    "security:\n  ingest_token: s3cret-ingest\n"};
  ASSERT_TRUE(node.ready()) << node.proc().stderr_text();
  std::string line = "{\"service\":\"a\",\"metric\":\"m\",\"value\":1,\"ts\":1}\n";
  auto r = node.post("/api/v1/samples", line, "application/x-ndjson");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401u);
  r = node.post("/api/v1/samples", line, "application/x-ndjson",
                {{"Authorization", "Bearer s3cret-ingest"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200u);
  EXPECT_EQ(test::scrape(node, "vigil_ingest_rejected_total{endpoint="
                               "\"samples\",reason=\"unauthorized\"}"),
            1);
}

} // namespace
