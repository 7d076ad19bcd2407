#include "tools/node/incident_api.hpp"
#include "messages/labels.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>

#include "config/units.hpp"
#include "messages/errc.hpp"
#include "runtime/codec/timestamp.hpp"

namespace vigil::node {

namespace {

using json = nlohmann::json;

double seconds(int64_t ms) {
  return static_cast<double>(ms) / 1000.0;
}

json time_or_null(int64_t ms) {
  return ms > 0 ? json(seconds(ms)) : json(nullptr);
}

json finite(double x) {
  return std::isfinite(x) ? json(x) : json(nullptr);
}

// Time a symptom spent anomalous: its stretches that ended, and the
// current one up to its last event.
int64_t anomalous_ms(const incident_symptom& s) {
  return s.ended_ms
         + (s.active_since_ms > 0
              ? std::max<int64_t>(s.last_ms - s.active_since_ms, 0)
              : 0);
}

caf::error bad(std::string what) {
  return caf::make_error(errc::malformed, std::move(what));
}

// Unix seconds (number) or RFC 3339 (string).
caf::expected<int64_t> read_time(const json& v, const char* field) {
  if (v.is_number()) {
    auto ms = codec::unix_seconds_to_ms(v.get<double>());
    if (!ms)
      return bad(std::string{field} + ": not a time");
    return *ms;
  }
  if (v.is_string()) {
    auto ms = codec::parse_rfc3339_ms(v.get<std::string>());
    if (!ms)
      return bad(std::string{field} + ": not an RFC 3339 time");
    return *ms;
  }
  return bad(std::string{field}
             + ": expected Unix seconds or an RFC 3339 string");
}

caf::expected<int64_t> read_duration_ms(const json& v, const char* field) {
  if (!v.is_string())
    return bad(std::string{field} + ": expected a duration such as \"2h\"");
  auto d = parse_duration(v.get<std::string>());
  if (!d.value)
    return bad(std::string{field} + ": " + d.error);
  return static_cast<int64_t>(d.value->count());
}

std::string quote_value(const std::string& v) {
  std::string out = "\"";
  for (char c : v) {
    if (c == '"' || c == '\\')
      out += '\\';
    out += c;
  }
  out += '"';
  return out;
}

// "PREFIX000042" (prefix in either case) or "42"; never 0.
std::optional<uint64_t> parse_prefixed_id(std::string_view text,
                                          std::string_view prefix) {
  if (text.size() >= prefix.size()
      && std::equal(prefix.begin(), prefix.end(), text.begin(),
                    [](char a, char b) {
                      return std::tolower(static_cast<unsigned char>(a))
                             == std::tolower(static_cast<unsigned char>(b));
                    }))
    text.remove_prefix(prefix.size());
  if (text.empty() || text.size() > 19)
    return std::nullopt;
  uint64_t out = 0;
  for (char c : text) {
    if (c < '0' || c > '9')
      return std::nullopt;
    out = out * 10 + static_cast<uint64_t>(c - '0');
  }
  if (out == 0)
    return std::nullopt;
  return out;
}

} // namespace

std::string incident_id_text(uint64_t id) {
  return incident_label(id);
}

std::optional<uint64_t> parse_incident_id(std::string_view text) {
  return parse_prefixed_id(text, "INC-");
}

std::string action_id_text(uint64_t id) {
  return action_label(id);
}

std::optional<uint64_t> parse_action_id(std::string_view text) {
  return parse_prefixed_id(text, "ACT-");
}

json action_json(const action_view& a) {
  json out{{"id", action_id_text(a.id)},
           {"incident", incident_id_text(a.incident)},
           {"playbook", a.playbook},
           {"playbook_version", a.playbook_version},
           {"step", a.step},
           {"action", a.action},
           {"service", a.service},
           {"status", a.status},
           {"reason", a.reason},
           {"started_at", time_or_null(a.started_ms)},
           {"ended_at", time_or_null(a.ended_ms)},
           {"by", a.by}};
  if (!a.output.empty())
    out["output"] = a.output;
  if (a.epoch != 0)
    out["epoch"] = a.epoch;
  if (!a.idempotency_key.empty())
    out["idempotency_key"] = a.idempotency_key;
  return out;
}

json incident_json(const incident_view& x, bool brief) {
  json actions = json::array();
  for (const auto& a : x.actions)
    actions.push_back(action_json(a));
  json candidates = json::array();
  for (const auto& c : x.root_cause.candidates)
    candidates.push_back({{"service", c.service},
                          {"score", finite(c.score)},
                          {"evidence", c.evidence},
                          {"blast_radius", c.blast_radius}});
  json root = nullptr;
  if (!x.root_cause.candidates.empty())
    root = {{"service", x.root_cause.confidence_level == "unknown"
                          ? json(nullptr)
                          : json(x.root_cause.candidates.front().service)},
            {"confidence", finite(x.root_cause.confidence)},
            {"confidence_level", x.root_cause.confidence_level},
            {"reason", x.root_cause.confidence_reason},
            {"nearest_anomalous_ancestor", x.root_cause.baseline},
            {"candidates", candidates}};
  json out{{"id", incident_id_text(x.id)},
           {"status", x.status},
           {"severity", x.severity},
           {"type", x.type},
           {"title", x.title},
           {"domain", x.domain},
           {"services", x.services},
           {"opened_at", seconds(x.opened_ms)},
           {"detected_at", time_or_null(x.detected_ms)},
           {"updated_at", seconds(x.updated_ms)},
           {"resolved_at", time_or_null(x.resolved_ms)},
           {"root_cause", root},
           {"actions", std::move(actions)},
           {"summary", x.summary}};
  if (x.merged_into != 0)
    out["merged_into"] = incident_id_text(x.merged_into);
  if (brief)
    return out;
  json anomalies = json::array();
  for (const auto& s : x.symptoms)
    anomalies.push_back({{"service", s.service},
                         {"metric", s.metric},
                         {"series", s.series},
                         {"kind", s.kind},
                         {"ts", seconds(s.first_ms)},
                         {"last_ts", seconds(s.last_ms)},
                         {"score", finite(s.max_score)},
                         {"events", s.events},
                         {"recovered", s.recovered},
                         {"detectors", s.detectors},
                         {"deviation", finite(s.max_deviation)},
                         {"persisting_since",
                          time_or_null(s.sustained_since_ms)},
                         {"active_since", time_or_null(s.active_since_ms)},
                         {"recovered_at", time_or_null(s.recovered_ms)},
                         {"latest_onset", time_or_null(s.latest_onset_ms)},
                         {"earlier_until", time_or_null(s.earlier_until_ms)},
                         {"anomalous_s", seconds(anomalous_ms(s))}});
  json timeline = json::array();
  for (const auto& e : x.timeline)
    timeline.push_back({{"ts", seconds(e.ts_ms)},
                        {"kind", e.kind},
                        {"service", e.service},
                        {"text", e.text}});
  out["anomalies"] = std::move(anomalies);
  out["timeline"] = std::move(timeline);
  if (x.dropped_symptoms > 0)
    out["anomalies_dropped"] = x.dropped_symptoms;
  if (x.dropped_timeline > 0)
    out["timeline_dropped"] = x.dropped_timeline;
  return out;
}

caf::expected<incident_command> parse_incident_command(std::string_view body,
                                                       std::string to) {
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return bad("the body is not a JSON object {\"by\",\"comment\"?}");
  incident_command cmd;
  cmd.to = std::move(to);
  auto by = j.find("by");
  if (by == j.end() || !by->is_string() || by->get<std::string>().empty())
    return bad("by: required, the name of who does this");
  cmd.by = by->get<std::string>();
  if (auto c = j.find("comment"); c != j.end() && !c->is_null()) {
    if (!c->is_string())
      return bad("comment: expected a string");
    cmd.comment = c->get<std::string>();
  }
  if (cmd.by.size() > 256 || cmd.comment.size() > 4096)
    return bad("by is limited to 256 bytes, comment to 4096");
  return cmd;
}

json silence_json(const silence_spec& s) {
  static constexpr const char* days[] = {"mon", "tue", "wed", "thu",
                                         "fri", "sat", "sun"};
  json out{{"id", s.id},
           {"matchers", s.matchers},
           {"author", s.author},
           {"comment", s.comment}};
  if (s.weekdays != 0) {
    json wd = json::array();
    for (int d = 0; d < 7; ++d)
      if (s.weekdays & (1u << d))
        wd.push_back(days[d]);
    char start[8];
    std::snprintf(start, sizeof start, "%02u:%02u", s.start_minute / 60,
                  s.start_minute % 60);
    out["recurrence"] = {{"weekdays", wd},
                         {"start", start},
                         {"duration",
                          format_duration(duration{
                            int64_t{s.duration_minutes} * 60'000})}};
  } else {
    out["startsAt"] = seconds(s.starts_ms);
    out["endsAt"] = seconds(s.ends_ms);
  }
  return out;
}

caf::expected<silence_spec> parse_silence(std::string_view body,
                                          int64_t now_ms) {
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return bad("the body is not a JSON object");
  silence_spec s;
  auto ms = j.find("matchers");
  if (ms == j.end() || !ms->is_array() || ms->empty())
    return bad("matchers: required, a non-empty list");
  size_t i = 0;
  for (const auto& m : *ms) {
    auto where = "matchers[" + std::to_string(i++) + "]";
    if (m.is_string()) {
      s.matchers.push_back(m.get<std::string>());
      continue;
    }
    if (!m.is_object() || !m.contains("name") || !m["name"].is_string()
        || !m.contains("value") || !m["value"].is_string())
      return bad(where + ": expected \"NAME=VALUE\" text or "
                         "{\"name\",\"value\",\"isRegex\"?,\"isEqual\"?}");
    bool regex = m.value("isRegex", false);
    bool equal = m.value("isEqual", true);
    std::string op = regex ? (equal ? "=~" : "!~") : (equal ? "=" : "!=");
    s.matchers.push_back(m["name"].get<std::string>() + op
                         + quote_value(m["value"].get<std::string>()));
  }
  auto text = [&](const char* key) -> caf::expected<std::string> {
    auto it = j.find(key);
    if (it == j.end() || it->is_null())
      return std::string{};
    if (!it->is_string())
      return bad(std::string{key} + ": expected a string");
    return it->get<std::string>();
  };
  auto author = text("author");
  if (!author)
    return author.error();
  s.author = *author;
  if (s.author.empty()) {
    auto created = text("createdBy");
    if (!created)
      return created.error();
    s.author = *created;
  }
  if (s.author.empty())
    return bad("author: required (or createdBy)");
  auto comment = text("comment");
  if (!comment)
    return comment.error();
  s.comment = *comment;
  if (auto id = text("id"); id && !id->empty())
    s.id = *id;
  if (auto rec = j.find("recurrence"); rec != j.end() && !rec->is_null()) {
    if (!rec->is_object())
      return bad("recurrence: expected {\"weekdays\",\"start\",\"duration\"}");
    static constexpr const char* days[] = {"mon", "tue", "wed", "thu",
                                           "fri", "sat", "sun"};
    auto wd = rec->find("weekdays");
    if (wd == rec->end() || !wd->is_array() || wd->empty())
      return bad("recurrence.weekdays: required, e.g. [\"sat\",\"sun\"]");
    for (const auto& d : *wd) {
      bool known = false;
      for (uint32_t k = 0; k < 7; ++k)
        if (d.is_string() && d.get<std::string>() == days[k]) {
          s.weekdays |= 1u << k;
          known = true;
        }
      if (!known)
        return bad("recurrence.weekdays: " + d.dump()
                   + " is not one of mon..sun");
    }
    auto start = rec->find("start");
    unsigned h = 0;
    unsigned m = 0;
    char tail = 0;
    if (start == rec->end() || !start->is_string()
        || std::sscanf(start->get<std::string>().c_str(), "%2u:%2u%c", &h, &m,
                       &tail)
             != 2
        || h > 23 || m > 59)
      return bad("recurrence.start: expected HH:MM (UTC)");
    s.start_minute = h * 60 + m;
    auto dur = rec->find("duration");
    if (dur == rec->end())
      return bad("recurrence.duration: required, e.g. \"2h\"");
    auto d = read_duration_ms(*dur, "recurrence.duration");
    if (!d)
      return d.error();
    s.duration_minutes = static_cast<uint32_t>(
      std::min<int64_t>(*d / 60'000, 7 * 24 * 60 + 1));
    if (j.contains("startsAt") || j.contains("endsAt"))
      return bad("startsAt/endsAt: a silence has either these or a "
                 "recurrence, not both");
    return s;
  }
  s.starts_ms = now_ms;
  if (auto it = j.find("startsAt"); it != j.end() && !it->is_null()) {
    auto t = read_time(*it, "startsAt");
    if (!t)
      return t.error();
    s.starts_ms = *t;
  }
  if (auto it = j.find("endsAt"); it != j.end() && !it->is_null()) {
    auto t = read_time(*it, "endsAt");
    if (!t)
      return t.error();
    s.ends_ms = *t;
  } else if (auto d = j.find("duration"); d != j.end()) {
    auto x = read_duration_ms(*d, "duration");
    if (!x)
      return x.error();
    s.ends_ms = s.starts_ms + *x;
  } else {
    return bad("endsAt: required (or duration)");
  }
  return s;
}

} // namespace vigil::node
