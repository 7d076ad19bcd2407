#include "runtime/codec/alertmanager.hpp"

#include "runtime/codec/error.hpp"
#include "runtime/codec/json_support.hpp"
#include "runtime/codec/timestamp.hpp"

namespace vigil::codec {

namespace {

using nlohmann::json;

// Returns the member `key` of `obj`, or null when it is absent or null.
const json* member(const json& obj, const char* key) {
  auto i = obj.find(key);
  if (i == obj.end() || i->is_null())
    return nullptr;
  return &*i;
}

caf::error wrong_type(const json& x, const char* wanted,
                      const std::string& where) {
  return malformed(std::string{"expected "} + wanted + ", got "
                     + std::string{json_type_name(x)},
                   where);
}

caf::error read_string(const json& obj, const char* key,
                       const std::string& path, bool required,
                       std::string& out) {
  auto x = member(obj, key);
  auto where = path + "." + key;
  if (x == nullptr)
    return required ? malformed(std::string{key} + " is missing", where)
                    : caf::error{};
  if (!x->is_string())
    return wrong_type(*x, "a string", where);
  out = x->get<std::string>();
  return {};
}

caf::error read_labels(const json& obj, const char* key,
                       const std::string& path, bool required,
                       std::vector<attribute>& out) {
  auto x = member(obj, key);
  auto where = path + "." + key;
  if (x == nullptr)
    return required ? malformed(std::string{key} + " is missing", where)
                    : caf::error{};
  if (!x->is_object())
    return wrong_type(*x, "an object of strings", where);
  out.reserve(x->size());
  for (const auto& [name, value] : x->items()) {
    if (!value.is_string())
      return wrong_type(value, "a string", where + "." + name);
    out.push_back({name, value.get<std::string>()});
  }
  return {};
}

caf::error read_time(const json& obj, const char* key, const std::string& path,
                     bool required, int64_t& out) {
  std::string text;
  if (auto err = read_string(obj, key, path, required, text))
    return err;
  if (text.empty() && !required)
    return {};
  auto ms = parse_rfc3339_ms(text);
  if (!ms) {
    std::string message = "\"";
    message += text.substr(0, 64);
    message += "\" is not an RFC 3339 timestamp";
    return malformed(std::move(message), path + "." + key);
  }
  out = *ms;
  return {};
}

caf::error read_status(const json& obj, const std::string& path,
                       std::string& out) {
  if (auto err = read_string(obj, "status", path, true, out))
    return err;
  if (out != "firing" && out != "resolved")
    return malformed("status must be \"firing\" or \"resolved\", not \""
                       + out.substr(0, 64) + "\"",
                     path + ".status");
  return {};
}

} // namespace

caf::expected<alert_batch> decode_alertmanager(std::string_view text,
                                               const decode_options& opts,
                                               decode_stats* stats) {
  auto doc = parse_json(text);
  if (!doc)
    return std::move(doc.error());
  const json& root = *doc;
  if (!root.is_object())
    return wrong_type(root, "an object", "$");
  alert_batch out;
  out.received_ns = opts.received_ns;
  std::string version;
  if (auto err = read_string(root, "version", "$", true, version))
    return err;
  if (version != "4")
    return malformed("unsupported webhook payload version \""
                       + version.substr(0, 32) + "\" (Vigil reads \"4\")",
                     "$.version");
  caf::error err;
  if ((err = read_string(root, "receiver", "$", false, out.receiver))
      || (err = read_status(root, "$", out.status))
      || (err = read_string(root, "groupKey", "$", false, out.group_key))
      || (err = read_string(root, "externalURL", "$", false,
                            out.external_url))
      || (err = read_labels(root, "groupLabels", "$", false,
                            out.group_labels))
      || (err = read_labels(root, "commonLabels", "$", false,
                            out.common_labels)))
    return err;
  // commonAnnotations has no home in alert_batch; it is still checked, so
  // a malformed payload is refused as a whole.
  std::vector<attribute> common_annotations;
  if ((err = read_labels(root, "commonAnnotations", "$", false,
                         common_annotations)))
    return err;
  if (auto x = member(root, "truncatedAlerts")) {
    // nlohmann reads every non-negative integer as unsigned.
    if (!x->is_number_unsigned())
      return wrong_type(*x, "a non-negative integer", "$.truncatedAlerts");
    out.truncated_alerts = x->get<uint64_t>();
  }
  auto alerts = member(root, "alerts");
  if (alerts == nullptr)
    return malformed("alerts is missing", "$.alerts");
  if (!alerts->is_array())
    return wrong_type(*alerts, "an array", "$.alerts");
  if (alerts->size() > opts.max_items)
    return too_large("notification holds more than "
                       + std::to_string(opts.max_items) + " alerts",
                     "$.alerts");
  out.alerts.reserve(alerts->size());
  for (size_t i = 0; i < alerts->size(); ++i) {
    const auto& a = (*alerts)[i];
    auto path = "$.alerts[" + std::to_string(i) + "]";
    if (!a.is_object())
      return wrong_type(a, "an object", path);
    alert_record rec;
    if ((err = read_status(a, path, rec.status))
        || (err = read_labels(a, "labels", path, true, rec.labels))
        || (err = read_labels(a, "annotations", path, false,
                              rec.annotations))
        || (err = read_time(a, "startsAt", path, true, rec.starts_at_ms))
        || (err = read_time(a, "endsAt", path, false, rec.ends_at_ms))
        || (err = read_string(a, "generatorURL", path, false,
                              rec.generator_url))
        || (err = read_string(a, "fingerprint", path, false,
                              rec.fingerprint)))
      return err;
    for (const auto& wanted : opts.service_labels) {
      for (const auto& l : rec.labels)
        if (l.key == wanted && !l.value.empty()) {
          rec.service = l.value;
          break;
        }
      if (!rec.service.empty())
        break;
    }
    out.alerts.push_back(std::move(rec));
  }
  if (stats) {
    *stats = decode_stats{};
    stats->alerts = out.alerts.size();
  }
  return out;
}

} // namespace vigil::codec
