// Throughput of the log pipeline: parse + template mining per line, on a
// realistic mix of formats (the committed generated corpus when present).

#include <benchmark/benchmark.h>

#include <fstream>
#include <string>
#include <vector>

#include "actors/detector/log_parse.hpp"
#include "actors/detector/log_state.hpp"
#include "actors/detector/log_templates.hpp"

using namespace vigil::detector;

namespace {

std::vector<std::string> corpus() {
  std::vector<std::string> lines;
  for (auto name : {"generated_mixed.log", "prometheus.log", "dpkg.log"}) {
    std::ifstream in{std::string{VIGIL_SOURCE_DIR} + "/tests/fixtures/logs/"
                     + name};
    std::string l;
    while (std::getline(in, l))
      lines.push_back(l);
  }
  if (lines.empty())
    lines.push_back("2024-01-01 12:00:00,123 INFO [main] a.B - hello 42");
  return lines;
}

void parse_only(benchmark::State& state) {
  auto lines = corpus();
  size_t i = 0;
  for (auto _ : state) {
    auto x = parse_log_line(lines[i++ % lines.size()]);
    benchmark::DoNotOptimize(x);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(parse_only);

void parse_and_mine(benchmark::State& state) {
  auto lines = corpus();
  template_miner m;
  size_t i = 0;
  for (auto _ : state) {
    auto r = m.add(mining_text(parse_log_line(lines[i++ % lines.size()])));
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(parse_and_mine);

// The whole per-line path of a detector: parse, mine, rates, judgement.
void log_state_ingest(benchmark::State& state) {
  auto lines = corpus();
  std::vector<vigil::log_record> recs;
  for (auto& l : lines) {
    vigil::log_record r;
    r.ts_ms = 1704110400000;
    r.body = l;
    recs.push_back(std::move(r));
  }
  log_state s{"bench", {}};
  std::vector<vigil::anomaly_event> out;
  size_t i = 0;
  for (auto _ : state) {
    s.ingest(recs[i++ % recs.size()], out);
    out.clear();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(log_state_ingest);

} // namespace

BENCHMARK_MAIN();
