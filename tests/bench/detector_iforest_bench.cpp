// Cost of the Isolation Forest: fitting 100 trees on 256 rows, scoring one
// row per call and in batches, and the two detectors built on it (update =
// judge with the current model + add to the training window). Training in
// the detector benchmarks happens once before the timing starts; the
// per-sample cost of retraining is the fit time divided by retrain_every.
// Results: docs/benchmarks.md.

#include <chrono>
#include <cmath>
#include <random>
#include <vector>

#include <benchmark/benchmark.h>

#include "actors/detector/iforest.hpp"
#include "actors/detector/iforest_detectors.hpp"

using namespace vigil::detector;

namespace {

Eigen::MatrixXd gaussian(Eigen::Index n, Eigen::Index d, unsigned seed) {
  std::mt19937 gen{seed};
  std::normal_distribution<double> dist;
  Eigen::MatrixXd x(n, d);
  for (Eigen::Index c = 0; c < d; ++c)
    for (Eigen::Index r = 0; r < n; ++r)
      x(r, c) = dist(gen);
  return x;
}

/// Rows of `x` copied row after row.
std::vector<double> row_major(const Eigen::MatrixXd& x) {
  std::vector<double> out(static_cast<size_t>(x.size()));
  for (Eigen::Index r = 0; r < x.rows(); ++r)
    for (Eigen::Index c = 0; c < x.cols(); ++c)
      out[static_cast<size_t>(r * x.cols() + c)] = x(r, c);
  return out;
}

void BM_iforest_fit(benchmark::State& state) {
  auto d = state.range(0);
  auto x = gaussian(256, d, 1);
  iforest_params p;
  for (auto _ : state) {
    p.seed++;
    auto f = isolation_forest::fit(x, p);
    benchmark::DoNotOptimize(f);
  }
}
BENCHMARK(BM_iforest_fit)->Arg(4)->Arg(16)->Unit(benchmark::kMicrosecond);

void BM_iforest_score(benchmark::State& state) {
  auto d = state.range(0);
  auto f = *isolation_forest::fit(gaussian(4096, d, 2), {});
  auto probe = row_major(gaussian(4096, d, 3));
  size_t i = 0;
  for (auto _ : state) {
    double s = f.score(probe.data() + (i++ & 4095) * static_cast<size_t>(d));
    benchmark::DoNotOptimize(s);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_iforest_score)->Arg(4)->Arg(16);

void BM_iforest_score_batch(benchmark::State& state) {
  auto d = state.range(0);
  auto f = *isolation_forest::fit(gaussian(4096, d, 2), {});
  auto probe = row_major(gaussian(4096, d, 3));
  std::vector<double> out(4096);
  for (auto _ : state) {
    f.score_rows(probe.data(), 4096, out.data());
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * 4096);
}
BENCHMARK(BM_iforest_score_batch)->Arg(4)->Arg(16);

void BM_iforest_vector_update(benchmark::State& state) {
  iforest_trainer_options opts;
  opts.retrain_every = 0; // one model, trained before the timing
  opts.retrain_interval_ms = 0;
  auto d = state.range(0);
  iforest_vector_detector det{static_cast<size_t>(d), opts};
  auto rows = row_major(gaussian(4096, d, 4));
  auto row = [&](size_t i) {
    return std::span<const double>{rows.data() + (i & 4095) * d,
                                   static_cast<size_t>(d)};
  };
  int64_t ts = 0;
  for (size_t i = 0; i < 4096; ++i)
    det.update(row(i), ts++);
  det.trainer().wait_idle(std::chrono::seconds{60});
  size_t i = 0;
  for (auto _ : state) {
    auto v = det.update(row(i++), ts++);
    benchmark::DoNotOptimize(v);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_iforest_vector_update)->Arg(4)->Arg(16);

void BM_iforest_series_update(benchmark::State& state) {
  iforest_series_options opts;
  opts.window = static_cast<uint32_t>(state.range(0));
  opts.trainer.retrain_every = 0;
  opts.trainer.retrain_interval_ms = 0;
  iforest_series_detector det{opts};
  std::mt19937 gen{5};
  std::normal_distribution<double> noise{0, 0.1};
  std::vector<double> xs(4096);
  for (size_t i = 0; i < xs.size(); ++i)
    xs[i] = 10 + std::sin(static_cast<double>(i) / 4) + noise(gen);
  int64_t ts = 0;
  for (size_t i = 0; i < 4096; ++i)
    det.update(xs[i], ts++);
  det.trainer().wait_idle(std::chrono::seconds{60});
  size_t i = 0;
  for (auto _ : state) {
    auto v = det.update(xs[i++ & 4095], ts++);
    benchmark::DoNotOptimize(v);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_iforest_series_update)->Arg(16)->Arg(32);

} // namespace

BENCHMARK_MAIN();
