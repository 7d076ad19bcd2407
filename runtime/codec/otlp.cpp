#include "runtime/codec/otlp.hpp"

#include <climits>
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <unordered_map>

#include <google/protobuf/util/json_util.h>

#include "messages/proto/otlp_collector_logs.pb.h"
#include "messages/proto/otlp_collector_metrics.pb.h"
#include "messages/proto/otlp_collector_trace.pb.h"
#include "runtime/codec/batches.hpp"
#include "runtime/codec/error.hpp"
#include "runtime/codec/json_support.hpp"
#include "runtime/codec/protobuf_check.hpp"
#include "runtime/codec/remote_write.hpp"
#include "runtime/codec/series.hpp"

namespace vigil::codec {

namespace {

namespace common = opentelemetry::proto::common::v1;
namespace resource = opentelemetry::proto::resource::v1;
namespace metrics = opentelemetry::proto::metrics::v1;
namespace trace = opentelemetry::proto::trace::v1;
namespace logs = opentelemetry::proto::logs::v1;
using attribute_list = google::protobuf::RepeatedPtrField<common::KeyValue>;
using nlohmann::json;

// -- from the body to a request message ---------------------------------------

std::string indexed(const std::string& path, std::string_view key, size_t i) {
  std::string s = path;
  s += '.';
  s += key;
  s += '[';
  s += std::to_string(i);
  s += ']';
  return s;
}

// Calls `f(element, path)` for every element of the array member `keys`
// (lowerCamelCase or snake_case) of `parent`. Shapes that do not match are
// left for libprotobuf to reject.
template <class F>
caf::error each(json& parent, std::initializer_list<const char*> keys,
                const std::string& path, F&& f) {
  if (!parent.is_object())
    return {};
  for (auto key : keys) {
    auto i = parent.find(key);
    if (i == parent.end() || !i->is_array())
      continue;
    for (size_t k = 0; k < i->size(); ++k)
      if (auto err = f((*i)[k], indexed(path, key, k)))
        return err;
  }
  return {};
}

// OTLP/JSON writes trace and span ids as hex, while the proto3 JSON mapping
// of `bytes` is base64: rewrite them before libprotobuf reads the tree.
caf::error hex_ids_to_base64(json& obj, const std::string& path) {
  if (!obj.is_object())
    return {};
  for (auto key : {"traceId", "trace_id", "spanId", "span_id", "parentSpanId",
                   "parent_span_id"}) {
    auto i = obj.find(key);
    if (i == obj.end() || !i->is_string())
      continue;
    const auto& hex = i->get_ref<const std::string&>();
    if (hex.empty())
      continue;
    auto bytes = from_hex(hex);
    if (!bytes)
      return malformed(std::string{key} + " is not an even number of hex "
                                          "digits",
                       path + "." + key);
    *i = to_base64(*bytes);
  }
  return {};
}

caf::error rewrite_trace_ids(json& root) {
  return each(root, {"resourceSpans", "resource_spans"}, "$", [](json& rs, const std::string& p1) {
    return each(rs, {"scopeSpans", "scope_spans"}, p1, [](json& ss, const std::string& p2) {
      return each(ss, {"spans"}, p2, [](json& span, const std::string& p3) {
        if (auto err = hex_ids_to_base64(span, p3))
          return err;
        return each(span, {"links"}, p3, [](json& link, const std::string& p4) {
          return hex_ids_to_base64(link, p4);
        });
      });
    });
  });
}

caf::error rewrite_log_ids(json& root) {
  return each(root, {"resourceLogs", "resource_logs"}, "$", [](json& rl, const std::string& p1) {
    return each(rl, {"scopeLogs", "scope_logs"}, p1, [](json& sl, const std::string& p2) {
      return each(sl, {"logRecords", "log_records"}, p2, [](json& rec, const std::string& p3) {
        return hex_ids_to_base64(rec, p3);
      });
    });
  });
}

caf::error rewrite_metric_ids(json& root) {
  return each(root, {"resourceMetrics", "resource_metrics"}, "$", [](json& rm, const std::string& p1) {
    return each(rm, {"scopeMetrics", "scope_metrics"}, p1, [](json& sm, const std::string& p2) {
      return each(sm, {"metrics"}, p2, [](json& m, const std::string& p3) -> caf::error {
        if (!m.is_object())
          return {};
        for (auto kind : {"gauge", "sum", "histogram", "exponentialHistogram",
                          "exponential_histogram"}) {
          auto data = m.find(kind);
          if (data == m.end())
            continue;
          auto err = each(*data, {"dataPoints", "data_points"}, p3 + "." + kind,
                          [](json& dp, const std::string& p4) {
                            return each(dp, {"exemplars"}, p4, [](json& ex, const std::string& p5) {
                              return hex_ids_to_base64(ex, p5);
                            });
                          });
          if (err)
            return err;
        }
        return {};
      });
    });
  });
}

template <class Request>
caf::error parse_request(std::string_view body, wire_format format,
                         const decode_options& opts,
                         caf::error (*rewrite_ids)(json&), Request& req) {
  if (body.size() > static_cast<size_t>(INT_MAX))
    return too_large("OTLP body is larger than 2 GiB", "body");
  if (format == wire_format::protobuf) {
    // The check names the path and byte of a broken body and keeps
    // libprotobuf from ever logging about it.
    if (auto err = check_protobuf(body, *Request::descriptor(),
                                  opts.max_items))
      return err;
    if (!req.ParseFromArray(body.data(), static_cast<int>(body.size())))
      return malformed("body is not a valid " + req.GetTypeName(), "body");
    return {};
  }
  auto tree = parse_json(body);
  if (!tree)
    return std::move(tree.error());
  if (!tree->is_object())
    return malformed("OTLP/JSON body must be an object, not "
                       + std::string{json_type_name(*tree)},
                     "$");
  if (auto err = rewrite_ids(*tree))
    return err;
  google::protobuf::util::JsonParseOptions options;
  // Newer OTLP versions add fields; they must not break older receivers.
  options.ignore_unknown_fields = true;
  auto status = google::protobuf::util::JsonStringToMessage(tree->dump(),
                                                            &req, options);
  if (!status.ok())
    return malformed("OTLP/JSON does not match " + req.GetTypeName() + ": "
                       + std::string{status.message()},
                     "$");
  return {};
}

// -- values ------------------------------------------------------------------

void append_json(std::string& out, const common::AnyValue& v);

void append_text(std::string& out, const common::AnyValue& v) {
  switch (v.value_case()) {
    case common::AnyValue::kStringValue:
      out += v.string_value();
      break;
    case common::AnyValue::kBoolValue:
      out += v.bool_value() ? "true" : "false";
      break;
    case common::AnyValue::kIntValue:
      out += std::to_string(v.int_value());
      break;
    case common::AnyValue::kDoubleValue:
      append_double(out, v.double_value());
      break;
    case common::AnyValue::kBytesValue:
      out += to_base64(v.bytes_value());
      break;
    case common::AnyValue::kArrayValue:
    case common::AnyValue::kKvlistValue:
      append_json(out, v);
      break;
    default:
      break;
  }
}

void append_json(std::string& out, const common::AnyValue& v) {
  switch (v.value_case()) {
    case common::AnyValue::kStringValue:
      append_json_string(out, v.string_value());
      break;
    case common::AnyValue::kBoolValue:
      out += v.bool_value() ? "true" : "false";
      break;
    case common::AnyValue::kIntValue:
      out += std::to_string(v.int_value());
      break;
    case common::AnyValue::kDoubleValue:
      // JSON has no NaN or infinities; those become strings.
      if (std::isfinite(v.double_value())) {
        append_double(out, v.double_value());
      } else {
        std::string text;
        append_double(text, v.double_value());
        append_json_string(out, text);
      }
      break;
    case common::AnyValue::kBytesValue:
      append_json_string(out, to_base64(v.bytes_value()));
      break;
    case common::AnyValue::kArrayValue: {
      out += '[';
      const auto& values = v.array_value().values();
      for (int i = 0; i < values.size(); ++i) {
        if (i > 0)
          out += ',';
        append_json(out, values[i]);
      }
      out += ']';
      break;
    }
    case common::AnyValue::kKvlistValue: {
      out += '{';
      const auto& values = v.kvlist_value().values();
      for (int i = 0; i < values.size(); ++i) {
        if (i > 0)
          out += ',';
        append_json_string(out, values[i].key());
        out += ':';
        append_json(out, values[i].value());
      }
      out += '}';
      break;
    }
    default:
      out += "null";
  }
}

std::vector<attribute> to_attributes(const attribute_list& list) {
  std::vector<attribute> result;
  result.reserve(list.size());
  for (const auto& kv : list) {
    auto& a = result.emplace_back();
    a.key = kv.key();
    append_text(a.value, kv.value());
  }
  return result;
}

// The parts of a resource Vigil uses.
struct resource_info {
  std::string service;
  std::string instance;
  bool has_instance = false;
};

resource_info describe(const resource::Resource& r,
                       const decode_options& opts) {
  resource_info info;
  for (const auto& kv : r.attributes()) {
    if (kv.key() == "service.name") {
      info.service.clear();
      append_text(info.service, kv.value());
    } else if (kv.key() == "service.instance.id") {
      info.instance.clear();
      append_text(info.instance, kv.value());
      info.has_instance = !info.instance.empty();
    }
  }
  if (info.service.empty())
    info.service = opts.default_service;
  return info;
}

// Turns a trace or span id into hex. `required` ids must be present and not
// all zero; optional ones that are absent or all zero become "".
caf::error id_to_hex(const std::string& bytes, size_t want, bool required,
                     std::string& out, const char* field,
                     const std::string& where) {
  out.clear();
  if (bytes.empty()) {
    if (required)
      return malformed(std::string{field} + " is missing",
                       where + "." + field);
    return {};
  }
  if (bytes.size() != want)
    return malformed(std::string{field} + " must be " + std::to_string(want)
                       + " bytes (" + std::to_string(2 * want)
                       + " hex digits), not " + std::to_string(bytes.size()),
                     where + "." + field);
  if (bytes.find_first_not_of('\0') == std::string::npos) {
    if (required)
      return malformed(std::string{field} + " is all zeros",
                       where + "." + field);
    return {};
  }
  out = to_hex(bytes);
  return {};
}

int64_t ns_to_ms(uint64_t ns) {
  return static_cast<int64_t>(ns / 1'000'000);
}

// -- metrics -----------------------------------------------------------------

// Where a data point sits, formatted only when an error needs it.
struct point_path {
  int r = 0, s = 0, m = 0;
  const char* kind = "";
  int p = 0;

  std::string str() const {
    return "resourceMetrics[" + std::to_string(r) + "].scopeMetrics["
           + std::to_string(s) + "].metrics[" + std::to_string(m) + "]."
           + kind + ".dataPoints[" + std::to_string(p) + "]";
  }
};

class metrics_decoder {
public:
  explicit metrics_decoder(const decode_options& opts) : opts_(opts) {
  }

  caf::error run(const opentelemetry::proto::collector::metrics::v1::
                   ExportMetricsServiceRequest& req) {
    point_path at;
    for (at.r = 0; at.r < req.resource_metrics_size(); ++at.r) {
      const auto& rm = req.resource_metrics(at.r);
      auto res = describe(rm.resource(), opts_);
      batch_ = batches_.index_of(res.service, opts_.received_ns);
      if (indexes_.size() < batches_.size())
        indexes_.emplace_back();
      for (at.s = 0; at.s < rm.scope_metrics_size(); ++at.s) {
        const auto& sm = rm.scope_metrics(at.s);
        for (at.m = 0; at.m < sm.metrics_size(); ++at.m)
          if (auto err = metric(sm.metrics(at.m), res, at))
            return err;
      }
    }
    return {};
  }

  std::vector<sample_batch> take() { return batches_.take(); }

  const decode_stats& stats() const { return stats_; }

private:
  static uint8_t flags_of(metrics::AggregationTemporality t) {
    if (t == metrics::AGGREGATION_TEMPORALITY_CUMULATIVE)
      return sample_flags::counter;
    if (t == metrics::AGGREGATION_TEMPORALITY_DELTA)
      return sample_flags::delta;
    return 0;
  }

  static bool no_value(uint32_t flags) {
    return (flags & metrics::DATA_POINT_FLAGS_NO_RECORDED_VALUE_MASK) != 0;
  }

  caf::error metric(const metrics::Metric& m, const resource_info& res,
                    point_path at) {
    const auto& name = m.name();
    switch (m.data_case()) {
      case metrics::Metric::kGauge:
        at.kind = "gauge";
        for (at.p = 0; at.p < m.gauge().data_points_size(); ++at.p)
          if (auto err = number(name, m.gauge().data_points(at.p), 0, res,
                                at))
            return err;
        return {};
      case metrics::Metric::kSum: {
        at.kind = "sum";
        const auto& sum = m.sum();
        uint8_t flags = 0;
        if (sum.aggregation_temporality()
            == metrics::AGGREGATION_TEMPORALITY_DELTA)
          flags = sample_flags::delta;
        else if (sum.aggregation_temporality()
                   == metrics::AGGREGATION_TEMPORALITY_CUMULATIVE
                 && sum.is_monotonic())
          flags = sample_flags::counter;
        for (at.p = 0; at.p < sum.data_points_size(); ++at.p)
          if (auto err = number(name, sum.data_points(at.p), flags, res, at))
            return err;
        return {};
      }
      case metrics::Metric::kHistogram: {
        at.kind = "histogram";
        const auto& h = m.histogram();
        auto flags = flags_of(h.aggregation_temporality());
        for (at.p = 0; at.p < h.data_points_size(); ++at.p) {
          const auto& dp = h.data_points(at.p);
          stats_.ignored += dp.exemplars_size();
          if (auto err = count_and_sum(name, dp.attributes(), dp.count(),
                                       dp.has_sum(), dp.sum(),
                                       dp.time_unix_nano(), flags,
                                       no_value(dp.flags()), res, at))
            return err;
        }
        return {};
      }
      case metrics::Metric::kExponentialHistogram: {
        at.kind = "exponentialHistogram";
        const auto& h = m.exponential_histogram();
        auto flags = flags_of(h.aggregation_temporality());
        for (at.p = 0; at.p < h.data_points_size(); ++at.p) {
          const auto& dp = h.data_points(at.p);
          stats_.ignored += dp.exemplars_size();
          if (auto err = count_and_sum(name, dp.attributes(), dp.count(),
                                       dp.has_sum(), dp.sum(),
                                       dp.time_unix_nano(), flags,
                                       no_value(dp.flags()), res, at))
            return err;
        }
        return {};
      }
      case metrics::Metric::kSummary: {
        at.kind = "summary";
        const auto& s = m.summary();
        for (at.p = 0; at.p < s.data_points_size(); ++at.p) {
          const auto& dp = s.data_points(at.p);
          bool stale = no_value(dp.flags());
          if (auto err = count_and_sum(name, dp.attributes(), dp.count(), true,
                                       dp.sum(), dp.time_unix_nano(),
                                       sample_flags::counter, stale, res, at))
            return err;
          for (const auto& q : dp.quantile_values()) {
            quantile_.clear();
            append_double(quantile_, q.quantile());
            if (auto err = emit(name, dp.attributes(), res, &quantile_,
                                q.value(), dp.time_unix_nano(), 0, stale, at))
              return err;
          }
        }
        return {};
      }
      default:
        // A metric without data carries nothing to analyse.
        ++stats_.ignored;
        return {};
    }
  }

  caf::error number(const std::string& name, const metrics::NumberDataPoint& dp,
                    uint8_t flags, const resource_info& res,
                    const point_path& at) {
    stats_.ignored += dp.exemplars_size();
    bool stale = no_value(dp.flags());
    double value = 0;
    switch (dp.value_case()) {
      case metrics::NumberDataPoint::kAsDouble:
        value = dp.as_double();
        break;
      case metrics::NumberDataPoint::kAsInt:
        value = static_cast<double>(dp.as_int());
        break;
      default:
        if (!stale)
          return malformed("data point has neither asDouble nor asInt",
                           at.str());
    }
    return emit(name, dp.attributes(), res, nullptr, value,
                dp.time_unix_nano(), flags, stale, at);
  }

  caf::error count_and_sum(const std::string& name,
                           const attribute_list& attrs, uint64_t count,
                           bool has_sum, double sum, uint64_t time_ns,
                           uint8_t flags, bool stale, const resource_info& res,
                           const point_path& at) {
    name_ = name;
    name_ += "_count";
    if (auto err = emit(name_, attrs, res, nullptr, static_cast<double>(count),
                        time_ns, flags, stale, at))
      return err;
    if (!has_sum)
      return {};
    name_ = name;
    name_ += "_sum";
    return emit(name_, attrs, res, nullptr, sum, time_ns, flags, stale, at);
  }

  caf::error emit(std::string_view name, const attribute_list& attrs,
                  const resource_info& res, const std::string* quantile,
                  double value, uint64_t time_ns, uint8_t flags, bool stale,
                  const point_path& at) {
    if (++items_ > opts_.max_items)
      return too_large("request holds more than "
                         + std::to_string(opts_.max_items) + " samples",
                       at.str());
    // Render all values first: the views below must not see the vector
    // grow.
    values_.resize(static_cast<size_t>(attrs.size()));
    labels_.clear();
    bool has_instance = false;
    for (int i = 0; i < attrs.size(); ++i) {
      values_[i].clear();
      append_text(values_[i], attrs[i].value());
    }
    for (int i = 0; i < attrs.size(); ++i) {
      const auto& key = attrs[i].key();
      has_instance |= key == "instance";
      labels_.push_back({key, values_[i], static_cast<uint32_t>(i)});
    }
    if (res.has_instance && !has_instance)
      labels_.push_back({"instance", res.instance, instance_label});
    if (quantile != nullptr)
      labels_.push_back({"quantile", *quantile, quantile_label});
    auto& batch = batches_[batch_];
    series_ref ref;
    if (!builder_.append(batch.texts, name, labels_, ref)) {
      const auto& fault = builder_.fault();
      auto where = at.str();
      if (fault.label == instance_label)
        where += " (label instance from resource attribute "
                 "service.instance.id)";
      else if (fault.label == quantile_label)
        where += ".quantileValues";
      else if (fault.label >= 0)
        where += ".attributes[" + std::to_string(fault.label) + "]";
      return caf::make_error(fault.code, fault.message, std::move(where));
    }
    if (indexes_[batch_].intern(batch.texts, ref))
      ++stats_.series;
    if (stale) {
      value = stale_marker();
      flags |= sample_flags::stale;
      ++stats_.stale_markers;
    } else if (std::isnan(value)) {
      ++stats_.nan_values;
    }
    int64_t ts = time_ns != 0 ? ns_to_ms(time_ns)
                              : opts_.received_ns / 1'000'000;
    batch.samples.push_back(
      sample{ref.hash, ts, value, ref.offset, ref.size, flags});
    ++stats_.samples;
    return {};
  }

  static constexpr uint32_t instance_label = UINT32_MAX - 1;
  static constexpr uint32_t quantile_label = UINT32_MAX - 2;

  const decode_options& opts_;
  batches_by_service<sample_batch> batches_;
  std::vector<series_index> indexes_;
  size_t batch_ = 0;
  series_builder builder_{label_names::otlp};
  std::vector<std::string> values_;
  std::vector<label_view> labels_;
  std::string name_;
  std::string quantile_;
  uint64_t items_ = 0;
  decode_stats stats_;
};

// -- traces ------------------------------------------------------------------

caf::error map_traces(const opentelemetry::proto::collector::trace::v1::
                        ExportTraceServiceRequest& req,
                      const decode_options& opts, span_batch& out,
                      decode_stats& stats) {
  for (int r = 0; r < req.resource_spans_size(); ++r) {
    const auto& rs = req.resource_spans(r);
    auto res = describe(rs.resource(), opts);
    for (int s = 0; s < rs.scope_spans_size(); ++s) {
      const auto& ss = rs.scope_spans(s);
      for (int i = 0; i < ss.spans_size(); ++i) {
        const auto& span = ss.spans(i);
        auto where = [&] {
          return "resourceSpans[" + std::to_string(r) + "].scopeSpans["
                 + std::to_string(s) + "].spans[" + std::to_string(i) + "]";
        };
        if (out.spans.size() >= opts.max_items)
          return too_large("request holds more than "
                             + std::to_string(opts.max_items) + " spans",
                           where());
        span_record rec;
        if (auto err = id_to_hex(span.trace_id(), 16, true, rec.trace_id,
                                 "traceId", where()))
          return err;
        if (auto err = id_to_hex(span.span_id(), 8, true, rec.span_id,
                                 "spanId", where()))
          return err;
        if (auto err = id_to_hex(span.parent_span_id(), 8, false,
                                 rec.parent_span_id, "parentSpanId",
                                 where()))
          return err;
        if (span.start_time_unix_nano() > INT64_MAX
            || span.end_time_unix_nano() > INT64_MAX)
          return malformed("span time is beyond the year 2262",
                           where() + ".startTimeUnixNano");
        rec.service = res.service;
        rec.name = span.name();
        auto kind = static_cast<int>(span.kind());
        rec.kind = kind >= 0 && kind <= 5 ? static_cast<uint8_t>(kind) : 0;
        rec.start_ns = static_cast<int64_t>(span.start_time_unix_nano());
        rec.end_ns = static_cast<int64_t>(span.end_time_unix_nano());
        auto code = static_cast<int>(span.status().code());
        rec.status = code >= 0 && code <= 2 ? static_cast<uint8_t>(code) : 0;
        rec.status_message = span.status().message();
        rec.attributes = to_attributes(span.attributes());
        stats.ignored += span.events_size() + span.links_size();
        out.spans.push_back(std::move(rec));
      }
    }
  }
  stats.spans = out.spans.size();
  return {};
}

// -- logs --------------------------------------------------------------------

caf::error map_logs(const opentelemetry::proto::collector::logs::v1::
                      ExportLogsServiceRequest& req,
                    const decode_options& opts,
                    batches_by_service<log_batch>& batches,
                    decode_stats& stats) {
  uint64_t count = 0;
  for (int r = 0; r < req.resource_logs_size(); ++r) {
    const auto& rl = req.resource_logs(r);
    auto res = describe(rl.resource(), opts);
    auto b = batches.index_of(res.service, opts.received_ns);
    batches[b].format = "otlp";
    for (int s = 0; s < rl.scope_logs_size(); ++s) {
      const auto& sl = rl.scope_logs(s);
      for (int i = 0; i < sl.log_records_size(); ++i) {
        const auto& lr = sl.log_records(i);
        auto where = [&] {
          return "resourceLogs[" + std::to_string(r) + "].scopeLogs["
                 + std::to_string(s) + "].logRecords[" + std::to_string(i)
                 + "]";
        };
        if (++count > opts.max_items)
          return too_large("request holds more than "
                             + std::to_string(opts.max_items)
                             + " log records",
                           where());
        log_record rec;
        auto ns = lr.time_unix_nano() != 0 ? lr.time_unix_nano()
                                           : lr.observed_time_unix_nano();
        rec.ts_ms = ns_to_ms(ns);
        auto severity = static_cast<int>(lr.severity_number());
        rec.severity = severity >= 0 && severity <= 24 ? severity : 0;
        rec.severity_text = lr.severity_text();
        if (lr.body().value_case() == common::AnyValue::kStringValue)
          rec.body = lr.body().string_value();
        else if (lr.has_body()
                 && lr.body().value_case() != common::AnyValue::VALUE_NOT_SET)
          append_json(rec.body, lr.body());
        if (auto err = id_to_hex(lr.trace_id(), 16, false, rec.trace_id,
                                 "traceId", where()))
          return err;
        if (auto err = id_to_hex(lr.span_id(), 8, false, rec.span_id,
                                 "spanId", where()))
          return err;
        rec.attributes = to_attributes(lr.attributes());
        batches[b].records.push_back(std::move(rec));
      }
    }
  }
  stats.log_records = count;
  return {};
}

} // namespace

caf::expected<std::vector<sample_batch>>
decode_otlp_metrics(std::string_view body, wire_format format,
                    const decode_options& opts, decode_stats* stats) {
  opentelemetry::proto::collector::metrics::v1::ExportMetricsServiceRequest req;
  if (auto err = parse_request(body, format, opts, rewrite_metric_ids, req))
    return err;
  metrics_decoder d{opts};
  if (auto err = d.run(req))
    return err;
  if (stats)
    *stats = d.stats();
  // Resources without any data point leave empty batches behind.
  auto batches = d.take();
  std::erase_if(batches,
                [](const sample_batch& b) { return b.samples.empty(); });
  return batches;
}

caf::expected<span_batch>
decode_otlp_traces(std::string_view body, wire_format format,
                   const decode_options& opts, decode_stats* stats) {
  opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest req;
  if (auto err = parse_request(body, format, opts, rewrite_trace_ids, req))
    return err;
  span_batch out;
  out.received_ns = opts.received_ns;
  decode_stats counts;
  if (auto err = map_traces(req, opts, out, counts))
    return err;
  if (stats)
    *stats = counts;
  return out;
}

caf::expected<std::vector<log_batch>>
decode_otlp_logs(std::string_view body, wire_format format,
                 const decode_options& opts, decode_stats* stats) {
  opentelemetry::proto::collector::logs::v1::ExportLogsServiceRequest req;
  if (auto err = parse_request(body, format, opts, rewrite_log_ids, req))
    return err;
  batches_by_service<log_batch> batches;
  decode_stats counts;
  if (auto err = map_logs(req, opts, batches, counts))
    return err;
  if (stats)
    *stats = counts;
  auto result = batches.take();
  std::erase_if(result, [](const log_batch& b) { return b.records.empty(); });
  return result;
}

std::string otlp_empty_response(wire_format format) {
  // An Export*ServiceResponse without partial_success serialises to no
  // bytes in protobuf and to an empty object in JSON.
  return format == wire_format::json ? "{}" : "";
}

} // namespace vigil::codec
