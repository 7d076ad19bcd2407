#pragma once

// Text forms of the values options hold: durations ("1h30m"), byte sizes
// ("16MiB"), host:port pairs and plain numbers. The loader, the flag parser
// and anything else reading operator input (playbook cooldowns, silence
// lengths) share these so every place accepts and prints the same forms.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "config/options.hpp"

namespace vigil {

/// A value parsed from text, or the reason the text is not one.
template <class T>
struct [[nodiscard]] parse_result {
  /// The value; empty when the text was refused.
  std::optional<T> value;
  /// Why the text was refused, as a phrase ("30 has no unit; ..."); empty on
  /// success.
  std::string error;

  /// Returns a successful result holding `x`.
  static parse_result ok(T x) { return {std::move(x), {}}; }
  /// Returns a failed result saying `why`.
  static parse_result fail(std::string why) {
    return {std::nullopt, std::move(why)};
  }
  /// Returns whether a value was parsed.
  explicit operator bool() const noexcept { return value.has_value(); }
  /// Returns the parsed value; only valid when the result holds one.
  const T& operator*() const { return *value; }
};

/// The duration forms, as named in messages.
inline constexpr std::string_view duration_forms
  = "250ms, 30s, 5m, 1h, 1d or a combination such as 1h30m";

/// The byte size forms, as named in messages.
inline constexpr std::string_view byte_size_forms
  = "a byte count, or a number with B, kB, MB, GB, TB (powers of 1000) or "
    "KiB, MiB, GiB, TiB (powers of 1024), e.g. 16MiB";

/// Parses a non-negative duration: whole numbers with units ms, s, m, h, d,
/// largest unit first ("250ms", "1h30m"). A bare number is refused.
parse_result<duration> parse_duration(std::string_view text);

/// Renders `x` in the shortest exact form parse_duration reads ("1h30m",
/// "100ms", "0s").
std::string format_duration(duration x);

/// Parses a byte size: a plain count ("1048576") or a number with a unit
/// ("16MiB", "1.5GiB", "500MB"); the result must be a whole number of bytes.
parse_result<uint64_t> parse_byte_size(std::string_view text);

/// Renders `x` with the largest unit that keeps it exact ("16MiB", "500MB",
/// "1234").
std::string format_byte_size(uint64_t x);

/// Parses HOST:PORT or [IPv6]:PORT with a port in 0..65535.
parse_result<host_port> parse_host_port(std::string_view text);

/// Parses true or false (also True, TRUE, False, FALSE).
parse_result<bool> parse_bool(std::string_view text);

/// Parses a non-negative decimal integer; `_` may separate digits.
parse_result<uint64_t> parse_unsigned(std::string_view text);

/// Parses a decimal integer with an optional sign; `_` may separate digits.
parse_result<int64_t> parse_signed(std::string_view text);

/// Parses a finite decimal floating-point number ("0.1", "3", "1e-3").
parse_result<double> parse_real(std::string_view text);

/// Renders `x` in the shortest form that parses back to the same double.
std::string format_real(double x);

} // namespace vigil
