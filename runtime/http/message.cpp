#include "runtime/http/message.hpp"

#include <boost/beast/core/string_type.hpp>

namespace vigil::http {

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

// Length of the valid UTF-8 sequence starting at `s[i]`, or 0 when the bytes
// there are not one (overlong forms, surrogates and values above U+10FFFF
// included, per RFC 3629).
size_t utf8_sequence_length(std::string_view s, size_t i) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  auto cont
    = [&](size_t k) { return k < s.size() && (byte(k) & 0xC0) == 0x80; };
  auto c = byte(i);
  if (c >= 0xC2 && c <= 0xDF)
    return cont(i + 1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (!cont(i + 1) || !cont(i + 2))
      return 0;
    auto c1 = byte(i + 1);
    if (c == 0xE0 && c1 < 0xA0)
      return 0; // overlong
    if (c == 0xED && c1 >= 0xA0)
      return 0; // UTF-16 surrogate
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (!cont(i + 1) || !cont(i + 2) || !cont(i + 3))
      return 0;
    auto c1 = byte(i + 1);
    if (c == 0xF0 && c1 < 0x90)
      return 0; // overlong
    if (c == 0xF4 && c1 >= 0x90)
      return 0; // above U+10FFFF
    return 4;
  }
  return 0;
}

} // namespace

std::string_view to_string(access x) {
  switch (x) {
    case access::open:
      return "open";
    case access::ingest:
      return "ingest";
    case access::admin:
      return "admin";
    case access::approver:
      return "approver";
  }
  return "unknown";
}

std::string_view request::header(std::string_view name) const {
  auto i = headers.find(boost::beast::string_view{name.data(), name.size()});
  if (i == headers.end())
    return {};
  auto value = i->value();
  return {value.data(), value.size()};
}

std::optional<std::string> request::query_param(std::string_view key) const {
  for (auto& [k, v] : query)
    if (k == key)
      return v;
  return std::nullopt;
}

response response::error(unsigned code, std::string_view error,
                         std::string_view detail) {
  response result;
  result.status = code;
  result.body = json_error(error, detail);
  return result;
}

void append_json_string(std::string& out, std::string_view x) {
  static constexpr char hex[] = "0123456789abcdef";
  out.reserve(out.size() + x.size() + 2);
  out += '"';
  size_t i = 0;
  while (i < x.size()) {
    auto c = static_cast<unsigned char>(x[i]);
    if (c < 0x80) {
      switch (c) {
        case '"':
          out += "\\\"";
          break;
        case '\\':
          out += "\\\\";
          break;
        case '\n':
          out += "\\n";
          break;
        case '\r':
          out += "\\r";
          break;
        case '\t':
          out += "\\t";
          break;
        case '\b':
          out += "\\b";
          break;
        case '\f':
          out += "\\f";
          break;
        default:
          if (c < 0x20) {
            out += "\\u00";
            out += hex[c >> 4];
            out += hex[c & 0xF];
          } else {
            out += static_cast<char>(c);
          }
      }
      ++i;
      continue;
    }
    if (auto n = utf8_sequence_length(x, i); n > 0) {
      out.append(x.data() + i, n);
      i += n;
    } else {
      // One replacement per bad byte keeps the output length bounded by the
      // input and never swallows a following valid character.
      out += "\\ufffd";
      ++i;
    }
  }
  out += '"';
}

std::string json_error(std::string_view error, std::string_view detail) {
  std::string out = "{\"error\":";
  append_json_string(out, error);
  out += ",\"detail\":";
  append_json_string(out, detail);
  out += '}';
  return out;
}

std::string percent_decode(std::string_view x, bool plus_is_space) {
  std::string out;
  out.reserve(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    auto c = x[i];
    if (c == '%' && i + 2 < x.size()) {
      auto hi = hex_value(x[i + 1]);
      auto lo = hex_value(x[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
        continue;
      }
    }
    if (c == '+' && plus_is_space)
      out += ' ';
    else
      out += c;
  }
  return out;
}

std::vector<std::pair<std::string, std::string>>
parse_query(std::string_view query) {
  std::vector<std::pair<std::string, std::string>> result;
  while (!query.empty()) {
    auto amp = query.find('&');
    auto piece = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{}
                                          : query.substr(amp + 1);
    if (piece.empty())
      continue;
    auto eq = piece.find('=');
    if (eq == std::string_view::npos)
      result.emplace_back(percent_decode(piece, true), std::string{});
    else
      result.emplace_back(percent_decode(piece.substr(0, eq), true),
                          percent_decode(piece.substr(eq + 1), true));
  }
  return result;
}

} // namespace vigil::http
