#include "runtime/codec/json_support.hpp"

#include <charconv>
#include <cmath>

#include "runtime/codec/error.hpp"

namespace vigil::codec {

namespace {

// What one pass over a JSON text finds out before parsing it.
struct json_shape {
  // Offset of the first bracket nesting deeper than allowed, if any.
  std::optional<size_t> too_deep;
  // Upper bound of the number of values: one more than the separators
  // and brackets seen outside strings.
  size_t values = 0;
};

json_shape scan(std::string_view text, size_t max_depth) {
  json_shape shape;
  size_t depth = 0;
  bool in_string = false;
  size_t separators = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        in_string = false;
      continue;
    }
    switch (c) {
      case '"':
        in_string = true;
        break;
      case '[':
      case '{':
        ++separators;
        if (++depth > max_depth) {
          shape.too_deep = i;
          return shape;
        }
        break;
      case ']':
      case '}':
        // Unbalanced input is the parser's to report.
        if (depth > 0)
          --depth;
        break;
      case ',':
        ++separators;
        break;
      default:
        break;
    }
  }
  shape.values = separators + 1;
  return shape;
}

} // namespace

std::optional<size_t> find_too_deep(std::string_view text, size_t max_depth) {
  return scan(text, max_depth).too_deep;
}

caf::expected<nlohmann::json> parse_json(std::string_view text,
                                         std::string_view where_prefix) {
  auto shape = scan(text, max_json_depth);
  if (shape.too_deep)
    return malformed("JSON nests deeper than "
                       + std::to_string(max_json_depth) + " levels",
                     std::string{where_prefix} + "byte "
                       + std::to_string(*shape.too_deep));
  if (shape.values > max_json_values)
    return too_large("JSON body holds more than "
                       + std::to_string(max_json_values) + " values",
                     std::string{where_prefix} + "byte 0");
  try {
    return nlohmann::json::parse(text.begin(), text.end());
  } catch (const nlohmann::json::out_of_range&) {
    // A number literal too large for a double ("1e999"); nlohmann does not
    // say where it was.
    return malformed("invalid JSON: a number is out of range",
                     std::string{where_prefix} + "a number literal");
  } catch (const nlohmann::json::parse_error& e) {
    // nlohmann's message is "[json.exception.parse_error.101] parse error
    // at line 1, column 5: ..."; keep the part after the prefix.
    std::string what = e.what();
    if (auto pos = what.find("] "); pos != std::string::npos)
      what.erase(0, pos + 2);
    // The message quotes the last token read, which may be huge.
    constexpr size_t max_message = 200;
    if (what.size() > max_message) {
      what.resize(max_message);
      what += "...";
    }
    return malformed("invalid JSON: " + what,
                     std::string{where_prefix} + "byte "
                       + std::to_string(e.byte > 0 ? e.byte - 1 : 0));
  }
}

std::string_view json_type_name(const nlohmann::json& x) {
  switch (x.type()) {
    case nlohmann::json::value_t::null:
      return "null";
    case nlohmann::json::value_t::object:
      return "object";
    case nlohmann::json::value_t::array:
      return "array";
    case nlohmann::json::value_t::string:
      return "string";
    case nlohmann::json::value_t::boolean:
      return "boolean";
    case nlohmann::json::value_t::binary:
      return "binary";
    case nlohmann::json::value_t::discarded:
      return "discarded";
    default:
      return "number";
  }
}

std::string to_hex(std::string_view bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.resize(bytes.size() * 2);
  for (size_t i = 0; i < bytes.size(); ++i) {
    auto b = static_cast<unsigned char>(bytes[i]);
    out[2 * i] = digits[b >> 4];
    out[2 * i + 1] = digits[b & 15];
  }
  return out;
}

std::optional<std::string> from_hex(std::string_view hex) {
  if (hex.size() % 2 != 0)
    return std::nullopt;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9')
      return c - '0';
    if (c >= 'a' && c <= 'f')
      return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
      return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.resize(hex.size() / 2);
  for (size_t i = 0; i < out.size(); ++i) {
    int hi = nibble(hex[2 * i]);
    int lo = nibble(hex[2 * i + 1]);
    if (hi < 0 || lo < 0)
      return std::nullopt;
    out[i] = static_cast<char>((hi << 4) | lo);
  }
  return out;
}

std::string to_base64(std::string_view bytes) {
  static constexpr char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  auto at = [&](size_t k) {
    return static_cast<uint32_t>(static_cast<unsigned char>(bytes[k]));
  };
  for (; i + 3 <= bytes.size(); i += 3) {
    uint32_t v = (at(i) << 16) | (at(i + 1) << 8) | at(i + 2);
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += alphabet[(v >> 6) & 63];
    out += alphabet[v & 63];
  }
  if (bytes.size() - i == 1) {
    uint32_t v = at(i) << 16;
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += "==";
  } else if (bytes.size() - i == 2) {
    uint32_t v = (at(i) << 16) | (at(i + 1) << 8);
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += alphabet[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

void append_json_string(std::string& out, std::string_view s) {
  static constexpr char hex[] = "0123456789abcdef";
  out += '"';
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
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
        if (u < 0x20) {
          out += "\\u00";
          out += hex[u >> 4];
          out += hex[u & 15];
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

void append_double(std::string& out, double x) {
  if (std::isnan(x)) {
    out += "NaN";
    return;
  }
  if (std::isinf(x)) {
    out += x > 0 ? "+Inf" : "-Inf";
    return;
  }
  char buf[32];
  auto res = std::to_chars(buf, buf + sizeof(buf), x);
  out.append(buf, res.ptr);
}

} // namespace vigil::codec
