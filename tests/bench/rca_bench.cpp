// Cost of root-cause ranking on a generated 5,000-service graph (issue 4's
// target: p99 <= 10 ms) and of folding spans into the service graph.
// Results: docs/benchmarks.md.
//
// Graph: a layered DAG, 10 layers of 500 services, each service calling 3
// distinct random services of the next layer. Incidents: a cause picked in
// layers 3..9, the anomaly spreading to its transitive callers with onset
// growing by 20 s per hop, cut at N services (50..300); when the cause has
// fewer ancestors than N, unrelated services fill up as noise. A few causes
// get a deploy shortly before onset. The p50/p99 counters come from timing
// every ranking call separately.

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <deque>
#include <random>
#include <string>
#include <vector>

#include "actors/rca/ranker.hpp"
#include "actors/rca/service_graph.hpp"

using namespace vigil;
using namespace vigil::rca;

namespace {

constexpr int layers = 10;
constexpr int per_layer = 500;
constexpr int fanout = 3;
constexpr int64_t t0 = 1'700'000'000'000;

std::string service_name(int layer, int i) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "svc-%d-%03d", layer, i);
  return buf;
}

/// callees[layer][i] = indices in layer + 1.
using layered = std::vector<std::vector<std::vector<int>>>;

layered make_layers(std::mt19937& gen) {
  layered out(layers, std::vector<std::vector<int>>(per_layer));
  std::uniform_int_distribution<int> pick{0, per_layer - 1};
  for (int l = 0; l + 1 < layers; ++l)
    for (int i = 0; i < per_layer; ++i)
      while (out[l][i].size() < fanout) {
        auto j = pick(gen);
        if (std::find(out[l][i].begin(), out[l][i].end(), j)
            == out[l][i].end())
          out[l][i].push_back(j);
      }
  return out;
}

const service_graph& big_graph() {
  static const service_graph g = [] {
    std::mt19937 gen{42};
    auto ls = make_layers(gen);
    service_graph g;
    for (int l = 0; l + 1 < layers; ++l)
      for (int i = 0; i < per_layer; ++i)
        for (auto j : ls[l][i])
          g.add_static_edge(service_name(l, i), service_name(l + 1, j));
    return g;
  }();
  return g;
}

std::vector<rank_input> make_incidents(size_t anomalous, size_t count) {
  const auto& g = big_graph();
  std::mt19937 gen{static_cast<unsigned>(anomalous)};
  std::uniform_int_distribution<int> layer{3, layers - 1};
  std::uniform_int_distribution<int> idx{0, per_layer - 1};
  std::uniform_real_distribution<double> score{3.0, 12.0};
  std::vector<rank_input> out;
  for (size_t k = 0; k < count; ++k) {
    rank_input in;
    auto cause = service_name(layer(gen), idx(gen));
    std::vector<std::string> seen{cause};
    std::deque<std::pair<std::string, int>> todo{{cause, 0}};
    while (!todo.empty() && in.anomalous.size() < anomalous) {
      auto [s, hops] = todo.front();
      todo.pop_front();
      in.anomalous.push_back({s, t0 + hops * 20'000, score(gen), 4, {"latency"}});
      // Spans as the correlator sends them: a traffic change that ended,
      // the latency still going on.
      auto on = in.anomalous.back().onset_ms;
      in.anomalous.back().spans = {{on, on + 30'000, true}, {on, 0, false}};
      for (const auto& c : g.callers(s))
        if (std::find(seen.begin(), seen.end(), c) == seen.end()) {
          seen.push_back(c);
          todo.emplace_back(c, hops + 1);
        }
    }
    while (in.anomalous.size() < anomalous) {
      auto s = service_name(idx(gen) % layers, idx(gen));
      if (std::find(seen.begin(), seen.end(), s) != seen.end())
        continue;
      seen.push_back(s);
      in.anomalous.push_back({s, t0 + 60'000, 3.0, 1, {"error_rate"}});
      in.anomalous.back().spans = {{t0 + 60'000, t0 + 90'000, false}};
    }
    if (k % 4 == 0) {
      change_event ch;
      ch.service = cause;
      ch.kind = "deploy";
      ch.version = "v1";
      ch.ts_ms = t0 - 120'000;
      in.changes.push_back(ch);
    }
    // The ranker must not depend on input order.
    std::shuffle(in.anomalous.begin(), in.anomalous.end(), gen);
    out.push_back(std::move(in));
  }
  return out;
}

void report_percentiles(benchmark::State& state, std::vector<double>& us) {
  if (us.empty())
    return;
  std::sort(us.begin(), us.end());
  auto at = [&](double q) {
    return us[std::min(us.size() - 1,
                       static_cast<size_t>(q * static_cast<double>(us.size())))];
  };
  state.counters["p50_us"] = at(0.50);
  state.counters["p99_us"] = at(0.99);
  state.counters["max_us"] = us.back();
}

template <class F>
void time_ranking(benchmark::State& state, F rank_fn) {
  big_graph();
  auto incidents = make_incidents(static_cast<size_t>(state.range(0)), 64);
  std::vector<double> us;
  size_t i = 0;
  size_t top1 = 0;
  for (auto _ : state) {
    const auto& in = incidents[i++ % incidents.size()];
    auto start = std::chrono::steady_clock::now();
    auto r = rank_fn(in);
    auto stop = std::chrono::steady_clock::now();
    benchmark::DoNotOptimize(r);
    us.push_back(std::chrono::duration<double, std::micro>(stop - start)
                   .count());
    top1 += r;
  }
  report_percentiles(state, us);
  state.counters["top1_has_candidate"] = benchmark::Counter(
    static_cast<double>(top1), benchmark::Counter::kAvgIterations);
}

void BM_rank(benchmark::State& state) {
  time_ranking(state, [](const rank_input& in) {
    auto r = rank(big_graph(), in);
    return r.candidates.empty() ? 0 : 1;
  });
}

void BM_rank_by_component(benchmark::State& state) {
  time_ranking(state, [](const rank_input& in) {
    auto r = rank_by_component(big_graph(), in);
    return r.empty() ? 0 : 1;
  });
}

void BM_nearest_anomalous_ancestor(benchmark::State& state) {
  time_ranking(state, [](const rank_input& in) {
    return nearest_anomalous_ancestor(big_graph(), in).empty() ? 0 : 1;
  });
}

/// 50,000 traces of 4 spans down the layered graph, event time 1 ms apart;
/// every other trace arrives children first.
std::vector<span_record> make_spans() {
  std::mt19937 gen{7};
  auto ls = make_layers(gen);
  std::uniform_int_distribution<int> start{0, layers - 4};
  std::uniform_int_distribution<int> idx{0, per_layer - 1};
  std::uniform_int_distribution<int> next{0, fanout - 1};
  std::vector<span_record> out;
  char buf[40];
  for (int t = 0; t < 50'000; ++t) {
    int l = start(gen);
    int i = idx(gen);
    std::snprintf(buf, sizeof(buf), "%032x", t);
    std::string trace = buf;
    std::vector<span_record> spans;
    std::string parent;
    for (int d = 0; d < 4; ++d) {
      span_record s;
      s.trace_id = trace;
      std::snprintf(buf, sizeof(buf), "%016x", t * 4 + d);
      s.span_id = buf;
      s.parent_span_id = parent;
      s.service = service_name(l + d, i);
      s.end_ns = (t0 + t) * 1'000'000;
      s.start_ns = s.end_ns - (40 - d * 10) * 1'000'000;
      s.status = (t % 50 == 0) ? 2 : 0;
      parent = s.span_id;
      spans.push_back(std::move(s));
      if (d < 3)
        i = ls[l + d][i][next(gen)];
    }
    if (t % 2 == 1)
      std::reverse(spans.begin(), spans.end());
    for (auto& s : spans)
      out.push_back(std::move(s));
  }
  return out;
}

void BM_graph_add_spans(benchmark::State& state) {
  static const auto spans = make_spans();
  size_t edges = 0;
  for (auto _ : state) {
    service_graph g;
    g.add_spans(spans);
    edges = g.edge_count();
    benchmark::DoNotOptimize(g);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()
                                               * spans.size()));
  state.counters["spans_per_s"] = benchmark::Counter(
    static_cast<double>(state.iterations() * spans.size()),
    benchmark::Counter::kIsRate);
  state.counters["edges"] = static_cast<double>(edges);
}

} // namespace

BENCHMARK(BM_rank)->Arg(50)->Arg(150)->Arg(300)->Unit(benchmark::kMicrosecond)
  ->MinTime(1.0);
BENCHMARK(BM_rank_by_component)->Arg(300)->Unit(benchmark::kMicrosecond)
  ->MinTime(1.0);
BENCHMARK(BM_nearest_anomalous_ancestor)->Arg(300)
  ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_graph_add_spans)->Unit(benchmark::kMillisecond)->UseRealTime();

BENCHMARK_MAIN();
