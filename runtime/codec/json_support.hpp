#pragma once

// Helpers the JSON decoders share: bounded parsing with positions in
// errors, hex and base64, and the JSON / text rendering of values.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <caf/expected.hpp>
#include <nlohmann/json.hpp>

namespace vigil::codec {

/// Deepest nesting of arrays and objects any JSON body may have. Deeper
/// bodies are refused before parsing, so no recursive walk can overflow.
constexpr size_t max_json_depth = 128;

/// Most values (scalars, arrays and objects) one JSON body may hold. A
/// parsed value costs about 16 bytes per input byte in the worst case
/// (`[0,0,...]`), so this bounds the tree to some 64 MB.
constexpr size_t max_json_values = 4'000'000;

/// Returns the offset of the first bracket that nests deeper than
/// `max_depth`, or nothing.
std::optional<size_t> find_too_deep(std::string_view text,
                                    size_t max_depth = max_json_depth);

/// Parses `text` as one JSON value; a syntax error or too deep a nesting
/// becomes `malformed` with `where` = `where_prefix` + "byte N", more than
/// `max_json_values` values `too_large`.
[[nodiscard]] caf::expected<nlohmann::json>
parse_json(std::string_view text, std::string_view where_prefix = {});

/// Returns the name of the JSON type of `x` ("string", "number", ...).
std::string_view json_type_name(const nlohmann::json& x);

/// Returns `bytes` as lower-case hex.
std::string to_hex(std::string_view bytes);

/// Decodes hex digits (either case); nothing if a digit is bad or the
/// count is odd.
std::optional<std::string> from_hex(std::string_view hex);

/// Returns `bytes` in standard base64 with padding.
std::string to_base64(std::string_view bytes);

/// Appends `s` to `out` as a JSON string literal (quoted and escaped).
void append_json_string(std::string& out, std::string_view s);

/// Appends the shortest text that reads back as `x` ("0.5", "1", "1e+20";
/// "NaN", "+Inf", "-Inf" for the non-finite values).
void append_double(std::string& out, double x);

} // namespace vigil::codec
