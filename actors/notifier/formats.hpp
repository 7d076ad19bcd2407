#pragma once

// The wire formats of the receivers, pure functions: what Vigil POSTs to a
// generic webhook, a Slack incoming webhook, the PagerDuty Events API v2
// and the OpsGenie Alert API for one notification. The notifier actor
// only sends what these build.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace vigil::notifier {

/// The receiver kinds.
enum class receiver_kind : uint8_t { webhook, slack, pagerduty, opsgenie };

/// "webhook", "slack", "pagerduty", "opsgenie".
std::string_view to_string(receiver_kind x);

/// What happened to an incident, as a receiver is told.
enum class event_kind : uint8_t {
  /// A new incident (PagerDuty trigger, OpsGenie create).
  opened,
  /// A human must act (no playbook, refusal, approval, failure). Also a
  /// trigger for paging receivers (same dedup key: it updates the page).
  escalated,
  /// A playbook step ran or changed state (chat receivers only).
  action,
  /// A person acknowledged it (PagerDuty acknowledge, OpsGenie ack).
  acknowledged,
  /// Resolved (PagerDuty resolve, OpsGenie close).
  resolved,
  /// Many action and escalation notices folded into one during a storm
  /// (chat receivers only; pagers deduplicate by key instead).
  digest,
};

/// "opened", "escalated", "action", "acknowledged", "resolved", "digest".
std::string_view to_string(event_kind x);

/// One notification about one incident, before it is shaped for a
/// receiver.
struct notification {
  event_kind event = event_kind::opened;
  /// Stable per incident ("vigil-INC-000042"): PagerDuty's dedup_key,
  /// OpsGenie's alias, the webhook's dedup_key.
  std::string dedup_key;
  uint64_t incident = 0;
  /// "INC-000042".
  std::string incident_id;
  /// 1 (info) .. 5 (critical).
  uint32_t severity = 3;
  std::string status;
  std::string type;
  std::string title;
  /// The root-cause service (may be empty).
  std::string service;
  /// What happened, for people (one paragraph).
  std::string text;
  /// Wall clock of the event, ms since the epoch.
  int64_t ts_ms = 0;
  /// The node that sent it (PagerDuty source, OpsGenie source).
  std::string source;
};

/// An HTTP request to send: method, URL, headers, body.
struct http_request {
  std::string method = "POST";
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

/// The generic webhook: JSON {"version":"1","receiver","event","dedup_key",
/// "incident":{id,status,severity,type,title,service},"text","ts","source"}.
/// With a non-empty `secret`, adds `X-Vigil-Signature: sha256=HEX`, the
/// HMAC-SHA256 of the body with the secret, and `X-Vigil-Timestamp`.
///
/// Exactly what is signed: `X-Vigil-Timestamp` is the decimal Unix seconds
/// of `n.ts_ms` (rounded toward the past, no sign for positive values, no
/// padding), and the signed message is that timestamp text, one `.`, then
/// the body bytes exactly as sent: HEX = hmac_sha256_hex(secret, TS + "." +
/// body), see `webhook_signature`. A receiver recomputes it, compares in
/// constant time and refuses timestamps too far from its clock, so a
/// captured request cannot be replayed later. `ts` in the body is
/// `n.ts_ms` (ms since the epoch, a number). Every event kind is sent.
/// Headers: Content-Type: application/json, then the two signature
/// headers when a secret is set. An empty `url` stays empty.
http_request webhook_request(const notification& n, std::string_view url,
                             std::string_view receiver,
                             std::string_view secret);

/// A Slack incoming-webhook message: `text` (the fallback) and `blocks`
/// (a header with the title, a section with the text, a context line with
/// id, severity and status).
///
/// The header is plain_text (not parsed by Slack, so not escaped), cut to
/// 150 characters; the fallback, the section (≤ 3000, "No details." when
/// `n.text` is empty) and the context line ("INC-… · severity N · status S
/// · EVENT[ · service X]") are mrkdwn with `&`, `<`, `>` escaped. Every
/// event kind is sent. An empty `url` stays empty.
http_request slack_request(const notification& n, std::string_view url);

/// A PagerDuty Events API v2 event (POST {url}, normally
/// https://events.pagerduty.com/v2/enqueue): event_action trigger for
/// opened/escalated (with payload summary ≤ 1024 chars, source, severity
/// critical/error/warning/info, component, custom_details), acknowledge,
/// resolve; the routing key and dedup_key on every event. Empty body (no
/// request) for `action` events, which PagerDuty has no use for.
///
/// An empty `url` means `pagerduty_default_url`. Every event carries
/// "client":"Vigil"; dedup_key is cut to PagerDuty's 255 characters; the
/// summary is the title (else the incident id); source is `n.source` (else
/// "vigil"); class is the type, payload.timestamp RFC 3339 UTC when
/// `ts_ms` > 0; `action` gives an http_request with empty url and body.
http_request pagerduty_request(const notification& n, std::string_view url,
                               std::string_view routing_key);

/// An OpsGenie Alert API request (base {url}, normally
/// https://api.opsgenie.com): create (POST /v2/alerts, message ≤ 130
/// chars, alias = dedup key, description, priority P1..P5 from severity,
/// source, tags), acknowledge (POST /v2/alerts/{alias}/acknowledge?
/// identifierType=alias), close (…/close?identifierType=alias), with
/// `Authorization: GenieKey KEY`. Empty body (no request) for `action`.
///
/// An empty `url` means `opsgenie_default_url`; trailing slashes are
/// dropped. opened and escalated are both creates with the same alias (the
/// alias is cut to 512 characters the same way in bodies and paths, and
/// percent-encoded in paths); an escalation adds a `note` with the text.
/// Tags are "vigil", type, service (each ≤ 50, no duplicates); details are
/// strings; entity is the service. Acknowledge and close send {"source",
/// "note"}.
http_request opsgenie_request(const notification& n, std::string_view url,
                              std::string_view api_key);

/// HMAC-SHA256 of `body` with `key`, lower-case hex.
std::string hmac_sha256_hex(std::string_view key, std::string_view body);

// -- additions: the pieces the builders above are made of ---------------------

/// Where PagerDuty events go when the receiver names no URL.
constexpr std::string_view pagerduty_default_url
  = "https://events.pagerduty.com/v2/enqueue";

/// The OpsGenie API base when the receiver names none.
constexpr std::string_view opsgenie_default_url = "https://api.opsgenie.com";

/// The value of `X-Vigil-Timestamp` for an event at `ts_ms`: Unix seconds,
/// rounded toward the past, in decimal.
std::string webhook_timestamp(int64_t ts_ms);

/// The value of `X-Vigil-Signature` for `body` sent with `timestamp` (the
/// `X-Vigil-Timestamp` text): "sha256=" + hmac_sha256_hex(secret,
/// timestamp + "." + body).
std::string webhook_signature(std::string_view secret,
                              std::string_view timestamp,
                              std::string_view body);

/// PagerDuty's severity for a Vigil severity: 5 critical, 4 error,
/// 3 warning, 1-2 info (0 counts as 1, above 5 as 5).
std::string_view pagerduty_severity(uint32_t severity);

/// OpsGenie's priority for a Vigil severity: 5 P1, 4 P2, 3 P3, 2 P4, 1 P5
/// (0 counts as 1, above 5 as 5).
std::string_view opsgenie_priority(uint32_t severity);

/// Returns `text` cut to at most `max_chars` Unicode code points, never
/// inside a character; when cut, the last kept code point is "…" (so the
/// result still has at most `max_chars`). Invalid UTF-8 bytes become
/// U+FFFD first, so the result is always valid UTF-8.
std::string truncate_utf8(std::string_view text, size_t max_chars);

/// Returns `text` with Slack's control characters escaped (`&` → `&amp;`,
/// `<` → `&lt;`, `>` → `&gt;`) and cut like `truncate_utf8` so that the
/// escaped result has at most `max_chars` code points and no entity is
/// split.
std::string slack_escape(std::string_view text, size_t max_chars);

} // namespace vigil::notifier
