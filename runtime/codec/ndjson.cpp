#include "runtime/codec/ndjson.hpp"

#include <cctype>
#include <cmath>
#include <limits>

#include "runtime/codec/batches.hpp"
#include "runtime/codec/error.hpp"
#include "runtime/codec/json_support.hpp"
#include "runtime/codec/series.hpp"
#include "runtime/codec/timestamp.hpp"

namespace vigil::codec {

namespace {

using nlohmann::json;

// Calls `f(line, number)` for every line that is not blank; `\r` before
// `\n` is dropped. Stops at the first error.
template <class F>
caf::error for_each_line(std::string_view body, F&& f) {
  size_t number = 0;
  while (!body.empty()) {
    ++number;
    auto end = body.find('\n');
    auto line = body.substr(0, end);
    body = end == std::string_view::npos ? std::string_view{}
                                         : body.substr(end + 1);
    if (!line.empty() && line.back() == '\r')
      line.remove_suffix(1);
    if (line.find_first_not_of(" \t\r\f\v") == std::string_view::npos)
      continue;
    if (auto err = f(line, number))
      return err;
  }
  return {};
}

// Names a field of one item: `line 17, field "value"`, `$[2].value` or
// `$.value`, depending on how the body was laid out.
struct locator {
  enum class layout { line, array, single } mode = layout::single;
  size_t index = 0;

  std::string operator()(std::string_view field) const {
    switch (mode) {
      case layout::line:
        return "line " + std::to_string(index) + ", field \""
               + std::string{field} + "\"";
      case layout::array:
        return "$[" + std::to_string(index) + "]." + std::string{field};
      default:
        return "$." + std::string{field};
    }
  }

  std::string item() const {
    switch (mode) {
      case layout::line:
        return "line " + std::to_string(index);
      case layout::array:
        return "$[" + std::to_string(index) + "]";
      default:
        return "$";
    }
  }
};

const json* member(const json& obj, const char* key) {
  auto i = obj.find(key);
  if (i == obj.end() || i->is_null())
    return nullptr;
  return &*i;
}

caf::error wrong_type(const json& x, const char* wanted, std::string where) {
  return malformed(std::string{"expected "} + wanted + ", got "
                     + std::string{json_type_name(x)},
                   std::move(where));
}

caf::error read_string(const json& obj, const char* key, const locator& at,
                       bool required, std::string& out) {
  auto x = member(obj, key);
  if (x == nullptr)
    return required ? malformed(std::string{key} + " is missing", at(key))
                    : caf::error{};
  if (!x->is_string())
    return wrong_type(*x, "a string", at(key));
  out = x->get<std::string>();
  if (required && out.empty())
    return malformed(std::string{key} + " is empty", at(key));
  return {};
}

// Reads `ts`: Unix seconds as a number, or an RFC 3339 string.
caf::error read_ts(const json& obj, const locator& at, bool& present,
                   int64_t& out) {
  auto x = member(obj, "ts");
  present = x != nullptr;
  if (!present)
    return {};
  if (x->is_number()) {
    auto ms = unix_seconds_to_ms(x->get<double>());
    if (!ms)
      return malformed("ts must be Unix seconds between 1970 and 9999",
                       at("ts"));
    out = *ms;
    return {};
  }
  if (x->is_string()) {
    auto ms = parse_rfc3339_ms(x->get_ref<const std::string&>());
    if (!ms)
      return malformed("ts is neither Unix seconds nor an RFC 3339 "
                       "timestamp",
                       at("ts"));
    out = *ms;
    return {};
  }
  return wrong_type(*x, "Unix seconds or an RFC 3339 string", at("ts"));
}

caf::expected<json> parse_line(std::string_view line, size_t number) {
  return parse_json(line, "line " + std::to_string(number) + ", ");
}

// OTLP severity numbers for the usual level names.
int32_t severity_of(std::string_view level) {
  std::string l;
  for (char c : level.substr(0, 16))
    l += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (l == "trace")
    return 1;
  if (l == "debug")
    return 5;
  if (l == "info" || l == "information" || l == "notice")
    return 9;
  if (l == "warn" || l == "warning")
    return 13;
  if (l == "error" || l == "err")
    return 17;
  if (l == "fatal" || l == "critical" || l == "crit" || l == "panic"
      || l == "emergency" || l == "alert")
    return 21;
  return 0;
}

std::string media_type_of(std::string_view content_type) {
  auto semi = content_type.find(';');
  auto type = content_type.substr(0, semi);
  auto first = type.find_first_not_of(" \t");
  auto last = type.find_last_not_of(" \t");
  std::string out;
  if (first == std::string_view::npos)
    return out;
  for (char c : type.substr(first, last - first + 1))
    out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

} // namespace

// -- samples -----------------------------------------------------------------

caf::expected<std::vector<sample_batch>>
decode_samples_ndjson(std::string_view body, const decode_options& opts,
                      decode_stats* stats) {
  batches_by_service<sample_batch> batches;
  std::vector<series_index> indexes;
  series_builder builder{label_names::prometheus};
  std::vector<label_view> labels;
  decode_stats counts;
  auto err = for_each_line(body, [&](std::string_view line,
                                     size_t number) -> caf::error {
    locator at{locator::layout::line, number};
    auto doc = parse_line(line, number);
    if (!doc)
      return std::move(doc.error());
    const json& x = *doc;
    if (!x.is_object())
      return wrong_type(x, "an object", at.item());
    if (counts.samples >= opts.max_items)
      return too_large("body holds more than "
                         + std::to_string(opts.max_items) + " samples",
                       at.item());
    std::string service, metric;
    if (auto err = read_string(x, "service", at, true, service))
      return err;
    if (auto err = read_string(x, "metric", at, true, metric))
      return err;
    if (!is_ndjson_metric_name(metric))
      return malformed("metric name \"" + metric.substr(0, 64)
                         + "\" does not match [a-zA-Z_:][a-zA-Z0-9_:.]*",
                       at("metric"));
    double value = 0;
    auto v = member(x, "value");
    if (v == nullptr)
      return malformed("value is missing", at("value"));
    if (v->is_number()) {
      value = v->get<double>();
    } else if (v->is_string()) {
      const auto& s = v->get_ref<const std::string&>();
      if (s == "NaN")
        value = std::numeric_limits<double>::quiet_NaN();
      else if (s == "+Inf" || s == "Inf")
        value = std::numeric_limits<double>::infinity();
      else if (s == "-Inf")
        value = -std::numeric_limits<double>::infinity();
      else
        return malformed("value must be a number or one of \"NaN\", "
                         "\"+Inf\", \"-Inf\", \"Inf\"",
                         at("value"));
    } else {
      return wrong_type(*v, "a number", at("value"));
    }
    bool has_ts = false;
    int64_t ts = 0;
    if (auto err = read_ts(x, at, has_ts, ts))
      return err;
    if (!has_ts)
      return malformed("ts is missing", at("ts"));
    labels.clear();
    if (auto l = member(x, "labels")) {
      if (!l->is_object())
        return wrong_type(*l, "an object of strings", at("labels"));
      uint32_t i = 0;
      for (const auto& [name, val] : l->items()) {
        if (!val.is_string())
          return wrong_type(val, "a string", at("labels." + name));
        labels.push_back({name, val.get_ref<const std::string&>(), i++});
      }
    }
    auto b = batches.index_of(service, opts.received_ns);
    if (indexes.size() < batches.size())
      indexes.emplace_back();
    auto& batch = batches[b];
    series_ref ref;
    if (!builder.append(batch.texts, metric, labels, ref)) {
      const auto& fault = builder.fault();
      std::string field = "labels";
      for (const auto& l : labels)
        if (static_cast<int64_t>(l.index) == fault.label)
          field += "." + std::string{l.name.substr(0, 64)};
      return caf::make_error(fault.code, fault.message,
                             at(fault.label >= 0 ? field : "metric"));
    }
    if (indexes[b].intern(batch.texts, ref))
      ++counts.series;
    if (std::isnan(value))
      ++counts.nan_values;
    batch.samples.push_back(
      sample{ref.hash, ts, value, ref.offset, ref.size, ref.flags});
    ++counts.samples;
    return {};
  });
  if (err)
    return err;
  if (stats)
    *stats = counts;
  return batches.take();
}

// -- logs --------------------------------------------------------------------

caf::expected<std::vector<log_batch>>
decode_log_lines(std::string_view body, std::string_view content_type,
                 std::string_view default_service, int64_t received_ns,
                 decode_stats* stats) {
  auto type = media_type_of(content_type);
  bool text = type == "text/plain";
  if (!text && type != "application/x-ndjson" && type != "application/json")
    return unsupported_media_type(
      "log lines must be text/plain, application/x-ndjson or "
      "application/json, not \""
        + std::string{content_type.substr(0, 64)} + "\"",
      "Content-Type");
  if (text && default_service.empty())
    return malformed("text/plain logs need ?service=", "query parameter "
                                                       "service");
  batches_by_service<log_batch> batches;
  size_t count = 0;
  int64_t received_ms = received_ns / 1'000'000;
  auto err = for_each_line(body, [&](std::string_view line,
                                     size_t number) -> caf::error {
    if (line.size() > max_log_line_bytes)
      return malformed("line is longer than "
                         + std::to_string(max_log_line_bytes) + " bytes",
                       "line " + std::to_string(number));
    if (++count > max_log_records)
      return too_large("body holds more than "
                         + std::to_string(max_log_records) + " log lines",
                       "line " + std::to_string(number));
    if (text) {
      auto b = batches.index_of(default_service, received_ns);
      batches[b].format = "text";
      log_record rec;
      rec.ts_ms = received_ms;
      rec.body = std::string{line};
      batches[b].records.push_back(std::move(rec));
      return {};
    }
    locator at{locator::layout::line, number};
    auto doc = parse_line(line, number);
    if (!doc)
      return std::move(doc.error());
    const json& x = *doc;
    if (!x.is_object())
      return wrong_type(x, "an object", at.item());
    log_record rec;
    if (auto err = read_string(x, "line", at, false, rec.body))
      return err;
    if (member(x, "line") == nullptr)
      return malformed("line is missing", at("line"));
    bool has_ts = false;
    if (auto err = read_ts(x, at, has_ts, rec.ts_ms))
      return err;
    if (!has_ts)
      rec.ts_ms = received_ms;
    std::string service;
    if (auto err = read_string(x, "service", at, false, service))
      return err;
    if (service.empty())
      service = std::string{default_service};
    if (service.empty())
      return malformed("no service: give \"service\" in the line or "
                       "?service= in the URL",
                       at("service"));
    if (auto err = read_string(x, "level", at, false, rec.severity_text))
      return err;
    rec.severity = severity_of(rec.severity_text);
    auto b = batches.index_of(service, received_ns);
    batches[b].format = "ndjson";
    batches[b].records.push_back(std::move(rec));
    return {};
  });
  if (err)
    return err;
  if (stats) {
    *stats = decode_stats{};
    stats->log_records = count;
  }
  return batches.take();
}

// -- changes -----------------------------------------------------------------

namespace {

caf::error read_change(const json& x, const locator& at, change_event& out) {
  if (!x.is_object())
    return wrong_type(x, "an object", at.item());
  caf::error err;
  if ((err = read_string(x, "service", at, true, out.service))
      || (err = read_string(x, "kind", at, true, out.kind))
      || (err = read_string(x, "version", at, false, out.version))
      || (err = read_string(x, "author", at, false, out.author))
      || (err = read_string(x, "description", at, false, out.description)))
    return err;
  bool has_ts = false;
  if ((err = read_ts(x, at, has_ts, out.ts_ms)))
    return err;
  if (!has_ts)
    return malformed("ts is missing", at("ts"));
  return {};
}

// Returns whether the first non-blank line of `body` is a complete JSON
// object on its own, i.e. the body is NDJSON rather than one document
// spread over lines.
bool first_line_is_object(std::string_view body) {
  while (!body.empty()) {
    auto end = body.find('\n');
    auto line = body.substr(0, end);
    body = end == std::string_view::npos ? std::string_view{}
                                         : body.substr(end + 1);
    if (line.find_first_not_of(" \t\r\f\v") == std::string_view::npos)
      continue;
    if (find_too_deep(line))
      return false;
    auto x = json::parse(line.begin(), line.end(), nullptr, false);
    return !x.is_discarded() && x.is_object();
  }
  return false;
}

} // namespace

caf::expected<change_batch> decode_changes(std::string_view body) {
  change_batch out;
  if (body.find_first_not_of(" \t\r\n") == std::string_view::npos)
    return malformed("body is empty", "$");
  auto doc = parse_json(body);
  if (!doc) {
    // Several objects, one per line, do not parse as one document.
    if (!first_line_is_object(body))
      return std::move(doc.error());
    auto err = for_each_line(body, [&](std::string_view line,
                                       size_t number) -> caf::error {
      locator at{locator::layout::line, number};
      auto x = parse_line(line, number);
      if (!x)
        return std::move(x.error());
      if (out.changes.size() >= max_change_events)
        return too_large("body holds more than "
                           + std::to_string(max_change_events)
                           + " change events",
                         at.item());
      return read_change(*x, at, out.changes.emplace_back());
    });
    if (err)
      return err;
    return out;
  }
  if (doc->is_array()) {
    if (doc->size() > max_change_events)
      return too_large("body holds more than "
                         + std::to_string(max_change_events)
                         + " change events",
                       "$");
    for (size_t i = 0; i < doc->size(); ++i) {
      locator at{locator::layout::array, i};
      if (auto err = read_change((*doc)[i], at, out.changes.emplace_back()))
        return err;
    }
    return out;
  }
  if (auto err = read_change(*doc, locator{}, out.changes.emplace_back()))
    return err;
  return out;
}

// -- topology ----------------------------------------------------------------

caf::expected<topology_update> decode_topology(std::string_view body) {
  auto doc = parse_json(body);
  if (!doc)
    return std::move(doc.error());
  if (!doc->is_object())
    return wrong_type(*doc, "an object", "$");
  auto edges = member(*doc, "edges");
  if (edges == nullptr)
    return malformed("edges is missing", "$.edges");
  if (!edges->is_array())
    return wrong_type(*edges, "an array", "$.edges");
  if (edges->size() > max_topology_edges)
    return too_large("more than " + std::to_string(max_topology_edges)
                       + " edges",
                     "$.edges");
  topology_update out;
  out.edges.reserve(edges->size());
  for (size_t i = 0; i < edges->size(); ++i) {
    const auto& e = (*edges)[i];
    auto path = "$.edges[" + std::to_string(i) + "]";
    if (!e.is_object())
      return wrong_type(e, "an object", path);
    topology_edge edge;
    for (auto [key, field] : {std::pair{"caller", &edge.caller},
                              std::pair{"callee", &edge.callee}}) {
      auto x = member(e, key);
      if (x == nullptr)
        return malformed(std::string{key} + " is missing",
                         path + "." + key);
      if (!x->is_string())
        return wrong_type(*x, "a string", path + "." + key);
      *field = x->get<std::string>();
      if (field->empty())
        return malformed(std::string{key} + " is empty", path + "." + key);
    }
    if (edge.caller == edge.callee)
      return malformed("caller and callee are the same service \""
                         + edge.caller.substr(0, 64) + "\"",
                       path + ".callee");
    out.edges.push_back(std::move(edge));
  }
  return out;
}

} // namespace vigil::codec
