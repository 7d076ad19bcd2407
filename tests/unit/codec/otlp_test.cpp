#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdlib>
#include <map>
#include <regex>
#include <set>
#include <tuple>
#include <sstream>
#include <string>
#include <vector>

#include <google/protobuf/util/json_util.h>
#include <nlohmann/json.hpp>

#include "messages/proto/otlp_collector_logs.pb.h"
#include "messages/proto/otlp_collector_metrics.pb.h"
#include "messages/proto/otlp_collector_trace.pb.h"
#include "runtime/codec/compression.hpp"
#include "runtime/codec/otlp.hpp"
#include "runtime/codec/remote_write.hpp"
#include "runtime/hash.hpp"
#include "tests/support/support.hpp"
#include "tests/unit/codec/test_util.hpp"

namespace {

using namespace vigil;
using namespace vigil::codec;
namespace ct = vigil::codec::test;
using vigil::codec::test::code_of;
using vigil::codec::test::why;

namespace metrics_pb = opentelemetry::proto::metrics::v1;
namespace common_pb = opentelemetry::proto::common::v1;
using metrics_request
  = opentelemetry::proto::collector::metrics::v1::ExportMetricsServiceRequest;
using trace_request
  = opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest;
using logs_request
  = opentelemetry::proto::collector::logs::v1::ExportLogsServiceRequest;

const char* kind_name(uint8_t k) {
  static const char* names[] = {"UNSPECIFIED", "INTERNAL", "SERVER",
                                "CLIENT",      "PRODUCER", "CONSUMER"};
  return k < 6 ? names[k] : "?";
}

const char* status_name(uint8_t s) {
  static const char* names[] = {"UNSET", "OK", "ERROR"};
  return s < 3 ? names[s] : "?";
}

void expect_attributes(const std::vector<attribute>& got,
                       const ct::pyval& want) {
  ASSERT_EQ(got.size(), want.entries.size());
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].key, want.entries[i].first);
    const auto& w = want.entries[i].second;
    if (w.kind == ct::pyval::real)
      EXPECT_EQ(std::strtod(got[i].value.c_str(), nullptr),
                std::strtod(w.text.c_str(), nullptr))
        << got[i].key;
    else
      EXPECT_EQ(got[i].value, w.as_text()) << got[i].key;
  }
}

void expect_spans_match(const span_batch& got,
                        const std::vector<ct::expected_span>& want,
                        uint64_t ignored) {
  ASSERT_EQ(got.spans.size(), want.size());
  uint64_t events = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    SCOPED_TRACE(want[i].name);
    const auto& s = got.spans[i];
    EXPECT_EQ(s.service, want[i].service);
    EXPECT_EQ(s.trace_id, want[i].trace);
    EXPECT_EQ(s.span_id, want[i].span);
    EXPECT_EQ(s.parent_span_id, want[i].parent);
    EXPECT_EQ(kind_name(s.kind), want[i].kind);
    EXPECT_EQ(s.name, want[i].name);
    EXPECT_EQ(ct::ms_one_decimal(s.end_ns - s.start_ns),
              want[i].duration_ms);
    EXPECT_EQ(status_name(s.status), want[i].status);
    EXPECT_EQ(s.status_message, want[i].status_message);
    expect_attributes(s.attributes, want[i].attrs);
    // The capture ran around 1795238810 s.
    EXPECT_GT(s.start_ns, 1795238800'000'000'000);
    EXPECT_LT(s.start_ns, 1795239100'000'000'000);
    events += want[i].events;
  }
  EXPECT_EQ(ignored, events);
}

const std::vector<std::string> trace_fixtures = {
  "otlp_traces_01_trace1_frontend",    "otlp_traces_02_trace1_checkout",
  "otlp_traces_03_trace1_payments",    "otlp_traces_04_trace2_error_frontend",
  "otlp_traces_05_trace2_error_checkout",
  "otlp_traces_06_trace2_error_payments",
  "otlp_traces_07_trace3_frontend",    "otlp_traces_08_trace3_checkout",
  "otlp_traces_09_trace3_payments",
};

TEST(otlp, every_protobuf_trace_fixture_decodes_like_the_reference) {
  for (const auto& name : trace_fixtures) {
    SCOPED_TRACE(name);
    decode_options opts;
    opts.received_ns = 7;
    decode_stats stats;
    auto got = decode_otlp_traces(vigil::test::read_fixture(name + ".bin"),
                                  wire_format::protobuf, opts, &stats);
    ASSERT_TRUE(got) << why(got.error());
    EXPECT_EQ(got->received_ns, 7);
    auto want = ct::read_trace_expectation(name);
    ASSERT_FALSE(want.empty());
    expect_spans_match(*got, want, stats.ignored);
    EXPECT_EQ(stats.spans, want.size());
  }
}

TEST(otlp, gzip_trace_fixtures_decode_after_inflating) {
  for (const auto& name :
       {"otlp_traces_gzip_01_frontend", "otlp_traces_gzip_02_checkout",
        "otlp_traces_gzip_03_payments"}) {
    SCOPED_TRACE(name);
    auto body = gzip_inflate(vigil::test::read_fixture(std::string{name}
                                                       + ".bin"),
                             64 << 20);
    ASSERT_TRUE(body) << why(body.error());
    decode_stats stats;
    auto got = decode_otlp_traces(*body, wire_format::protobuf, {}, &stats);
    ASSERT_TRUE(got) << why(got.error());
    expect_spans_match(*got, ct::read_trace_expectation(name),
                       stats.ignored);
  }
}

TEST(otlp, trace2_error_status_and_message_propagate) {
  auto got = decode_otlp_traces(
    vigil::test::read_fixture("otlp_traces_06_trace2_error_payments.bin"),
    wire_format::protobuf, {});
  ASSERT_TRUE(got) << why(got.error());
  ASSERT_EQ(got->spans.size(), 2u);
  EXPECT_EQ(got->spans[0].name, "charge card");
  EXPECT_EQ(got->spans[0].status, static_cast<uint8_t>(span_status::error));
  EXPECT_EQ(got->spans[0].status_message,
            "PaymentGatewayTimeout: card processor timeout");
  EXPECT_EQ(got->spans[1].kind, static_cast<uint8_t>(span_kind::server));
}

// The JSON fixtures were sent by the OTLP/HTTP JSON exporter for a trace of
// the same shape as trace 1; ids and times differ, everything else must
// match, and the ids must be the JSON's hex ids.
TEST(otlp, json_trace_fixtures_decode_to_the_same_spans_as_protobuf_ones) {
  const std::pair<const char*, const char*> pairs[] = {
    {"otlp_traces_json_01_frontend", "otlp_traces_01_trace1_frontend"},
    {"otlp_traces_json_02_checkout", "otlp_traces_02_trace1_checkout"},
    {"otlp_traces_json_03_payments", "otlp_traces_03_trace1_payments"},
  };
  std::map<std::string, std::string> client_span_of_service;
  std::vector<span_record> all;
  for (auto [json_name, proto_name] : pairs) {
    SCOPED_TRACE(json_name);
    auto text = vigil::test::read_fixture(std::string{json_name} + ".json");
    auto from_json = decode_otlp_traces(text, wire_format::json, {});
    ASSERT_TRUE(from_json) << why(from_json.error());
    auto from_proto = decode_otlp_traces(
      vigil::test::read_fixture(std::string{proto_name} + ".bin"),
      wire_format::protobuf, {});
    ASSERT_TRUE(from_proto) << why(from_proto.error());
    auto doc = nlohmann::json::parse(text);
    const auto& spans = doc["resourceSpans"][0]["scopeSpans"][0]["spans"];
    ASSERT_EQ(from_json->spans.size(), spans.size());
    ASSERT_EQ(from_json->spans.size(), from_proto->spans.size());
    for (size_t i = 0; i < spans.size(); ++i) {
      const auto& j = from_json->spans[i];
      const auto& p = from_proto->spans[i];
      SCOPED_TRACE(j.name);
      EXPECT_EQ(j.trace_id, spans[i]["traceId"].get<std::string>());
      EXPECT_EQ(j.span_id, spans[i]["spanId"].get<std::string>());
      EXPECT_EQ(j.parent_span_id,
                spans[i].value("parentSpanId", std::string{}));
      EXPECT_EQ(j.start_ns,
                std::stoll(spans[i]["startTimeUnixNano"].get<std::string>()));
      EXPECT_EQ(j.name, p.name);
      EXPECT_EQ(j.kind, p.kind);
      EXPECT_EQ(j.status, p.status);
      EXPECT_EQ(j.status_message, p.status_message);
      EXPECT_EQ(j.service, p.service);
      EXPECT_EQ(j.end_ns - j.start_ns, p.end_ns - p.start_ns);
      ASSERT_EQ(j.attributes.size(), p.attributes.size());
      for (size_t k = 0; k < j.attributes.size(); ++k) {
        EXPECT_EQ(j.attributes[k].key, p.attributes[k].key);
        if (j.attributes[k].key != "enduser.id") {
          EXPECT_EQ(j.attributes[k].value, p.attributes[k].value);
        }
      }
      all.push_back(j);
    }
  }
  // The three requests are one trace: every parent id is a span of it.
  std::set<std::string> ids;
  for (const auto& s : all)
    ids.insert(s.span_id);
  size_t roots = 0;
  for (const auto& s : all) {
    EXPECT_EQ(s.trace_id, all.front().trace_id);
    if (s.parent_span_id.empty())
      ++roots;
    else
      EXPECT_TRUE(ids.count(s.parent_span_id)) << s.name;
  }
  EXPECT_EQ(roots, 1u);
}

TEST(otlp, json_accepts_numbers_for_int64_enum_names_and_snake_case_keys) {
  std::string body = R"({"resource_spans":[{"resource":{"attributes":[
    {"key":"service.name","value":{"stringValue":"svc"}}]},
    "scopeSpans":[{"spans":[{"traceId":"0102030405060708090A0B0C0D0E0F10",
    "span_id":"0102030405060708","name":"n","kind":"SPAN_KIND_CLIENT",
    "startTimeUnixNano":1795238949182000000,"endTimeUnixNano":"1795238949183000000",
    "status":{"code":2,"message":"bad"},"someFutureField":{"x":1}}]}]}]})";
  auto got = decode_otlp_traces(body, wire_format::json, {});
  ASSERT_TRUE(got) << why(got.error());
  ASSERT_EQ(got->spans.size(), 1u);
  const auto& s = got->spans[0];
  EXPECT_EQ(s.service, "svc");
  EXPECT_EQ(s.trace_id, "0102030405060708090a0b0c0d0e0f10");
  EXPECT_EQ(s.span_id, "0102030405060708");
  EXPECT_EQ(s.kind, static_cast<uint8_t>(span_kind::client));
  EXPECT_EQ(s.start_ns, 1795238949182000000);
  EXPECT_EQ(s.end_ns, 1795238949183000000);
  EXPECT_EQ(s.status, static_cast<uint8_t>(span_status::error));
  EXPECT_EQ(s.status_message, "bad");
}

TEST(otlp, bad_ids_are_malformed_and_named) {
  std::string body = R"({"resourceSpans":[{"scopeSpans":[{"spans":[
    {"traceId":"zz02030405060708090a0b0c0d0e0f10","spanId":"0102030405060708"}]}]}]})";
  auto got = decode_otlp_traces(body, wire_format::json, {});
  ASSERT_FALSE(got);
  auto d = describe(got.error());
  EXPECT_EQ(d.code, errc::malformed);
  EXPECT_EQ(d.where, "$.resourceSpans[0].scopeSpans[0].spans[0].traceId");
  // Wrong length, via protobuf.
  trace_request req;
  auto* span = req.add_resource_spans()->add_scope_spans()->add_spans();
  span->set_trace_id(std::string(8, '\1'));
  span->set_span_id(std::string(8, '\2'));
  got = decode_otlp_traces(req.SerializeAsString(), wire_format::protobuf,
                           {});
  ASSERT_FALSE(got);
  d = describe(got.error());
  EXPECT_EQ(d.where, "resourceSpans[0].scopeSpans[0].spans[0].traceId");
  // All-zero parent is no parent; missing service.name is the default.
  span->set_trace_id(std::string(16, '\1'));
  span->set_parent_span_id(std::string(8, '\0'));
  decode_options opts;
  opts.default_service = "anon";
  got = decode_otlp_traces(req.SerializeAsString(), wire_format::protobuf,
                           opts);
  ASSERT_TRUE(got) << why(got.error());
  EXPECT_EQ(got->spans[0].parent_span_id, "");
  EXPECT_EQ(got->spans[0].service, "anon");
}

// -- metrics -------------------------------------------------------------------

struct expected_point {
  std::string text;
  double value;
  uint8_t flags;
};

// Builds the expected samples of a metrics fixture from its .decoded.txt,
// formatting series texts here rather than through series_builder.
std::vector<expected_point> metric_expectation(const std::string& name,
                                               const std::string& instance) {
  std::istringstream in{vigil::test::read_fixture(name + ".decoded.txt")};
  std::regex line_re{R"(^    (\S+)\s+(\w+)\s+unit=\S*\s+(.*?)points=(\[.*\])$)"};
  std::vector<expected_point> out;
  std::string line;
  auto text_of = [&](const std::string& metric, const ct::pyval& attrs,
                     const std::vector<std::pair<std::string, std::string>>&
                       extra) {
    std::vector<std::pair<std::string, std::string>> labels = extra;
    for (const auto& [k, v] : attrs.entries)
      labels.emplace_back(k, v.as_text());
    labels.emplace_back("instance", instance);
    std::sort(labels.begin(), labels.end());
    std::string t = metric;
    if (!labels.empty()) {
      t += '{';
      for (size_t i = 0; i < labels.size(); ++i)
        t += (i ? "," : "") + labels[i].first + "=\"" + labels[i].second
             + "\"";
      t += '}';
    }
    return t;
  };
  while (std::getline(in, line)) {
    std::smatch m;
    if (!std::regex_match(line, m, line_re))
      continue;
    std::string metric = m[1], type = m[2], extra = m[3];
    bool cumulative = extra.find("CUMULATIVE") != std::string::npos;
    bool monotonic = extra.find("monotonic=True") != std::string::npos;
    auto points = ct::parse_python(std::string{m[4]});
    for (const auto& p : points.items) {
      const auto& attrs = p.at("attrs");
      if (type == "histogram") {
        uint8_t f = cumulative ? sample_flags::counter : sample_flags::delta;
        out.push_back({text_of(metric + "_count", attrs, {}),
                       std::strtod(p.at("count").text.c_str(), nullptr), f});
        out.push_back({text_of(metric + "_sum", attrs, {}),
                       std::strtod(p.at("sum").text.c_str(), nullptr), f});
      } else {
        uint8_t f = 0;
        if (type == "sum" && cumulative && monotonic)
          f = sample_flags::counter;
        out.push_back({text_of(metric, attrs, {}),
                       std::strtod(p.at("value").text.c_str(), nullptr), f});
      }
    }
  }
  return out;
}

TEST(otlp, every_metrics_fixture_maps_each_data_point_to_samples) {
  for (const auto& name : {"otlp_metrics_01", "otlp_metrics_02",
                           "otlp_metrics_03", "otlp_metrics_04_shutdown"}) {
    SCOPED_TRACE(name);
    auto body = vigil::test::read_fixture(std::string{name} + ".bin");
    metrics_request req;
    ASSERT_TRUE(req.ParseFromString(body));
    std::string instance;
    for (const auto& kv : req.resource_metrics(0).resource().attributes())
      if (kv.key() == "service.instance.id")
        instance = kv.value().string_value();
    ASSERT_FALSE(instance.empty());
    auto want = metric_expectation(name, instance);
    // 2 histogram points x (_count, _sum) + 2 sums + 1 gauge.
    ASSERT_EQ(want.size(), 7u);
    decode_stats stats;
    decode_options opts;
    opts.received_ns = 99;
    auto got = decode_otlp_metrics(body, wire_format::protobuf, opts, &stats);
    ASSERT_TRUE(got) << why(got.error());
    ASSERT_EQ(got->size(), 1u);
    const auto& batch = got->front();
    EXPECT_EQ(batch.service, "checkout");
    EXPECT_EQ(batch.received_ns, 99);
    // Metrics and points keep wire order, as the reference printed them;
    // each histogram point gives _count then _sum.
    ASSERT_EQ(batch.samples.size(), want.size());
    for (size_t j = 0; j < want.size(); ++j) {
      const auto& s = batch.samples[j];
      auto text = std::string{batch.text(s)};
      EXPECT_EQ(text, want[j].text);
      EXPECT_EQ(s.series, hash64(text));
      EXPECT_EQ(s.value, want[j].value) << text;
      EXPECT_EQ(s.flags, want[j].flags) << text;
      EXPECT_GT(s.ts_ms, 1795238800000);
      EXPECT_LT(s.ts_ms, 1795239100000);
    }
    EXPECT_EQ(stats.samples, batch.samples.size());
    EXPECT_EQ(stats.series, batch.samples.size());
    EXPECT_EQ(stats.stale_markers, 0u);
  }
}

// A hand-built request with every metric kind.
metrics_request every_kind() {
  metrics_request req;
  auto* rm = req.add_resource_metrics();
  auto* attr = rm->mutable_resource()->add_attributes();
  attr->set_key("service.name");
  attr->mutable_value()->set_string_value("orders");
  attr = rm->mutable_resource()->add_attributes();
  attr->set_key("service.instance.id");
  attr->mutable_value()->set_string_value("orders-1");
  auto* sm = rm->add_scope_metrics();
  auto add_attr = [](auto* dp, const char* key) {
    auto* kv = dp->add_attributes();
    kv->set_key(key);
    return kv->mutable_value();
  };
  // A delta sum with typed attributes.
  auto* m = sm->add_metrics();
  m->set_name("orders.delta");
  m->mutable_sum()->set_aggregation_temporality(
    metrics_pb::AGGREGATION_TEMPORALITY_DELTA);
  auto* dp = m->mutable_sum()->add_data_points();
  dp->set_as_int(5);
  dp->set_time_unix_nano(1'700'000'000'123'456'789);
  add_attr(dp, "ok")->set_bool_value(true);
  add_attr(dp, "n")->set_int_value(-3);
  add_attr(dp, "ratio")->set_double_value(0.25);
  auto* arr = add_attr(dp, "list")->mutable_array_value();
  arr->add_values()->set_string_value("a\"b");
  arr->add_values()->set_int_value(1);
  // A gauge point flagged NO_RECORDED_VALUE.
  m = sm->add_metrics();
  m->set_name("queue.depth");
  dp = m->mutable_gauge()->add_data_points();
  dp->set_flags(metrics_pb::DATA_POINT_FLAGS_NO_RECORDED_VALUE_MASK);
  dp->set_time_unix_nano(1'700'000'001'000'000'000);
  // A delta exponential histogram without a sum, with an exemplar.
  m = sm->add_metrics();
  m->set_name("rpc.duration");
  m->mutable_exponential_histogram()->set_aggregation_temporality(
    metrics_pb::AGGREGATION_TEMPORALITY_DELTA);
  auto* eh = m->mutable_exponential_histogram()->add_data_points();
  eh->set_count(9);
  eh->set_time_unix_nano(1'700'000'002'000'000'000);
  eh->add_exemplars()->set_as_double(1);
  // A summary with two quantiles.
  m = sm->add_metrics();
  m->set_name("latency");
  auto* sp = m->mutable_summary()->add_data_points();
  sp->set_count(10);
  sp->set_sum(2.5);
  sp->set_time_unix_nano(1'700'000'003'000'000'000);
  auto* q = sp->add_quantile_values();
  q->set_quantile(0.5);
  q->set_value(0.2);
  q = sp->add_quantile_values();
  q->set_quantile(0.99);
  q->set_value(std::nan(""));
  // A metric without data.
  sm->add_metrics()->set_name("empty");
  return req;
}

TEST(otlp, every_metric_kind_maps_to_the_documented_series_and_flags) {
  decode_stats stats;
  auto got = decode_otlp_metrics(every_kind().SerializeAsString(),
                                 wire_format::protobuf, {}, &stats);
  ASSERT_TRUE(got) << why(got.error());
  ASSERT_EQ(got->size(), 1u);
  const auto& b = got->front();
  EXPECT_EQ(b.service, "orders");
  std::vector<std::tuple<std::string, double, uint8_t, int64_t>> want = {
    {"orders.delta{instance=\"orders-1\",list=\"[\\\"a\\\\\\\"b\\\",1]\","
     "n=\"-3\",ok=\"true\",ratio=\"0.25\"}",
     5, sample_flags::delta, 1'700'000'000'123},
    {"queue.depth{instance=\"orders-1\"}", 0, sample_flags::stale,
     1'700'000'001'000},
    {"rpc.duration_count{instance=\"orders-1\"}", 9, sample_flags::delta,
     1'700'000'002'000},
    {"latency_count{instance=\"orders-1\"}", 10, sample_flags::counter,
     1'700'000'003'000},
    {"latency_sum{instance=\"orders-1\"}", 2.5, sample_flags::counter,
     1'700'000'003'000},
    {"latency{instance=\"orders-1\",quantile=\"0.5\"}", 0.2, 0,
     1'700'000'003'000},
    {"latency{instance=\"orders-1\",quantile=\"0.99\"}", std::nan(""), 0,
     1'700'000'003'000},
  };
  ASSERT_EQ(b.samples.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    const auto& [text, value, flags, ts] = want[i];
    const auto& s = b.samples[i];
    EXPECT_EQ(b.text(s), text);
    EXPECT_EQ(s.flags, flags) << text;
    EXPECT_EQ(s.ts_ms, ts) << text;
    if (flags & sample_flags::stale) {
      EXPECT_TRUE(is_stale_marker(s.value));
    } else if (std::isnan(value)) {
      EXPECT_TRUE(std::isnan(s.value) && !is_stale_marker(s.value));
    } else {
      EXPECT_EQ(s.value, value) << text;
    }
  }
  EXPECT_EQ(stats.stale_markers, 1u);
  EXPECT_EQ(stats.nan_values, 1u);
  EXPECT_EQ(stats.ignored, 2u); // the exemplar and the metric without data
  EXPECT_EQ(stats.samples, 7u);
}

TEST(otlp, metrics_json_decodes_like_the_protobuf_of_the_same_request) {
  std::string json;
  google::protobuf::util::JsonPrintOptions print;
  // Canonical proto3 JSON, then the OTLP/JSON differences: nothing to change
  // here since the request has no ids.
  ASSERT_TRUE(google::protobuf::util::MessageToJsonString(every_kind(), &json,
                                                          print)
                .ok());
  auto from_json = decode_otlp_metrics(json, wire_format::json, {});
  auto from_proto = decode_otlp_metrics(every_kind().SerializeAsString(),
                                        wire_format::protobuf, {});
  ASSERT_TRUE(from_json) << why(from_json.error());
  ASSERT_TRUE(from_proto);
  ASSERT_EQ(from_json->front().samples.size(),
            from_proto->front().samples.size());
  EXPECT_EQ(from_json->front().texts, from_proto->front().texts);
  for (size_t i = 0; i < from_json->front().samples.size(); ++i) {
    const auto& a = from_json->front().samples[i];
    const auto& b = from_proto->front().samples[i];
    EXPECT_EQ(a.series, b.series);
    EXPECT_EQ(a.ts_ms, b.ts_ms);
    EXPECT_EQ(a.flags, b.flags);
    EXPECT_EQ(std::bit_cast<uint64_t>(a.value), std::bit_cast<uint64_t>(b.value));
  }
}

TEST(otlp, repeated_series_share_one_text_and_resources_of_one_service_merge) {
  metrics_request req;
  for (int r = 0; r < 2; ++r) {
    auto* rm = req.add_resource_metrics();
    auto* kv = rm->mutable_resource()->add_attributes();
    kv->set_key("service.name");
    kv->mutable_value()->set_string_value("api");
    auto* m = rm->add_scope_metrics()->add_metrics();
    m->set_name("g");
    for (int i = 0; i < 3; ++i) {
      auto* dp = m->mutable_gauge()->add_data_points();
      dp->set_as_double(i);
      dp->set_time_unix_nano(1'000'000 * (i + 1));
    }
  }
  decode_stats stats;
  auto got = decode_otlp_metrics(req.SerializeAsString(),
                                 wire_format::protobuf, {}, &stats);
  ASSERT_TRUE(got) << why(got.error());
  ASSERT_EQ(got->size(), 1u);
  EXPECT_EQ(got->front().samples.size(), 6u);
  EXPECT_EQ(got->front().texts, "g");
  EXPECT_EQ(stats.series, 1u);
}

TEST(otlp, bad_attribute_keys_and_missing_values_are_malformed_with_a_path) {
  auto req = every_kind();
  auto* dp = req.mutable_resource_metrics(0)
               ->mutable_scope_metrics(0)
               ->mutable_metrics(0)
               ->mutable_sum()
               ->mutable_data_points(0);
  dp->mutable_attributes(1)->set_key("bad key");
  auto got = decode_otlp_metrics(req.SerializeAsString(),
                                 wire_format::protobuf, {});
  ASSERT_FALSE(got);
  auto d = describe(got.error());
  EXPECT_EQ(d.code, errc::malformed);
  EXPECT_EQ(d.where, "resourceMetrics[0].scopeMetrics[0].metrics[0].sum."
                     "dataPoints[0].attributes[1]");
  dp->mutable_attributes(1)->set_key("n");
  dp->clear_value();
  got = decode_otlp_metrics(req.SerializeAsString(), wire_format::protobuf,
                            {});
  ASSERT_FALSE(got);
  EXPECT_NE(describe(got.error()).message.find("neither"), std::string::npos);
}

// -- logs --------------------------------------------------------------------

TEST(otlp, logs_fixture_decodes_severity_ids_body_and_attributes) {
  std::istringstream in{vigil::test::read_fixture("otlp_logs_01.decoded.txt")};
  std::regex re{R"(^    sev=(\d+)/(\w+) trace=(\S+) span=(\S+) body=(.*) attrs=(\{.*\})$)"};
  struct want_t {
    int sev;
    std::string text, trace, span;
    ct::pyval body, attrs;
  };
  std::vector<want_t> want;
  std::string line;
  while (std::getline(in, line)) {
    std::smatch m;
    if (std::regex_match(line, m, re))
      want.push_back({std::stoi(m[1]), m[2], m[3] == "-" ? "" : m[3].str(),
                      m[4] == "-" ? "" : m[4].str(),
                      ct::parse_python(m[5].str()),
                      ct::parse_python(m[6].str())});
  }
  ASSERT_EQ(want.size(), 4u);
  decode_options opts;
  opts.received_ns = 5;
  decode_stats stats;
  auto got = decode_otlp_logs(vigil::test::read_fixture("otlp_logs_01.bin"),
                              wire_format::protobuf, opts, &stats);
  ASSERT_TRUE(got) << why(got.error());
  ASSERT_EQ(got->size(), 1u);
  const auto& batch = got->front();
  EXPECT_EQ(batch.service, "payments");
  EXPECT_EQ(batch.format, "otlp");
  EXPECT_EQ(batch.received_ns, 5);
  ASSERT_EQ(batch.records.size(), want.size());
  EXPECT_EQ(stats.log_records, 4u);
  for (size_t i = 0; i < want.size(); ++i) {
    const auto& r = batch.records[i];
    SCOPED_TRACE(r.body);
    EXPECT_EQ(r.severity, want[i].sev);
    EXPECT_EQ(r.severity_text, want[i].text);
    EXPECT_EQ(r.trace_id, want[i].trace);
    EXPECT_EQ(r.span_id, want[i].span);
    EXPECT_EQ(r.body, want[i].body.kind == ct::pyval::str
                        ? want[i].body.text
                        : want[i].body.as_json());
    expect_attributes(r.attributes, want[i].attrs);
    EXPECT_GT(r.ts_ms, 1795238800000);
  }
  EXPECT_EQ(batch.records[3].body,
            R"({"msg":"structured body","retries":2,"ok":false})");
}

TEST(otlp, log_time_falls_back_to_observed_time_and_json_ids_are_hex) {
  std::string body = R"({"resourceLogs":[{"resource":{"attributes":[
    {"key":"service.name","value":{"stringValue":"web"}}]},
    "scopeLogs":[{"logRecords":[
      {"observedTimeUnixNano":"1700000000500000000","severityNumber":17,
       "severityText":"ERROR","body":{"stringValue":"boom"},
       "traceId":"5B8EFFF798038103D269B633813FC60C","spanId":"EEE19B7EC3C1B174"},
      {"timeUnixNano":"1700000001000000000","body":{"arrayValue":{"values":[
        {"intValue":"7"},{"doubleValue":1.5},{"boolValue":true}]}},
       "traceId":"00000000000000000000000000000000","spanId":""}]}]}]})";
  auto got = decode_otlp_logs(body, wire_format::json, {});
  ASSERT_TRUE(got) << why(got.error());
  ASSERT_EQ(got->size(), 1u);
  const auto& r = got->front().records;
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].ts_ms, 1700000000500);
  EXPECT_EQ(r[0].severity, 17);
  EXPECT_EQ(r[0].body, "boom");
  EXPECT_EQ(r[0].trace_id, "5b8efff798038103d269b633813fc60c");
  EXPECT_EQ(r[0].span_id, "eee19b7ec3c1b174");
  EXPECT_EQ(r[1].ts_ms, 1700000001000);
  EXPECT_EQ(r[1].body, "[7,1.5,true]");
  EXPECT_EQ(r[1].trace_id, "");
  EXPECT_EQ(r[1].span_id, "");
}

TEST(otlp, empty_response_is_empty_protobuf_or_an_empty_json_object) {
  EXPECT_EQ(otlp_empty_response(wire_format::protobuf), "");
  EXPECT_EQ(otlp_empty_response(wire_format::json), "{}");
  opentelemetry::proto::collector::trace::v1::ExportTraceServiceResponse resp;
  EXPECT_TRUE(resp.ParseFromString(otlp_empty_response(wire_format::protobuf)));
  EXPECT_FALSE(resp.has_partial_success());
}

TEST(otlp, protobuf_errors_name_the_field_path_and_byte) {
  auto body = vigil::test::read_fixture("otlp_traces_01_trace1_frontend.bin");
  auto got = decode_otlp_traces(body.substr(0, body.size() - 10),
                                wire_format::protobuf, {});
  ASSERT_FALSE(got);
  auto d = describe(got.error());
  EXPECT_EQ(d.code, errc::malformed);
  EXPECT_EQ(d.where.rfind("resourceSpans[0]", 0), 0u) << d.where;
  EXPECT_NE(d.where.find(": byte "), std::string::npos) << d.where;
  // Invalid UTF-8 in a string field.
  trace_request req;
  auto* span = req.add_resource_spans()->add_scope_spans()->add_spans();
  span->set_trace_id(std::string(16, '\1'));
  span->set_span_id(std::string(8, '\1'));
  span->set_name("ok");
  auto bytes = req.SerializeAsString();
  auto pos = bytes.find("ok");
  bytes[pos] = '\xff';
  got = decode_otlp_traces(bytes, wire_format::protobuf, {});
  ASSERT_FALSE(got);
  d = describe(got.error());
  EXPECT_NE(d.message.find("UTF-8"), std::string::npos);
  EXPECT_EQ(d.where.rfind("resourceSpans[0].scopeSpans[0].spans[0].name", 0),
            0u)
    << d.where;
}

TEST(otlp, json_that_is_not_an_otlp_request_is_malformed) {
  for (std::string body : {"", "[]", "{", "{\"resourceSpans\":5}",
                           "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":"
                           "[{\"startTimeUnixNano\":\"soon\"}]}]}]}",
                           "null"}) {
    auto got = decode_otlp_traces(body, wire_format::json, {});
    EXPECT_EQ(code_of(got), errc::malformed) << body;
  }
}

} // namespace
