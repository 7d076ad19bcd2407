// Cost of the streaming detectors per sample: each detector alone, the
// ensemble, and a service's series table at increasing series counts
// (where memory access starts to dominate). Results: docs/benchmarks.md.

#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "actors/detector/ensemble.hpp"
#include "actors/detector/precursors.hpp"
#include "actors/detector/series_table.hpp"
#include "runtime/hash.hpp"

using namespace vigil;
using namespace vigil::detector;

namespace {

std::vector<double> noise(size_t n) {
  std::mt19937 gen{42};
  std::normal_distribution<double> dist{100, 5};
  std::vector<double> xs(n);
  for (auto& x : xs)
    x = dist(gen);
  return xs;
}

void BM_detector(benchmark::State& state, const char* name) {
  detection_options opts;
  auto kind = make_detector(name, opts);
  std::vector<std::byte> st(kind->state_size());
  kind->init(st.data());
  auto xs = noise(4096);
  size_t i = 0;
  for (auto _ : state) {
    auto v = kind->update(st.data(), xs[i & 4095],
                          static_cast<int64_t>(i) * 60000);
    ++i;
    benchmark::DoNotOptimize(v);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK_CAPTURE(BM_detector, zscore, "zscore");
BENCHMARK_CAPTURE(BM_detector, ewma, "ewma");
BENCHMARK_CAPTURE(BM_detector, cusum, "cusum");
BENCHMARK_CAPTURE(BM_detector, novelty, "novelty");
BENCHMARK_CAPTURE(BM_detector, seasonal, "seasonal");
BENCHMARK_CAPTURE(BM_detector, ramp, "ramp");

// The default ensemble, then issue 3's streaming set with the seasonal
// baseline added (target: <= 150 ns per sample).
void BM_ensemble(benchmark::State& state, std::vector<std::string> names) {
  detection_options opts;
  opts.detectors = std::move(names);
  auto ens = *ensemble::make(opts);
  std::vector<std::byte> st(ens->state_size());
  ens->init(st.data());
  auto xs = noise(4096);
  size_t i = 0;
  for (auto _ : state) {
    auto r = ens->update(st.data(), xs[i & 4095],
                         static_cast<int64_t>(i) * 60000);
    ++i;
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK_CAPTURE(BM_ensemble, default, {"zscore", "ewma", "cusum"});
BENCHMARK_CAPTURE(BM_ensemble, with_seasonal,
                  {"zscore", "ewma", "cusum", "seasonal"});
BENCHMARK_CAPTURE(BM_ensemble, with_ramp,
                  {"zscore", "ewma", "cusum", "ramp"});
BENCHMARK_CAPTURE(BM_ensemble, nab, {"novelty", "seasonal"});

// Precursors: 1,000 memory series with a companion limit each, one sample
// per series per batch every 15 s; trends are judged once per bucket
// (2 minutes), so most samples only land in a bucket.
void BM_precursors(benchmark::State& state) {
  precursor_options opts;
  precursor_tracker tracker{"svc", opts};
  constexpr size_t series = 1000;
  std::vector<std::string> used;
  std::vector<std::string> limits;
  for (size_t i = 0; i < series; ++i) {
    auto labels = "{pod=\"p" + std::to_string(i) + "\"}";
    used.push_back("container_memory_working_set_bytes" + labels);
    limits.push_back("container_spec_memory_limit_bytes" + labels);
  }
  auto xs = noise(4096);
  std::vector<anomaly_event> out;
  int64_t ts = 1'704'067'200'000;
  size_t round = 0;
  for (auto _ : state) {
    sample_batch b;
    for (size_t i = 0; i < series; ++i) {
      auto add = [&](const std::string& text, double x) {
        b.samples.push_back({hash64(text), ts, x,
                             static_cast<uint32_t>(b.texts.size()),
                             static_cast<uint32_t>(text.size()), 0});
        b.texts += text;
      };
      add(limits[i], 1e9);
      add(used[i], 5e8 + 1e5 * static_cast<double>(round)
                     + 1e6 * xs[(i + round) & 4095]);
    }
    tracker.ingest(b, out);
    out.clear();
    ts += 15'000;
    ++round;
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * series
                                               * 2));
}
BENCHMARK(BM_precursors);

// One sample per series per batch, like a remote-write round: the series
// table lookup, rate/ordering logic and the ensemble, at 1k to 1M series.
void BM_series_table(benchmark::State& state) {
  auto series = static_cast<size_t>(state.range(0));
  detection_options opts;
  auto ens = *ensemble::make(opts);
  series_table table{"svc", ens, opts};
  constexpr size_t batch_size = 1000;
  std::vector<std::string> texts;
  texts.reserve(series);
  for (size_t i = 0; i < series; ++i)
    texts.push_back("http_request_duration_seconds{instance=\"10.0."
                    + std::to_string(i / 250) + "." + std::to_string(i % 250)
                    + ":9100\",job=\"svc\",method=\"GET\",route=\"/api/v"
                    + std::to_string(i % 7) + "/items\"}");
  std::vector<uint64_t> hashes;
  for (auto& t : texts)
    hashes.push_back(hash64(t));
  auto xs = noise(4096);
  std::vector<anomaly_event> out;
  int64_t ts = 1000;
  size_t next = 0;
  // Warm every series up first so the timed part is steady state.
  auto make_batch = [&](size_t n) {
    sample_batch b;
    b.service = "svc";
    for (size_t k = 0; k < n; ++k, ++next) {
      if (next == series) {
        next = 0;
        ts += 10000;
      }
      sample s;
      s.series = hashes[next];
      s.ts_ms = ts;
      s.value = xs[(next + static_cast<size_t>(ts)) & 4095];
      s.text_offset = static_cast<uint32_t>(b.texts.size());
      s.text_size = static_cast<uint32_t>(texts[next].size());
      b.texts += texts[next];
      b.samples.push_back(s);
    }
    return b;
  };
  for (size_t warm = 0; warm < series * 31; warm += batch_size) {
    auto b = make_batch(batch_size);
    table.ingest(b, out);
    out.clear();
  }
  std::vector<sample_batch> batches;
  for (int i = 0; i < 64; ++i)
    batches.push_back(make_batch(batch_size));
  size_t bi = 0;
  for (auto _ : state) {
    state.PauseTiming();
    auto& b = batches[bi++ & 63];
    // Fresh timestamps so nothing is dropped as out of order.
    ts += 10000;
    for (auto& s : b.samples)
      s.ts_ms = ts;
    state.ResumeTiming();
    table.ingest(b, out);
    out.clear();
  }
  state.SetItemsProcessed(state.iterations() * batch_size);
  state.counters["bytes_per_series"] = static_cast<double>(
    table.memory_bytes()) / static_cast<double>(table.series());
}
BENCHMARK(BM_series_table)->Arg(1000)->Arg(100000)->Arg(1000000)
  ->Unit(benchmark::kMicrosecond);

} // namespace

BENCHMARK_MAIN();
