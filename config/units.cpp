#include "config/units.hpp"

#include <array>
#include <charconv>
#include <cmath>
#include <limits>

namespace vigil {

namespace {

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

std::string quote(std::string_view text) {
  // Appending, rather than "'" + std::string{...}, sidesteps a false
  // -Wrestrict in GCC 12.
  std::string out;
  out.reserve(text.size() + 2);
  out += '\'';
  out += text;
  out += '\'';
  return out;
}

/// Reads the digits of `text` from `pos` (with `_` allowed between digits)
/// into `out`; returns false on overflow. Leaves `pos` after the last digit.
bool read_digits(std::string_view text, size_t& pos, uint64_t& out,
                 size_t& count) {
  out = 0;
  count = 0;
  while (pos < text.size()) {
    char c = text[pos];
    if (c == '_' && count > 0 && pos + 1 < text.size()
        && is_digit(text[pos + 1])) {
      ++pos;
      continue;
    }
    if (!is_digit(c))
      break;
    if (__builtin_mul_overflow(out, uint64_t{10}, &out)
        || __builtin_add_overflow(out, uint64_t(c - '0'), &out))
      return false;
    ++count;
    ++pos;
  }
  return true;
}

struct duration_unit {
  std::string_view name;
  int64_t ms;
};

// Largest first: a duration must name its units in this order.
constexpr std::array<duration_unit, 5> duration_units{{
  {"d", 86'400'000},
  {"h", 3'600'000},
  {"m", 60'000},
  {"s", 1'000},
  {"ms", 1},
}};

struct size_unit {
  std::string_view name;
  uint64_t bytes;
};

constexpr std::array<size_unit, 9> size_units{{
  {"B", 1},
  {"kB", 1'000},
  {"MB", 1'000'000},
  {"GB", 1'000'000'000},
  {"TB", 1'000'000'000'000},
  {"KiB", 1ull << 10},
  {"MiB", 1ull << 20},
  {"GiB", 1ull << 30},
  {"TiB", 1ull << 40},
}};

bool is_host_char(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
         || c == '.' || c == '-' || c == '_';
}

bool is_ipv6_char(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
         || c == ':' || c == '.';
}

} // namespace

parse_result<duration> parse_duration(std::string_view text) {
  using result = parse_result<duration>;
  if (text.empty())
    return result::fail("empty; write a duration such as "
                        + std::string{duration_forms});
  if (text.front() == '-')
    return result::fail(quote(text) + " is negative; durations are >= 0");
  int64_t total = 0;
  size_t pos = 0;
  size_t next_unit = 0; // index into duration_units: units must descend
  while (pos < text.size()) {
    uint64_t n = 0;
    size_t digits = 0;
    size_t start = pos;
    if (!read_digits(text, pos, n, digits))
      return result::fail(quote(text) + " is too large");
    if (digits == 0)
      return result::fail(quote(text) + " is not a duration; write "
                          + std::string{duration_forms});
    if (pos == text.size()) {
      if (start == 0)
        return result::fail(std::string{text}
                            + " has no unit; write a duration such as "
                            + std::string{text} + "s or "
                            + std::string{text} + "ms (forms: "
                            + std::string{duration_forms} + ")");
      return result::fail("the last number in " + quote(text)
                          + " has no unit (units: ms, s, m, h, d)");
    }
    if (text[pos] == '.')
      return result::fail(quote(text)
                          + " has a fraction; use whole numbers per unit, "
                            "e.g. 1h30m or 1500ms");
    // "ms" before "m": the longest unit name that matches wins.
    size_t end = pos;
    while (end < text.size() && !is_digit(text[end]))
      ++end;
    auto name = text.substr(pos, end - pos);
    size_t idx = duration_units.size();
    for (size_t i = 0; i < duration_units.size(); ++i)
      if (duration_units[i].name == name)
        idx = i;
    if (idx == duration_units.size())
      return result::fail("unknown unit " + quote(name) + " in " + quote(text)
                          + " (units: ms, s, m, h, d)");
    if (idx < next_unit)
      return result::fail(quote(text)
                          + " repeats a unit or puts a smaller one first; "
                            "write units largest first, each once, "
                            "e.g. 1h30m");
    next_unit = idx + 1;
    int64_t part = 0;
    if (n > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())
        || __builtin_mul_overflow(static_cast<int64_t>(n),
                                  duration_units[idx].ms, &part)
        || __builtin_add_overflow(total, part, &total))
      return result::fail(quote(text) + " is too large");
    pos = end;
  }
  return result::ok(duration{total});
}

std::string format_duration(duration x) {
  auto ms = x.count();
  if (ms == 0)
    return "0s";
  std::string out;
  uint64_t rest;
  if (ms < 0) {
    out = "-";
    rest = static_cast<uint64_t>(-(ms + 1)) + 1; // no overflow at INT64_MIN
  } else {
    rest = static_cast<uint64_t>(ms);
  }
  for (const auto& unit : duration_units) {
    auto size = static_cast<uint64_t>(unit.ms);
    if (rest >= size) {
      out += std::to_string(rest / size);
      out += unit.name;
      rest %= size;
    }
  }
  return out;
}

parse_result<uint64_t> parse_byte_size(std::string_view text) {
  using result = parse_result<uint64_t>;
  auto refuse = [&] {
    return result::fail(quote(text) + " is not a byte size; write "
                        + std::string{byte_size_forms});
  };
  if (text.empty())
    return result::fail("empty; write " + std::string{byte_size_forms});
  if (text.front() == '-')
    return result::fail(quote(text) + " is negative");
  size_t pos = 0;
  uint64_t whole = 0;
  size_t whole_digits = 0;
  if (!read_digits(text, pos, whole, whole_digits))
    return result::fail(quote(text) + " is too large");
  if (whole_digits == 0)
    return refuse();
  // The mantissa keeps the fraction's digits; `scale` is 10^(their count).
  uint64_t mantissa = whole;
  uint64_t scale = 1;
  bool fraction = false;
  if (pos < text.size() && text[pos] == '.') {
    fraction = true;
    ++pos;
    size_t digits = 0;
    while (pos < text.size() && is_digit(text[pos])) {
      if (__builtin_mul_overflow(mantissa, uint64_t{10}, &mantissa)
          || __builtin_add_overflow(mantissa, uint64_t(text[pos] - '0'),
                                    &mantissa)
          || __builtin_mul_overflow(scale, uint64_t{10}, &scale))
        return result::fail(quote(text) + " has too many digits");
      ++digits;
      ++pos;
    }
    if (digits == 0)
      return refuse();
  }
  if (pos < text.size() && text[pos] == ' ')
    ++pos;
  auto unit = text.substr(pos);
  if (unit.empty()) {
    if (fraction)
      return result::fail(quote(text)
                          + " has a fraction but no unit; a plain byte count "
                            "is a whole number");
    return result::ok(whole);
  }
  uint64_t multiplier = 0;
  for (const auto& u : size_units)
    if (u.name == unit)
      multiplier = u.bytes;
  if (multiplier == 0) {
    if (unit == "KB")
      return result::fail(quote(text)
                          + ": KB is ambiguous; write kB (1000 bytes) or "
                            "KiB (1024 bytes)");
    if (unit == "K" || unit == "M" || unit == "G" || unit == "T"
        || unit == "k" || unit == "Ki" || unit == "Mi" || unit == "Gi"
        || unit == "Ti")
      return result::fail("unknown unit " + quote(unit) + " in " + quote(text)
                          + "; write e.g. MB (10^6 bytes) or MiB (2^20 "
                            "bytes)");
    return result::fail("unknown unit " + quote(unit) + " in " + quote(text)
                        + "; units: B, kB, MB, GB, TB, KiB, MiB, GiB, TiB");
  }
  uint64_t scaled = 0;
  if (__builtin_mul_overflow(mantissa, multiplier, &scaled))
    return result::fail(quote(text) + " is too large");
  if (scaled % scale != 0)
    return result::fail(quote(text) + " is not a whole number of bytes");
  return result::ok(scaled / scale);
}

std::string format_byte_size(uint64_t x) {
  if (x == 0)
    return "0";
  // Try each unit and keep the shortest exact rendering; binary units win
  // ties since memory limits are usually powers of two.
  std::string best = std::to_string(x);
  for (auto i = size_units.size(); i-- > 1;) {
    const auto& u = size_units[i];
    if (x % u.bytes == 0) {
      auto candidate = std::to_string(x / u.bytes) + std::string{u.name};
      if (candidate.size() < best.size()
          || (candidate.size() == best.size() && u.name.size() == 3))
        best = std::move(candidate);
    }
  }
  return best;
}

parse_result<host_port> parse_host_port(std::string_view text) {
  using result = parse_result<host_port>;
  constexpr std::string_view example = "e.g. 127.0.0.1:8470 or [::1]:8470";
  if (text.empty())
    return result::fail("empty; write HOST:PORT, " + std::string{example});
  std::string_view host;
  std::string_view port;
  if (text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos)
      return result::fail(quote(text) + " has no closing ']'");
    host = text.substr(1, close - 1);
    if (close + 1 >= text.size() || text[close + 1] != ':')
      return result::fail(quote(text) + " has no port; write HOST:PORT, "
                          + std::string{example});
    port = text.substr(close + 2);
    if (host.empty())
      return result::fail(quote(text) + " has an empty host");
    if (host.find(':') == std::string_view::npos)
      return result::fail(quote(text)
                          + ": brackets are for IPv6 addresses only");
    for (char c : host)
      if (!is_ipv6_char(c))
        return result::fail(quote(text) + ": " + quote(host)
                            + " is not an IPv6 address");
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string_view::npos)
      return result::fail(quote(text) + " has no port; write HOST:PORT, "
                          + std::string{example});
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos)
      return result::fail(quote(text)
                          + ": put IPv6 addresses in brackets, e.g. "
                            "[::1]:8470");
    if (host.empty())
      return result::fail(quote(text)
                          + " has an empty host; write e.g. 127.0.0.1"
                          + std::string{text} + " or 0.0.0.0"
                          + std::string{text});
    for (char c : host)
      if (!is_host_char(c))
        return result::fail(quote(text) + ": invalid character "
                            + quote(std::string_view{&c, 1}) + " in host");
  }
  if (port.empty())
    return result::fail(quote(text) + " has an empty port");
  uint64_t value = 0;
  for (char c : port)
    if (!is_digit(c))
      return result::fail(quote(text) + ": port " + quote(port)
                          + " is not a number");
  if (port.size() > 5 || (value = std::stoull(std::string{port})) > 65535)
    return result::fail(quote(text) + ": port " + std::string{port}
                        + " is out of range 0..65535");
  return result::ok(host_port{std::string{host}, static_cast<uint16_t>(value)});
}

parse_result<bool> parse_bool(std::string_view text) {
  using result = parse_result<bool>;
  if (text == "true" || text == "True" || text == "TRUE")
    return result::ok(true);
  if (text == "false" || text == "False" || text == "FALSE")
    return result::ok(false);
  return result::fail(quote(text) + " is not true or false");
}

parse_result<uint64_t> parse_unsigned(std::string_view text) {
  using result = parse_result<uint64_t>;
  if (text.empty())
    return result::fail("empty; write a whole number");
  if (text.front() == '-')
    return result::fail(quote(text) + " is negative");
  size_t pos = 0;
  uint64_t n = 0;
  size_t digits = 0;
  if (!read_digits(text, pos, n, digits))
    return result::fail(quote(text) + " is too large");
  if (digits == 0 || pos != text.size()) {
    if (text.find_first_of(".eE") != std::string_view::npos && digits > 0)
      return result::fail(quote(text)
                          + " is not a whole number; write it out in full "
                            "(underscores may group digits: 1_000_000)");
    return result::fail(quote(text) + " is not a whole number");
  }
  // YAML 1.1 reads a leading zero as octal; refusing it avoids guessing.
  if (text.size() > 1 && text.front() == '0')
    return result::fail(quote(text)
                        + " has a leading zero (octal in YAML 1.1); write "
                          "the number without it");
  return result::ok(n);
}

parse_result<int64_t> parse_signed(std::string_view text) {
  using result = parse_result<int64_t>;
  bool negative = !text.empty() && text.front() == '-';
  auto body = text;
  if (!text.empty() && (text.front() == '-' || text.front() == '+'))
    body.remove_prefix(1);
  // A second sign ("--5") is not a number at all.
  if (!body.empty() && (body.front() == '-' || body.front() == '+'))
    return result::fail(quote(text) + " is not a whole number");
  auto magnitude = parse_unsigned(body);
  if (!magnitude)
    return result::fail(magnitude.error);
  constexpr auto max = static_cast<uint64_t>(
    std::numeric_limits<int64_t>::max());
  if (negative) {
    if (*magnitude > max + 1)
      return result::fail(quote(text) + " is too small");
    // Negating in unsigned space keeps INT64_MIN representable.
    return result::ok(static_cast<int64_t>(0 - *magnitude));
  }
  if (*magnitude > max)
    return result::fail(quote(text) + " is too large");
  return result::ok(static_cast<int64_t>(*magnitude));
}

parse_result<double> parse_real(std::string_view text) {
  using result = parse_result<double>;
  if (text.empty())
    return result::fail("empty; write a number such as 0.5");
  auto body = text;
  if (body.front() == '+')
    body.remove_prefix(1);
  double x = 0;
  auto [end, ec] = std::from_chars(body.data(), body.data() + body.size(), x);
  if (ec == std::errc::result_out_of_range)
    return result::fail(quote(text) + " is out of range");
  if (ec != std::errc{} || end != body.data() + body.size())
    return result::fail(quote(text) + " is not a number");
  if (!std::isfinite(x))
    return result::fail(quote(text) + " is not a finite number");
  return result::ok(x);
}

std::string format_real(double x) {
  std::array<char, 32> buf{};
  auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), x);
  return std::string{buf.data(), end};
}

} // namespace vigil
