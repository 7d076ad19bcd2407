#include "tests/support/node/outage.hpp"

#include <algorithm>
#include <ctime>
#include <random>

#include <gtest/gtest.h>

#include "runtime/clock.hpp"

namespace vigil::test::outage {

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
          out += sample_line(s, metric, v, t0_s + i * step_s,
                             s + "-" + std::to_string(pod));
        }
    }
  return out;
}

namespace {

// RFC 3339 for the alert times, from Unix seconds.
std::string rfc3339(int64_t s) {
  std::time_t t = s;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

} // namespace

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

// History, then the fault; alerts in the middle of the storm.
times stream(const vigild& node, const std::vector<std::string>& roots,
             uint32_t seed) {
  times o;
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
std::vector<json> incidents_since(const vigild& node, int64_t from_ms) {
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

} // namespace vigil::test::outage
