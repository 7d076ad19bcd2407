#include "tests/support/node/pool_fault.hpp"

#include <algorithm>
#include <random>

#include <gtest/gtest.h>

namespace vigil::test::pool_fault {

using json = nlohmann::json;

// fe -> checkout -> orders -> orders-db; the fault starts in orders-db and
// reaches each caller one step later.
const std::vector<std::string> chain = {"orders-db", "orders", "checkout",
                                        "fe"};

nlohmann::json topology_body() {
  using json = nlohmann::json;
  json es = json::array();
  for (size_t i = 1; i < chain.size(); ++i)
    es.push_back({{"caller", chain[i]}, {"callee", chain[i - 1]}});
  return json{{"edges", es}};
}

// Samples for steps [from, to): history, then the fault from `fault_at` to
// `heal_at` (exclusive), then normal again.
std::string samples(int64_t t0_s, int from, int to, int fault_at, int heal_at,
                    uint32_t seed) {
  std::mt19937 gen{seed};
  std::normal_distribution<double> noise{0, 1};
  std::string out;
  for (int i = from; i < to; ++i)
    for (size_t h = 0; h < chain.size(); ++h) {
      const auto& s = chain[h];
      bool hit = i >= fault_at + static_cast<int>(h) && i < heal_at;
      for (int pod = 0; pod < 5; ++pod)
        for (auto metric : {h == 0 ? "db_pool_in_use" : "latency_ms",
                            h == 0 ? "db_pool_wait_ms" : "error_ratio"}) {
          double base = std::string{metric} == "error_ratio" ? 1 : 100;
          double v = base + base * 0.03 * noise(gen);
          if (hit)
            v = base * (h == 0 ? 6 : 4);
          out += sample_line(s, metric, v, t0_s + i * step_s,
                             s + "-" + std::to_string(pod));
        }
    }
  return out;
}

void post_steps(const vigild& node, int64_t t0_s, int from, int to,
                int fault_at, int heal_at) {
  for (int i = from; i < to; i += 20) {
    auto r = node.post("/api/v1/samples",
                       samples(t0_s, i, std::min(i + 20, to), fault_at,
                               heal_at, 7 + i),
                       "application/x-ndjson");
    ASSERT_TRUE(r && r->status == 200) << (r ? r->body : "no answer");
  }
}

std::string release_playbook(const std::filesystem::path& marker_dir,
                             int autonomy) {
  return "name: release-db-connections\n"
         "description: Free idle connections when the pool is exhausted.\n"
         "match:\n"
         "  incident_type: database_connection_exhaustion\n"
         "  services: [\"*-db\"]\n"
         "autonomy: "
         + std::to_string(autonomy)
         + "\n"
           "limits: {max_runs_per_hour: 3, cooldown: 10m}\n"
           "steps:\n"
           "  - name: kill-idle\n"
           "    action: shell\n"
           "    with:\n"
           "      argv: [\"/usr/bin/touch\", \""
         + (marker_dir / "ran-{{service}}").string()
         + "\"]\n"
           "      timeout: 10s\n"
           "verify:\n"
           "  within: 2m\n"
           "on_failure: escalate\n";
}

json incident_of(const vigild& node) {
  auto r = node.get("/api/v1/incidents?status=all&limit=10");
  if (!r || r->status != 200)
    return nullptr;
  auto all = json::parse(r->body);
  for (auto& brief : all["incidents"]) {
    if (brief.contains("merged_into"))
      continue;
    auto one = node.get("/api/v1/incidents/" + brief["id"].get<std::string>());
    if (one && one->status == 200) {
      auto inc = json::parse(one->body);
      if (inc["type"] == "database_connection_exhaustion")
        return inc;
    }
  }
  return nullptr;
}

} // namespace vigil::test::pool_fault
