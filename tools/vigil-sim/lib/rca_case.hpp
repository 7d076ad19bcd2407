#pragma once

// The RCA case format (CONTRACT §5, "The RCA case format") and its reader.
// `vigil-sim` writes cases, `vigil-sim --case` streams them to a node, and
// `vigil-eval rca` replays them; all three read through `read_case`.
//
//   DIR/metrics.csv    ts,service,metric,value          (required)
//   DIR/topology.csv   caller,callee                    (optional)
//   DIR/traces.jsonl   {"trace_id","span_id","parent_span_id","service",
//                       "start","end","status"}         (optional)
//   DIR/logs.jsonl     {"ts","service","line"}          (optional)
//   DIR/changes.jsonl  {"ts","service","kind","version"} (optional)
//   DIR/case.json      {"start_ts","end_ts"}            (required)
//   DIR/truth.json     {"root_cause_service","fault","inject_ts"}
//                      (ground truth; read only when asked for)
//
// Times are Unix seconds. Every malformed line is refused with an
// errc::malformed error whose context names `path:line` and the field.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

namespace vigil::sim {

/// File names inside a case directory.
namespace case_files {
inline constexpr std::string_view metrics = "metrics.csv";
inline constexpr std::string_view topology = "topology.csv";
inline constexpr std::string_view traces = "traces.jsonl";
inline constexpr std::string_view logs = "logs.jsonl";
inline constexpr std::string_view changes = "changes.jsonl";
inline constexpr std::string_view window = "case.json";
inline constexpr std::string_view truth = "truth.json";
} // namespace case_files

/// The header line of metrics.csv.
inline constexpr std::string_view metrics_header = "ts,service,metric,value";

/// The header line of topology.csv.
inline constexpr std::string_view topology_header = "caller,callee";

/// One row of metrics.csv. Service and metric are indices into the case's
/// name tables: a 5,000-service case has millions of rows, and two strings
/// per row would triple its memory.
struct metric_row {
  /// Unix seconds.
  double ts = 0;
  /// Index into `rca_case::services`.
  uint32_t service = 0;
  /// Index into `rca_case::metric_names`.
  uint32_t metric = 0;
  /// The value; NaN when the file says so.
  double value = 0;
  /// 1-based line in metrics.csv (error messages, replay diagnostics).
  uint32_t line = 0;
};

/// One row of topology.csv: `caller` calls `callee`.
struct topology_row {
  std::string caller;
  std::string callee;
  /// 1-based line in topology.csv.
  uint32_t line = 0;
};

/// One line of traces.jsonl: a server span of one service.
struct span_row {
  /// 32 hex digits.
  std::string trace_id;
  /// 16 hex digits.
  std::string span_id;
  /// 16 hex digits, or empty for a trace's root span.
  std::string parent_span_id;
  std::string service;
  /// Unix seconds.
  double start = 0;
  /// Unix seconds, >= start.
  double end = 0;
  /// Whether the status is "error" (else "ok").
  bool error = false;
  /// 1-based line in traces.jsonl.
  uint32_t line = 0;
};

/// One line of logs.jsonl.
struct log_row {
  /// Unix seconds.
  double ts = 0;
  std::string service;
  /// The raw log line as the service wrote it.
  std::string line;
  /// 1-based line in logs.jsonl.
  uint32_t line_no = 0;
};

/// One line of changes.jsonl: a deploy, config change, scale event, ...
struct change_row {
  /// Unix seconds.
  double ts = 0;
  std::string service;
  /// "deploy", "config", "scale", ...
  std::string kind;
  /// May be empty.
  std::string version;
  /// 1-based line in changes.jsonl.
  uint32_t line = 0;
};

/// truth.json: what the simulator injected.
struct case_truth {
  std::string root_cause_service;
  /// A fault name (`to_string(fault_kind)` in generator.hpp).
  std::string fault;
  /// Unix seconds.
  double inject_ts = 0;
};

/// A whole case in memory. Rows keep file order (event-time order for
/// files the simulator wrote).
struct rca_case {
  /// The directory the case was read from.
  std::string dir;
  /// Service names; `metric_row::service` indexes this. Holds every
  /// service of metrics.csv in order of first appearance.
  std::vector<std::string> services;
  /// Metric names; `metric_row::metric` indexes this.
  std::vector<std::string> metric_names;
  std::vector<metric_row> metrics;
  /// Whether topology.csv exists (it is optional; the engine must then
  /// learn the call graph from traces).
  bool has_topology = false;
  std::vector<topology_row> edges;
  std::vector<span_row> spans;
  std::vector<log_row> logs;
  std::vector<change_row> changes;
  /// The case window: the fault starts inside [start_ts, end_ts]; data
  /// before start_ts is history.
  double start_ts = 0;
  double end_ts = 0;
  /// Present only when read with `with_truth` and truth.json exists.
  std::optional<case_truth> truth;

  /// Returns the index of service `name` in `services`, if known (a linear
  /// scan: for lookups in a loop, build a map).
  std::optional<uint32_t> service_index(std::string_view name) const;
};

/// What `read_case` reads.
struct read_options {
  /// Also read truth.json (never hand it to the engine). Default: false.
  bool with_truth = false;
  /// Skip traces.jsonl, logs.jsonl and changes.jsonl (metric-only
  /// consumers). Default: false.
  bool metrics_only = false;
};

/// Reads the case in `dir`. Errors: errc::not_found when a required file is
/// missing, errc::malformed naming `path:line` and what is wrong otherwise.
[[nodiscard]] caf::expected<rca_case> read_case(const std::string& dir,
                                                read_options opts = {});

/// Reads only truth.json of the case in `dir`.
[[nodiscard]] caf::expected<case_truth> read_truth(const std::string& dir);

} // namespace vigil::sim
