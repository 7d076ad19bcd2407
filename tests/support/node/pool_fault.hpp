#pragma once

// A connection-pool fault for tests that run real nodes: fe -> checkout ->
// orders -> orders-db, the pool of orders-db exhausted from one step on and
// healed at another, and a playbook that releases connections with a shell
// step leaving a marker file.

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/support/node/vigild.hpp"

namespace vigil::test::pool_fault {

constexpr int step_s = 10;
constexpr int history_steps = 150;
constexpr int fault_steps = 20;
constexpr int recovery_steps = 40;

/// The call chain, callee first.
extern const std::vector<std::string> chain;

/// The chain as POST /api/v1/topology takes it.
nlohmann::json topology_body();

/// NDJSON samples for steps [from, to): history, then the fault from
/// `fault_at` to `heal_at` (exclusive), then normal again.
std::string samples(int64_t t0_s, int from, int to, int fault_at, int heal_at,
                    uint32_t seed);

/// Posts steps [from, to) in requests of 20 steps.
void post_steps(const vigild& node, int64_t t0_s, int from, int to,
                int fault_at, int heal_at);

/// The (unmerged) database_connection_exhaustion incident, whole; null
/// when there is none yet.
nlohmann::json incident_of(const vigild& node);

/// release-db-connections at `autonomy`: one shell step touching
/// `marker_dir`/ran-SERVICE.
std::string release_playbook(const std::filesystem::path& marker_dir,
                             int autonomy);

} // namespace vigil::test::pool_fault
