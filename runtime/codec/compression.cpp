#include "runtime/codec/compression.hpp"

#include <algorithm>
#include <climits>
#include <cstring>

#include <snappy.h>
#include <zlib.h>

#include "runtime/codec/error.hpp"

namespace vigil::codec {

namespace {

// The largest output one snappy element can produce per input byte: a copy
// with a 2-byte offset takes 3 bytes and yields up to 64 (ratio 21.3). A
// body that declares more than this cannot be valid, so it is refused
// without allocating.
constexpr uint64_t snappy_max_ratio = 22;

// Inflate writes into the result in steps of this size.
constexpr size_t inflate_chunk = 64 * 1024;

std::string byte_at(size_t offset) {
  return "byte " + std::to_string(offset);
}

} // namespace

caf::expected<std::string> snappy_uncompress(std::string_view in,
                                             uint64_t max_out) {
  size_t declared = 0;
  if (in.empty()
      || !snappy::GetUncompressedLength(in.data(), in.size(), &declared))
    return malformed("snappy body has no valid length header", byte_at(0));
  if (declared > max_out)
    return too_large("snappy body declares " + std::to_string(declared)
                       + " uncompressed bytes, more than the limit of "
                       + std::to_string(max_out),
                     byte_at(0));
  if (declared / snappy_max_ratio > in.size())
    return malformed("snappy body declares " + std::to_string(declared)
                       + " uncompressed bytes, more than "
                       + std::to_string(in.size())
                       + " compressed bytes can hold",
                     byte_at(0));
  std::string out;
  // snappy::Uncompress sizes the string to the declared length (checked
  // above) and fails on any corrupt element, including copies that reach
  // before the start of the output.
  if (!snappy::Uncompress(in.data(), in.size(), &out))
    return malformed("snappy body is corrupt or truncated",
                     "snappy stream of " + std::to_string(in.size())
                       + " bytes");
  return out;
}

caf::expected<std::string> gzip_inflate(std::string_view in,
                                        uint64_t max_out) {
  if (in.empty())
    return malformed("gzip body is empty", byte_at(0));
  if (in.size() > UINT_MAX)
    return too_large("gzip body is larger than 4 GiB", byte_at(0));
  z_stream zs;
  std::memset(&zs, 0, sizeof(zs));
  // 15 + 32: a 32 KiB window and automatic gzip / zlib header detection.
  if (inflateInit2(&zs, 15 + 32) != Z_OK)
    return malformed("cannot initialise zlib", byte_at(0));
  struct guard {
    z_stream* zs;
    ~guard() { inflateEnd(zs); }
  } end_guard{&zs};
  bool gzip = in.size() >= 2 && static_cast<unsigned char>(in[0]) == 0x1f
              && static_cast<unsigned char>(in[1]) == 0x8b;
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  auto consumed = [&] { return in.size() - zs.avail_in; };
  std::string out;
  for (;;) {
    int rc;
    if (out.size() < max_out) {
      auto room = static_cast<size_t>(
        std::min<uint64_t>(inflate_chunk, max_out - out.size()));
      auto old = out.size();
      // std::string grows geometrically, so the cost stays linear; the
      // room computed above keeps the size at or below max_out.
      out.resize(old + room);
      zs.next_out = reinterpret_cast<Bytef*>(out.data() + old);
      zs.avail_out = static_cast<uInt>(room);
      rc = inflate(&zs, Z_NO_FLUSH);
      out.resize(old + room - zs.avail_out);
    } else {
      // The output is full. Probe with one byte: producing it means the
      // body inflates beyond the limit, while a stream that ends exactly
      // at the limit still reaches its trailer.
      unsigned char probe;
      zs.next_out = &probe;
      zs.avail_out = 1;
      rc = inflate(&zs, Z_NO_FLUSH);
      if (zs.avail_out == 0)
        return too_large("gzip body inflates to more than "
                           + std::to_string(max_out) + " bytes",
                         byte_at(consumed()));
    }
    if (rc == Z_STREAM_END) {
      if (zs.avail_in == 0)
        return out;
      // Another gzip member may follow (RFC 1952, 2.2); anything else is
      // garbage after the stream.
      bool next_member = gzip && zs.avail_in >= 2 && zs.next_in[0] == 0x1f
                         && zs.next_in[1] == 0x8b;
      if (!next_member)
        return malformed("unexpected bytes after the end of the compressed "
                         "stream",
                         byte_at(consumed()));
      if (inflateReset(&zs) != Z_OK)
        return malformed("cannot reset zlib", byte_at(consumed()));
      continue;
    }
    if (rc == Z_OK)
      continue;
    if (rc == Z_BUF_ERROR && zs.avail_in == 0)
      return malformed("gzip body is truncated", byte_at(in.size()));
    if (rc == Z_BUF_ERROR)
      continue;
    return malformed(std::string{"gzip body is corrupt: "}
                       + (zs.msg ? zs.msg : "inflate failed"),
                     byte_at(consumed()));
  }
}

std::string snappy_compress(std::string_view in) {
  std::string out;
  snappy::Compress(in.data(), in.size(), &out);
  return out;
}

std::string gzip_compress(std::string_view in) {
  z_stream zs;
  std::memset(&zs, 0, sizeof(zs));
  // 15 + 16: a 32 KiB window with a gzip header and trailer.
  deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
               Z_DEFAULT_STRATEGY);
  std::string out;
  char buf[64 * 1024];
  size_t pos = 0;
  int rc = Z_OK;
  do {
    // zlib counts in 32 bits; feed large inputs in slices.
    if (zs.avail_in == 0 && pos < in.size()) {
      auto n = std::min<size_t>(in.size() - pos, 1u << 30);
      zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data() + pos));
      zs.avail_in = static_cast<uInt>(n);
      pos += n;
    }
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof(buf);
    rc = deflate(&zs, pos == in.size() ? Z_FINISH : Z_NO_FLUSH);
    out.append(buf, sizeof(buf) - zs.avail_out);
  } while (rc != Z_STREAM_END);
  deflateEnd(&zs);
  return out;
}

} // namespace vigil::codec
