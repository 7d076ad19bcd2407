// A real Prometheus 2.42 scraping itself and a real node-exporter every
// second, remote-writing to a real vigild: every series arrives, nothing is
// refused, lost or retried, and killing the exporter ends its series through
// Prometheus's staleness markers.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/integration/compat/fixture.hpp"

using namespace std::chrono_literals;
using json = nlohmann::json;

namespace vigil::test {
namespace {

struct remote_write : compat_test {
  peer* exporter = nullptr;
  peer* prom = nullptr;

  // vigild, node-exporter (job "node") and Prometheus (job "prometheus")
  // remote-writing to vigild with a short batch deadline.
  void start_stack() {
    start_node();
    ASSERT_TRUE(node->ready()) << node->proc().stderr_text();
    exporter = start(node_exporter_spec());
    ASSERT_NE(exporter, nullptr);
    prometheus_options opts;
    opts.jobs = {{"prometheus", 0}, {"node", exporter->port()}};
    opts.remote_write_url = node_url("/api/v1/write");
    prom = start(prometheus_spec(opts, dir.path()));
    ASSERT_NE(prom, nullptr);
  }

  // The number of series Prometheus itself holds for `job` right now, from
  // its query API; -1 when it does not answer.
  int prometheus_series(const std::string& job) {
    auto body
      = prom->get("/api/v1/query?query=count(%7Bjob%3D%22" + job + "%22%7D)");
    if (!body)
      return -1;
    auto j = json::parse(*body, nullptr, false);
    if (!j.is_object() || j["data"]["result"].empty())
      return -1;
    return std::stoi(j["data"]["result"][0]["value"][1].get<std::string>());
  }

  int count(const json& s, const char* key) {
    return s.is_null() ? -1 : s.value(key, -1);
  }

  double prometheus_metric(const std::string& name) {
    return metric_sum(prom->metrics(), name, {{"remote_name", "vigil"}})
      .value_or(-1);
  }

  double vigil_samples() {
    return node_metric("vigil_ingest_samples_total",
                       {{"endpoint", "remote_write"}})
      .value_or(0);
  }
};

TEST_F(remote_write, takes_every_series_a_real_prometheus_scrapes) {
  if (auto why = missing({prometheus_binary, node_exporter_binary}))
    GTEST_SKIP() << *why;
  ASSERT_NO_FATAL_FAILURE(start_stack());
  // Both jobs show up as services (service = job label) with their series.
  ASSERT_TRUE(wait_until(
    [&] {
      return count(service("prometheus"), "series") > 100
             && count(service("node"), "series") > 100;
    },
    40s))
    << "prometheus: " << service("prometheus").dump()
    << "\nnode: " << service("node").dump();
  // node-exporter's series set is fixed after its first scrape, so vigild
  // ends up holding exactly the series Prometheus holds for it.
  int want = 0;
  EXPECT_TRUE(wait_until(
    [&] {
      want = prometheus_series("node");
      return want > 100 && count(service("node"), "series") == want;
    },
    20s, 200ms))
    << "Prometheus holds " << want << " node series, vigild "
    << service("node").dump();
  // Prometheus counts samples before it sends them, so vigild can never be
  // ahead of it, and catches up with what Prometheus counted a moment ago.
  auto taken_before = vigil_samples();
  auto sent = prometheus_metric("prometheus_remote_storage_samples_total");
  EXPECT_GE(sent, taken_before);
  EXPECT_TRUE(wait_until([&] { return vigil_samples() >= sent; }, 15s))
    << "Prometheus sent " << sent << " samples, vigild took "
    << vigil_samples();
  // Nothing refused, failed, retried or dropped on either side.
  EXPECT_EQ(prometheus_metric("prometheus_remote_storage_samples_failed_total"),
            0);
  EXPECT_EQ(
    prometheus_metric("prometheus_remote_storage_samples_retried_total"), 0);
  EXPECT_EQ(
    prometheus_metric("prometheus_remote_storage_samples_dropped_total"), 0);
  // Metadata goes out on its own timer, in requests without samples.
  EXPECT_TRUE(wait_until(
    [&] {
      return prometheus_metric("prometheus_remote_storage_metadata_total") > 0;
    },
    20s, 200ms))
    << "Prometheus sent no metadata";
  EXPECT_EQ(
    prometheus_metric("prometheus_remote_storage_metadata_failed_total"), 0);
  auto text = node_metrics();
  auto ok = metric_sum(text, "vigil_ingest_requests_total",
                       {{"endpoint", "remote_write"}, {"code", "204"}});
  ASSERT_TRUE(ok);
  EXPECT_GT(*ok, 0);
  EXPECT_EQ(metric_sum(text, "vigil_ingest_requests_total",
                       {{"endpoint", "remote_write"}}),
            ok)
    << "every remote write request answered 204";
  EXPECT_EQ(
    node_metric("vigil_ingest_rejected_total", {{"endpoint", "remote_write"}})
      .value_or(0),
    0);
  EXPECT_EQ(node_metric("vigil_samples_out_of_order_total").value_or(0), 0)
    << "Prometheus sends each series in order";
  EXPECT_EQ(node_metric("vigil_samples_dropped_total").value_or(0), 0);
}

TEST_F(remote_write, staleness_markers_end_a_killed_exporters_series) {
  if (auto why = missing({prometheus_binary, node_exporter_binary}))
    GTEST_SKIP() << *why;
  ASSERT_NO_FATAL_FAILURE(start_stack());
  // Every node series has arrived and is live.
  json before;
  int live = 0;
  ASSERT_TRUE(wait_until(
    [&] {
      before = service("node");
      live = prometheus_series("node");
      return live > 100 && count(before, "series_active") == live;
    },
    40s, 200ms))
    << "Prometheus holds " << live << " node series, vigild " << before.dump();
  auto samples_before = vigil_samples();
  exporter->kill();
  // The next failed scrape makes Prometheus write a staleness marker for
  // every series of the target; only the five series Prometheus writes about
  // each scrape itself (up = 0, scrape_duration_seconds, ...) stay live, in
  // Prometheus and in vigild alike.
  json after;
  EXPECT_TRUE(wait_until(
    [&] {
      after = service("node");
      live = prometheus_series("node");
      return live >= 1 && live <= 5 && count(after, "series_active") == live;
    },
    20s, 200ms))
    << "Prometheus holds " << live << " live node series; vigild before the "
    << "kill: " << before.dump() << "\nafter: " << after.dump();
  EXPECT_GE(count(after, "series"), count(before, "series"))
    << "ended series are still known";
  EXPECT_GT(vigil_samples(), samples_before);
  // Markers are not values: nothing was judged out of order or refused.
  EXPECT_EQ(
    node_metric("vigil_ingest_rejected_total", {{"endpoint", "remote_write"}})
      .value_or(0),
    0);
  EXPECT_EQ(node_metric("vigil_samples_out_of_order_total").value_or(0), 0);
  EXPECT_EQ(prometheus_metric("prometheus_remote_storage_samples_failed_total"),
            0);
  // The prometheus job was not touched.
  auto p = service("prometheus");
  EXPECT_GT(count(p, "series_active"), 100) << p.dump();
}

} // namespace
} // namespace vigil::test
