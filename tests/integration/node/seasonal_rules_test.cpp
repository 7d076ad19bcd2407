// A week of a service with a nightly batch job streamed through a real
// vigild whose config gives CPU metrics the seasonal detector
// (detection.rules): after two days the batch job is learned and raises
// nothing, a daytime surge on day eight is caught; the same data under the
// default detectors fires every night.

#include <gtest/gtest.h>

#include <random>

#include <nlohmann/json.hpp>

#include "tests/support/node/replay.hpp"

using namespace std::chrono_literals;
using namespace vigil;
using json = nlohmann::json;

namespace {

constexpr int64_t day = 86'400;
constexpr int64_t t0 = 1'704'067'200; // 2024-01-01 00:00 UTC, seconds

TEST(seasonal_rules, a_learned_nightly_job_is_quiet_and_a_daytime_surge_is_not) {
  test::temp_dir dir;
  test::vigild node{dir.str() + "/data", {},
                    "detection:\n"
                    "  rules: [\"cpu_seasonal_ratio=seasonal\"]\n"};
  ASSERT_TRUE(node.ready()) << node.proc().stderr_text();
  std::mt19937 gen{5};
  std::normal_distribution<double> noise{0, 0.01};
  int64_t surge = t0 + 7 * day + 14 * 3600;
  int64_t end = surge + 3600;
  for (int64_t from = t0; from < end; from += day / 4) {
    std::string body;
    for (int64_t ts = from; ts < from + day / 4 && ts < end; ts += 60) {
      auto tod = ts % day;
      double cpu = tod >= 2 * 3600 && tod < 2 * 3600 + 1800 ? 0.9 : 0.3;
      if (ts >= surge)
        cpu = 0.75 + 0.1 * static_cast<double>(ts - surge) / 3600;
      double x = cpu + noise(gen);
      for (auto metric : {"cpu_seasonal_ratio", "cpu_default_ratio"})
        body += "{\"service\":\"batchy\",\"metric\":\"" + std::string{metric}
                + "\",\"value\":" + std::to_string(x)
                + ",\"ts\":" + std::to_string(ts) + "}\n";
    }
    auto r = node.post("/api/v1/samples", body, "application/x-ndjson");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200u) << r->body;
  }
  // Both series' last samples reached their detectors.
  ASSERT_TRUE(test::wait_until(
    [&] {
      auto r = node.get("/api/v1/services");
      if (!r)
        return false;
      auto doc = json::parse(r->body);
      for (auto& s : doc["services"])
        if (s["name"] == "batchy")
          return s["samples"].get<int64_t>() >= 2 * (end - t0) / 60;
      return false;
    },
    30s));
  auto r = node.get("/api/v1/anomalies?service=batchy&limit=10000");
  ASSERT_TRUE(r);
  auto doc = json::parse(r->body);
  int seasonal_clean = 0;
  int seasonal_surge = 0;
  int default_nights = 0;
  for (auto& a : doc["anomalies"]) {
    if (a["phase"] != "onset" || a["kind"] != "metric")
      continue;
    auto ts = static_cast<int64_t>(a["ts"].get<double>());
    bool clean = ts >= t0 + 3 * day && ts < surge;
    if (a["metric"] == "cpu_seasonal_ratio") {
      seasonal_clean += clean;
      seasonal_surge += ts >= surge;
      if (ts >= surge) {
        ASSERT_EQ(a["votes"].size(), 1u);
        EXPECT_EQ(a["votes"][0]["detector"], "seasonal");
      }
    } else if (clean) {
      ++default_nights;
    }
  }
  EXPECT_EQ(seasonal_clean, 0) << doc.dump();
  EXPECT_GE(seasonal_surge, 1);
  // Without the rule the nightly job's start fires on most nights.
  EXPECT_GE(default_nights, 3);
}

} // namespace
