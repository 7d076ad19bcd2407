#pragma once

// A zero-copy reader of the protobuf wire format for hot decoders. Every read
// is bounds-checked and reports failure instead of reading past the end;
// strings and sub-messages come back as views into the input.

#include <cstdint>
#include <cstring>
#include <string_view>

namespace vigil::codec::pb {

/// Protobuf wire types.
enum class wire_type : uint8_t {
  varint = 0,
  fixed64 = 1,
  length_delimited = 2,
  start_group = 3,
  end_group = 4,
  fixed32 = 5,
};

/// Reads one message (or sub-message) field by field. Offsets are absolute
/// in the outermost buffer so errors can name the byte.
class reader {
public:
  /// Reads `buf`, whose first byte is at absolute offset `base`.
  explicit reader(std::string_view buf, size_t base = 0) noexcept
    : begin_(reinterpret_cast<const uint8_t*>(buf.data())),
      pos_(begin_),
      end_(begin_ + buf.size()),
      base_(base) {
  }

  /// Returns whether all bytes were consumed.
  bool done() const noexcept { return pos_ == end_; }

  /// Returns the absolute offset of the next byte.
  size_t offset() const noexcept { return base_ + (pos_ - begin_); }

  /// Returns why the last read failed.
  const char* failure() const noexcept { return failure_; }

  /// Reads a field key. Fails on a truncated key, field number 0 or a wire
  /// type that does not exist.
  bool read_key(uint32_t& field, wire_type& type) noexcept {
    uint64_t key;
    if (pos_ < end_ && *pos_ < 0x80) {
      key = *pos_++;
    } else if (!read_varint_slow(key)) {
      return false;
    }
    if (key > 0xffffffffull)
      return fail("field key out of range");
    field = static_cast<uint32_t>(key >> 3);
    auto wt = static_cast<uint8_t>(key & 7);
    if (field == 0)
      return fail("field number 0");
    if (wt > 5)
      return fail("invalid wire type");
    type = static_cast<wire_type>(wt);
    return true;
  }

  /// Reads a base-128 varint of at most 10 bytes.
  bool read_varint(uint64_t& out) noexcept {
    if (pos_ < end_ && *pos_ < 0x80) {
      out = *pos_++;
      return true;
    }
    return read_varint_slow(out);
  }

  /// Reads 8 little-endian bytes.
  bool read_fixed64(uint64_t& out) noexcept {
    if (end_ - pos_ < 8)
      return fail("truncated fixed64");
    uint64_t x = 0;
    for (int i = 7; i >= 0; --i)
      x = (x << 8) | pos_[i];
    out = x;
    pos_ += 8;
    return true;
  }

  /// Reads 4 little-endian bytes.
  bool read_fixed32(uint32_t& out) noexcept {
    if (end_ - pos_ < 4)
      return fail("truncated fixed32");
    out = uint32_t{pos_[0]} | (uint32_t{pos_[1]} << 8)
          | (uint32_t{pos_[2]} << 16) | (uint32_t{pos_[3]} << 24);
    pos_ += 4;
    return true;
  }

  /// Reads a length-delimited payload as a view.
  bool read_bytes(std::string_view& out) noexcept {
    uint64_t len;
    if (!read_varint(len))
      return false;
    if (len > static_cast<uint64_t>(end_ - pos_))
      return fail("length exceeds the enclosing message");
    out = std::string_view{reinterpret_cast<const char*>(pos_),
                           static_cast<size_t>(len)};
    pos_ += len;
    return true;
  }

  /// Reads a length-delimited payload as a reader positioned on it.
  bool read_message(reader& out) noexcept {
    std::string_view bytes;
    if (!read_bytes(bytes))
      return false;
    // The payload starts after the length varint.
    out = reader{bytes, offset() - bytes.size()};
    return true;
  }

  /// Skips the value of a field of wire type `type`. Groups (deprecated,
  /// unused by every format Vigil reads) are refused.
  bool skip(wire_type type) noexcept {
    switch (type) {
      case wire_type::varint: {
        uint64_t ignored;
        return read_varint(ignored);
      }
      case wire_type::fixed64:
        if (end_ - pos_ < 8)
          return fail("truncated fixed64");
        pos_ += 8;
        return true;
      case wire_type::length_delimited: {
        std::string_view ignored;
        return read_bytes(ignored);
      }
      case wire_type::fixed32:
        if (end_ - pos_ < 4)
          return fail("truncated fixed32");
        pos_ += 4;
        return true;
      default:
        return fail("groups are not supported");
    }
  }

private:
  bool fail(const char* why) noexcept {
    failure_ = why;
    return false;
  }

  bool read_varint_slow(uint64_t& out) noexcept {
    uint64_t x = 0;
    for (int shift = 0; shift < 70; shift += 7) {
      if (pos_ == end_)
        return fail("truncated varint");
      uint8_t b = *pos_++;
      // The tenth byte may carry only the top bit of a 64-bit value.
      if (shift == 63 && b > 1)
        return fail("varint overflows 64 bits");
      x |= uint64_t{b & 0x7fu} << shift;
      if (b < 0x80) {
        out = x;
        return true;
      }
    }
    return fail("varint longer than 10 bytes");
  }

  const uint8_t* begin_;
  const uint8_t* pos_;
  const uint8_t* end_;
  size_t base_;
  const char* failure_ = "";
};

} // namespace vigil::codec::pb
