#pragma once

// Vigil's own JSON ingest endpoints (CONTRACT.md, section 3): NDJSON
// samples, log lines, change events and static topology. Content-type
// negotiation is the caller's; these only decode.

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include <caf/expected.hpp>

#include "messages/records.hpp"
#include "messages/samples.hpp"
#include "runtime/codec/options.hpp"

namespace vigil::codec {

/// Longest log line accepted, in bytes.
constexpr size_t max_log_line_bytes = size_t{64} * 1024;

/// Most log records in one request.
constexpr size_t max_log_records = 1'000'000;

/// Most change events in one request.
constexpr size_t max_change_events = 100'000;

/// Most edges in one topology update.
constexpr size_t max_topology_edges = 100'000;

/// Decodes `POST /api/v1/samples`: one `{"service","metric","value","ts",
/// "labels"?}` object per line, into one batch per service. `ts` is Unix
/// seconds (number; an RFC 3339 string is also read) and becomes ms;
/// `value` is a number or one of "NaN", "+Inf", "-Inf", "Inf"; `labels`
/// maps label names to strings; `metric` matches
/// `[a-zA-Z_:][a-zA-Z0-9_:.]*`. The service is not a label of the series.
/// Blank lines are skipped; a bad line fails the whole body, naming the line
/// and field.
[[nodiscard]] caf::expected<std::vector<sample_batch>>
decode_samples_ndjson(std::string_view body, const decode_options& opts,
                      decode_stats* stats = nullptr);

/// Decodes `POST /api/v1/logs`. `text/plain`: one record per non-blank line
/// (`\r` stripped) stamped with the receive time, all of
/// `default_service` (format "text"). `application/x-ndjson` or
/// `application/json`: one `{"line","ts"?,"service"?,"level"?}` object per
/// line (format "ndjson"); `ts` defaults to the receive time, `service` to
/// `default_service`. Other content types are `unsupported_media_type`.
[[nodiscard]] caf::expected<std::vector<log_batch>>
decode_log_lines(std::string_view body, std::string_view content_type,
                 std::string_view default_service, int64_t received_ns,
                 decode_stats* stats = nullptr);

/// Decodes `POST /api/v1/changes`: one JSON object, an array of objects, or
/// NDJSON, each `{"service","kind","ts","version"?,"author"?,
/// "description"?}` with `ts` in Unix seconds or RFC 3339. `received_ns` is
/// left 0 for the caller to stamp.
[[nodiscard]] caf::expected<change_batch> decode_changes(std::string_view body);

/// Decodes `POST /api/v1/topology`: `{"edges":[{"caller","callee"}]}` with
/// non-empty, distinct service names. `received_ns` is left 0 for the caller
/// to stamp.
[[nodiscard]] caf::expected<topology_update>
decode_topology(std::string_view body);

} // namespace vigil::codec
