#include "tools/vigil-sim/lib/generator.hpp"

#include <cmath>
#include <filesystem>

#include "messages/errc.hpp"
#include "tools/vigil-sim/lib/emit.hpp"
#include "tools/vigil-sim/lib/model.hpp"
#include "tools/vigil-sim/lib/rca_case.hpp"
#include "tools/vigil-sim/lib/rng.hpp"

namespace vigil::sim {

namespace {

namespace fs = std::filesystem;

// Case sizes when none is given: mostly small estates, some medium, a few
// large, log-uniform inside each band. The bands go round in shuffled
// blocks of ten (six small, three medium, one large), so a run holds them
// in exactly these shares whatever the seed.
constexpr int size_bands[10] = {0, 0, 0, 0, 0, 0, 1, 1, 1, 2};

uint32_t draw_size(int band, rng& g) {
  switch (band) {
    case 0:
      return static_cast<uint32_t>(std::round(g.log_uniform(10, 60)));
    case 1:
      return static_cast<uint32_t>(std::round(g.log_uniform(60, 500)));
    default:
      return static_cast<uint32_t>(std::round(g.log_uniform(500, 5000)));
  }
}

} // namespace

const char* to_string(fault_kind x) {
  switch (x) {
    case fault_kind::cpu_hog:
      return "cpu_hog";
    case fault_kind::memory_leak:
      return "memory_leak";
    case fault_kind::latency:
      return "latency";
    case fault_kind::errors:
      return "errors";
    case fault_kind::pool_exhaustion:
      return "pool_exhaustion";
  }
  return "unknown";
}

std::optional<fault_kind> parse_fault(std::string_view name) {
  for (auto f : all_faults())
    if (name == to_string(f))
      return f;
  return std::nullopt;
}

const std::vector<fault_kind>& all_faults() {
  static const std::vector<fault_kind> xs{
    fault_kind::cpu_hog, fault_kind::memory_leak, fault_kind::latency,
    fault_kind::errors, fault_kind::pool_exhaustion};
  return xs;
}

std::vector<case_spec> plan_cases(const sim_options& opts) {
  std::vector<case_spec> out;
  auto faults = opts.faults.empty() ? all_faults() : opts.faults;
  size_t width = std::max<size_t>(4, std::to_string(opts.cases).size());
  // Faults go round in blocks, each block in its own random order: every
  // kind gets its share, and neither the id nor a neighbour's fault tells
  // which one a case holds.
  rng order{mix64(opts.seed ^ 0x5eed)};
  std::vector<fault_kind> block;
  std::vector<int> bands;
  for (uint32_t i = 0; i < opts.cases; ++i) {
    if (block.empty()) {
      block = faults;
      order.shuffle(block);
    }
    if (bands.empty()) {
      bands.assign(std::begin(size_bands), std::end(size_bands));
      order.shuffle(bands);
    }
    case_spec c;
    c.index = i;
    c.seed = mix64(opts.seed * 0x9e3779b97f4a7c15ull + i + 1);
    auto number = std::to_string(i + 1);
    c.id = "case-" + std::string(width - number.size(), '0') + number;
    rng g{c.seed};
    c.services = opts.services > 0 ? opts.services : draw_size(bands.back(), g);
    bands.pop_back();
    c.fault = block.back();
    block.pop_back();
    out.push_back(std::move(c));
  }
  return out;
}

caf::expected<case_stats> generate_case(const case_spec& spec,
                                        const sim_options& opts,
                                        const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec)
    return caf::make_error(errc::storage_failure,
                           "cannot create directory: " + ec.message(), dir);
  auto sc = make_scenario(spec, opts);
  case_stats stats;
  stats.services = static_cast<uint32_t>(sc.graph.nodes.size());
  stats.edges = static_cast<uint32_t>(sc.graph.edges.size());
  stats.step_s = sc.time.step;
  stats.history_s = sc.time.start_ts - sc.time.ts(0);
  stats.window_s = sc.time.end_ts - sc.time.start_ts;
  auto path
    = [&](std::string_view file) { return (fs::path{dir} / file).string(); };
  auto add = [&](caf::expected<emit_result> r, uint64_t* rows) -> caf::error {
    if (!r)
      return std::move(r.error());
    stats.bytes += r->bytes;
    if (rows != nullptr)
      *rows = r->rows;
    return {};
  };
  if (auto err
      = add(write_metrics(sc, path(case_files::metrics)), &stats.metric_rows))
    return err;
  if (sc.write_topology) {
    if (auto err = add(write_topology(sc, path(case_files::topology)), nullptr))
      return err;
    stats.topology_written = true;
  } else {
    // A stale file from an earlier run would hand out the graph.
    fs::remove(path(case_files::topology), ec);
  }
  if (auto err = add(write_traces(sc, path(case_files::traces)), &stats.spans))
    return err;
  if (auto err = add(write_logs(sc, path(case_files::logs)), &stats.log_lines))
    return err;
  if (auto err
      = add(write_changes(sc, path(case_files::changes)), &stats.changes))
    return err;
  if (auto err = add(write_window(sc, path(case_files::window)), nullptr))
    return err;
  if (auto err = add(write_truth(sc, path(case_files::truth)), nullptr))
    return err;
  return stats;
}

} // namespace vigil::sim
