// A memory leak streamed into a real vigild: a predictive anomaly with the
// limit and the forecast arrives before the limit is reached, for the
// leaking pod only.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/support/node/replay.hpp"

using namespace std::chrono_literals;
using namespace vigil;
using json = nlohmann::json;

namespace {

constexpr int64_t t0 = 1'704'067'200; // 2024-01-01 00:00 UTC, seconds

std::string sample(const std::string& metric, const std::string& pod,
                   double value, int64_t ts) {
  return "{\"service\":\"cart\",\"metric\":\"" + metric + "\",\"labels\":{"
         + "\"pod\":\"" + pod + "\"},\"value\":" + std::to_string(value)
         + ",\"ts\":" + std::to_string(ts) + "}\n";
}

TEST(precursors, a_leaking_pod_is_warned_about_before_it_hits_its_limit) {
  test::temp_dir dir;
  test::vigild node{dir.str() + "/data"};
  ASSERT_TRUE(node.ready()) << node.proc().stderr_text();
  constexpr double limit = 512.0 * 1024 * 1024;
  // Two pods, one sample each every 30 s for three hours: cart-1 leaks
  // from 200 MiB at 100 MiB/h (limit reached at 3.12 h), cart-2 is flat.
  int64_t end = t0 + 3 * 3600;
  for (int64_t batch = t0; batch < end; batch += 1800) {
    std::string body;
    for (int64_t ts = batch; ts < batch + 1800 && ts < end; ts += 30) {
      double h = static_cast<double>(ts - t0) / 3600;
      double leak = (200 + 100 * h) * 1024 * 1024;
      double flat = (250 + (ts / 30 % 5)) * 1024 * 1024;
      body += sample("container_spec_memory_limit_bytes", "cart-1", limit, ts);
      body += sample("container_spec_memory_limit_bytes", "cart-2", limit, ts);
      body += sample("container_memory_working_set_bytes", "cart-1", leak, ts);
      body += sample("container_memory_working_set_bytes", "cart-2", flat, ts);
    }
    auto r = node.post("/api/v1/samples", body, "application/x-ndjson");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200u) << r->body;
  }
  json found;
  ASSERT_TRUE(test::wait_until(
    [&] {
      auto r = node.get("/api/v1/anomalies?service=cart&limit=10000");
      if (!r || r->status != 200)
        return false;
      auto doc = json::parse(r->body);
      for (auto& a : doc["anomalies"])
        if (a["kind"] == "predictive" && a["phase"] == "onset")
          found = a;
      return !found.is_null();
    },
    30s));
  EXPECT_EQ(found["series"],
            "container_memory_working_set_bytes{pod=\"cart-1\"}");
  EXPECT_DOUBLE_EQ(found["limit"].get<double>(), limit);
  // Warned at least 30 minutes ahead, the forecast within 20 % of the
  // 3.12 h the leak really takes.
  double warned = found["ts"].get<double>() - t0;
  double forecast = found["forecast_ts"].get<double>() - t0;
  double exhausted = 3.12 * 3600;
  EXPECT_LE(warned, exhausted - 1800);
  EXPECT_NEAR(forecast - warned, exhausted - warned,
              0.2 * (exhausted - warned));
  ASSERT_EQ(found["votes"].size(), 1u);
  EXPECT_EQ(found["votes"][0]["detector"], "trend");
  // Nothing predictive about the flat pod.
  auto r = node.get("/api/v1/anomalies?service=cart&limit=10000");
  ASSERT_TRUE(r);
  auto all = json::parse(r->body);
  for (auto& a : all["anomalies"])
    if (a["kind"] == "predictive")
      EXPECT_EQ(a["series"],
                "container_memory_working_set_bytes{pod=\"cart-1\"}");
}

} // namespace
