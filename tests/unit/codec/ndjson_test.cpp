#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "runtime/codec/ndjson.hpp"
#include "runtime/codec/timestamp.hpp"
#include "runtime/hash.hpp"
#include "tests/unit/codec/test_util.hpp"

namespace {

using namespace vigil;
using namespace vigil::codec;
namespace ct = vigil::codec::test;
using vigil::codec::test::code_of;
using vigil::codec::test::why;

// -- samples -----------------------------------------------------------------

TEST(ndjson_samples, lines_become_per_service_batches_with_ms_timestamps) {
  std::string body =
    R"({"service":"checkout","metric":"http_requests_total","value":12,"ts":1700000000.25,"labels":{"route":"/pay","code":"200"}})"
    "\n\n"
    R"({"service":"db","metric":"conn.used","value":"NaN","ts":1700000001})"
    "\r\n"
    R"({"service":"checkout","metric":"http_requests_total","value":13.5,"ts":1700000002,"labels":{"code":"200","route":"/pay"}})"
    "\n   \n"
    R"({"service":"checkout","metric":"up","value":"-Inf","ts":1700000003})";
  decode_options opts;
  opts.received_ns = 11;
  decode_stats stats;
  auto got = decode_samples_ndjson(body, opts, &stats);
  ASSERT_TRUE(got) << why(got.error());
  ASSERT_EQ(got->size(), 2u);
  const auto& a = (*got)[0];
  const auto& b = (*got)[1];
  EXPECT_EQ(a.service, "checkout");
  EXPECT_EQ(b.service, "db");
  EXPECT_EQ(a.received_ns, 11);
  ASSERT_EQ(a.samples.size(), 3u);
  EXPECT_EQ(a.text(a.samples[0]),
            "http_requests_total{code=\"200\",route=\"/pay\"}");
  EXPECT_EQ(a.samples[0].ts_ms, 1700000000250);
  EXPECT_EQ(a.samples[0].value, 12);
  EXPECT_EQ(a.samples[0].flags, sample_flags::counter);
  EXPECT_EQ(a.samples[0].series, hash64(a.text(a.samples[0])));
  // The same series shares its text.
  EXPECT_EQ(a.samples[1].text_offset, a.samples[0].text_offset);
  EXPECT_EQ(a.text(a.samples[2]), "up");
  EXPECT_TRUE(std::isinf(a.samples[2].value) && a.samples[2].value < 0);
  ASSERT_EQ(b.samples.size(), 1u);
  EXPECT_EQ(b.text(b.samples[0]), "conn.used");
  EXPECT_TRUE(std::isnan(b.samples[0].value));
  EXPECT_EQ(b.samples[0].flags, 0);
  EXPECT_EQ(stats.samples, 4u);
  EXPECT_EQ(stats.series, 3u);
  EXPECT_EQ(stats.nan_values, 1u);
}

TEST(ndjson_samples, a_bad_line_fails_the_body_naming_line_and_field) {
  const std::string good =
    R"({"service":"s","metric":"m","value":1,"ts":1700000000})";
  struct bad_case {
    std::string line;
    std::string where;
  };
  std::vector<bad_case> cases = {
    {R"({"metric":"m","value":1,"ts":1})", "line 3, field \"service\""},
    {R"({"service":"","metric":"m","value":1,"ts":1})",
     "line 3, field \"service\""},
    {R"({"service":"s","metric":"9m","value":1,"ts":1})",
     "line 3, field \"metric\""},
    {R"({"service":"s","metric":"a-b","value":1,"ts":1})",
     "line 3, field \"metric\""},
    {R"({"service":"s","metric":"m","value":"12","ts":1})",
     "line 3, field \"value\""},
    {R"({"service":"s","metric":"m","value":true,"ts":1})",
     "line 3, field \"value\""},
    {R"({"service":"s","metric":"m","ts":1})", "line 3, field \"value\""},
    {R"({"service":"s","metric":"m","value":1})", "line 3, field \"ts\""},
    {R"({"service":"s","metric":"m","value":1,"ts":-5})",
     "line 3, field \"ts\""},
    {R"({"service":"s","metric":"m","value":1,"ts":"noon"})",
     "line 3, field \"ts\""},
    {R"({"service":"s","metric":"m","value":1,"ts":1,"labels":{"a":1}})",
     "line 3, field \"labels.a\""},
    {R"({"service":"s","metric":"m","value":1,"ts":1,"labels":{"a.b":"1"}})",
     "line 3, field \"labels.a.b\""},
    {R"({"service":"s","metric":"m","value":1,"ts":1,"labels":["a"]})",
     "line 3, field \"labels\""},
    {R"([1,2])", "line 3"},
  };
  for (const auto& c : cases) {
    auto body = good + "\n" + good + "\n" + c.line + "\n" + good;
    auto got = decode_samples_ndjson(body, {});
    ASSERT_FALSE(got) << c.line;
    auto d = describe(got.error());
    EXPECT_EQ(d.code, errc::malformed) << c.line;
    EXPECT_EQ(d.where, c.where) << c.line << " -> " << d.message;
  }
  auto got = decode_samples_ndjson(good + "\n{\"service\":", {});
  ASSERT_FALSE(got);
  EXPECT_EQ(describe(got.error()).where.rfind("line 2, byte ", 0), 0u)
    << describe(got.error()).where;
}

TEST(ndjson_samples, an_empty_body_is_no_samples) {
  auto got = decode_samples_ndjson("\n\n", {});
  ASSERT_TRUE(got);
  EXPECT_TRUE(got->empty());
}

// -- logs --------------------------------------------------------------------

TEST(log_lines, plain_text_is_one_record_per_line_at_the_receive_time) {
  decode_stats stats;
  auto got = decode_log_lines("first line\r\n\nsecond line\n", "text/plain; charset=utf-8",
                              "api", 1'700'000'000'123'000'000, &stats);
  ASSERT_TRUE(got) << why(got.error());
  ASSERT_EQ(got->size(), 1u);
  const auto& b = got->front();
  EXPECT_EQ(b.service, "api");
  EXPECT_EQ(b.format, "text");
  EXPECT_EQ(b.received_ns, 1'700'000'000'123'000'000);
  ASSERT_EQ(b.records.size(), 2u);
  EXPECT_EQ(b.records[0].body, "first line");
  EXPECT_EQ(b.records[1].body, "second line");
  EXPECT_EQ(b.records[0].ts_ms, 1'700'000'000'123);
  EXPECT_EQ(stats.log_records, 2u);
}

TEST(log_lines, plain_text_needs_a_service) {
  auto got = decode_log_lines("x\n", "text/plain", "", 0);
  ASSERT_FALSE(got);
  auto d = describe(got.error());
  EXPECT_EQ(d.code, errc::malformed);
  EXPECT_NE(d.message.find("?service="), std::string::npos);
}

TEST(log_lines, ndjson_lines_carry_their_own_service_time_and_level) {
  std::string body =
    R"({"ts":1700000000.5,"service":"db","line":"slow query","level":"WARN"})"
    "\n"
    R"({"line":"no ts, default service"})"
    "\n"
    R"({"ts":"2023-11-14T22:13:20Z","service":"db","line":"rfc3339"})";
  auto got = decode_log_lines(body, "application/x-ndjson", "web", 2'000'000);
  ASSERT_TRUE(got) << why(got.error());
  ASSERT_EQ(got->size(), 2u);
  const auto& db = (*got)[0];
  EXPECT_EQ(db.service, "db");
  EXPECT_EQ(db.format, "ndjson");
  ASSERT_EQ(db.records.size(), 2u);
  EXPECT_EQ(db.records[0].ts_ms, 1700000000500);
  EXPECT_EQ(db.records[0].severity_text, "WARN");
  EXPECT_EQ(db.records[0].severity, 13);
  EXPECT_EQ(db.records[1].ts_ms, 1700000000000);
  const auto& web = (*got)[1];
  EXPECT_EQ(web.service, "web");
  EXPECT_EQ(web.records[0].ts_ms, 2);
  EXPECT_EQ(web.records[0].body, "no ts, default service");
  EXPECT_TRUE(decode_log_lines(body, "Application/JSON", "web", 0));
}

TEST(log_lines, bad_lines_and_content_types_are_refused) {
  EXPECT_EQ(code_of(decode_log_lines("x", "application/xml", "s", 0)),
            errc::unsupported_media_type);
  EXPECT_EQ(code_of(decode_log_lines("x", "", "s", 0)),
            errc::unsupported_media_type);
  auto got = decode_log_lines("{\"line\":\"a\"}\n{\"ts\":1}", "application/x-ndjson", "s", 0);
  ASSERT_FALSE(got);
  EXPECT_EQ(describe(got.error()).where, "line 2, field \"line\"");
  got = decode_log_lines("{\"line\":5}", "application/x-ndjson", "s", 0);
  ASSERT_FALSE(got);
  EXPECT_EQ(describe(got.error()).where, "line 1, field \"line\"");
  got = decode_log_lines("{\"line\":\"a\"}", "application/x-ndjson", "", 0);
  ASSERT_FALSE(got);
  EXPECT_EQ(describe(got.error()).where, "line 1, field \"service\"");
  std::string long_line(max_log_line_bytes + 1, 'x');
  got = decode_log_lines("ok\n" + long_line, "text/plain", "s", 0);
  ASSERT_FALSE(got);
  EXPECT_EQ(describe(got.error()).where, "line 2");
  EXPECT_TRUE(decode_log_lines(long_line.substr(1), "text/plain", "s", 0));
}

// -- changes -----------------------------------------------------------------

TEST(changes, one_object_an_array_or_ndjson_are_all_accepted) {
  auto one = decode_changes(R"({
    "service": "checkout", "kind": "deploy", "version": "v42",
    "author": "ci", "description": "roll out", "ts": 1700000000
  })");
  ASSERT_TRUE(one) << why(one.error());
  ASSERT_EQ(one->changes.size(), 1u);
  const auto& c = one->changes[0];
  EXPECT_EQ(c.service, "checkout");
  EXPECT_EQ(c.kind, "deploy");
  EXPECT_EQ(c.version, "v42");
  EXPECT_EQ(c.author, "ci");
  EXPECT_EQ(c.description, "roll out");
  EXPECT_EQ(c.ts_ms, 1700000000000);
  auto array = decode_changes(
    R"([{"service":"a","kind":"config","ts":"2023-11-14T22:13:20.5Z"},)"
    R"({"service":"b","kind":"feature-flag","ts":1.5}])");
  ASSERT_TRUE(array) << why(array.error());
  ASSERT_EQ(array->changes.size(), 2u);
  EXPECT_EQ(array->changes[0].ts_ms, 1700000000500);
  EXPECT_EQ(array->changes[1].kind, "feature-flag");
  EXPECT_EQ(array->changes[1].ts_ms, 1500);
  auto lines = decode_changes(
    "{\"service\":\"a\",\"kind\":\"scale\",\"ts\":1}\n\n"
    "{\"service\":\"b\",\"kind\":\"rollback\",\"ts\":2}\n");
  ASSERT_TRUE(lines) << why(lines.error());
  ASSERT_EQ(lines->changes.size(), 2u);
  EXPECT_EQ(lines->changes[1].service, "b");
}

TEST(changes, missing_and_mistyped_fields_are_named) {
  struct bad_case {
    std::string body;
    std::string where;
  };
  std::vector<bad_case> cases = {
    {R"({"kind":"deploy","ts":1})", "$.service"},
    {R"({"service":"a","ts":1})", "$.kind"},
    {R"({"service":"a","kind":"","ts":1})", "$.kind"},
    {R"({"service":"a","kind":"deploy"})", "$.ts"},
    {R"({"service":"a","kind":"deploy","ts":"tomorrow"})", "$.ts"},
    {R"({"service":"a","kind":"deploy","ts":1,"version":3})", "$.version"},
    {R"([{"service":"a","kind":"deploy","ts":1},{"service":"a","ts":1}])",
     "$[1].kind"},
    {R"([{"service":"a","kind":"deploy","ts":1},7])", "$[1]"},
    {"{\"service\":\"a\",\"kind\":\"x\",\"ts\":1}\n{\"service\":\"a\",\"kind\":\"x\"}",
     "line 2, field \"ts\""},
    {"\"just a string\"", "$"},
    {"", "$"},
  };
  for (const auto& c : cases) {
    auto got = decode_changes(c.body);
    ASSERT_FALSE(got) << c.body;
    auto d = describe(got.error());
    EXPECT_EQ(d.code, errc::malformed) << c.body;
    EXPECT_EQ(d.where, c.where) << c.body << " -> " << d.message;
  }
  // A pretty-printed object with a syntax error reports the syntax error.
  auto got = decode_changes("{\n\"service\": \"a\",\n\"kind\": }\n");
  ASSERT_FALSE(got);
  EXPECT_NE(describe(got.error()).message.find("invalid JSON"),
            std::string::npos);
}

// -- topology ----------------------------------------------------------------

TEST(topology, edges_are_decoded_and_checked) {
  auto got = decode_topology(
    R"({"edges":[{"caller":"frontend","callee":"checkout"},{"caller":"checkout","callee":"payments"}]})");
  ASSERT_TRUE(got) << why(got.error());
  ASSERT_EQ(got->edges.size(), 2u);
  EXPECT_EQ(got->edges[1].caller, "checkout");
  EXPECT_EQ(got->edges[1].callee, "payments");
  struct bad_case {
    std::string body;
    std::string where;
  };
  std::vector<bad_case> cases = {
    {R"({})", "$.edges"},
    {R"({"edges":{}})", "$.edges"},
    {R"({"edges":[{"caller":"a"}]})", "$.edges[0].callee"},
    {R"({"edges":[{"caller":"a","callee":""}]})", "$.edges[0].callee"},
    {R"({"edges":[{"caller":"a","callee":"a"}]})", "$.edges[0].callee"},
    {R"({"edges":[{"caller":1,"callee":"b"}]})", "$.edges[0].caller"},
    {R"({"edges":[5]})", "$.edges[0]"},
    {R"([])", "$"},
  };
  for (const auto& c : cases) {
    auto res = decode_topology(c.body);
    ASSERT_FALSE(res) << c.body;
    EXPECT_EQ(describe(res.error()).where, c.where) << c.body;
  }
}

TEST(topology, more_than_100000_edges_is_too_large) {
  std::string body = R"({"edges":[)";
  for (size_t i = 0; i <= max_topology_edges; ++i)
    body += std::string{i ? "," : ""} + R"({"caller":"a","callee":"b"})";
  body += "]}";
  EXPECT_EQ(code_of(decode_topology(body)), errc::too_large);
}

// -- timestamps --------------------------------------------------------------

TEST(timestamps, rfc3339_handles_fractions_offsets_and_the_go_zero_time) {
  EXPECT_EQ(parse_rfc3339_ms("2026-11-21T05:26:52.012Z"), 1795238812012);
  EXPECT_EQ(parse_rfc3339_ms("2026-11-21T07:26:52.012+02:00"),
            1795238812012);
  EXPECT_EQ(parse_rfc3339_ms("2026-11-21T05:26:52.012999999Z"),
            1795238812012);
  EXPECT_EQ(parse_rfc3339_ms("2026-11-21t05:26:52z"), 1795238812000);
  EXPECT_EQ(parse_rfc3339_ms("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(parse_rfc3339_ms("2024-02-29T00:00:00-00:30"), 1709166600000);
  EXPECT_EQ(parse_rfc3339_ms("0001-01-01T00:00:00Z"), 0);
  for (auto bad : {"", "2026-11-21", "2026-11-21T05:26:52", "2026-13-01T00:00:00Z",
                   "2023-02-29T00:00:00Z", "2026-11-21T24:00:00Z",
                   "2026-11-21T05:26:52.Z", "2026-11-21T05:26:52Zjunk",
                   "2026-11-21T05:26:52+2:00", "26-11-21T05:26:52Z"})
    EXPECT_FALSE(parse_rfc3339_ms(bad)) << bad;
}

TEST(timestamps, unix_seconds_round_to_the_nearest_ms_within_range) {
  EXPECT_EQ(unix_seconds_to_ms(1700000000.123), 1700000000123);
  EXPECT_EQ(unix_seconds_to_ms(0), 0);
  EXPECT_FALSE(unix_seconds_to_ms(-1));
  EXPECT_FALSE(unix_seconds_to_ms(std::nan("")));
  EXPECT_FALSE(unix_seconds_to_ms(1e300));
}

} // namespace
