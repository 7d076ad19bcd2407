#pragma once

// Helpers of the codec tests: printing errors, and reading the fixtures'
// `.decoded.txt` files (written by the Python reference decoders in
// /work/shared/peers, so they are an oracle independent of this code).

#include <cstdint>
#include <map>
#include <memory>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "runtime/codec/error.hpp"

namespace caf {

// Lets gtest print a caf::error readably.
inline void PrintTo(const error& err, std::ostream* os) {
  auto d = vigil::codec::describe(err);
  *os << vigil::to_string(d.code) << ": " << d.message << " at " << d.where;
}

} // namespace caf

namespace vigil::codec::test {

/// Returns "code: message @ where" of an error, for assertion messages.
inline std::string why(const caf::error& err) {
  auto d = describe(err);
  return to_string(d.code) + ": " + d.message + " @ " + d.where;
}

/// Returns the errc of a failed expected, or errc::none when it holds a
/// value.
template <class T>
errc code_of(const caf::expected<T>& x) {
  return x ? errc::none : describe(x.error()).code;
}

/// One sample as the reference decoder printed it.
struct expected_sample {
  /// The value text: a Python float repr, "nan" or "StaleNaN".
  std::string value_text;
  int64_t ts = 0;
};

/// One series line of a remote-write `.decoded.txt`.
struct expected_series {
  std::string text;
  std::vector<expected_sample> samples;
};

/// The whole `.decoded.txt` of a remote-write fixture.
struct expected_remote_write {
  size_t series = 0;
  size_t samples = 0;
  size_t stale = 0;
  size_t metadata = 0;
  std::vector<expected_series> lines;
};

/// Reads the `.decoded.txt` of remote-write fixture `name` (without
/// extension).
expected_remote_write read_remote_write_expectation(const std::string& name);

/// A Python literal as printed by repr(): str, int, float, bool, None,
/// list or dict (in insertion order).
struct pyval {
  enum kind_t { none, str, integer, real, boolean, list, dict } kind = none;
  std::string text; // str: the string; integer/real: the digits; bool: repr
  std::vector<pyval> items;                         // list
  std::vector<std::pair<std::string, pyval>> entries; // dict

  /// Returns the entry `key` of a dict (fails the test if absent).
  const pyval& at(std::string_view key) const;

  /// Returns the value as Vigil renders attribute values as text.
  std::string as_text() const;

  /// Returns the value as compact JSON (Vigil's rendering of structured
  /// OTLP values).
  std::string as_json() const;
};

/// Parses a Python literal; fails the test on bad input.
pyval parse_python(std::string_view text);

/// One span line of a traces `.decoded.txt`.
struct expected_span {
  std::string service, trace, span, parent, kind, name, status,
    status_message;
  std::string duration_ms; // "%.1f"
  size_t events = 0;
  pyval attrs;
};

/// Reads the spans of traces fixture `name` (without extension).
std::vector<expected_span> read_trace_expectation(const std::string& name);

/// Formats `ns` as milliseconds with one decimal, like the reference
/// decoder.
std::string ms_one_decimal(int64_t ns);

} // namespace vigil::codec::test
