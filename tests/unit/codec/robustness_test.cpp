// Bad input never crashes, never reads out of bounds (run under ASan) and
// either decodes or fails with a described error: truncation at every byte
// offset of real fixtures, random bit flips, and garbage.

#include <gtest/gtest.h>

#include <functional>
#include <random>
#include <string>
#include <vector>

#include "runtime/codec/alertmanager.hpp"
#include "runtime/codec/compression.hpp"
#include "runtime/codec/json_support.hpp"
#include "runtime/codec/ndjson.hpp"
#include "runtime/codec/otlp.hpp"
#include "runtime/codec/remote_write.hpp"
#include "tests/support/support.hpp"
#include "tests/unit/codec/test_util.hpp"

namespace {

using namespace vigil;
using namespace vigil::codec;
namespace ct = vigil::codec::test;
using vigil::codec::test::why;

// A decoder under test: returns the error of a failed decode, or none.
using decoder = std::function<caf::error(std::string_view)>;

template <class T>
caf::error error_of(caf::expected<T>&& x) {
  return x ? caf::error{} : std::move(x.error());
}

// Checks that a failure is a proper codec error: a known code and the two
// context strings.
void expect_described(const caf::error& err, std::string_view input_kind,
                      size_t detail) {
  if (!err)
    return;
  auto d = describe(err);
  EXPECT_TRUE(d.code == errc::malformed || d.code == errc::too_large)
    << input_kind << " " << detail << ": " << why(err);
  EXPECT_FALSE(d.message.empty()) << input_kind << " " << detail;
  EXPECT_FALSE(d.where.empty()) << input_kind << " " << detail << ": "
                                << d.message;
  EXPECT_TRUE((err.context().match_elements<std::string, std::string>()));
}

void truncate_everywhere(const std::string& input, const decoder& decode,
                         std::string_view name, size_t step = 1) {
  for (size_t n = 0; n < input.size(); n += step)
    expect_described(decode(std::string_view{input}.substr(0, n)), name, n);
}

void flip_bits(const std::string& input, const decoder& decode,
               std::string_view name, int rounds, uint32_t seed) {
  std::mt19937 rng{seed};
  for (int i = 0; i < rounds; ++i) {
    auto copy = input;
    int flips = 1 + static_cast<int>(rng() % 4);
    for (int k = 0; k < flips; ++k)
      copy[rng() % copy.size()] ^= static_cast<char>(1u << (rng() % 8));
    expect_described(decode(copy), name, static_cast<size_t>(i));
  }
}

void garbage(const decoder& decode, std::string_view name, uint32_t seed) {
  std::mt19937 rng{seed};
  for (int i = 0; i < 300; ++i) {
    std::string junk(rng() % 600, '\0');
    for (auto& c : junk)
      c = static_cast<char>(rng());
    expect_described(decode(junk), name, static_cast<size_t>(i));
  }
  // Structured garbage: plausible tokens in random order.
  const char* tokens[] = {"{", "}", "[", "]", "\"a\"", ":", ",", "1", "-1e999",
                          "null", "\"version\"", "\"4\"", "\"alerts\"",
                          "\n", "\x0a", "\x12", "\xff\xff\xff\xff\x0f", "\x08"};
  for (int i = 0; i < 300; ++i) {
    std::string s;
    for (int k = rng() % 40; k > 0; --k)
      s += tokens[rng() % std::size(tokens)];
    expect_described(decode(s), name, static_cast<size_t>(i));
  }
}

decode_options options() {
  decode_options opts;
  opts.max_decoded_bytes = 1 << 20;
  return opts;
}

decoder remote_write_body() {
  return [](std::string_view body) -> caf::error {
    auto pb = snappy_uncompress(body, 1 << 20);
    if (!pb)
      return std::move(pb.error());
    return error_of(decode_remote_write(*pb, options()));
  };
}

decoder remote_write_protobuf() {
  return [](std::string_view pb) {
    return error_of(decode_remote_write(pb, options()));
  };
}

decoder traces(wire_format f) {
  return [f](std::string_view b) {
    return error_of(decode_otlp_traces(b, f, options()));
  };
}

decoder metrics(wire_format f) {
  return [f](std::string_view b) {
    return error_of(decode_otlp_metrics(b, f, options()));
  };
}

decoder logs(wire_format f) {
  return [f](std::string_view b) {
    return error_of(decode_otlp_logs(b, f, options()));
  };
}

std::string protobuf_fixture(const std::string& name) {
  auto pb = snappy_uncompress(vigil::test::read_fixture(name), 1 << 20);
  EXPECT_TRUE(pb);
  return pb ? *pb : std::string{};
}

TEST(robustness, remote_write_survives_truncation_at_every_offset) {
  auto body = vigil::test::read_fixture(
    "remote_write_07_last_partial_at_shutdown.bin");
  truncate_everywhere(body, remote_write_body(), "snappy body");
  auto pb = protobuf_fixture("remote_write_07_last_partial_at_shutdown.bin");
  truncate_everywhere(pb, remote_write_protobuf(), "protobuf");
  // A cut inside a series is always an error, never a partial result.
  auto cut = decode_remote_write(std::string_view{pb}.substr(0, 100),
                                 options());
  EXPECT_FALSE(cut);
}

TEST(robustness, remote_write_survives_bit_flips_and_garbage) {
  for (auto name : {"remote_write_01_first.bin",
                    "remote_write_04_target_down_stale_markers.bin",
                    "remote_write_03_metadata_only.bin"}) {
    flip_bits(vigil::test::read_fixture(name), remote_write_body(), name, 300,
              1);
    flip_bits(protobuf_fixture(name), remote_write_protobuf(), name, 300, 2);
  }
  garbage(remote_write_body(), "remote write body", 3);
  garbage(remote_write_protobuf(), "remote write protobuf", 4);
}

TEST(robustness, otlp_protobuf_survives_truncation_flips_and_garbage) {
  const std::pair<const char*, decoder> cases[] = {
    {"otlp_traces_06_trace2_error_payments.bin", traces(wire_format::protobuf)},
    {"otlp_metrics_01.bin", metrics(wire_format::protobuf)},
    {"otlp_logs_01.bin", logs(wire_format::protobuf)},
  };
  for (const auto& [name, decode] : cases) {
    auto body = vigil::test::read_fixture(name);
    truncate_everywhere(body, decode, name);
    flip_bits(body, decode, name, 1000, 5);
    garbage(decode, name, 6);
  }
}

TEST(robustness, otlp_json_survives_truncation_flips_and_garbage) {
  auto body = vigil::test::read_fixture("otlp_traces_json_02_checkout.json");
  truncate_everywhere(body, traces(wire_format::json), "json traces");
  flip_bits(body, traces(wire_format::json), "json traces", 500, 7);
  garbage(traces(wire_format::json), "json traces", 8);
  garbage(metrics(wire_format::json), "json metrics", 9);
  garbage(logs(wire_format::json), "json logs", 10);
}

TEST(robustness, gzip_survives_truncation_flips_and_garbage) {
  auto body = vigil::test::read_fixture("otlp_traces_gzip_02_checkout.bin");
  decoder inflate = [](std::string_view b) {
    return error_of(gzip_inflate(b, 1 << 20));
  };
  truncate_everywhere(body, inflate, "gzip");
  flip_bits(body, inflate, "gzip", 1000, 11);
  garbage(inflate, "gzip", 12);
}

TEST(robustness, json_endpoints_survive_truncation_flips_and_garbage) {
  decoder alerts = [](std::string_view b) {
    return error_of(decode_alertmanager(b, options()));
  };
  auto body = vigil::test::read_fixture(
    "alertmanager_04_firing_TargetUp_one_resolved.json");
  truncate_everywhere(body, alerts, "alertmanager");
  flip_bits(body, alerts, "alertmanager", 1000, 13);
  garbage(alerts, "alertmanager", 14);

  decoder samples = [](std::string_view b) {
    return error_of(decode_samples_ndjson(b, options()));
  };
  std::string lines;
  for (int i = 0; i < 20; ++i)
    lines += R"({"service":"s)" + std::to_string(i % 3)
             + R"(","metric":"m_total","value":)" + std::to_string(i)
             + R"(,"ts":1700000000.5,"labels":{"a":"b","c":"d\"e"}})" "\n";
  truncate_everywhere(lines, samples, "samples");
  flip_bits(lines, samples, "samples", 1000, 15);
  garbage(samples, "samples", 16);

  decoder log_lines = [](std::string_view b) {
    return error_of(decode_log_lines(b, "application/x-ndjson", "d", 0));
  };
  std::string log_body = R"({"ts":1,"service":"a","line":"x","level":"info"})"
                         "\n"
                         R"({"line":"y"})";
  truncate_everywhere(log_body, log_lines, "logs");
  flip_bits(log_body, log_lines, "logs", 500, 17);
  garbage(log_lines, "logs", 18);

  decoder changes = [](std::string_view b) {
    return error_of(decode_changes(b));
  };
  std::string change_body =
    R"([{"service":"a","kind":"deploy","ts":"2023-11-14T22:13:20Z","version":"1"}])";
  truncate_everywhere(change_body, changes, "changes");
  flip_bits(change_body, changes, "changes", 500, 19);
  garbage(changes, "changes", 20);

  decoder topology = [](std::string_view b) {
    return error_of(decode_topology(b));
  };
  std::string topo = R"({"edges":[{"caller":"a","callee":"b"}]})";
  truncate_everywhere(topo, topology, "topology");
  flip_bits(topo, topology, "topology", 500, 21);
  garbage(topology, "topology", 22);
}

TEST(robustness, deeply_nested_json_is_refused_without_recursion) {
  std::string deep(1'000'000, '[');
  for (const auto& decode :
       {traces(wire_format::json), decoder{[](std::string_view b) {
          return error_of(decode_alertmanager(b, options()));
        }},
        decoder{[](std::string_view b) { return error_of(decode_changes(b)); }},
        decoder{[](std::string_view b) {
          return error_of(decode_samples_ndjson(b, options()));
        }}}) {
    auto err = decode(deep);
    ASSERT_TRUE(err);
    EXPECT_NE(describe(err).message.find("deeper"), std::string::npos);
  }
}

// Wraps `inner` as the length-delimited field with key byte `key`.
std::string wrap(char key, const std::string& inner) {
  std::string out(1, key);
  auto n = inner.size();
  while (n >= 0x80) {
    out += static_cast<char>((n & 0x7f) | 0x80);
    n >>= 7;
  }
  out += static_cast<char>(n);
  out += inner;
  return out;
}

TEST(robustness, many_tiny_protobuf_messages_are_refused_before_libprotobuf_builds_them) {
  // 3,000 empty spans take 6,000 bytes on the wire but would cost
  // libprotobuf 3,000 span objects.
  std::string scope;
  for (int i = 0; i < 3000; ++i)
    scope += std::string{"\x12\x00", 2};
  auto body = wrap('\x0a', wrap('\x12', scope));
  decode_options opts;
  opts.max_items = 1000;
  auto got = decode_otlp_traces(body, wire_format::protobuf, opts);
  ASSERT_FALSE(got);
  auto d = describe(got.error());
  EXPECT_EQ(d.code, errc::too_large);
  EXPECT_NE(d.message.find("protobuf messages"), std::string::npos);
}

TEST(robustness, json_with_millions_of_tiny_values_is_refused_before_parsing) {
  std::string body = "[";
  for (size_t i = 0; i < max_json_values; ++i)
    body += "0,";
  body += "0]";
  auto got = decode_alertmanager(body, options());
  ASSERT_FALSE(got);
  EXPECT_EQ(describe(got.error()).code, errc::too_large);
}

TEST(robustness, deeply_nested_protobuf_is_refused) {
  // A log body of AnyValue{array_value: ArrayValue{values: AnyValue{...}}}
  // nested 200 deep (each level is two messages).
  std::string value;
  for (int i = 0; i < 200; ++i)
    value = wrap('\x2a', wrap('\x0a', value));
  // request.resource_logs = 1, ResourceLogs.scope_logs = 2,
  // ScopeLogs.log_records = 2, LogRecord.body = 5.
  auto body = wrap('\x0a', wrap('\x12', wrap('\x12', wrap('\x2a', value))));
  auto err = logs(wire_format::protobuf)(body);
  ASSERT_TRUE(err);
  EXPECT_EQ(describe(err).code, errc::malformed);
  EXPECT_NE(describe(err).message.find("deeper"), std::string::npos);
}

} // namespace
