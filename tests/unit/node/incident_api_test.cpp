// The incident and silence resources of the HTTP API: ids, bodies people
// send (with every way they can be wrong), and the incident object.

#include "tools/node/incident_api.hpp"

#include <gtest/gtest.h>

#include "config/rules.hpp"

using namespace vigil;
using namespace vigil::node;

namespace {

constexpr int64_t now = 1'795'000'000'000;

std::string why(const caf::error& err) {
  return rule_error_text(err);
}

TEST(incident_api, ids_read_in_every_spelling_people_use) {
  EXPECT_EQ(incident_id_text(42), "INC-000042");
  EXPECT_EQ(incident_id_text(1234567), "INC-1234567");
  EXPECT_EQ(parse_incident_id("INC-000042"), 42u);
  EXPECT_EQ(parse_incident_id("inc-42"), 42u);
  EXPECT_EQ(parse_incident_id("42"), 42u);
  for (auto bad : {"", "INC-", "INC-x", "0", "-1", "42a", "INC-00000000000000000001"})
    EXPECT_FALSE(parse_incident_id(bad)) << bad;
}

TEST(incident_api, ack_and_resolve_bodies_need_a_name) {
  auto ok = parse_incident_command(R"({"by":"alice","comment":"on it"})",
                                   "acknowledged");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->by, "alice");
  EXPECT_EQ(ok->comment, "on it");
  EXPECT_EQ(ok->to, "acknowledged");
  auto no_by = parse_incident_command("{}", "resolved");
  ASSERT_FALSE(no_by);
  EXPECT_NE(why(no_by.error()).find("by"), std::string::npos);
  EXPECT_FALSE(parse_incident_command(R"({"by":""})", "resolved"));
  EXPECT_FALSE(parse_incident_command(R"({"by":7})", "resolved"));
  EXPECT_FALSE(parse_incident_command(R"({"by":"a","comment":[]})",
                                      "resolved"));
  EXPECT_FALSE(parse_incident_command("not json", "resolved"));
  EXPECT_FALSE(parse_incident_command(R"(["by"])", "resolved"));
  EXPECT_FALSE(parse_incident_command(
    R"({"by":")" + std::string(300, 'x') + R"("})", "resolved"));
}

TEST(incident_api, silences_take_text_or_alertmanager_matchers) {
  auto s = parse_silence(
    R"({"matchers":["service=~\"pay.*\"",
                    {"name":"env","value":"prod"},
                    {"name":"team","value":"a|b","isRegex":true,"isEqual":false}],
        "startsAt":1795000000,"endsAt":"2026-11-18T13:00:00Z",
        "createdBy":"ops","comment":"migration"})",
    now);
  ASSERT_TRUE(s) << why(s.error());
  EXPECT_EQ(s->matchers, (std::vector<std::string>{
                           R"(service=~"pay.*")", R"(env="prod")",
                           R"(team!~"a|b")"}));
  EXPECT_EQ(s->starts_ms, 1'795'000'000'000);
  EXPECT_GT(s->ends_ms, s->starts_ms);
  EXPECT_EQ(s->author, "ops");
  // A duration instead of an end, starting now.
  auto d = parse_silence(
    R"({"matchers":["service=x"],"duration":"2h","author":"ops"})", now);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->starts_ms, now);
  EXPECT_EQ(d->ends_ms, now + 2 * 3'600'000);
  auto j = silence_json(*d);
  EXPECT_EQ(j["author"], "ops");
  EXPECT_DOUBLE_EQ(j["endsAt"].get<double>(), (now + 7'200'000) / 1000.0);
}

TEST(incident_api, weekly_windows_recur) {
  auto w = parse_silence(
    R"({"matchers":["service=batch"],"author":"ops",
        "recurrence":{"weekdays":["sat","sun"],"start":"02:30",
                      "duration":"90m"}})",
    now);
  ASSERT_TRUE(w) << why(w.error());
  EXPECT_EQ(w->weekdays, 0x60u);
  EXPECT_EQ(w->start_minute, 150u);
  EXPECT_EQ(w->duration_minutes, 90u);
  auto j = silence_json(*w);
  EXPECT_EQ(j["recurrence"]["weekdays"], (nlohmann::json{"sat", "sun"}));
  EXPECT_EQ(j["recurrence"]["start"], "02:30");
  EXPECT_EQ(j["recurrence"]["duration"], "1h30m");
}

TEST(incident_api, a_bad_silence_says_which_field) {
  struct bad_case {
    const char* body;
    const char* field;
  };
  const bad_case cases[] = {
    {R"({"author":"ops","duration":"1h"})", "matchers"},
    {R"({"matchers":[],"author":"ops","duration":"1h"})", "matchers"},
    {R"({"matchers":[7],"author":"ops","duration":"1h"})", "matchers[0]"},
    {R"({"matchers":["a=b"],"duration":"1h"})", "author"},
    {R"({"matchers":["a=b"],"author":"ops"})", "endsAt"},
    {R"({"matchers":["a=b"],"author":"ops","duration":"soon"})", "duration"},
    {R"({"matchers":["a=b"],"author":"ops","endsAt":"tomorrow"})", "endsAt"},
    {R"({"matchers":["a=b"],"author":"ops","startsAt":true,"duration":"1h"})",
     "startsAt"},
    {R"({"matchers":["a=b"],"author":"ops","recurrence":{"weekdays":["fun"],
        "start":"02:00","duration":"1h"}})",
     "recurrence.weekdays"},
    {R"({"matchers":["a=b"],"author":"ops","recurrence":{"weekdays":["mon"],
        "start":"25:00","duration":"1h"}})",
     "recurrence.start"},
    {R"({"matchers":["a=b"],"author":"ops","recurrence":{"weekdays":["mon"],
        "start":"02:00"}})",
     "recurrence.duration"},
    {R"({"matchers":["a=b"],"author":"ops","endsAt":1,"recurrence":{
        "weekdays":["mon"],"start":"02:00","duration":"1h"}})",
     "startsAt/endsAt"},
    {"[]", "JSON object"},
  };
  for (const auto& c : cases) {
    auto r = parse_silence(c.body, now);
    ASSERT_FALSE(r) << c.body;
    EXPECT_NE(why(r.error()).find(c.field), std::string::npos)
      << c.body << " -> " << why(r.error());
  }
}

TEST(incident_api, the_incident_object_has_the_contract_shape) {
  incident_view v;
  v.id = 42;
  v.status = "open";
  v.severity = 4;
  v.type = "database_connection_exhaustion";
  v.title = "database_connection_exhaustion in orders-db (+1 service)";
  v.services = {"checkout", "orders-db"};
  v.opened_ms = 1'700'000'000'000;
  v.detected_ms = 1'700'000'030'000;
  v.updated_ms = 1'700'000'300'000;
  v.root_cause.candidates = {{"orders-db", 0.82, {"deploy 10 min before"}, 1}};
  v.root_cause.confidence_level = "high";
  v.root_cause.confidence = 0.82;
  v.symptoms = {{"orders-db", "db_connections_in_use", "db_connections_in_use",
                 "metric", 1'700'000'000'000, 1'700'000'100'000, 0.9, 3,
                 false, {"ewma", "cusum"}}};
  v.timeline = {{1'700'000'000'000, "metric_anomaly", "orders-db", "x"}};
  auto j = incident_json(v, false);
  EXPECT_EQ(j["id"], "INC-000042");
  EXPECT_EQ(j["severity"], 4);
  EXPECT_DOUBLE_EQ(j["opened_at"].get<double>(), 1'700'000'000.0);
  EXPECT_DOUBLE_EQ(j["detected_at"].get<double>(), 1'700'000'030.0);
  EXPECT_TRUE(j["resolved_at"].is_null());
  EXPECT_EQ(j["root_cause"]["service"], "orders-db");
  EXPECT_DOUBLE_EQ(j["root_cause"]["confidence"].get<double>(), 0.82);
  EXPECT_EQ(j["root_cause"]["candidates"][0]["evidence"][0],
            "deploy 10 min before");
  EXPECT_EQ(j["anomalies"][0]["detectors"],
            (nlohmann::json{"ewma", "cusum"}));
  EXPECT_DOUBLE_EQ(j["anomalies"][0]["ts"].get<double>(), 1'700'000'000.0);
  // Still anomalous: no recovery time; once recovered, when and for how
  // long (what a re-ranking of the dump needs).
  EXPECT_TRUE(j["anomalies"][0]["recovered_at"].is_null());
  v.symptoms[0].recovered = true;
  v.symptoms[0].recovered_ms = 1'700'000'160'000;
  v.symptoms[0].ended_ms = 160'000;
  auto healed = incident_json(v, false)["anomalies"][0];
  EXPECT_DOUBLE_EQ(healed["recovered_at"].get<double>(), 1'700'000'160.0);
  EXPECT_DOUBLE_EQ(healed["anomalous_s"].get<double>(), 160.0);
  EXPECT_TRUE(healed["active_since"].is_null());
  EXPECT_EQ(j["timeline"][0]["kind"], "metric_anomaly");
  EXPECT_TRUE(j["actions"].is_array());
  EXPECT_TRUE(j.contains("summary"));
  // An honest "unknown" names no root-cause service.
  v.root_cause.confidence_level = "unknown";
  EXPECT_TRUE(incident_json(v, true)["root_cause"]["service"].is_null());
  EXPECT_FALSE(incident_json(v, true).contains("timeline"));
}

} // namespace
