// The service feature vector under an Isolation Forest: steps, feature
// globs, a combination anomaly no single series shows, recovery.

#include <gtest/gtest.h>

#include <random>

#include "actors/detector/service_vector.hpp"
#include "runtime/hash.hpp"

using namespace vigil;
using namespace vigil::detector;

namespace {

constexpr int64_t t0 = 1'704'067'200'000;
constexpr int64_t minute = 60'000;

struct vector_test : ::testing::Test {
  iforest_options opts;
  std::vector<anomaly_event> out;
  std::mt19937 gen{11};

  vector_test() {
    opts.features = {"latency_ms", "errors_ratio", "requests_per_s"};
    opts.min_samples = 200;
    opts.sample_size = 128;
    opts.threshold_quantile = 0.99;
  }

  // Trainings run inline, so the test needs no waiting.
  service_vector make() {
    return service_vector{"svc", opts, [](std::function<void()> job) {
                            job();
                          }};
  }

  // One minute of the three metrics, two pods each, several values per
  // step. Latency follows load; errors stay low.
  void minute_of(service_vector& v, int64_t m, double load, double errors) {
    std::normal_distribution<double> n{0, 1};
    for (int pod = 0; pod < 2; ++pod)
      for (int k = 0; k < 4; ++k) {
        int64_t ts = t0 + m * minute + k * 15'000;
        auto emit = [&](const std::string& metric, double x) {
          auto text = metric + "{pod=\"" + std::to_string(pod) + "\"}";
          v.observe(hash64(text), text, ts, x, out);
        };
        emit("latency_ms", 20 + 0.3 * load + n(gen));
        emit("errors_ratio", errors + 0.001 * n(gen));
        emit("requests_per_s", load + 2 * n(gen));
        emit("unrelated_gauge", 1e6 * n(gen));
      }
  }
};

TEST_F(vector_test, is_off_without_features) {
  opts.features.clear();
  auto v = make();
  EXPECT_FALSE(v.enabled());
  v.observe(1, "latency_ms", t0, 1, out);
  EXPECT_TRUE(out.empty());
}

TEST_F(vector_test, flags_a_service_whose_features_leave_their_region) {
  auto v = make();
  std::uniform_real_distribution<double> load{50, 150};
  int64_t m = 0;
  for (; m < 400; ++m)
    minute_of(v, m, load(gen), 0.01);
  EXPECT_EQ(v.vectors(), 399u);
  ASSERT_NE(v.forest(), nullptr);
  EXPECT_GE(v.forest()->trainer().generation(), 1u);
  EXPECT_TRUE(out.empty() || out.size() <= 4u)
    << "a handful of false alarms at most on normal traffic";
  out.clear();
  // Throughput collapses while latency stays at a level seen only under
  // heavy load and errors triple. (A pure break of the latency/load
  // correlation with every value in range is beyond an axis-parallel
  // forest: it scores about 0.29 here.)
  for (int i = 0; i < 3; ++i, ++m) {
    std::normal_distribution<double> n{0, 1};
    for (int pod = 0; pod < 2; ++pod)
      for (int k = 0; k < 4; ++k) {
        int64_t ts = t0 + m * minute + k * 15'000;
        auto emit = [&](const std::string& metric, double x) {
          auto text = metric + "{pod=\"" + std::to_string(pod) + "\"}";
          v.observe(hash64(text), text, ts, x, out);
        };
        emit("latency_ms", 64 + n(gen));
        emit("errors_ratio", 0.03 + 0.001 * n(gen));
        emit("requests_per_s", 20 + 2 * n(gen));
      }
  }
  minute_of(v, m++, 100, 0.01); // closes the last odd step
  ASSERT_FALSE(out.empty());
  auto& onset = out.front();
  EXPECT_EQ(onset.phase, anomaly_phase::onset);
  EXPECT_EQ(onset.metric, "service_vector");
  EXPECT_GE(onset.score, 0.5);
  ASSERT_EQ(onset.votes.size(), 1u);
  EXPECT_EQ(onset.votes[0].detector, "iforest");
  // Back to normal: the stretch ends.
  for (int i = 0; i < 5; ++i)
    minute_of(v, m++, load(gen), 0.01);
  EXPECT_EQ(out.back().phase, anomaly_phase::recovered);
}

TEST_F(vector_test, waits_for_every_feature_and_ignores_late_values) {
  auto v = make();
  // Only two of three features ever arrive: no vector is judged.
  for (int64_t m = 0; m < 50; ++m) {
    v.observe(hash64("latency_ms"), "latency_ms", t0 + m * minute, 1, out);
    v.observe(hash64("errors_ratio"), "errors_ratio", t0 + m * minute, 1,
              out);
  }
  EXPECT_EQ(v.vectors(), 0u);
  v.observe(hash64("requests_per_s"), "requests_per_s", t0 + 50 * minute, 1,
            out);
  v.observe(hash64("requests_per_s"), "requests_per_s", t0 + 51 * minute, 1,
            out);
  EXPECT_EQ(v.vectors(), 1u);
  // A value for a step already judged changes nothing.
  v.observe(hash64("latency_ms"), "latency_ms", t0, 1e9, out);
  EXPECT_EQ(v.vectors(), 1u);
  EXPECT_TRUE(out.empty());
}

TEST_F(vector_test, one_wrong_future_timestamp_does_not_stop_the_vectors) {
  auto v = make();
  for (int64_t m = 0; m < 10; ++m)
    minute_of(v, m, 100, 0.01);
  auto before = v.vectors();
  // A series claims the year 2100.
  v.observe(hash64("latency_ms{pod=\"x\"}"), "latency_ms{pod=\"x\"}",
            4'102'444'800'000, 1, out);
  for (int64_t m = 10; m < 20; ++m)
    minute_of(v, m, 100, 0.01);
  EXPECT_GE(v.vectors(), before + 8);
}

} // namespace
