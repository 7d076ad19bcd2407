#include "actors/notifier/formats.hpp"

#include <algorithm>
#include <array>
#include <cassert>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <initializer_list>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <nlohmann/json.hpp>

namespace vigil::notifier {

namespace {

using json = nlohmann::ordered_json;

// Vendor limits, in Unicode code points.
constexpr size_t pagerduty_summary_max = 1024;
constexpr size_t pagerduty_dedup_key_max = 255;
constexpr size_t opsgenie_message_max = 130;
constexpr size_t opsgenie_alias_max = 512;
constexpr size_t opsgenie_description_max = 15'000;
constexpr size_t opsgenie_note_max = 25'000;
constexpr size_t opsgenie_tag_max = 50;
constexpr size_t opsgenie_entity_max = 512;
constexpr size_t slack_header_max = 150;
constexpr size_t slack_text_max = 3'000;

constexpr std::string_view ellipsis = "\u2026";
constexpr std::string_view replacement = "\uFFFD";

/// One decoded step through a byte string.
struct utf8_step {
  /// Bytes the step covers (at least 1).
  size_t len;
  /// Whether those bytes are one well-formed character.
  bool ok;
};

// Decodes the character at s[i]. Overlong forms, surrogates and code points
// above U+10FFFF count as invalid, one byte at a time, so the caller's
// replacement keeps going after any garbage.
utf8_step next_char(std::string_view s, size_t i) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = byte(i);
  if (c < 0x80)
    return {1, true};
  size_t n;
  uint32_t cp;
  uint32_t min;
  if (c >= 0xc2 && c <= 0xdf) {
    n = 2, cp = c & 0x1f, min = 0x80;
  } else if (c >= 0xe0 && c <= 0xef) {
    n = 3, cp = c & 0x0f, min = 0x800;
  } else if (c >= 0xf0 && c <= 0xf4) {
    n = 4, cp = c & 0x07, min = 0x10000;
  } else {
    return {1, false};
  }
  if (i + n > s.size())
    return {1, false};
  for (size_t k = 1; k < n; ++k) {
    unsigned char d = byte(i + k);
    if ((d & 0xc0) != 0x80)
      return {1, false};
    cp = (cp << 6) | (d & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
    return {1, false};
  return {n, true};
}

/// Splits valid UTF-8 text into characters, invalid bytes as U+FFFD.
template <class F>
void for_each_char(std::string_view s, F f) {
  for (size_t i = 0; i < s.size();) {
    auto step = next_char(s, i);
    f(step.ok ? s.substr(i, step.len) : replacement);
    i += step.len;
  }
}

std::string first_non_empty(std::initializer_list<std::string_view> xs) {
  for (auto x : xs)
    if (!x.empty())
      return std::string{x};
  return {};
}

// Never throws on bad UTF-8: the inputs are sanitised already, and the
// replace handler is the second line of defence for untruncated fields.
std::string dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

int64_t floor_div(int64_t x, int64_t d) {
  auto q = x / d;
  if (x % d < 0)
    --q;
  return q;
}

// RFC 3339 in UTC with ms, PagerDuty's payload.timestamp.
std::string rfc3339(int64_t ts_ms) {
  auto secs = static_cast<time_t>(floor_div(ts_ms, 1000));
  auto ms = static_cast<int>(ts_ms - floor_div(ts_ms, 1000) * 1000);
  std::tm tm{};
  if (gmtime_r(&secs, &tm) == nullptr)
    return {};
  std::array<char, 64> buf{};
  auto n = std::snprintf(buf.data(), buf.size(),
                         "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                         tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                         tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
  if (n <= 0 || static_cast<size_t>(n) >= buf.size())
    return {};
  return std::string(buf.data(), static_cast<size_t>(n));
}

// Percent-encodes everything but RFC 3986's unreserved characters, so an
// alias is one path segment whatever it holds ('/', '?', '#', ' ', '%').
std::string percent_encode(std::string_view s) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size() * 3);
  for (unsigned char c : s) {
    bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
                      || (c >= '0' && c <= '9') || c == '-' || c == '.'
                      || c == '_' || c == '~';
    if (unreserved) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 0x0f];
    }
  }
  return out;
}

std::string without_trailing_slashes(std::string_view url) {
  while (!url.empty() && url.back() == '/')
    url.remove_suffix(1);
  return std::string{url};
}

uint32_t clamp_severity(uint32_t severity) {
  return severity < 1 ? 1 : (severity > 5 ? 5 : severity);
}

// The title every receiver shows: the incident's, else its id.
std::string headline(const notification& n) {
  return first_non_empty({n.title, n.incident_id, "Vigil incident"});
}

std::string source_of(const notification& n) {
  return first_non_empty({n.source, "vigil"});
}

const std::pair<std::string, std::string> json_content_type{"Content-Type",
                                                            "application/json"};

} // namespace

std::string_view to_string(receiver_kind x) {
  switch (x) {
    case receiver_kind::webhook:
      return "webhook";
    case receiver_kind::slack:
      return "slack";
    case receiver_kind::pagerduty:
      return "pagerduty";
    case receiver_kind::opsgenie:
      return "opsgenie";
  }
  return "unknown";
}

std::string_view to_string(event_kind x) {
  switch (x) {
    case event_kind::opened:
      return "opened";
    case event_kind::escalated:
      return "escalated";
    case event_kind::action:
      return "action";
    case event_kind::acknowledged:
      return "acknowledged";
    case event_kind::resolved:
      return "resolved";
    case event_kind::digest:
      return "digest";
  }
  return "unknown";
}

std::string truncate_utf8(std::string_view text, size_t max_chars) {
  std::vector<std::string_view> chars;
  chars.reserve(text.size());
  for_each_char(text, [&](std::string_view c) { chars.push_back(c); });
  size_t keep = chars.size();
  bool cut = chars.size() > max_chars;
  if (cut)
    keep = max_chars == 0 ? 0 : max_chars - 1;
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < keep; ++i)
    out += chars[i];
  if (cut && max_chars > 0)
    out += ellipsis;
  return out;
}

std::string slack_escape(std::string_view text, size_t max_chars) {
  // Each piece is one input character, escaped, with the number of code
  // points it takes after escaping; cutting between pieces never splits an
  // entity.
  std::vector<std::pair<std::string_view, size_t>> pieces;
  pieces.reserve(text.size());
  size_t total = 0;
  for_each_char(text, [&](std::string_view c) {
    std::pair<std::string_view, size_t> p{c, 1};
    if (c == "&")
      p = {"&amp;", 5};
    else if (c == "<")
      p = {"&lt;", 4};
    else if (c == ">")
      p = {"&gt;", 4};
    total += p.second;
    pieces.push_back(p);
  });
  bool cut = total > max_chars;
  size_t budget = cut ? (max_chars == 0 ? 0 : max_chars - 1) : total;
  std::string out;
  out.reserve(text.size());
  size_t used = 0;
  for (auto& [s, len] : pieces) {
    if (used + len > budget)
      break;
    out += s;
    used += len;
  }
  if (cut && max_chars > 0)
    out += ellipsis;
  return out;
}

std::string_view pagerduty_severity(uint32_t severity) {
  switch (clamp_severity(severity)) {
    case 5:
      return "critical";
    case 4:
      return "error";
    case 3:
      return "warning";
    default:
      return "info";
  }
}

std::string_view opsgenie_priority(uint32_t severity) {
  static constexpr std::string_view by_severity[]
    = {"P5", "P4", "P3", "P2", "P1"};
  return by_severity[clamp_severity(severity) - 1];
}

std::string hmac_sha256_hex(std::string_view key, std::string_view body) {
  // OpenSSL wants non-null pointers even for empty inputs.
  static constexpr char empty[] = "";
  const void* k = key.empty() ? empty : key.data();
  auto d = reinterpret_cast<const unsigned char*>(body.empty() ? empty
                                                               : body.data());
  // Keys longer than INT_MAX cannot be configured; crash rather than sign
  // with a silently shortened key.
  assert(key.size() <= static_cast<size_t>(INT_MAX));
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  unsigned int len = 0;
  auto res = HMAC(EVP_sha256(), k, static_cast<int>(key.size()), d, body.size(),
                  mac.data(), &len);
  // HMAC-SHA256 with the built-in digest only fails when OpenSSL itself is
  // broken, which no caller could recover from.
  if (res == nullptr || len != 32)
    std::abort();
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * len);
  for (unsigned int i = 0; i < len; ++i) {
    out += hex[mac[i] >> 4];
    out += hex[mac[i] & 0x0f];
  }
  return out;
}

std::string webhook_timestamp(int64_t ts_ms) {
  return std::to_string(floor_div(ts_ms, 1000));
}

std::string webhook_signature(std::string_view secret,
                              std::string_view timestamp,
                              std::string_view body) {
  std::string msg;
  msg.reserve(timestamp.size() + 1 + body.size());
  msg.append(timestamp).append(".").append(body);
  return "sha256=" + hmac_sha256_hex(secret, msg);
}

http_request webhook_request(const notification& n, std::string_view url,
                             std::string_view receiver,
                             std::string_view secret) {
  json incident{
    {"id", n.incident_id}, {"status", n.status}, {"severity", n.severity},
    {"type", n.type},      {"title", n.title},   {"service", n.service},
  };
  json body{
    {"version", "1"},
    {"receiver", receiver},
    {"event", to_string(n.event)},
    {"dedup_key", n.dedup_key},
    {"incident", std::move(incident)},
    {"text", n.text},
    {"ts", n.ts_ms},
    {"source", n.source},
  };
  http_request req;
  req.url = std::string{url};
  req.body = dump(body);
  req.headers.push_back(json_content_type);
  if (!secret.empty()) {
    auto ts = webhook_timestamp(n.ts_ms);
    req.headers.emplace_back("X-Vigil-Timestamp", ts);
    req.headers.emplace_back("X-Vigil-Signature",
                             webhook_signature(secret, ts, req.body));
  }
  return req;
}

http_request slack_request(const notification& n, std::string_view url) {
  auto event = to_string(n.event);
  std::string context = first_non_empty({n.incident_id, "incident"});
  context += " \u00b7 severity " + std::to_string(n.severity);
  if (!n.status.empty())
    context += " \u00b7 status " + n.status;
  context += " \u00b7 ";
  context += event;
  if (!n.service.empty())
    context += " \u00b7 service " + n.service;
  std::string fallback = first_non_empty({n.incident_id, "incident"});
  fallback += " ";
  fallback += event;
  fallback += ": " + headline(n);
  // Section text may not be empty in Block Kit.
  auto details = first_non_empty({n.text, "No details."});
  json body{
    {"text", slack_escape(fallback, slack_text_max)},
    {"blocks",
     json::array({
       {{"type", "header"},
        {"text",
         {{"type", "plain_text"},
          {"text", truncate_utf8(headline(n), slack_header_max)}}}},
       {{"type", "section"},
        {"text",
         {{"type", "mrkdwn"},
          {"text", slack_escape(details, slack_text_max)}}}},
       {{"type", "context"},
        {"elements",
         json::array({{{"type", "mrkdwn"},
                       {"text", slack_escape(context, slack_text_max)}}})}},
     })},
  };
  http_request req;
  req.url = std::string{url};
  req.headers.push_back(json_content_type);
  req.body = dump(body);
  return req;
}

http_request pagerduty_request(const notification& n, std::string_view url,
                               std::string_view routing_key) {
  std::string_view action;
  switch (n.event) {
    case event_kind::opened:
    case event_kind::escalated:
      action = "trigger";
      break;
    case event_kind::acknowledged:
      action = "acknowledge";
      break;
    case event_kind::resolved:
      action = "resolve";
      break;
    case event_kind::action:
    case event_kind::digest:
      return {}; // an empty URL: nothing to send
  }
  json body{
    {"routing_key", routing_key},
    {"event_action", action},
    {"dedup_key", truncate_utf8(n.dedup_key, pagerduty_dedup_key_max)},
    {"client", "Vigil"},
  };
  if (action == "trigger") {
    json payload{
      {"summary", truncate_utf8(headline(n), pagerduty_summary_max)},
      {"source", source_of(n)},
      {"severity", pagerduty_severity(n.severity)},
    };
    if (n.ts_ms > 0)
      if (auto ts = rfc3339(n.ts_ms); !ts.empty())
        payload["timestamp"] = ts;
    if (!n.service.empty())
      payload["component"] = n.service;
    if (!n.type.empty())
      payload["class"] = n.type;
    payload["custom_details"] = json{
      {"incident", n.incident_id},   {"incident_number", n.incident},
      {"event", to_string(n.event)}, {"status", n.status},
      {"severity", n.severity},      {"type", n.type},
      {"service", n.service},        {"text", n.text},
    };
    body["payload"] = std::move(payload);
  }
  http_request req;
  req.url = url.empty() ? std::string{pagerduty_default_url} : std::string{url};
  req.headers.push_back(json_content_type);
  req.body = dump(body);
  return req;
}

http_request opsgenie_request(const notification& n, std::string_view url,
                              std::string_view api_key) {
  if (n.event == event_kind::action || n.event == event_kind::digest)
    return {}; // an empty URL: nothing to send
  auto base
    = without_trailing_slashes(url.empty() ? opsgenie_default_url : url);
  // The same cut alias goes into the create body and into later paths, so
  // acknowledge and close find the alert even for an over-long key.
  auto alias = truncate_utf8(n.dedup_key, opsgenie_alias_max);
  http_request req;
  json body;
  switch (n.event) {
    case event_kind::opened:
    case event_kind::escalated: {
      req.url = base + "/v2/alerts";
      json tags = json::array({"vigil"});
      for (auto& t : {n.type, n.service}) {
        auto tag = truncate_utf8(t, opsgenie_tag_max);
        if (!tag.empty()
            && std::find(tags.begin(), tags.end(), tag) == tags.end())
          tags.push_back(tag);
      }
      body = json{
        {"message", truncate_utf8(headline(n), opsgenie_message_max)},
        {"alias", alias},
        {"description", truncate_utf8(n.text, opsgenie_description_max)},
        {"priority", opsgenie_priority(n.severity)},
        {"source", source_of(n)},
        {"tags", std::move(tags)},
        {"details",
         {
           {"incident", n.incident_id},
           {"event", std::string{to_string(n.event)}},
           {"status", n.status},
           {"severity", std::to_string(n.severity)},
           {"type", n.type},
           {"service", n.service},
         }},
      };
      if (!n.service.empty())
        body["entity"] = truncate_utf8(n.service, opsgenie_entity_max);
      // OpsGenie keeps the first description on a deduplicated create; the
      // note is how the reason for an escalation reaches the alert.
      if (n.event == event_kind::escalated)
        body["note"]
          = truncate_utf8(n.text.empty() ? "Escalated by Vigil."
                                         : "Escalated by Vigil: " + n.text,
                          opsgenie_note_max);
      break;
    }
    case event_kind::acknowledged:
    case event_kind::resolved: {
      bool ack = n.event == event_kind::acknowledged;
      req.url = base + "/v2/alerts/" + percent_encode(alias)
                + (ack ? "/acknowledge" : "/close") + "?identifierType=alias";
      std::string note = ack ? "Acknowledged in Vigil" : "Resolved in Vigil";
      note += n.text.empty() ? "." : ": " + n.text;
      body = json{
        {"source", source_of(n)},
        {"note", truncate_utf8(note, opsgenie_note_max)},
      };
      break;
    }
    case event_kind::action:
    case event_kind::digest:
      break; // handled above
  }
  req.headers.push_back(json_content_type);
  req.headers.emplace_back("Authorization", "GenieKey " + std::string{api_key});
  req.body = dump(body);
  return req;
}

} // namespace vigil::notifier
