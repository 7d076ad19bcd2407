#pragma once

// A simulated outage for tests that run real nodes: a shop of eighteen
// services and a disconnected blog, normal samples with noise, a fault at a
// root that spreads to its callers hop by hop, and an Alertmanager storm in
// the middle of it; plus helpers that read incidents back.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/support/node/vigild.hpp"

namespace vigil::test::outage {

using json = nlohmann::json;

constexpr int step_s = 10;
constexpr int history_steps = 200;
constexpr int fault_steps = 30;
constexpr int hop_delay_steps = 2;

/// Caller -> callee edges of the shop and the blog.
extern const std::vector<std::pair<std::string, std::string>> edges;

/// Every service, sorted.
std::vector<std::string> services();

/// Hops from `root` up to `s` along reversed call edges; -1 when `s` does
/// not (transitively) call `root`.
int hops(const std::string& s, const std::string& root);

/// The static topology as POST /api/v1/topology takes it.
json topology_body();

/// NDJSON samples of every service for steps [from, to), faulty from
/// `fault_at` on at each of `roots`.
std::string samples(int64_t t0_s, int from, int to, int fault_at,
                    const std::vector<std::string>& roots, uint32_t seed);

/// An Alertmanager webhook firing three alerts per affected service.
std::string alerts_body(const std::vector<std::string>& roots, int64_t at_ms);

struct times {
  int64_t t0_s = 0;
  int64_t fault_ms = 0;
};

/// History, then the fault; alerts in the middle of the storm.
times stream(const vigild& node, const std::vector<std::string>& roots,
             uint32_t seed);

/// Incidents opened at or after the fault, whole.
std::vector<json> incidents_since(const vigild& node, int64_t from_ms);

/// The first root-cause candidate; empty when unranked.
std::string top_cause(const json& inc);

bool contains_service(const json& inc, const std::string& s);

} // namespace vigil::test::outage
