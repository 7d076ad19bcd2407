#pragma once

// Parsing of one raw log line in the common formats, with auto-detection.
// Pure functions: no allocation beyond the result, no clock, no I/O.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vigil::detector {

/// The line formats the log pipeline understands.
enum class log_format : uint8_t {
  /// Recognise the format from the line itself.
  auto_detect = 0,
  /// One JSON object per line.
  json = 1,
  /// `key=value key="quoted value" ...`.
  logfmt = 2,
  /// RFC 3164 or RFC 5424 syslog, with or without the `<PRI>` header.
  syslog = 3,
  /// nginx/apache access log, common or combined.
  access = 4,
  /// `2024-01-01 12:00:00,123 ERROR [thread] com.x.Y - msg`.
  log4j = 5,
  /// Python logging: `ERROR:root:msg` or `2024-.. - name - LEVEL - msg`.
  python = 6,
  /// Anything else; a leading timestamp and level word are still taken.
  text = 7,
};

/// Returns "auto", "json", "logfmt", "syslog", "access", "log4j", "python"
/// or "text".
const char* to_string(log_format x);

/// Reads a format name as `to_string` spells it.
std::optional<log_format> log_format_from(std::string_view name);

/// A structured field of a parsed line.
struct log_field {
  std::string key;
  std::string value;
};

/// What a line holds, whatever its format.
struct parsed_log {
  /// The format the line was read as (never auto_detect).
  log_format format = log_format::text;
  /// Event time in ms since the epoch; 0 when the line has none.
  int64_t ts_ms = 0;
  /// OTLP severity number (1..24); 0 when unknown.
  int32_t severity = 0;
  /// The level as the line spelled it; may be empty.
  std::string severity_text;
  /// The message part: what template mining looks at.
  std::string message;
  /// Structured fields besides time, level and message.
  std::vector<log_field> fields;
};

/// Maps a level name (any case; "E", "warn", "CRITICAL", "notice", ...) to
/// its OTLP severity number; 0 when not a level name.
int32_t severity_number(std::string_view level) noexcept;

/// Maps a syslog severity (0 emerg .. 7 debug) to an OTLP severity number.
int32_t syslog_severity(int level) noexcept;

/// Parses `line` as `format` (auto_detect tries the formats in turn). A line
/// that does not fit the requested format is read as text. Never throws on
/// any byte sequence.
parsed_log parse_log_line(std::string_view line,
                          log_format format = log_format::auto_detect);

/// The text template mining sees for a parsed line: the message, then the
/// structured fields as ` key=value` (values with blanks quoted).
std::string mining_text(const parsed_log& x);

/// Days since 1970-01-01 of a proleptic Gregorian date.
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) noexcept;

} // namespace vigil::detector
