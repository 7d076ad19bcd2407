#pragma once

// The incident and silence resources of the HTTP API (CONTRACT §3): JSON
// rendering and the checking of request bodies. Pure functions; the routes
// live in http_api.cpp.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <caf/expected.hpp>
#include <nlohmann/json.hpp>

#include "messages/incidents.hpp"

namespace vigil::node {

/// "INC-000042".
std::string incident_id_text(uint64_t id);

/// Reads "INC-000042", "INC-42" or "42"; nothing for anything else.
std::optional<uint64_t> parse_incident_id(std::string_view text);

/// The incident object; `brief` leaves out anomalies and timeline.
nlohmann::json incident_json(const incident_view& x, bool brief);

/// "ACT-000042".
std::string action_id_text(uint64_t id);

/// Reads "ACT-000042", "act-42" or "42"; empty for anything else (0
/// included).
std::optional<uint64_t> parse_action_id(std::string_view text);

/// One action as the API shows it (CONTRACT §3 `actions`, with times,
/// reason and who decided).
nlohmann::json action_json(const action_view& a);

/// Reads an ack/resolve body `{"by","comment"?}`; errc::malformed names
/// the field.
caf::expected<incident_command> parse_incident_command(std::string_view body,
                                                       std::string to);

/// A silence as JSON.
nlohmann::json silence_json(const silence_spec& s);

/// Reads a silence body:
///   {"matchers": ["service=~\"pay.*\"", ...] or
///                [{"name","value","isRegex"?,"isEqual"?}, ...],
///    "startsAt"?, "endsAt"? (Unix seconds or RFC 3339), or "duration"?
///    ("2h"), or "recurrence": {"weekdays": ["mon",...], "start": "02:00",
///    "duration": "2h"},
///    "author" (or "createdBy"), "comment"?}
/// `now_ms` is the default start. errc::malformed names the field.
caf::expected<silence_spec> parse_silence(std::string_view body,
                                          int64_t now_ms);

} // namespace vigil::node
