#include <gtest/gtest.h>

#include <thread>

#include "runtime/metrics/registry.hpp"

namespace {

TEST(metrics, renders_labelled_counters_in_text_format) {
  vigil::metrics::registry reg;
  auto& requests = reg.counters("vigil_ingest_requests_total",
                                "Ingest requests by endpoint and status.",
                                {"endpoint", "code"});
  requests.with({"remote_write", "204"}).inc(3);
  requests.with({"otlp_metrics", "400"}).inc();
  auto text = reg.expose();
  EXPECT_NE(text.find("# TYPE vigil_ingest_requests_total counter\n"),
            std::string::npos);
  EXPECT_NE(text.find("vigil_ingest_requests_total{endpoint=\"remote_write\","
                      "code=\"204\"} 3\n"),
            std::string::npos);
  EXPECT_NE(text.find("vigil_ingest_requests_total{endpoint=\"otlp_metrics\","
                      "code=\"400\"} 1\n"),
            std::string::npos);
}

TEST(metrics, escapes_label_values) {
  vigil::metrics::registry reg;
  reg.counters("x_total", "h", {"l"}).with({"a\"b\\c\nd"}).inc();
  EXPECT_NE(reg.expose().find("x_total{l=\"a\\\"b\\\\c\\nd\"} 1"),
            std::string::npos);
}

TEST(metrics, histogram_buckets_are_cumulative) {
  vigil::metrics::registry reg;
  auto& h = reg.histograms("lat_seconds", "h", {}, {0.1, 1}).with({});
  h.observe(0.05);
  h.observe(0.5);
  h.observe(5);
  auto text = reg.expose();
  EXPECT_NE(text.find("lat_seconds_bucket{le=\"0.1\"} 1"),
            std::string::npos)
    << text;
  EXPECT_NE(text.find("lat_seconds_bucket{le=\"1\"} 2"), std::string::npos);
  EXPECT_NE(text.find("lat_seconds_bucket{le=\"+Inf\"} 3"), std::string::npos);
  EXPECT_NE(text.find("lat_seconds_count 3"), std::string::npos);
  EXPECT_NEAR(h.quantile(0.5), 0.55, 0.5);
}

TEST(metrics, computed_gauges_are_sampled_at_scrape_time) {
  vigil::metrics::registry reg;
  double current = 1;
  reg.computed_gauge("vigil_series_active", "Live series.", {},
                     [&](const auto& emit) { emit({}, current); });
  EXPECT_NE(reg.expose().find("vigil_series_active 1\n"), std::string::npos);
  current = 42;
  EXPECT_NE(reg.expose().find("vigil_series_active 42\n"), std::string::npos);
}

TEST(metrics, counters_are_exact_under_concurrent_increments) {
  vigil::metrics::registry reg;
  auto& c = reg.counter_("c_total", "h");
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 100000; ++i)
        c.inc();
    });
  for (auto& t : threads)
    t.join();
  EXPECT_EQ(c.value(), 400000u);
}

} // namespace
