#include "runtime/codec/protobuf_check.hpp"

#include <string>
#include <unordered_map>

#include "runtime/codec/error.hpp"
#include "runtime/codec/protobuf_reader.hpp"

namespace vigil::codec {

namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using pb::wire_type;

wire_type wire_type_of(const FieldDescriptor& fd) {
  switch (fd.type()) {
    case FieldDescriptor::TYPE_DOUBLE:
    case FieldDescriptor::TYPE_FIXED64:
    case FieldDescriptor::TYPE_SFIXED64:
      return wire_type::fixed64;
    case FieldDescriptor::TYPE_FLOAT:
    case FieldDescriptor::TYPE_FIXED32:
    case FieldDescriptor::TYPE_SFIXED32:
      return wire_type::fixed32;
    case FieldDescriptor::TYPE_STRING:
    case FieldDescriptor::TYPE_BYTES:
    case FieldDescriptor::TYPE_MESSAGE:
      return wire_type::length_delimited;
    case FieldDescriptor::TYPE_GROUP:
      return wire_type::start_group;
    default:
      return wire_type::varint;
  }
}

struct checker {
  std::string where;
  std::string message;
  uint64_t max_messages = 0;
  uint64_t messages = 0;
  bool too_many = false;

  bool fail(std::string path, const pb::reader& r, size_t at) {
    message = std::string{"invalid protobuf: "} + r.failure();
    where = (path.empty() ? std::string{"body"} : path) + ": byte "
            + std::to_string(std::max(at, r.offset()));
    return false;
  }

  bool walk(pb::reader& r, const Descriptor& type, const std::string& path,
            int depth) {
    if (depth > max_protobuf_depth) {
      message = "messages nest deeper than "
                + std::to_string(max_protobuf_depth) + " levels";
      where = path + ": byte " + std::to_string(r.offset());
      return false;
    }
    // Index of the next element of each repeated field, for the path.
    std::unordered_map<int, size_t> counts;
    while (!r.done()) {
      auto at = r.offset();
      uint32_t number;
      wire_type wt;
      if (!r.read_key(number, wt))
        return fail(path, r, at);
      const FieldDescriptor* fd = type.FindFieldByNumber(
        static_cast<int>(number));
      if (fd != nullptr && fd->is_packable()
          && wt == wire_type::length_delimited) {
        auto field_path = path + sub_path(*fd, counts, true);
        std::string_view packed;
        if (!r.read_bytes(packed))
          return fail(field_path, r, at);
        if (!check_packed(packed, wire_type_of(*fd))) {
          message = "packed repeated field has a broken element";
          where = field_path + ": byte " + std::to_string(at);
          return false;
        }
        continue;
      }
      // Unknown fields and known fields with an unexpected wire type are
      // both skipped by libprotobuf; so do we.
      if (fd == nullptr || wt != wire_type_of(*fd)) {
        if (!r.skip(wt))
          return fail(path + (fd ? sub_path(*fd, counts, false) : ""), r, at);
        continue;
      }
      auto field_path = path + sub_path(*fd, counts, true);
      if (fd->type() == FieldDescriptor::TYPE_MESSAGE) {
        pb::reader sub{std::string_view{}};
        if (!r.read_message(sub))
          return fail(field_path, r, at);
        if (++messages > max_messages) {
          too_many = true;
          message = "body holds more than " + std::to_string(max_messages)
                    + " protobuf messages";
          where = field_path + ": byte " + std::to_string(at);
          return false;
        }
        if (!walk(sub, *fd->message_type(), field_path, depth + 1))
          return false;
      } else if (fd->type() == FieldDescriptor::TYPE_STRING) {
        std::string_view text;
        if (!r.read_bytes(text))
          return fail(field_path, r, at);
        if (!is_valid_utf8(text)) {
          message = "string field is not valid UTF-8";
          where = field_path + ": byte " + std::to_string(at);
          return false;
        }
      } else if (!r.skip(wt)) {
        return fail(field_path, r, at);
      }
    }
    return true;
  }

  static bool check_packed(std::string_view bytes, wire_type element) {
    switch (element) {
      case wire_type::fixed64:
        return bytes.size() % 8 == 0;
      case wire_type::fixed32:
        return bytes.size() % 4 == 0;
      default: {
        pb::reader r{bytes};
        uint64_t ignored;
        while (!r.done())
          if (!r.read_varint(ignored))
            return false;
        return true;
      }
    }
  }

  static std::string sub_path(const FieldDescriptor& fd,
                              std::unordered_map<int, size_t>& counts,
                              bool advance) {
    std::string s = ".";
    s += fd.json_name();
    if (fd.is_repeated()) {
      auto& n = counts[fd.number()];
      s += '[';
      s += std::to_string(n);
      s += ']';
      if (advance)
        ++n;
    }
    return s;
  }
};

} // namespace

caf::error check_protobuf(std::string_view bytes, const Descriptor& type,
                          uint64_t max_messages) {
  checker c;
  c.max_messages = max_messages;
  pb::reader r{bytes};
  if (c.walk(r, type, "", 0))
    return {};
  // Paths start with '.'; drop it so they read "resourceSpans[0]...".
  if (!c.where.empty() && c.where[0] == '.')
    c.where.erase(0, 1);
  if (c.too_many)
    return too_large(std::move(c.message), std::move(c.where));
  return malformed(std::move(c.message), std::move(c.where));
}

bool is_valid_utf8(std::string_view s) noexcept {
  auto p = reinterpret_cast<const unsigned char*>(s.data());
  auto end = p + s.size();
  while (p < end) {
    unsigned char c = *p;
    if (c < 0x80) {
      ++p;
      continue;
    }
    size_t n;
    uint32_t cp;
    if (c >= 0xc2 && c <= 0xdf) {
      n = 1;
      cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
      n = 2;
      cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (static_cast<size_t>(end - p) <= n)
      return false;
    for (size_t i = 1; i <= n; ++i) {
      if ((p[i] & 0xc0) != 0x80)
        return false;
      cp = (cp << 6) | (p[i] & 0x3f);
    }
    if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10ffff
        || (cp >= 0xd800 && cp <= 0xdfff))
      return false;
    p += n + 1;
  }
  return true;
}

} // namespace vigil::codec
