#pragma once

// Writes a scenario (model.hpp) as the files of an RCA case. Each writer
// draws its noise from its own stream derived from the case seed, sorts
// its rows by event time (ties by service name, never by role) and reports
// rows and bytes written.

#include <cstdint>
#include <string>

#include <caf/expected.hpp>

#include "tools/vigil-sim/lib/model.hpp"

namespace vigil::sim {

/// What one writer wrote.
struct emit_result {
  uint64_t rows = 0;
  uint64_t bytes = 0;
};

/// metrics.csv: every service's metrics at every step.
[[nodiscard]] caf::expected<emit_result> write_metrics(const scenario& sc,
                                                       const std::string& path);

/// traces.jsonl: sampled requests through the call graph.
[[nodiscard]] caf::expected<emit_result> write_traces(const scenario& sc,
                                                      const std::string& path);

/// logs.jsonl: routine lines, benign warnings and fault lines.
[[nodiscard]] caf::expected<emit_result> write_logs(const scenario& sc,
                                                    const std::string& path);

/// changes.jsonl: deploys, config changes and scale events.
[[nodiscard]] caf::expected<emit_result> write_changes(const scenario& sc,
                                                       const std::string& path);

/// topology.csv: the static call edges, sorted by name.
[[nodiscard]] caf::expected<emit_result>
write_topology(const scenario& sc, const std::string& path);

/// case.json: the window.
[[nodiscard]] caf::expected<emit_result> write_window(const scenario& sc,
                                                      const std::string& path);

/// truth.json: root cause, fault and injection time.
[[nodiscard]] caf::expected<emit_result> write_truth(const scenario& sc,
                                                     const std::string& path);

/// The metrics every service reports, in row order.
inline constexpr const char* core_metrics[] = {
  "cpu_usage", "error_rate", "latency_p99_ms", "memory_bytes", "request_rate"};

/// The metrics pool owners report in addition.
inline constexpr const char* pool_metrics[]
  = {"db_connections_in_use", "db_connections_max"};

} // namespace vigil::sim
