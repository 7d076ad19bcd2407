#include "actors/detector/log_parse.hpp"

#include <array>
#include <cstring>

namespace vigil::detector {

namespace {

using sv = std::string_view;

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

bool is_alpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f'
         || c == '\v';
}

char lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

sv trim(sv s) {
  while (!s.empty() && is_space(s.front()))
    s.remove_prefix(1);
  while (!s.empty() && is_space(s.back()))
    s.remove_suffix(1);
  return s;
}

sv skip_spaces(sv s) {
  while (!s.empty() && is_space(s.front()))
    s.remove_prefix(1);
  return s;
}

// Reads exactly `n` digits at `s[i]`.
bool digits(sv s, size_t i, size_t n, int& out) {
  if (i + n > s.size())
    return false;
  int v = 0;
  for (size_t k = 0; k < n; ++k) {
    if (!is_digit(s[i + k]))
      return false;
    v = v * 10 + (s[i + k] - '0');
  }
  out = v;
  return true;
}

bool valid_clock(int y, int mo, int d, int h, int mi, int se) {
  return y >= 1970 && y <= 9999 && mo >= 1 && mo <= 12 && d >= 1 && d <= 31
         && h <= 23 && mi <= 59 && se <= 60;
}

int64_t to_ms(int y, int mo, int d, int h, int mi, int se, int ms,
              int offset_min) {
  auto days = days_from_civil(y, static_cast<unsigned>(mo),
                              static_cast<unsigned>(d));
  auto secs = days * 86400 + int64_t{h} * 3600 + int64_t{mi} * 60 + se
              - static_cast<int64_t>(offset_min) * 60;
  return secs * 1000 + ms;
}

// Reads `.123` / `,123456` after the seconds; returns ms and advances `i`.
int fraction(sv s, size_t& i) {
  if (i >= s.size() || (s[i] != '.' && s[i] != ','))
    return 0;
  if (i + 1 >= s.size() || !is_digit(s[i + 1]))
    return 0;
  ++i;
  int ms = 0;
  int n = 0;
  while (i < s.size() && is_digit(s[i])) {
    if (n < 3)
      ms = ms * 10 + (s[i] - '0');
    ++n;
    ++i;
  }
  for (; n < 3; ++n)
    ms *= 10;
  return ms;
}

// Reads `Z`, `+hh:mm`, `+hhmm` or `-hh`; returns the offset in minutes.
int zone(sv s, size_t& i) {
  if (i < s.size() && (s[i] == 'Z' || s[i] == 'z')) {
    ++i;
    return 0;
  }
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
    int sign = s[i] == '-' ? -1 : 1;
    int h = 0;
    int m = 0;
    if (!digits(s, i + 1, 2, h))
      return 0;
    size_t j = i + 3;
    if (j < s.size() && s[j] == ':')
      ++j;
    if (digits(s, j, 2, m))
      j += 2;
    i = j;
    return sign * (h * 60 + m);
  }
  return 0;
}

// `2024-01-01[T ]12:00:00[.,frac][zone]` at the start of `s`.
std::optional<int64_t> iso_prefix(sv s, size_t& used) {
  int y = 0;
  int mo = 0;
  int d = 0;
  int h = 0;
  int mi = 0;
  int se = 0;
  if (s.size() < 19 || !digits(s, 0, 4, y) || s[4] != '-'
      || !digits(s, 5, 2, mo) || s[7] != '-' || !digits(s, 8, 2, d)
      || (s[10] != 'T' && s[10] != ' ' && s[10] != 't')
      || !digits(s, 11, 2, h) || s[13] != ':' || !digits(s, 14, 2, mi)
      || s[16] != ':' || !digits(s, 17, 2, se))
    return std::nullopt;
  if (!valid_clock(y, mo, d, h, mi, se))
    return std::nullopt;
  size_t i = 19;
  int ms = fraction(s, i);
  int off = zone(s, i);
  used = i;
  return to_ms(y, mo, d, h, mi, se, ms, off);
}

int month_of(sv s) {
  static constexpr std::array<const char*, 12> names{
    "jan", "feb", "mar", "apr", "may", "jun",
    "jul", "aug", "sep", "oct", "nov", "dec"};
  if (s.size() < 3)
    return 0;
  for (size_t m = 0; m < names.size(); ++m)
    if (lower(s[0]) == names[m][0] && lower(s[1]) == names[m][1]
        && lower(s[2]) == names[m][2])
      return static_cast<int>(m) + 1;
  return 0;
}

// `Mmm dd HH:MM:SS` (RFC 3164; no year). Returns the length it spans.
size_t bsd_stamp(sv s) {
  int h = 0;
  int mi = 0;
  int se = 0;
  if (s.size() < 15 || month_of(s) == 0 || s[3] != ' ')
    return 0;
  size_t i = 4;
  if (s[i] == ' ')
    ++i;
  if (i < s.size() && is_digit(s[i]) && i + 1 < s.size() && is_digit(s[i + 1]))
    i += 2;
  else if (i < s.size() && is_digit(s[i]))
    i += 1;
  else
    return 0;
  if (i >= s.size() || s[i] != ' ')
    return 0;
  ++i;
  if (!digits(s, i, 2, h) || i + 8 > s.size() || s[i + 2] != ':'
      || !digits(s, i + 3, 2, mi) || s[i + 5] != ':'
      || !digits(s, i + 6, 2, se))
    return 0;
  i += 8;
  fraction(s, i);
  return i;
}

// `10/Oct/2000:13:55:36 -0700` (access logs).
std::optional<int64_t> clf_stamp(sv s) {
  int d = 0;
  int y = 0;
  int h = 0;
  int mi = 0;
  int se = 0;
  if (s.size() < 20 || !digits(s, 0, 2, d) || s[2] != '/' || s[6] != '/'
      || !digits(s, 7, 4, y) || s[11] != ':' || !digits(s, 12, 2, h)
      || s[14] != ':' || !digits(s, 15, 2, mi) || s[17] != ':'
      || !digits(s, 18, 2, se))
    return std::nullopt;
  int mo = month_of(s.substr(3, 3));
  if (mo == 0 || !valid_clock(y, mo, d, h, mi, se))
    return std::nullopt;
  size_t i = 20;
  if (i < s.size() && s[i] == ' ')
    ++i;
  int off = zone(s, i);
  return to_ms(y, mo, d, h, mi, se, 0, off);
}

// A timestamp given as a field value: RFC 3339 or Unix seconds/ms.
int64_t field_time(sv v) {
  size_t used = 0;
  if (auto t = iso_prefix(v, used))
    return *t;
  if (v.empty() || v.size() > 24)
    return 0;
  double x = 0;
  double scale = 1;
  bool dot = false;
  for (char c : v) {
    if (c == '.' && !dot) {
      dot = true;
    } else if (is_digit(c)) {
      if (dot) {
        scale /= 10;
        x += (c - '0') * scale;
      } else {
        x = x * 10 + (c - '0');
      }
    } else {
      return 0;
    }
  }
  // Seconds up to year 5138; larger values are ms, then µs, then ns.
  if (x < 1e11)
    return static_cast<int64_t>(x * 1000);
  if (x < 1e14)
    return static_cast<int64_t>(x);
  if (x < 1e17)
    return static_cast<int64_t>(x / 1000);
  return static_cast<int64_t>(x / 1e6);
}

bool key_is(sv key, std::initializer_list<sv> names) {
  for (auto n : names) {
    if (key.size() != n.size())
      continue;
    bool same = true;
    for (size_t i = 0; i < n.size() && same; ++i)
      same = lower(key[i]) == n[i];
    if (same)
      return true;
  }
  return false;
}

bool time_key(sv k) {
  return key_is(k, {"ts", "time", "timestamp", "@timestamp", "t", "date",
                    "datetime", "asctime"});
}

bool level_key(sv k) {
  return key_is(k, {"level", "lvl", "severity", "loglevel", "log.level",
                    "@level", "levelname", "severity_text", "sev"});
}

bool message_key(sv k) {
  return key_is(k, {"msg", "message", "@message", "log", "text", "event",
                    "body"});
}

// Sorts a key/value pair into time, level, message or fields.
void take_field(parsed_log& out, sv key, std::string value, bool& have_msg) {
  if (out.ts_ms == 0 && time_key(key)) {
    if (auto t = field_time(value); t > 0) {
      out.ts_ms = t;
      return;
    }
  }
  if (out.severity_text.empty() && level_key(key)) {
    if (auto n = severity_number(value); n > 0) {
      out.severity = n;
      out.severity_text = std::move(value);
      return;
    }
  }
  if (!have_msg && message_key(key)) {
    out.message = std::move(value);
    have_msg = true;
    return;
  }
  out.fields.push_back({std::string{key}, std::move(value)});
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// Reads a JSON string at `s[i] == '"'`; advances `i` past the closing quote.
bool json_string(sv s, size_t& i, std::string& out) {
  ++i;
  while (i < s.size()) {
    char c = s[i++];
    if (c == '"')
      return true;
    if (c != '\\') {
      out += c;
      continue;
    }
    if (i >= s.size())
      return false;
    char e = s[i++];
    switch (e) {
      case 'n':
        out += '\n';
        break;
      case 't':
        out += '\t';
        break;
      case 'r':
        out += '\r';
        break;
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'u': {
        uint32_t cp = 0;
        for (int k = 0; k < 4; ++k) {
          if (i >= s.size())
            return false;
          char h = s[i++];
          cp <<= 4;
          if (is_digit(h))
            cp |= static_cast<uint32_t>(h - '0');
          else if (lower(h) >= 'a' && lower(h) <= 'f')
            cp |= static_cast<uint32_t>(lower(h) - 'a' + 10);
          else
            return false;
        }
        // Surrogate halves are not worth pairing for template mining.
        append_utf8(out, cp >= 0xD800 && cp <= 0xDFFF ? '?' : cp);
        break;
      }
      default:
        out += e;
    }
  }
  return false;
}

// Skips any JSON value that is not a string: a literal, a number, or a
// nested object/array (brackets balanced, strings respected).
bool json_skip(sv s, size_t& i) {
  if (i >= s.size())
    return false;
  if (s[i] == '{' || s[i] == '[') {
    size_t depth = 0;
    while (i < s.size()) {
      char c = s[i];
      if (c == '"') {
        std::string ignored;
        if (!json_string(s, i, ignored))
          return false;
        continue;
      }
      if (c == '{' || c == '[')
        ++depth;
      else if (c == '}' || c == ']') {
        if (--depth == 0) {
          ++i;
          return true;
        }
      }
      ++i;
    }
    return false;
  }
  size_t start = i;
  while (i < s.size() && s[i] != ',' && s[i] != '}' && !is_space(s[i]))
    ++i;
  return i > start;
}

bool parse_json(sv line, parsed_log& out) {
  line = trim(line);
  if (line.size() < 2 || line.front() != '{' || line.back() != '}')
    return false;
  parsed_log r;
  r.format = log_format::json;
  bool have_msg = false;
  size_t i = 1;
  auto ws = [&] {
    while (i < line.size() && is_space(line[i]))
      ++i;
  };
  ws();
  if (i < line.size() && line[i] == '}') {
    out = std::move(r);
    return i + 1 == line.size();
  }
  while (i < line.size()) {
    ws();
    if (i >= line.size() || line[i] != '"')
      return false;
    std::string key;
    if (!json_string(line, i, key))
      return false;
    ws();
    if (i >= line.size() || line[i] != ':')
      return false;
    ++i;
    ws();
    if (i >= line.size())
      return false;
    std::string value;
    if (line[i] == '"') {
      if (!json_string(line, i, value))
        return false;
    } else {
      size_t start = i;
      if (!json_skip(line, i))
        return false;
      value.assign(line.substr(start, i - start));
    }
    take_field(r, key, std::move(value), have_msg);
    ws();
    if (i >= line.size())
      return false;
    if (line[i] == ',') {
      ++i;
      continue;
    }
    if (line[i] == '}' && i + 1 == line.size())
      break;
    return false;
  }
  out = std::move(r);
  return true;
}

bool logfmt_key_char(char c) {
  return is_alpha(c) || is_digit(c) || c == '_' || c == '.' || c == '-'
         || c == '@' || c == '/';
}

// Length of a `key=` at the start of `s`, 0 when none.
size_t logfmt_key(sv s) {
  if (s.empty() || !(is_alpha(s[0]) || s[0] == '_' || s[0] == '@'))
    return 0;
  size_t i = 1;
  while (i < s.size() && logfmt_key_char(s[i]))
    ++i;
  return i < s.size() && s[i] == '=' ? i : 0;
}

bool parse_logfmt(sv line, parsed_log& out) {
  line = trim(line);
  parsed_log r;
  r.format = log_format::logfmt;
  bool have_msg = false;
  size_t pairs = 0;
  std::string loose;
  while (!line.empty()) {
    auto klen = logfmt_key(line);
    if (klen == 0) {
      // A bare word: kept as message text when the line has no msg key.
      auto end = line.find(' ');
      if (!loose.empty())
        loose += ' ';
      loose.append(line.substr(0, end));
      line = end == sv::npos ? sv{} : skip_spaces(line.substr(end));
      continue;
    }
    auto key = line.substr(0, klen);
    line.remove_prefix(klen + 1);
    std::string value;
    if (!line.empty() && line[0] == '"') {
      size_t i = 0;
      if (!json_string(line, i, value))
        return false;
      line.remove_prefix(i);
    } else {
      auto end = line.find(' ');
      value.assign(line.substr(0, end));
      line.remove_prefix(end == sv::npos ? line.size() : end);
    }
    line = skip_spaces(line);
    take_field(r, key, std::move(value), have_msg);
    ++pairs;
  }
  if (pairs < 2 || loose.size() > 0)
    return false;
  out = std::move(r);
  return true;
}

// A level word, optionally in brackets or followed by a colon, at the start
// of `s`; returns its length including decoration (0 when none).
size_t leading_level(sv s, parsed_log& out) {
  size_t i = 0;
  bool bracket = !s.empty() && (s[0] == '[' || s[0] == '<');
  if (bracket)
    ++i;
  size_t start = i;
  while (i < s.size() && is_alpha(s[i]))
    ++i;
  auto word = s.substr(start, i - start);
  if (word.size() < 3 || word.size() > 9)
    return 0;
  // Only the usual spellings: a capitalised word like "Error" at the start of
  // a plain message is text, except for the all-caps forms.
  bool upper = true;
  for (char c : word)
    upper = upper && !(c >= 'a' && c <= 'z');
  auto n = severity_number(word);
  if (n == 0 || (!upper && !bracket))
    return 0;
  if (bracket) {
    if (i >= s.size() || (s[i] != ']' && s[i] != '>'))
      return 0;
    ++i;
  }
  if (i < s.size() && s[i] == ':')
    ++i;
  if (i < s.size() && !is_space(s[i]))
    return 0;
  out.severity = n;
  out.severity_text.assign(word);
  return i;
}

void parse_text(sv line, parsed_log& out) {
  out.format = log_format::text;
  auto s = trim(line);
  size_t used = 0;
  if (auto t = iso_prefix(s, used)) {
    out.ts_ms = *t;
    s = skip_spaces(s.substr(used));
  } else if (!s.empty() && s[0] == '[') {
    // Kernel ring buffer: `[  123.456789] msg` (time since boot).
    auto close = s.find(']');
    if (close != sv::npos && close < 20) {
      bool stamp = close > 1;
      for (size_t k = 1; k < close && stamp; ++k)
        stamp = is_digit(s[k]) || s[k] == '.' || s[k] == ' ';
      if (stamp)
        s = skip_spaces(s.substr(close + 1));
    }
  }
  if (auto n = leading_level(s, out))
    s = skip_spaces(s.substr(n));
  out.message.assign(s);
}

// `host tag[pid]: msg` after a syslog timestamp.
void syslog_tail(sv s, parsed_log& out) {
  s = skip_spaces(s);
  auto sp = s.find(' ');
  if (sp == sv::npos) {
    out.message.assign(s);
    return;
  }
  out.fields.push_back({"host", std::string{s.substr(0, sp)}});
  s = skip_spaces(s.substr(sp + 1));
  auto colon = s.find(": ");
  auto blank = s.find(' ');
  if (colon != sv::npos && colon < blank) {
    auto tag = s.substr(0, colon);
    auto lb = tag.find('[');
    if (lb != sv::npos && tag.back() == ']') {
      out.fields.push_back({"pid", std::string{tag.substr(lb + 1,
                                                          tag.size() - lb
                                                            - 2)}});
      tag = tag.substr(0, lb);
    }
    out.fields.push_back({"app", std::string{tag}});
    s = s.substr(colon + 2);
  }
  s = skip_spaces(s);
  parsed_log lvl;
  if (auto n = leading_level(s, lvl)) {
    if (out.severity == 0) {
      out.severity = lvl.severity;
      out.severity_text = std::move(lvl.severity_text);
    }
    s = skip_spaces(s.substr(n));
  }
  out.message.assign(s);
}

bool parse_syslog(sv line, parsed_log& out) {
  auto s = trim(line);
  parsed_log r;
  r.format = log_format::syslog;
  if (!s.empty() && s[0] == '<') {
    size_t i = 1;
    int pri = 0;
    while (i < s.size() && i < 5 && is_digit(s[i]))
      pri = pri * 10 + (s[i++] - '0');
    if (i == 1 || i >= s.size() || s[i] != '>' || pri > 191)
      return false;
    r.severity = syslog_severity(pri % 8);
    static constexpr std::array<const char*, 8> names{
      "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"};
    r.severity_text = names[static_cast<size_t>(pri % 8)];
    s = s.substr(i + 1);
    if (s.size() > 2 && is_digit(s[0]) && s[1] == ' ') {
      // RFC 5424: VERSION TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD MSG.
      s = s.substr(2);
      std::array<sv, 5> head;
      for (auto& h : head) {
        auto sp = s.find(' ');
        if (sp == sv::npos)
          return false;
        h = s.substr(0, sp);
        s = s.substr(sp + 1);
      }
      size_t used = 0;
      if (head[0] != "-") {
        if (auto t = iso_prefix(head[0], used))
          r.ts_ms = *t;
      }
      static constexpr std::array<const char*, 4> keys{"host", "app", "pid",
                                                       "msgid"};
      for (size_t k = 0; k < keys.size(); ++k)
        if (head[k + 1] != "-")
          r.fields.push_back({keys[k], std::string{head[k + 1]}});
      // Structured data: `-` or one or more `[id k="v" ...]` elements.
      if (!s.empty() && s[0] == '-') {
        s = s.substr(1);
      } else {
        while (!s.empty() && s[0] == '[') {
          size_t i2 = 1;
          bool quoted = false;
          for (; i2 < s.size(); ++i2) {
            if (s[i2] == '\\') {
              ++i2;
              continue;
            }
            if (s[i2] == '"')
              quoted = !quoted;
            else if (s[i2] == ']' && !quoted)
              break;
          }
          if (i2 >= s.size())
            return false;
          r.fields.push_back({"sd", std::string{s.substr(0, i2 + 1)}});
          s = s.substr(i2 + 1);
        }
      }
      s = skip_spaces(s);
      // A UTF-8 byte order mark may introduce the message.
      if (s.size() >= 3 && s.substr(0, 3) == "\xEF\xBB\xBF")
        s = s.substr(3);
      r.message.assign(s);
      out = std::move(r);
      return true;
    }
  }
  size_t used = 0;
  if (auto n = bsd_stamp(s)) {
    syslog_tail(s.substr(n), r);
  } else if (auto t = iso_prefix(s, used);
             t && used > 19 && used < s.size() && s[used] == ' ') {
    // rsyslog's high-precision format: RFC 3339 with fraction and zone.
    r.ts_ms = *t;
    auto rest = s.substr(used + 1);
    // Needs `host tag:` to count as syslog.
    auto sp = rest.find(' ');
    auto colon = rest.find(": ");
    if (sp == sv::npos || colon == sv::npos || colon < sp
        || rest.find(' ', sp + 1) < colon)
      return false;
    syslog_tail(rest, r);
  } else {
    return false;
  }
  out = std::move(r);
  return true;
}

// `host ident user [time] "request" status bytes ["referer" "agent"]`.
bool parse_access(sv line, parsed_log& out) {
  auto s = trim(line);
  std::array<sv, 3> head;
  for (auto& h : head) {
    auto sp = s.find(' ');
    if (sp == sv::npos || sp == 0)
      return false;
    h = s.substr(0, sp);
    s = s.substr(sp + 1);
  }
  if (s.empty() || s[0] != '[')
    return false;
  auto close = s.find(']');
  if (close == sv::npos)
    return false;
  auto t = clf_stamp(s.substr(1, close - 1));
  if (!t)
    return false;
  s = skip_spaces(s.substr(close + 1));
  if (s.empty() || s[0] != '"')
    return false;
  size_t i = 0;
  std::string request;
  if (!json_string(s, i, request))
    return false;
  s = skip_spaces(s.substr(i));
  auto sp = s.find(' ');
  auto status = s.substr(0, sp);
  int code = 0;
  if (status.size() != 3 || !digits(status, 0, 3, code))
    return false;
  parsed_log r;
  r.format = log_format::access;
  r.ts_ms = *t;
  r.fields.push_back({"remote_addr", std::string{head[0]}});
  if (head[2] != "-")
    r.fields.push_back({"user", std::string{head[2]}});
  r.fields.push_back({"status", std::string{status}});
  s = sp == sv::npos ? sv{} : skip_spaces(s.substr(sp + 1));
  auto sp2 = s.find(' ');
  r.fields.push_back({"bytes", std::string{s.substr(0, sp2)}});
  s = sp2 == sv::npos ? sv{} : skip_spaces(s.substr(sp2 + 1));
  for (const char* key : {"referer", "user_agent"}) {
    if (s.empty() || s[0] != '"')
      break;
    size_t j = 0;
    std::string v;
    if (!json_string(s, j, v))
      break;
    r.fields.push_back({key, std::move(v)});
    s = skip_spaces(s.substr(j));
  }
  r.severity = code >= 500 ? 17 : code >= 400 ? 13 : 9;
  r.severity_text = code >= 500 ? "error" : code >= 400 ? "warn" : "info";
  // The request line without its query string, then the status: what
  // distinguishes one kind of request from another.
  sv req = request;
  if (auto q = req.find('?'); q != sv::npos) {
    auto end = req.find(' ', q);
    r.message.assign(req.substr(0, q));
    if (end != sv::npos)
      r.message.append(req.substr(end));
  } else {
    r.message.assign(req);
  }
  r.message += ' ';
  r.message.append(status);
  out = std::move(r);
  return true;
}

// `2024-01-01 12:00:00,123 LEVEL [thread] logger - msg` and the variants
// `[thread] LEVEL logger - msg` and Spring Boot's `LEVEL pid --- [thread]
// logger : msg`. The header must hold a level and at most one logger.
bool parse_log4j(sv line, parsed_log& out) {
  auto s = trim(line);
  size_t used = 0;
  auto t = iso_prefix(s, used);
  if (!t)
    return false;
  s = skip_spaces(s.substr(used));
  parsed_log r;
  r.format = log_format::log4j;
  r.ts_ms = *t;
  bool logger = false;
  bool separated = false;
  for (int k = 0; k < 8 && !s.empty(); ++k) {
    if (s.starts_with("- ") || s.starts_with(": ") || s == "-") {
      s = skip_spaces(s.substr(std::min<size_t>(2, s.size())));
      separated = true;
      break;
    }
    if (s[0] == '[') {
      auto close = s.find(']');
      if (close == sv::npos)
        return false;
      r.fields.push_back({"thread", std::string{s.substr(1, close - 1)}});
      s = skip_spaces(s.substr(close + 1));
      continue;
    }
    auto sp = s.find(' ');
    auto tok = s.substr(0, sp);
    if (r.severity == 0 && severity_number(tok) > 0) {
      r.severity = severity_number(tok);
      r.severity_text.assign(tok);
    } else if (tok == "---") {
      // Spring Boot's separator between pid and thread.
    } else if (!tok.empty() && is_digit(tok[0])) {
      r.fields.push_back({"pid", std::string{tok}});
    } else if (!logger) {
      logger = true;
      r.fields.push_back({"logger", std::string{tok}});
    } else {
      return false;
    }
    s = sp == sv::npos ? sv{} : skip_spaces(s.substr(sp + 1));
  }
  if (r.severity == 0 || !separated)
    return false;
  r.message.assign(s);
  out = std::move(r);
  return true;
}

bool python_level(sv word) {
  return word == "DEBUG" || word == "INFO" || word == "WARNING"
         || word == "ERROR" || word == "CRITICAL" || word == "FATAL"
         || word == "WARN" || word == "NOTSET";
}

// `LEVEL:logger:msg` or `2024-01-01 12:00:00,123 - logger - LEVEL - msg`.
bool parse_python(sv line, parsed_log& out) {
  auto s = trim(line);
  parsed_log r;
  r.format = log_format::python;
  size_t used = 0;
  if (auto t = iso_prefix(s, used)) {
    auto rest = s.substr(used);
    if (rest.substr(0, 3) != " - ")
      return false;
    rest = rest.substr(3);
    auto a = rest.find(" - ");
    if (a == sv::npos)
      return false;
    auto name = rest.substr(0, a);
    rest = rest.substr(a + 3);
    auto b = rest.find(" - ");
    auto level = rest.substr(0, b);
    if (!python_level(level))
      return false;
    r.ts_ms = *t;
    r.severity = severity_number(level);
    r.severity_text.assign(level);
    r.fields.push_back({"logger", std::string{name}});
    r.message.assign(b == sv::npos ? sv{} : rest.substr(b + 3));
    out = std::move(r);
    return true;
  }
  auto c1 = s.find(':');
  if (c1 == sv::npos || !python_level(s.substr(0, c1)))
    return false;
  auto c2 = s.find(':', c1 + 1);
  if (c2 == sv::npos)
    return false;
  auto name = s.substr(c1 + 1, c2 - c1 - 1);
  if (name.empty() || name.find(' ') != sv::npos)
    return false;
  r.severity = severity_number(s.substr(0, c1));
  r.severity_text.assign(s.substr(0, c1));
  r.fields.push_back({"logger", std::string{name}});
  r.message.assign(s.substr(c2 + 1));
  out = std::move(r);
  return true;
}

bool parse_as(log_format f, sv line, parsed_log& out) {
  switch (f) {
    case log_format::json:
      return parse_json(line, out);
    case log_format::logfmt:
      return parse_logfmt(line, out);
    case log_format::syslog:
      return parse_syslog(line, out);
    case log_format::access:
      return parse_access(line, out);
    case log_format::log4j:
      return parse_log4j(line, out);
    case log_format::python:
      return parse_python(line, out);
    case log_format::auto_detect:
    case log_format::text:
      break;
  }
  parse_text(line, out);
  return true;
}

} // namespace

const char* to_string(log_format x) {
  switch (x) {
    case log_format::auto_detect:
      return "auto";
    case log_format::json:
      return "json";
    case log_format::logfmt:
      return "logfmt";
    case log_format::syslog:
      return "syslog";
    case log_format::access:
      return "access";
    case log_format::log4j:
      return "log4j";
    case log_format::python:
      return "python";
    case log_format::text:
      return "text";
  }
  return "text";
}

std::optional<log_format> log_format_from(std::string_view name) {
  for (auto f : {log_format::auto_detect, log_format::json,
                 log_format::logfmt, log_format::syslog, log_format::access,
                 log_format::log4j, log_format::python, log_format::text})
    if (name == to_string(f))
      return f;
  return std::nullopt;
}

int64_t days_from_civil(int64_t y, unsigned m, unsigned d) noexcept {
  static constexpr std::array<int, 12> before{0,   31,  59,  90,  120, 151,
                                              181, 212, 243, 273, 304, 334};
  auto leaps_through = [](int64_t year) {
    // Leap years in [1, year]; floor division keeps it right below 1.
    auto fl = [](int64_t a, int64_t b) {
      return a >= 0 ? a / b : -((-a + b - 1) / b);
    };
    return fl(year, 4) - fl(year, 100) + fl(year, 400);
  };
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  m = m < 1 ? 1 : m > 12 ? 12 : m;
  return (y - 1970) * 365 + leaps_through(y - 1) - leaps_through(1969)
         + before[m - 1] + (leap && m > 2 ? 1 : 0) + static_cast<int64_t>(d)
         - 1;
}

int32_t severity_number(std::string_view level) noexcept {
  if (level.empty() || level.size() > 12)
    return 0;
  char buf[13];
  for (size_t i = 0; i < level.size(); ++i)
    buf[i] = lower(level[i]);
  sv l{buf, level.size()};
  if (l == "trace" || l == "finest" || l == "t")
    return 1;
  if (l == "debug" || l == "dbg" || l == "fine" || l == "finer"
      || l == "d" || l == "notset")
    return 5;
  if (l == "info" || l == "information" || l == "informational"
      || l == "notice" || l == "i" || l == "inf")
    return 9;
  if (l == "warn" || l == "warning" || l == "w" || l == "wrn")
    return 13;
  if (l == "error" || l == "err" || l == "e" || l == "severe" || l == "eror")
    return 17;
  if (l == "fatal" || l == "critical" || l == "crit" || l == "panic"
      || l == "emerg" || l == "emergency" || l == "alert" || l == "f"
      || l == "dpanic" || l == "crt")
    return 21;
  return 0;
}

int32_t syslog_severity(int level) noexcept {
  // 0 emerg, 1 alert, 2 crit -> FATAL; 3 err; 4 warning; 5 notice and
  // 6 info -> INFO; 7 debug.
  static constexpr std::array<int32_t, 8> map{21, 21, 21, 17, 13, 10, 9, 5};
  return level >= 0 && level < 8 ? map[static_cast<size_t>(level)] : 0;
}

parsed_log parse_log_line(std::string_view line, log_format format) {
  parsed_log out;
  if (format != log_format::auto_detect) {
    if (!parse_as(format, line, out))
      parse_text(line, out);
    return out;
  }
  auto s = trim(line);
  if (s.empty()) {
    out.format = log_format::text;
    return out;
  }
  // Cheap first-character checks pick the one or two formats worth trying.
  if (s[0] == '{' && parse_json(s, out))
    return out;
  if (s[0] == '<' && parse_syslog(s, out))
    return out;
  if (is_digit(s[0])) {
    if (parse_log4j(s, out) || parse_python(s, out) || parse_syslog(s, out)
        || parse_access(s, out))
      return out;
  }
  if (is_alpha(s[0]) || s[0] == '_' || s[0] == '@') {
    if (python_level(s.substr(0, s.find(':'))) && parse_python(s, out))
      return out;
    if (month_of(s) != 0 && parse_syslog(s, out))
      return out;
    if (logfmt_key(s) != 0 && parse_logfmt(s, out))
      return out;
  }
  if ((is_alpha(s[0]) || is_digit(s[0]) || s[0] == ':' || s[0] == '[')
      && parse_access(s, out))
    return out;
  out = parsed_log{};
  parse_text(s, out);
  return out;
}

std::string mining_text(const parsed_log& x) {
  if (x.format != log_format::json && x.format != log_format::logfmt)
    return x.message;
  std::string out = x.message;
  for (auto& f : x.fields) {
    if (!out.empty())
      out += ' ';
    out += f.key;
    out += '=';
    bool blank = f.value.empty();
    for (char c : f.value)
      blank = blank || is_space(c);
    if (blank) {
      // Quoted, the value stays one token (and is masked as a quoted string).
      out += '"';
      // Inner quotes would end the span early when tokenising.
      for (char c : f.value)
        out += is_space(c) ? ' ' : c == '"' ? '\'' : c;
      out += '"';
    } else {
      out += f.value;
    }
  }
  return out;
}

} // namespace vigil::detector
