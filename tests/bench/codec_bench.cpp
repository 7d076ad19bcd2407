// Throughput of the wire-format codecs: remote write (the hot path) on the
// captured fixtures and on synthetic requests, with and without snappy, and
// the OTLP decoders for scale. Run: build/bin/bench-codec_bench

#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "runtime/codec/compression.hpp"
#include "runtime/codec/ndjson.hpp"
#include "runtime/codec/otlp.hpp"
#include "runtime/codec/remote_write.hpp"
#include "tests/support/support.hpp"

namespace {

using namespace vigil::codec;

const char* const fixtures[] = {
  "remote_write_01_first.bin",
  "remote_write_02_node_exporter.bin",
  "remote_write_04_target_down_stale_markers.bin",
  "remote_write_07_last_partial_at_shutdown.bin",
};

std::string snappy_body(int index) {
  return vigil::test::read_fixture(fixtures[index]);
}

std::string protobuf_body(int index) {
  auto pb = snappy_uncompress(snappy_body(index), 64 << 20);
  return pb ? *pb : std::string{};
}

// A request shaped like Prometheus sends them: `series` series of node
// exporter-like labels, `samples_per_series` samples each.
std::string synthetic(int series, int samples_per_series) {
  std::vector<write_series> in;
  in.reserve(series);
  for (int i = 0; i < series; ++i) {
    write_series s;
    s.labels = {{"__name__", i % 3 == 0 ? "node_cpu_seconds_total"
                                         : "node_network_receive_bytes"},
                {"cpu", std::to_string(i % 64)},
                {"device", "eth" + std::to_string(i / 64)},
                {"instance", "10.0." + std::to_string(i / 250) + "."
                               + std::to_string(i % 250) + ":9100"},
                {"job", i % 2 ? "node" : "api"},
                {"mode", i % 5 ? "user" : "idle"},
                {"peer", "prom-peer-test"}};
    for (int k = 0; k < samples_per_series; ++k)
      s.samples.emplace_back(i * 0.5 + k, 1795238810000 + k * 1000);
    in.push_back(std::move(s));
  }
  return encode_remote_write(in);
}

void count_samples(benchmark::State& state, std::string_view pb) {
  decode_stats stats;
  auto out = decode_remote_write(pb, decode_options{}, &stats);
  if (!out)
    state.SkipWithError("decode failed");
  state.counters["samples/s"] = benchmark::Counter(
    static_cast<double>(stats.samples) * state.iterations(),
    benchmark::Counter::kIsRate);
  state.SetBytesProcessed(static_cast<int64_t>(pb.size())
                          * state.iterations());
}

void BM_remote_write_decode_fixture(benchmark::State& state) {
  auto pb = protobuf_body(static_cast<int>(state.range(0)));
  state.SetLabel(fixtures[state.range(0)]);
  for (auto _ : state) {
    auto out = decode_remote_write(pb, decode_options{});
    benchmark::DoNotOptimize(out);
  }
  count_samples(state, pb);
}
BENCHMARK(BM_remote_write_decode_fixture)->DenseRange(0, 3);

void BM_remote_write_snappy_and_decode_fixture(benchmark::State& state) {
  auto body = snappy_body(static_cast<int>(state.range(0)));
  state.SetLabel(fixtures[state.range(0)]);
  for (auto _ : state) {
    auto pb = snappy_uncompress(body, 64 << 20);
    auto out = decode_remote_write(*pb, decode_options{});
    benchmark::DoNotOptimize(out);
  }
  count_samples(state, protobuf_body(static_cast<int>(state.range(0))));
}
BENCHMARK(BM_remote_write_snappy_and_decode_fixture)->DenseRange(0, 3);

// range(0) series x range(1) samples per series.
void BM_remote_write_decode_synthetic(benchmark::State& state) {
  auto pb = synthetic(static_cast<int>(state.range(0)),
                      static_cast<int>(state.range(1)));
  for (auto _ : state) {
    auto out = decode_remote_write(pb, decode_options{});
    benchmark::DoNotOptimize(out);
  }
  count_samples(state, pb);
}
BENCHMARK(BM_remote_write_decode_synthetic)
  ->Args({2000, 1})
  ->Args({2000, 10})
  ->Args({200, 100});

void BM_remote_write_snappy_and_decode_synthetic(benchmark::State& state) {
  auto pb = synthetic(static_cast<int>(state.range(0)),
                      static_cast<int>(state.range(1)));
  auto body = snappy_compress(pb);
  for (auto _ : state) {
    auto raw = snappy_uncompress(body, 64 << 20);
    auto out = decode_remote_write(*raw, decode_options{});
    benchmark::DoNotOptimize(out);
  }
  count_samples(state, pb);
}
BENCHMARK(BM_remote_write_snappy_and_decode_synthetic)->Args({2000, 1});

void BM_snappy_uncompress(benchmark::State& state) {
  auto body = snappy_body(0);
  for (auto _ : state) {
    auto pb = snappy_uncompress(body, 64 << 20);
    benchmark::DoNotOptimize(pb);
  }
  state.SetBytesProcessed(static_cast<int64_t>(protobuf_body(0).size())
                          * state.iterations());
}
BENCHMARK(BM_snappy_uncompress);

void BM_otlp_traces_protobuf(benchmark::State& state) {
  auto body = vigil::test::read_fixture("otlp_traces_02_trace1_checkout.bin");
  for (auto _ : state) {
    auto out = decode_otlp_traces(body, wire_format::protobuf, {});
    benchmark::DoNotOptimize(out);
  }
  state.counters["spans/s"] = benchmark::Counter(
    4.0 * state.iterations(), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_otlp_traces_protobuf);

void BM_otlp_traces_json(benchmark::State& state) {
  auto body = vigil::test::read_fixture("otlp_traces_json_02_checkout.json");
  for (auto _ : state) {
    auto out = decode_otlp_traces(body, wire_format::json, {});
    benchmark::DoNotOptimize(out);
  }
  state.counters["spans/s"] = benchmark::Counter(
    4.0 * state.iterations(), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_otlp_traces_json);

void BM_otlp_metrics_protobuf(benchmark::State& state) {
  auto body = vigil::test::read_fixture("otlp_metrics_01.bin");
  for (auto _ : state) {
    auto out = decode_otlp_metrics(body, wire_format::protobuf, {});
    benchmark::DoNotOptimize(out);
  }
  state.counters["samples/s"] = benchmark::Counter(
    7.0 * state.iterations(), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_otlp_metrics_protobuf);

void BM_ndjson_samples(benchmark::State& state) {
  std::string body;
  for (int i = 0; i < 2000; ++i)
    body += R"({"service":"checkout","metric":"http_requests_total","value":)"
            + std::to_string(i) + R"(,"ts":1700000000.5,"labels":{"route":"/r)"
            + std::to_string(i % 50) + R"(","code":"200"}})" "\n";
  for (auto _ : state) {
    auto out = decode_samples_ndjson(body, {});
    benchmark::DoNotOptimize(out);
  }
  state.counters["samples/s"] = benchmark::Counter(
    2000.0 * state.iterations(), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_ndjson_samples);

} // namespace

BENCHMARK_MAIN();
