// A real Alertmanager 0.25 notifying a real vigild through its webhook, fed
// by hand through Alertmanager's API v2 and by a real Prometheus 2.42 whose
// rules fire and resolve.

#include <gtest/gtest.h>

#include <ctime>

#include <nlohmann/json.hpp>

#include "tests/integration/compat/fixture.hpp"

using namespace std::chrono_literals;
using json = nlohmann::json;

namespace vigil::test {
namespace {

// `t` as RFC 3339 UTC, the way Alertmanager's API wants times.
std::string rfc3339(std::chrono::system_clock::time_point t) {
  auto secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

struct alertmanager : compat_test {
  peer* am = nullptr;

  // vigild and an Alertmanager whose only route is vigild's webhook.
  void start_alerting() {
    start_node();
    ASSERT_TRUE(node->ready()) << node->proc().stderr_text();
    alertmanager_options opts;
    opts.webhook_url = node_url("/api/v1/alerts/alertmanager");
    am = start(alertmanager_spec(opts, dir.path()));
    ASSERT_NE(am, nullptr);
  }

  double alerts(const std::string& status) {
    return node_metric("vigil_alerts_received_total", {{"status", status}})
      .value_or(0);
  }

  double am_metric(const std::string& name,
                   const std::vector<label_match>& labels) {
    return metric_sum(am->metrics(), name, labels).value_or(-1);
  }

  // Alertmanager's own account of its webhook deliveries matches vigild's:
  // as many calls answered 200 as Alertmanager made, none failed, nothing
  // refused. vigild counts a response once it is written, so this may lag
  // the delivery by a moment.
  void expect_webhook_deliveries_succeeded() {
    double sent = 0;
    std::optional<double> ok;
    std::optional<double> all;
    EXPECT_TRUE(wait_until(
      [&] {
        sent = am_metric("alertmanager_notifications_total",
                         {{"integration", "webhook"}});
        auto text = node_metrics();
        ok = metric_sum(text, "vigil_ingest_requests_total",
                        {{"endpoint", "alertmanager"}, {"code", "200"}});
        all = metric_sum(text, "vigil_ingest_requests_total",
                         {{"endpoint", "alertmanager"}});
        return sent >= 1 && ok == sent && all == ok;
      },
      10s))
      << "Alertmanager made " << sent << " webhook calls; vigild answered "
      << ok.value_or(0) << " with 200 out of " << all.value_or(0);
    EXPECT_EQ(am_metric("alertmanager_notifications_failed_total",
                        {{"integration", "webhook"}}),
              0);
    EXPECT_EQ(
      node_metric("vigil_ingest_rejected_total", {{"endpoint", "alertmanager"}})
        .value_or(0),
      0);
  }
};

TEST_F(alertmanager, webhook_delivers_a_firing_and_then_resolved_alert) {
  if (auto why = missing({alertmanager_binary}))
    GTEST_SKIP() << *why;
  ASSERT_NO_FATAL_FAILURE(start_alerting());
  // Started a minute ago, so the resolving post below can end it in the
  // past and still after its start.
  auto starts = std::chrono::system_clock::now() - 60s;
  json alert = {{"labels",
                 {{"alertname", "CheckoutLatencyHigh"},
                  {"service", "checkout"},
                  {"severity", "critical"}}},
                {"annotations", {{"summary", "p99 latency above 2s"}}},
                {"startsAt", rfc3339(starts)},
                {"generatorURL", "http://127.0.0.1/compat"}};
  ASSERT_EQ(http_post(am->port(), "/api/v2/alerts", json::array({alert}).dump(),
                      "application/json"),
            200u);
  EXPECT_TRUE(wait_until([&] { return alerts("firing") >= 1; }, 20s))
    << "vigild saw " << alerts("firing") << " firing alerts";
  EXPECT_GE(
    node_metric("vigil_ingest_routed_total", {{"kind", "alert"}}).value_or(0),
    1);
  EXPECT_EQ(alerts("resolved"), 0);
  // Resolve it: the same labels with an end in the past.
  alert["endsAt"] = rfc3339(std::chrono::system_clock::now() - 1s);
  ASSERT_EQ(http_post(am->port(), "/api/v2/alerts", json::array({alert}).dump(),
                      "application/json"),
            200u);
  EXPECT_TRUE(wait_until([&] { return alerts("resolved") >= 1; }, 20s))
    << "vigild saw " << alerts("resolved") << " resolved alerts";
  expect_webhook_deliveries_succeeded();
}

TEST_F(alertmanager, prometheus_rule_alerts_reach_vigild_and_resolve) {
  if (auto why
      = missing({prometheus_binary, alertmanager_binary, node_exporter_binary}))
    GTEST_SKIP() << *why;
  ASSERT_NO_FATAL_FAILURE(start_alerting());
  auto exporter = start(node_exporter_spec());
  ASSERT_NE(exporter, nullptr);
  prometheus_options opts;
  opts.jobs = {{"node", exporter->port()}};
  opts.alertmanager_port = am->port();
  opts.rules_yaml = R"(groups:
  - name: compat
    interval: 1s
    rules:
      - alert: NodeExporterUp
        expr: up{job="node"} == 1
        for: 0s
        labels:
          severity: warning
        annotations:
          summary: "{{ $labels.instance }} is up"
)";
  auto prom = start(prometheus_spec(opts, dir.path()));
  ASSERT_NE(prom, nullptr);
  // Prometheus evaluates the rule, sends the alert to Alertmanager, which
  // groups it and calls vigild's webhook.
  EXPECT_TRUE(wait_until([&] { return alerts("firing") >= 1; }, 30s))
    << "vigild saw " << alerts("firing") << " firing alerts";
  EXPECT_GE(metric_sum(prom->metrics(), "prometheus_notifications_sent_total")
              .value_or(0),
            1);
  EXPECT_EQ(metric_sum(prom->metrics(), "prometheus_notifications_errors_total")
              .value_or(-1),
            0);
  EXPECT_GE(
    am_metric("alertmanager_alerts_received_total", {{"status", "firing"}}), 1);
  EXPECT_EQ(alerts("resolved"), 0);
  // The exporter goes away: the rule stops matching, Prometheus tells
  // Alertmanager the alert ended, and Alertmanager sends the resolution.
  exporter->kill();
  EXPECT_TRUE(wait_until([&] { return alerts("resolved") >= 1; }, 30s))
    << "vigild saw " << alerts("resolved") << " resolved alerts";
  expect_webhook_deliveries_succeeded();
}

} // namespace
} // namespace vigil::test
