// From an alert storm to one incident with its root cause, through a real
// vigild: a fault at the bottom of a service graph spreads upwards with
// delays and floods the node with anomalies and Alertmanager alerts; the
// node opens exactly one incident naming the faulty service first. Two
// independent faults in disconnected parts are two incidents. Open
// incidents survive kill -9; people acknowledge and resolve them; silences
// stop new incidents.

#include <gtest/gtest.h>

#include <csignal>
#include <ctime>
#include <set>
#include <random>

#include <nlohmann/json.hpp>

#include "runtime/clock.hpp"
#include "tests/support/node/outage.hpp"
#include "tests/support/node/vigild.hpp"

using namespace std::chrono_literals;
using namespace vigil;
using namespace vigil::test::outage;

namespace {

TEST(incidents, an_outage_is_one_incident_with_its_root_cause_first) {
  test::temp_dir dir;
  test::vigild node{dir.str() + "/data"};
  ASSERT_TRUE(node.ready()) << node.proc().stderr_text();
  auto t = node.post("/api/v1/topology", topology_body().dump(),
                     "application/json");
  ASSERT_TRUE(t && t->status == 200);
  auto o = stream(node, {"orders-db"}, 7);
  std::vector<json> incs;
  ASSERT_TRUE(test::wait_until(
    [&] {
      incs = incidents_since(node, o.fault_ms);
      if (incs.size() != 1 || top_cause(incs[0]) != "orders-db")
        return false;
      uint64_t events = 0;
      for (auto& a : incs[0]["anomalies"])
        events += a["events"].get<uint64_t>();
      return events >= 200 && incs[0]["services"].size() >= 11
             && incs[0]["timeline"].dump().find("\"alert\"")
                  != std::string::npos;
    },
    30s))
    << json(incs).dump(1) << "\nall: "
    << node.get("/api/v1/incidents?status=all")->body << "\nanomalies: "
    << node.get("/api/v1/anomalies?limit=5")->body;
  auto& inc = incs[0];
  // The storm: anomalies of many series plus the alerts, at least 200
  // events over the eleven services, one incident.
  uint64_t events = 0;
  for (auto& a : inc["anomalies"])
    events += a["events"].get<uint64_t>();
  EXPECT_GE(events, 200u) << inc.dump(1);
  EXPECT_TRUE(contains_service(inc, "fe"));
  EXPECT_FALSE(contains_service(inc, "blog-db"));
  EXPECT_EQ(inc["severity"], 5);
  EXPECT_EQ(inc["root_cause"]["service"], "orders-db") << inc.dump(1);
  EXPECT_FALSE(inc["root_cause"]["candidates"][0]["evidence"].empty());
  // The timeline holds the metric anomalies, the alerts and the root
  // cause, in order.
  std::set<std::string> kinds;
  double last = 0;
  for (auto& e : inc["timeline"]) {
    kinds.insert(e["kind"].get<std::string>());
    EXPECT_GE(e["ts"].get<double>(), last);
    last = e["ts"].get<double>();
  }
  EXPECT_TRUE(kinds.count("metric_anomaly"));
  EXPECT_TRUE(kinds.count("alert"));
  EXPECT_TRUE(kinds.count("root_cause"));
  EXPECT_TRUE(kinds.count("status"));
}

TEST(incidents, without_a_topology_the_storm_is_still_one_incident) {
  // No static edges and no traces: the node knows no dependency, so the
  // services group by time alone; the storm is one incident and the
  // ranking (onset order, persistence, size of the deviation) still puts
  // the faulty service near the top.
  test::temp_dir dir;
  test::vigild node{dir.str() + "/data"};
  ASSERT_TRUE(node.ready()) << node.proc().stderr_text();
  auto o = stream(node, {"orders-db"}, 7);
  std::vector<json> incs;
  auto in_top3 = [](const json& inc) {
    const auto& cs = inc["root_cause"]["candidates"];
    for (size_t i = 0; i < cs.size() && i < 3; ++i)
      if (cs[i]["service"] == "orders-db")
        return true;
    return false;
  };
  ASSERT_TRUE(test::wait_until(
    [&] {
      incs = incidents_since(node, o.fault_ms);
      return incs.size() == 1 && incs[0]["services"].size() >= 11
             && !incs[0]["root_cause"].is_null() && in_top3(incs[0]);
    },
    30s))
    << json(incs).dump(1) << "\nall: "
    << node.get("/api/v1/incidents?status=all")->body;
  EXPECT_EQ(incs[0]["domain"], "(unconnected)");
  EXPECT_TRUE(contains_service(incs[0], "fe"));
  EXPECT_FALSE(contains_service(incs[0], "blog-db"));
}

TEST(incidents, two_faults_in_disconnected_parts_are_two_incidents) {
  test::temp_dir dir;
  test::vigild node{dir.str() + "/data"};
  ASSERT_TRUE(node.ready()) << node.proc().stderr_text();
  auto t = node.post("/api/v1/topology", topology_body().dump(),
                     "application/json");
  ASSERT_TRUE(t && t->status == 200);
  auto o = stream(node, {"orders-db", "blog-db"}, 11);
  std::vector<json> incs;
  ASSERT_TRUE(test::wait_until(
    [&] {
      incs = incidents_since(node, o.fault_ms);
      if (incs.size() != 2)
        return false;
      std::set<std::string> causes{top_cause(incs[0]), top_cause(incs[1])};
      return causes == std::set<std::string>{"orders-db", "blog-db"};
    },
    30s))
    << json(incs).dump(1);
}

TEST(incidents, open_incidents_survive_kill_9_and_people_move_them) {
  test::temp_dir dir;
  json before;
  {
    test::vigild node{dir.str() + "/data"};
    ASSERT_TRUE(node.ready()) << node.proc().stderr_text();
    ASSERT_TRUE(node.post("/api/v1/topology", topology_body().dump(),
                          "application/json"));
    auto o = stream(node, {"orders-db"}, 3);
    ASSERT_TRUE(test::wait_until(
      [&] {
        auto incs = incidents_since(node, o.fault_ms);
        if (incs.size() != 1 || top_cause(incs[0]).empty())
          return false;
        before = incs[0];
        return true;
      },
      30s));
    node.proc().signal(SIGKILL);
    ASSERT_TRUE(node.proc().wait(10s));
  }
  test::vigild node{dir.str() + "/data"};
  ASSERT_TRUE(node.ready()) << node.proc().stderr_text();
  auto id = before["id"].get<std::string>();
  http::header_list admin{{"Authorization", "Bearer " + node.admin_token()}};
  auto r = node.get("/api/v1/incidents/" + id);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200u) << r->body;
  auto after = json::parse(r->body);
  EXPECT_EQ(after["services"], before["services"]);
  EXPECT_EQ(after["status"], "open");
  EXPECT_EQ(top_cause(after), top_cause(before));
  EXPECT_EQ(after["anomalies"].size(), before["anomalies"].size());
  // Still listed as open.
  auto open = node.get("/api/v1/incidents");
  ASSERT_TRUE(open && open->status == 200);
  EXPECT_NE(open->body.find(id), std::string::npos);
  // People move it forward, never back; bad requests say why.
  auto ack = node.post("/api/v1/incidents/" + id + "/ack",
                       R"({"by":"alice","comment":"on it"})",
                       "application/json", admin);
  ASSERT_TRUE(ack);
  ASSERT_EQ(ack->status, 200u) << ack->body;
  EXPECT_EQ(json::parse(ack->body)["status"], "acknowledged");
  auto again = node.post("/api/v1/incidents/" + id + "/ack",
                         R"({"by":"bob"})", "application/json", admin);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 400u) << again->body;
  auto nobody = node.post("/api/v1/incidents/" + id + "/resolve", "{}",
                          "application/json", admin);
  ASSERT_TRUE(nobody);
  EXPECT_EQ(nobody->status, 400u);
  EXPECT_NE(nobody->body.find("by"), std::string::npos);
  auto res = node.post("/api/v1/incidents/" + id + "/resolve",
                       R"({"by":"alice"})", "application/json", admin);
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200u) << res->body;
  auto done = json::parse(res->body);
  EXPECT_EQ(done["status"], "resolved");
  EXPECT_FALSE(done["resolved_at"].is_null());
  EXPECT_NE(done["timeline"].dump().find("acknowledged by alice: on it"),
            std::string::npos);
  auto unknown = node.get("/api/v1/incidents/INC-999999");
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 404u);
  auto garbage = node.get("/api/v1/incidents/INC-x");
  ASSERT_TRUE(garbage);
  EXPECT_EQ(garbage->status, 400u);
}

TEST(incidents, silences_stop_new_incidents_and_can_be_expired) {
  test::temp_dir dir;
  test::vigild node{dir.str() + "/data"};
  ASSERT_TRUE(node.ready()) << node.proc().stderr_text();
  ASSERT_TRUE(node.post("/api/v1/topology", topology_body().dump(),
                        "application/json"));
  http::header_list admin{{"Authorization", "Bearer " + node.admin_token()}};
  auto bad = node.post("/api/v1/silences",
                       R"({"matchers":["service=~\"(\""],"duration":"1h",)"
                       R"("author":"ops"})",
                       "application/json", admin);
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400u);
  EXPECT_NE(bad->body.find("matchers[0]"), std::string::npos) << bad->body;
  // Silence the blog for the whole replayed span.
  auto from = wall_ms() / 1000 - 2 * (history_steps + fault_steps) * step_s;
  json s{{"matchers", json::array({R"(service=~"blog-.*")"})},
         {"startsAt", from},
         {"duration", "4h"},
         {"author", "ops"},
         {"comment", "blog migration"}};
  auto added = node.post("/api/v1/silences", s.dump(), "application/json",
                         admin);
  ASSERT_TRUE(added);
  ASSERT_EQ(added->status, 200u) << added->body;
  auto sid = json::parse(added->body)["id"].get<std::string>();
  auto o = stream(node, {"orders-db", "blog-db"}, 5);
  std::vector<json> incs;
  ASSERT_TRUE(test::wait_until(
    [&] {
      incs = incidents_since(node, o.fault_ms);
      return incs.size() == 1 && top_cause(incs[0]) == "orders-db";
    },
    30s))
    << json(incs).dump(1);
  for (auto& inc : incs)
    EXPECT_FALSE(contains_service(inc, "blog-db")) << inc.dump(1);
  auto list = node.get("/api/v1/silences");
  ASSERT_TRUE(list && list->status == 200);
  EXPECT_NE(list->body.find("blog migration"), std::string::npos);
  auto c = node.client();
  http::header_list auth{{"Authorization", "Bearer " + node.admin_token()}};
  auto del = c.send(http::verb::delete_, "/api/v1/silences/" + sid, "", auth);
  ASSERT_TRUE(del);
  EXPECT_EQ(del->status, 200u) << del->body;
  auto del2 = c.send(http::verb::delete_, "/api/v1/silences/" + sid, "", auth);
  ASSERT_TRUE(del2);
  EXPECT_EQ(del2->status, 404u);
}

} // namespace
