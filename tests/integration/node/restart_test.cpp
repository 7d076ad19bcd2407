// A node comes back with its state: after a graceful stop exactly, after
// kill -9 no older than the snapshot interval. Bad start-ups exit with the
// documented codes.

#include <gtest/gtest.h>

#include <signal.h>

#include <nlohmann/json.hpp>

#include "tests/support/node/replay.hpp"

using namespace std::chrono_literals;
using namespace vigil;
using json = nlohmann::json;

namespace {

std::string samples_for(const std::string& service, int from, int count,
                        double level = 100) {
  std::string body;
  for (int i = from; i < from + count; ++i)
    body += "{\"service\":\"" + service + "\",\"metric\":\"latency_ms\","
            + "\"value\":" + std::to_string(level + (i % 7)) + ",\"ts\":"
            + std::to_string(1700000000 + i * 10) + "}\n";
  return body;
}

json service_of(const test::vigild& node, const std::string& name) {
  auto r = node.get("/api/v1/services");
  if (!r)
    return {};
  auto all = json::parse(r->body);
  for (auto& s : all["services"])
    if (s["name"] == name)
      return s;
  return {};
}

bool ingest(const test::vigild& node, const std::string& body) {
  auto r = node.post("/api/v1/samples", body, "application/x-ndjson");
  return r && r->status == 200;
}

uint64_t samples_of(const test::vigild& node, const std::string& name) {
  auto s = service_of(node, name);
  return s.is_null() ? 0 : s["samples"].get<uint64_t>();
}

TEST(restart, a_graceful_stop_keeps_everything) {
  test::temp_dir dir;
  std::string id;
  {
    test::vigild node{dir.str() + "/data"};
    ASSERT_TRUE(node.ready());
    id = node.node_id();
    ASSERT_TRUE(ingest(node, samples_for("checkout", 0, 200)));
    ASSERT_TRUE(ingest(node, samples_for("payments", 0, 50)));
    // A step, so there is an anomaly to remember.
    ASSERT_TRUE(ingest(node, samples_for("checkout", 200, 1, 5000)));
    ASSERT_TRUE(test::wait_until(
      [&] { return samples_of(node, "checkout") == 201; }, 30s));
    ASSERT_TRUE(test::wait_until(
      [&] { return test::scrape(node, "vigil_anomalies_received_total") >= 1; },
      30s));
    EXPECT_EQ(node.stop(), 0);
  }
  test::vigild node{dir.str() + "/data"};
  ASSERT_TRUE(node.ready()) << node.proc().stderr_text();
  EXPECT_EQ(node.node_id(), id) << "the node keeps its name";
  auto checkout = service_of(node, "checkout");
  ASSERT_FALSE(checkout.is_null()) << "known services come back before data";
  EXPECT_EQ(checkout["samples"], 201);
  EXPECT_EQ(checkout["series_warm"], 1);
  EXPECT_EQ(checkout["anomalies"], 1);
  EXPECT_EQ(samples_of(node, "payments"), 50u);
  auto a = node.get("/api/v1/anomalies");
  ASSERT_TRUE(a);
  auto list = json::parse(a->body)["anomalies"];
  ASSERT_FALSE(list.empty());
  EXPECT_EQ(list.back()["service"], "checkout");
  EXPECT_EQ(node.stop(), 0);
}

TEST(restart, kill_9_loses_at_most_one_snapshot_interval) {
  test::temp_dir dir;
  auto config = std::string{"detection:\n  snapshot_interval: 1s\n"};
  {
    test::vigild node{dir.str() + "/data", {}, config};
    ASSERT_TRUE(node.ready());
    ASSERT_TRUE(ingest(node, samples_for("checkout", 0, 100)));
    ASSERT_TRUE(ingest(node, samples_for("payments", 0, 100)));
    ASSERT_TRUE(test::wait_until(
      [&] { return samples_of(node, "payments") == 100; }, 30s));
    // Wait out the snapshot interval: each dirty detector writes once.
    auto snaps = test::scrape(node, "vigil_snapshot_duration_seconds_count");
    ASSERT_TRUE(test::wait_until(
      [&] {
        return test::scrape(node, "vigil_snapshot_duration_seconds_count")
               >= snaps + 2;
      },
      10s));
    node.proc().signal(SIGKILL);
    EXPECT_EQ(node.proc().wait(10s), 128 + SIGKILL);
  }
  test::vigild node{dir.str() + "/data", {}, config};
  ASSERT_TRUE(node.ready()) << node.proc().stderr_text();
  EXPECT_EQ(samples_of(node, "checkout"), 100u);
  EXPECT_EQ(samples_of(node, "payments"), 100u);
  EXPECT_EQ(service_of(node, "checkout")["series_warm"], 1);
  // Out-of-order protection survives too: old samples are not re-counted.
  ASSERT_TRUE(ingest(node, samples_for("checkout", 50, 10)));
  ASSERT_TRUE(ingest(node, samples_for("checkout", 100, 10)));
  ASSERT_TRUE(test::wait_until(
    [&] { return samples_of(node, "checkout") == 110; }, 30s));
  EXPECT_EQ(service_of(node, "checkout")["out_of_order"], 10);
}

TEST(restart, a_bad_config_exits_2_naming_file_line_and_key) {
  test::temp_dir dir;
  test::vigild node{dir.str() + "/data", {},
                    "ingest:\n  max_body_bytez: 1MiB\n"};
  EXPECT_FALSE(node.ready());
  EXPECT_EQ(node.proc().wait(10s), 2);
  auto err = node.proc().stderr_text();
  EXPECT_NE(err.find(".yaml:2:"), std::string::npos) << err;
  EXPECT_NE(err.find("ingest.max_body_bytez"), std::string::npos) << err;
  EXPECT_NE(err.find("ingest.max_body_bytes"), std::string::npos) << err;
}

TEST(restart, a_bad_flag_exits_2) {
  test::temp_dir dir;
  test::vigild node{dir.str() + "/data", {"--log-level", "loud"}};
  EXPECT_FALSE(node.ready());
  EXPECT_EQ(node.proc().wait(10s), 2);
  EXPECT_NE(node.proc().stderr_text().find("--log-level"), std::string::npos);
}

TEST(restart, a_data_dir_in_use_exits_1) {
  test::temp_dir dir;
  test::vigild first{dir.str() + "/data"};
  ASSERT_TRUE(first.ready());
  test::vigild second{dir.str() + "/data"};
  EXPECT_FALSE(second.ready());
  EXPECT_EQ(second.proc().wait(10s), 1);
  EXPECT_NE(second.proc().stderr_text().find("in use"), std::string::npos)
    << second.proc().stderr_text();
}

} // namespace
