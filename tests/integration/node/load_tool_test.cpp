// vigil-load against a real vigild: what it reports as accepted is what the
// node counted, in both wire formats, and it refuses targets off loopback.

#include <gtest/gtest.h>

#include <sys/wait.h>

#include <cstdio>

#include <nlohmann/json.hpp>

#include "tests/support/node/replay.hpp"

using namespace std::chrono_literals;
using namespace vigil;
using json = nlohmann::json;

namespace {

// Runs vigil-load with `args`, its stdout captured. The tool bounds itself
// (--duration, --max-requests), so reading to EOF ends.
test::run_result run_load(const std::string& args) {
  std::string cmd = std::string(VIGIL_BIN_DIR) + "/vigil-load " + args
                    + " 2>/dev/null";
  return test::run_command(cmd);
}

struct load_tool : ::testing::Test {
  test::temp_dir dir;
  std::unique_ptr<test::vigild> node;

  void SetUp() override {
    node = std::make_unique<test::vigild>(dir.str() + "/data");
    ASSERT_TRUE(node->ready()) << node->proc().stderr_text();
  }

  std::string target() const {
    return "http://127.0.0.1:" + std::to_string(node->http_port());
  }
};

TEST_F(load_tool, remote_write_samples_it_reports_are_the_ones_vigild_counted) {
  auto r = run_load("--target " + target()
                    + " --series 3000 --services 30 --batch 500"
                      " --max-requests 60 --duration 60 --connections 2"
                      " --json --quiet");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  auto j = json::parse(r.out);
  EXPECT_EQ(j["format"], "remote_write");
  EXPECT_EQ(j["requests_accepted"].get<uint64_t>(), 60u);
  EXPECT_EQ(j["samples_accepted"].get<uint64_t>(), 60u * 500);
  EXPECT_EQ(j["samples_sent"], j["samples_accepted"]);
  EXPECT_GT(j["samples_per_second"].get<double>(), 0);
  auto p50 = j["ack_latency_ms"]["p50"].get<double>();
  auto p99 = j["ack_latency_ms"]["p99"].get<double>();
  EXPECT_GT(p50, 0);
  EXPECT_GE(p99, p50);
  EXPECT_EQ(test::scrape(*node,
                         "vigil_ingest_samples_total{endpoint=\"remote_write\"}"),
            60.0 * 500);
  // Every sample reached a detector, and every series is tracked.
  EXPECT_TRUE(test::wait_until(
    [&] {
      return test::scrape(*node, "vigil_detector_batch_samples_sum") == 30000;
    },
    30s))
    << test::scrape(*node, "vigil_detector_batch_samples_sum");
  EXPECT_EQ(test::scrape(*node, "vigil_series_active"), 3000.0);
}

TEST_F(load_tool, ndjson_open_loop_run_reports_scheduled_latency) {
  auto r = run_load("--target " + target()
                    + " --format samples --series 200 --batch 100"
                      " --rate 4000 --duration 2 --json --quiet");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  auto j = json::parse(r.out);
  EXPECT_EQ(j["format"], "samples");
  EXPECT_TRUE(j.contains("scheduled_latency_ms"));
  auto accepted = j["samples_accepted"].get<uint64_t>();
  // 4,000 samples/s for 2 s, give or take the batches at the edges.
  EXPECT_GE(accepted, 6000u);
  EXPECT_LE(accepted, 10000u);
  EXPECT_GE(test::scrape(*node, "vigil_ingest_samples_total{endpoint=\"samples\"}"),
            static_cast<double>(accepted));
}

TEST(load_tool_flags, refuses_a_target_off_loopback_and_bad_flags) {
  EXPECT_EQ(run_load("--target http://10.1.2.3:8470 --series 10 --duration 1")
              .exit_code,
            2);
  EXPECT_EQ(run_load("--target http://127.0.0.1:1 --series 0").exit_code, 2);
  EXPECT_EQ(run_load("--target http://127.0.0.1:1 --duration 99999").exit_code,
            2);
}

} // namespace
