#pragma once

// Timestamps in JSON bodies: RFC 3339 strings and Unix seconds.

#include <cstdint>
#include <optional>
#include <string_view>

namespace vigil::codec {

/// Parses an RFC 3339 timestamp (`2026-11-21T05:26:52.012Z`,
/// `2026-11-21T07:26:52.012345+02:00`; `t`/`z` in lower case and a space
/// for `T` are accepted) into ms since the epoch, rounding toward the past.
/// Go's zero time `0001-01-01T00:00:00Z` (Alertmanager's "unset") gives 0.
/// Returns nothing when the text is not a valid timestamp.
std::optional<int64_t> parse_rfc3339_ms(std::string_view text) noexcept;

/// Converts Unix seconds to ms, rounded to the nearest ms. Returns nothing
/// unless `seconds` is finite and within [0, 253402300800) (years
/// 1970-9999).
std::optional<int64_t> unix_seconds_to_ms(double seconds) noexcept;

} // namespace vigil::codec
