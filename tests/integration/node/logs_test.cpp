// The log pipeline end to end: plain-text lines posted to a real vigild,
// error-spike anomalies (with their template and example lines) read back
// from /api/v1/anomalies, and none on the clean part.

#include <gtest/gtest.h>

#include <cstdio>

#include <nlohmann/json.hpp>

#include "tests/support/node/replay.hpp"

using namespace std::chrono_literals;
using namespace vigil;
using json = nlohmann::json;

namespace {

// log4j-style line at minute `m`, second `s` after 2024-01-01 12:00.
std::string line(int m, int s, const char* level, const std::string& msg) {
  char ts[64];
  std::snprintf(ts, sizeof ts, "2024-01-01 %02d:%02d:%02d,000", 12 + m / 60,
                m % 60, s);
  return std::string{ts} + " " + level + " [main] com.shop.Checkout - " + msg;
}

struct logs : ::testing::Test {
  test::temp_dir dir;
  std::unique_ptr<test::vigild> node;
  uint64_t posted = 0;

  void SetUp() override {
    node = std::make_unique<test::vigild>(dir.str() + "/data");
    ASSERT_TRUE(node->ready()) << node->proc().stderr_text();
  }

  void post(const std::vector<std::string>& lines) {
    std::string body;
    for (auto& l : lines)
      body += l + "\n";
    auto r = node->post("/api/v1/logs?service=checkout", body, "text/plain");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200u) << r->body;
    posted += lines.size();
  }

  void wait_for_lines() {
    ASSERT_TRUE(test::wait_until(
      [&] {
        return test::scrape(*node, "vigil_log_records_total") >= posted;
      },
      30s))
      << "detectors took " << test::scrape(*node, "vigil_log_records_total");
  }

  std::vector<json> log_anomalies() {
    auto r = node->get("/api/v1/anomalies");
    EXPECT_TRUE(r);
    EXPECT_EQ(r->status, 200u);
    std::vector<json> out;
    auto doc = json::parse(r->body);
    for (auto& a : doc["anomalies"])
      if (a["kind"] != "metric")
        out.push_back(a);
    return out;
  }
};

TEST_F(logs, reports_an_error_spike_with_examples_and_nothing_on_clean_logs) {
  // Clean: 30 minutes of 20 requests and one known timeout a minute.
  for (int m = 0; m < 30; ++m) {
    std::vector<std::string> batch;
    for (int i = 0; i < 20; ++i)
      batch.push_back(line(m, i, "INFO",
                           "Order " + std::to_string(m * 100 + i)
                             + " placed in " + std::to_string(10 + i)
                             + "ms"));
    batch.push_back(line(m, 30, "ERROR",
                         "Payment gateway 10.0.0.7:443 timed out after "
                         "3000ms"));
    post(batch);
  }
  wait_for_lines();
  EXPECT_TRUE(log_anomalies().empty()) << log_anomalies().front().dump();

  // The fault: 60 timeouts within one minute.
  std::vector<std::string> spike;
  for (int i = 0; i < 60; ++i)
    spike.push_back(line(30, i, "ERROR",
                         "Payment gateway 10.0.0." + std::to_string(i % 9)
                           + ":443 timed out after 3000ms"));
  post(spike);
  json found;
  ASSERT_TRUE(test::wait_until(
    [&] {
      for (auto& a : log_anomalies())
        if (a["kind"] == "log_error_spike" && !a["template_id"].empty()
            && a["template_id"] != "")
          found = a;
      return !found.is_null();
    },
    30s))
    << "no spike among " << json(log_anomalies()).dump();
  EXPECT_EQ(found["service"], "checkout");
  EXPECT_EQ(found["template"], "Payment gateway <*> timed out after <*>");
  EXPECT_EQ(found["phase"], "onset");
  EXPECT_GT(found["score"].get<double>(), 0.5);
  ASSERT_EQ(found["examples"].size(), 3u);
  for (auto& e : found["examples"])
    EXPECT_NE(e.get<std::string>().find("timed out"), std::string::npos);
  // Only spike anomalies: the failing template was known before.
  for (auto& a : log_anomalies())
    EXPECT_EQ(a["kind"], "log_error_spike") << a.dump();
}

TEST_F(logs, takes_a_named_line_format_and_refuses_an_unknown_one) {
  auto ok = node->post("/api/v1/logs?service=checkout&format=logfmt",
                       "level=error msg=\"db down\" attempt=3\n",
                       "text/plain");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200u) << ok->body;
  auto bad = node->post("/api/v1/logs?service=checkout&format=xml",
                        "anything\n", "text/plain");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400u);
  EXPECT_NE(bad->body.find("'xml'"), std::string::npos) << bad->body;
  EXPECT_NE(bad->body.find("logfmt"), std::string::npos) << bad->body;
  posted = 1;
  wait_for_lines();
  // The refused request reached no detector.
  EXPECT_EQ(test::scrape(*node, "vigil_log_records_total"), 1.0);
}

} // namespace
