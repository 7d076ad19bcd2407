#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/codec/alertmanager.hpp"
#include "tests/support/support.hpp"
#include "tests/unit/codec/test_util.hpp"

namespace {

using namespace vigil;
using namespace vigil::codec;
namespace ct = vigil::codec::test;
using vigil::codec::test::code_of;
using vigil::codec::test::why;

struct expected_alert {
  const char* fingerprint;
  const char* status;
  const char* job;
  int64_t starts_at_ms;
  int64_t ends_at_ms;
};

struct expected_notification {
  const char* fixture;
  const char* status;
  const char* group_key;
  std::vector<expected_alert> alerts;
};

// Times computed independently with Python's datetime from the fixtures.
const std::vector<expected_notification> notifications = {
  {"alertmanager_01_firing_TargetUp_3alerts", "firing",
   "{}:{alertname=\"TargetUp\"}",
   {{"d969b69e3c08a3e7", "firing", "alertmanager", 1795238812012, 0},
    {"6a8c992e4d83290b", "firing", "node", 1795238812012, 0},
    {"a1467e9322984fe1", "firing", "prometheus", 1795238811012, 0}}},
  {"alertmanager_02_firing_NodeLoadNonZero", "firing",
   "{}:{alertname=\"NodeLoadNonZero\"}",
   {{"4310213ff0fb373c", "firing", "node", 1795238812012, 0}}},
  {"alertmanager_03_firing_TargetDown", "firing",
   "{}:{alertname=\"TargetDown\"}",
   {{"fbb469d77be4b93f", "firing", "node", 1795238821012, 0}}},
  {"alertmanager_04_firing_TargetUp_one_resolved", "firing",
   "{}:{alertname=\"TargetUp\"}",
   {{"d969b69e3c08a3e7", "firing", "alertmanager", 1795238812012, 0},
    {"6a8c992e4d83290b", "resolved", "node", 1795238812012, 1795238821012},
    {"a1467e9322984fe1", "firing", "prometheus", 1795238811012, 0}}},
  {"alertmanager_05_resolved_NodeLoadNonZero", "resolved",
   "{}:{alertname=\"NodeLoadNonZero\"}",
   {{"4310213ff0fb373c", "resolved", "node", 1795238812012, 1795238821012}}},
  {"alertmanager_06_firing_NodeLoadNonZero_again", "firing",
   "{}:{alertname=\"NodeLoadNonZero\"}",
   {{"4310213ff0fb373c", "firing", "node", 1795238838012, 0}}},
  {"alertmanager_07_resolved_TargetDown", "resolved",
   "{}:{alertname=\"TargetDown\"}",
   {{"fbb469d77be4b93f", "resolved", "node", 1795238821012, 1795238838012}}},
  {"alertmanager_08_firing_TargetUp_all_up_again", "firing",
   "{}:{alertname=\"TargetUp\"}",
   {{"d969b69e3c08a3e7", "firing", "alertmanager", 1795238812012, 0},
    {"6a8c992e4d83290b", "firing", "node", 1795238838012, 0},
    {"a1467e9322984fe1", "firing", "prometheus", 1795238811012, 0}}},
};

TEST(alertmanager, every_fixture_decodes_all_alerts_with_times_and_fingerprints) {
  for (const auto& n : notifications) {
    SCOPED_TRACE(n.fixture);
    auto text = vigil::test::read_fixture(std::string{n.fixture} + ".json");
    decode_options opts;
    opts.received_ns = 3;
    decode_stats stats;
    auto got = decode_alertmanager(text, opts, &stats);
    ASSERT_TRUE(got) << why(got.error());
    EXPECT_EQ(got->receiver, "capture-webhook");
    EXPECT_EQ(got->status, n.status);
    EXPECT_EQ(got->group_key, n.group_key);
    EXPECT_EQ(got->external_url, "http://127.0.0.1:19093");
    EXPECT_EQ(got->truncated_alerts, 0u);
    EXPECT_EQ(got->received_ns, 3);
    ASSERT_EQ(got->alerts.size(), n.alerts.size());
    EXPECT_EQ(stats.alerts, n.alerts.size());
    auto doc = nlohmann::json::parse(text);
    ASSERT_EQ(got->group_labels.size(), doc["groupLabels"].size());
    ASSERT_EQ(got->common_labels.size(), doc["commonLabels"].size());
    for (const auto& l : got->common_labels)
      EXPECT_EQ(doc["commonLabels"][l.key], l.value);
    for (size_t i = 0; i < n.alerts.size(); ++i) {
      const auto& a = got->alerts[i];
      const auto& w = n.alerts[i];
      SCOPED_TRACE(w.fingerprint);
      EXPECT_EQ(a.fingerprint, w.fingerprint);
      EXPECT_EQ(a.status, w.status);
      EXPECT_EQ(a.starts_at_ms, w.starts_at_ms);
      EXPECT_EQ(a.ends_at_ms, w.ends_at_ms);
      // No "service" label, so "job" names the service.
      EXPECT_EQ(a.service, w.job);
      const auto& jl = doc["alerts"][i]["labels"];
      ASSERT_EQ(a.labels.size(), jl.size());
      for (const auto& l : a.labels)
        EXPECT_EQ(jl[l.key], l.value);
      EXPECT_EQ(a.annotations.size(), doc["alerts"][i]["annotations"].size());
      EXPECT_EQ(a.generator_url, doc["alerts"][i]["generatorURL"]);
      EXPECT_NE(a.generator_url.find("&g0.tab=1"), std::string::npos);
    }
  }
}

TEST(alertmanager, a_resolved_alert_has_its_end_and_a_firing_one_has_zero) {
  auto got = decode_alertmanager(
    vigil::test::read_fixture(
      "alertmanager_04_firing_TargetUp_one_resolved.json"),
    {});
  ASSERT_TRUE(got) << why(got.error());
  EXPECT_EQ(got->alerts[1].status, "resolved");
  EXPECT_EQ(got->alerts[1].ends_at_ms, 1795238821012);
  EXPECT_EQ(got->alerts[0].ends_at_ms, 0);
  EXPECT_EQ(got->alerts[2].ends_at_ms, 0);
}

TEST(alertmanager, service_comes_from_the_configured_labels_or_stays_empty) {
  std::string body = R"({"version":"4","status":"firing","alerts":[
    {"status":"firing","labels":{"service":"db","job":"x"},"startsAt":"2026-01-01T00:00:00Z"},
    {"status":"firing","labels":{"alertname":"A"},"startsAt":"2026-01-01T00:00:00+01:30"}]})";
  auto got = decode_alertmanager(body, {});
  ASSERT_TRUE(got) << why(got.error());
  EXPECT_EQ(got->alerts[0].service, "db");
  EXPECT_EQ(got->alerts[1].service, "");
  EXPECT_EQ(got->alerts[0].starts_at_ms - got->alerts[1].starts_at_ms,
            90 * 60 * 1000);
  decode_options opts;
  opts.service_labels = {"job"};
  got = decode_alertmanager(body, opts);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->alerts[0].service, "x");
}

TEST(alertmanager, other_payload_versions_are_refused_by_name) {
  auto got = decode_alertmanager(
    R"({"version":"5","status":"firing","alerts":[]})", {});
  ASSERT_FALSE(got);
  auto d = describe(got.error());
  EXPECT_EQ(d.code, errc::malformed);
  EXPECT_NE(d.message.find("\"5\""), std::string::npos);
  EXPECT_EQ(d.where, "$.version");
  got = decode_alertmanager(R"({"status":"firing","alerts":[]})", {});
  ASSERT_FALSE(got);
  EXPECT_EQ(describe(got.error()).where, "$.version");
}

TEST(alertmanager, errors_name_the_json_path) {
  struct bad_case {
    std::string body;
    std::string where;
  };
  auto alert = [](const std::string& fields) {
    return R"({"version":"4","status":"firing","alerts":[{"status":"firing","labels":{"a":"b"},"startsAt":"2026-11-21T05:26:52.012Z"},{)"
           + fields + "}]}";
  };
  std::vector<bad_case> cases = {
    {alert(R"("status":"firing","labels":{"a":"b"},"startsAt":"yesterday")"),
     "$.alerts[1].startsAt"},
    {alert(R"("status":"firing","labels":{"a":"b"},"startsAt":"2026-02-30T00:00:00Z")"),
     "$.alerts[1].startsAt"},
    {alert(R"("status":"firing","labels":{"a":"b"},"startsAt":"2026-11-21T05:26:52Z","endsAt":"2026-11-21T05:26:52")"),
     "$.alerts[1].endsAt"},
    {alert(R"("status":"firing","labels":{"a":"b"})"), "$.alerts[1].startsAt"},
    {alert(R"("status":"firing","labels":{"a":1},"startsAt":"2026-11-21T05:26:52Z")"),
     "$.alerts[1].labels.a"},
    {alert(R"("status":"pending","labels":{},"startsAt":"2026-11-21T05:26:52Z")"),
     "$.alerts[1].status"},
    {alert(R"("status":"firing","startsAt":"2026-11-21T05:26:52Z")"),
     "$.alerts[1].labels"},
    {alert(R"("status":"firing","labels":{},"startsAt":5)"),
     "$.alerts[1].startsAt"},
    {R"({"version":"4","status":"firing"})", "$.alerts"},
    {R"({"version":"4","status":"firing","alerts":{}})", "$.alerts"},
    {R"({"version":"4","status":"firing","alerts":[],"truncatedAlerts":-1})",
     "$.truncatedAlerts"},
    {R"({"version":"4","status":"firing","alerts":[],"commonLabels":[]})",
     "$.commonLabels"},
    {R"({"version":4,"status":"firing","alerts":[]})", "$.version"},
    {R"([])", "$"},
  };
  for (const auto& c : cases) {
    auto got = decode_alertmanager(c.body, {});
    ASSERT_FALSE(got) << c.body;
    auto d = describe(got.error());
    EXPECT_EQ(d.code, errc::malformed) << c.body;
    EXPECT_EQ(d.where, c.where) << c.body << " -> " << d.message;
  }
  auto got = decode_alertmanager("{\"version\":", {});
  ASSERT_FALSE(got);
  EXPECT_EQ(describe(got.error()).where.rfind("byte ", 0), 0u);
}

TEST(alertmanager, too_many_alerts_is_too_large) {
  std::string body = R"({"version":"4","status":"firing","alerts":[)";
  for (int i = 0; i < 3; ++i)
    body += std::string{i ? "," : ""}
            + R"({"status":"firing","labels":{},"startsAt":"2026-11-21T05:26:52Z"})";
  body += "]}";
  decode_options opts;
  opts.max_items = 2;
  EXPECT_EQ(code_of(decode_alertmanager(body, opts)), errc::too_large);
  opts.max_items = 3;
  EXPECT_TRUE(decode_alertmanager(body, opts));
}

} // namespace
