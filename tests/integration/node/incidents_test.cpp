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
#include "tests/support/node/vigild.hpp"

using namespace std::chrono_literals;
using namespace vigil;
using json = nlohmann::json;

namespace {

constexpr int step_s = 10;
constexpr int history_steps = 200;
constexpr int fault_steps = 30;
constexpr int hop_delay_steps = 2;

// Shop: fe -> {cart, search, checkout}; checkout -> {orders, payments};
// orders -> orders-db; payments -> orders-db; cart -> cache;
// search -> index; checkout -> cache; fe -> auth; auth -> users-db;
// mobile-bff -> checkout; partner-api -> orders; reports -> orders-db;
// admin -> reports; billing -> orders-db; invoices -> billing: a fault in
// orders-db reaches ten services.
// Blog (disconnected): blog-web -> blog-api -> blog-db.
const std::vector<std::pair<std::string, std::string>> edges = {
  {"fe", "cart"},         {"fe", "search"},        {"fe", "checkout"},
  {"checkout", "orders"}, {"checkout", "payments"}, {"orders", "orders-db"},
  {"payments", "orders-db"}, {"cart", "cache"},    {"search", "index"},
  {"checkout", "cache"},  {"fe", "auth"},          {"auth", "users-db"},
  {"mobile-bff", "checkout"}, {"partner-api", "orders"},
  {"reports", "orders-db"}, {"admin", "reports"}, {"billing", "orders-db"},
  {"invoices", "billing"},
  {"blog-web", "blog-api"}, {"blog-api", "blog-db"}};

std::vector<std::string> services() {
  std::vector<std::string> out;
  for (auto& [a, b] : edges)
    for (auto* s : {&a, &b})
      if (std::find(out.begin(), out.end(), *s) == out.end())
        out.push_back(*s);
  std::sort(out.begin(), out.end());
  return out;
}

// Hops from `root` up to `s` along reversed call edges; -1 when `s` does
// not (transitively) call `root`.
int hops(const std::string& s, const std::string& root) {
  if (s == root)
    return 0;
  int best = -1;
  for (auto& [caller, callee] : edges)
    if (caller == s) {
      int h = hops(callee, root);
      if (h >= 0 && (best < 0 || h + 1 < best))
        best = h + 1;
    }
  return best;
}

json topology_body() {
  json es = json::array();
  for (auto& [a, b] : edges)
    es.push_back({{"caller", a}, {"callee", b}});
  return json{{"edges", es}};
}

// Samples of every service (3 metrics x 10 pods), a fault at each root from
// `fault_at` on, spreading to callers hop by hop.
std::string samples(int64_t t0_s, int from, int to, int fault_at,
                    const std::vector<std::string>& roots, uint32_t seed) {
  std::mt19937 gen{seed};
  std::normal_distribution<double> noise{0, 1};
  std::string out;
  auto svcs = services();
  for (int i = from; i < to; ++i)
    for (auto& s : svcs) {
      int h = -1;
      for (auto& r : roots) {
        int x = hops(s, r);
        if (x >= 0 && (h < 0 || x < h))
          h = x;
      }
      bool hit = h >= 0 && i >= fault_at + h * hop_delay_steps;
      for (int pod = 0; pod < 10; ++pod)
        for (auto metric : {"latency_ms", "error_ratio", "cpu_usage"}) {
          double base = std::string{metric} == "latency_ms"    ? 100
                        : std::string{metric} == "error_ratio" ? 1
                                                               : 50;
          double v = base + base * 0.03 * noise(gen);
          if (hit)
            v = base * (h == 0 ? 6 : 4);
          json line{{"service", s},
                    {"metric", metric},
                    {"value", v},
                    {"ts", t0_s + i * step_s},
                    {"labels", {{"pod", s + "-" + std::to_string(pod)}}}};
          out += line.dump();
          out += '\n';
        }
    }
  return out;
}

// RFC 3339 for the alert times, from Unix seconds.
std::string rfc3339(int64_t s) {
  std::time_t t = s;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string alerts_body(const std::vector<std::string>& roots,
                        int64_t at_ms) {
  json alerts = json::array();
  for (auto& s : services()) {
    int h = -1;
    for (auto& r : roots)
      if (int x = hops(s, r); x >= 0 && (h < 0 || x < h))
        h = x;
    if (h < 0)
      continue;
    for (int k = 0; k < 3; ++k) {
      auto starts = at_ms + (h * hop_delay_steps + 1) * step_s * 1000;
      alerts.push_back(
        {{"status", "firing"},
         {"labels",
          {{"alertname", k == 0 ? "HighLatency"
                         : k == 1 ? "HighErrorRate"
                                  : "HighCPU"},
           {"service", s},
           {"severity", "warning"}}},
         {"annotations", json::object()},
         {"startsAt", rfc3339(starts / 1000)},
         {"endsAt", "0001-01-01T00:00:00Z"},
         {"generatorURL", "http://prometheus/graph"},
         {"fingerprint", s + std::to_string(k)}});
    }
  }
  return json{{"version", "4"},
              {"groupKey", "{}:{alertname=\"storm\"}"},
              {"truncatedAlerts", 0},
              {"status", "firing"},
              {"receiver", "vigil"},
              {"groupLabels", json::object()},
              {"commonLabels", json::object()},
              {"commonAnnotations", json::object()},
              {"externalURL", "http://alertmanager"},
              {"alerts", alerts}}
    .dump();
}

struct outage {
  int64_t t0_s = 0;
  int64_t fault_ms = 0;
};

// History, then the fault; alerts in the middle of the storm.
outage stream(const test::vigild& node, const std::vector<std::string>& roots,
              uint32_t seed) {
  outage o;
  o.t0_s = wall_ms() / 1000 - (history_steps + fault_steps) * step_s;
  o.fault_ms = (o.t0_s + history_steps * step_s) * 1000;
  auto post = [&](const std::string& body) {
    auto r = node.post("/api/v1/samples", body, "application/x-ndjson");
    EXPECT_TRUE(r && r->status == 200) << (r ? r->body : "no answer");
  };
  for (int from = 0; from < history_steps + fault_steps; from += 20) {
    post(samples(o.t0_s, from, std::min(from + 20, history_steps + fault_steps),
                 history_steps, roots, seed + from));
    if (from == history_steps + 20) {
      auto r = node.post("/api/v1/alerts/alertmanager",
                         alerts_body(roots, o.fault_ms), "application/json");
      EXPECT_TRUE(r && r->status == 200) << (r ? r->body : "no answer");
    }
  }
  return o;
}

// Incidents opened at or after the fault, whole.
std::vector<json> incidents_since(const test::vigild& node, int64_t from_ms) {
  std::vector<json> out;
  auto r = node.get("/api/v1/incidents?status=all&limit=100");
  if (!r || r->status != 200)
    return out;
  auto all = json::parse(r->body);
  for (auto& brief : all["incidents"]) {
    if (brief.contains("merged_into"))
      continue;
    if (brief["opened_at"].get<double>() * 1000 < from_ms - 60'000)
      continue;
    auto one = node.get("/api/v1/incidents/" + brief["id"].get<std::string>());
    if (one && one->status == 200)
      out.push_back(json::parse(one->body));
    else
      ADD_FAILURE() << (one ? one->body : std::string{"no answer"});
  }
  return out;
}

std::string top_cause(const json& inc) {
  if (inc["root_cause"].is_null())
    return {};
  auto& c = inc["root_cause"]["candidates"];
  return c.empty() ? std::string{} : c[0]["service"].get<std::string>();
}

bool contains_service(const json& inc, const std::string& s) {
  for (auto& x : inc["services"])
    if (x == s)
      return true;
  return false;
}

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
