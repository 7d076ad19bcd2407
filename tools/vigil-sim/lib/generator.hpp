#pragma once

// The fault simulator's case generator: plans N cases from one seed and
// writes each as a directory in the RCA case format (rca_case.hpp).
//
// A case is one simulated microservice estate (topology.hpp) observed for a
// history period and a case window: per-service metrics with daily load,
// noise, GC sawtooth and benign spikes; sampled traces; routine and fault
// logs; unrelated deploys and config changes. One fault starts inside the
// window at a hidden root-cause service and spreads to its callers along
// the reversed call edges, with per-hop delay, attenuation and callers that
// do not react at all. The history may hold an older, unrelated incident.
// Everything is a pure function of (seed, case index, options).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <caf/expected.hpp>

namespace vigil::sim {

/// The faults the simulator injects (names as in truth.json "fault").
enum class fault_kind : uint8_t {
  /// A CPU hog in the root's container: cpu saturates, its latency rises.
  cpu_hog,
  /// Memory grows steadily; GC pressure, latency, errors, OOM restarts.
  memory_leak,
  /// Network delay on the root: every call to it takes longer.
  latency,
  /// An exception burst: the root fails a share of its requests.
  errors,
  /// The root's database connection pool runs dry.
  pool_exhaustion,
};

/// Returns the truth.json name of `x` ("cpu_hog", ...).
const char* to_string(fault_kind x);

/// Parses a fault name; nullopt when unknown.
std::optional<fault_kind> parse_fault(std::string_view name);

/// Returns every fault kind, in declaration order.
const std::vector<fault_kind>& all_faults();

/// What a `vigil-sim --out` run generates.
struct sim_options {
  /// Seed of every random choice. Default: 1.
  uint64_t seed = 1;
  /// Number of cases. Default: 1.
  uint32_t cases = 1;
  /// Services per case; 0 draws a size per case: 60 % 10..60, 30 %
  /// 60..500, 10 % 500..5000 (log-uniform inside each band; the shares are
  /// exact per block of ten cases). Default: 0.
  uint32_t services = 0;
  /// The fault kinds, spread evenly over the cases. Default: all.
  std::vector<fault_kind> faults = all_faults();
  /// Metric step in seconds. Larger estates use at least 15 s (100..499
  /// services), 20 s (500..999) or 30 s (>= 1000). Default: 10.
  double step_s = 10;
  /// History before the window in seconds; 0 draws 45..60 min (30..40 min
  /// for 500..999 services, 22 min for >= 1000). Default: 0.
  double history_s = 0;
  /// Length of the case window in seconds; 0 draws 20..30 min (20 min for
  /// >= 1000 services). Default: 0.
  double window_s = 0;
  /// Share of cases that get a topology.csv (the rest leave the engine to
  /// learn the call graph from traces). Default: 0.3.
  double topology_share = 0.3;
};

/// One planned case.
struct case_spec {
  /// Directory name, e.g. "case-0007"; says nothing about the fault.
  std::string id;
  /// 0-based position in the run.
  uint32_t index = 0;
  /// Seed of this case alone (derived from the run's seed and the index).
  uint64_t seed = 0;
  uint32_t services = 0;
  fault_kind fault = fault_kind::cpu_hog;
};

/// Plans the cases of a run: ids, sizes, seeds and fault kinds.
std::vector<case_spec> plan_cases(const sim_options& opts);

/// What one generated case holds.
struct case_stats {
  uint32_t services = 0;
  uint32_t edges = 0;
  bool topology_written = false;
  uint64_t metric_rows = 0;
  uint64_t spans = 0;
  uint64_t log_lines = 0;
  uint64_t changes = 0;
  /// Bytes written over all files.
  uint64_t bytes = 0;
  double step_s = 0;
  double history_s = 0;
  double window_s = 0;
};

/// Generates the case `spec` into directory `dir` (created; existing files
/// are overwritten). Errors name the file that could not be written.
[[nodiscard]] caf::expected<case_stats> generate_case(const case_spec& spec,
                                                      const sim_options& opts,
                                                      const std::string& dir);

} // namespace vigil::sim
