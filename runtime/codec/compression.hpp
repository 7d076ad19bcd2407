#pragma once

// Bounded decompression of request bodies: snappy block format (remote
// write) and gzip / zlib (OTLP `Content-Encoding: gzip`). Both refuse to
// produce more than `max_out` bytes and never allocate beyond that bound, so
// a compression bomb costs the node nothing.

#include <cstdint>
#include <string>
#include <string_view>

#include <caf/expected.hpp>

namespace vigil::codec {

/// Decompresses a snappy *block* (not framed) body. Reads the declared
/// uncompressed length first and fails with `too_large` before allocating
/// when it exceeds `max_out`; `malformed` when the body is corrupt or
/// declares more than its size could possibly expand to.
[[nodiscard]] caf::expected<std::string>
snappy_uncompress(std::string_view in, uint64_t max_out);

/// Inflates a gzip body (one or more members) or a zlib-wrapped deflate
/// stream, detected from the header. Output grows in chunks and the call
/// fails with `too_large` as soon as it would exceed `max_out`. Truncated
/// streams and trailing bytes that are not another gzip member are
/// `malformed`.
[[nodiscard]] caf::expected<std::string>
gzip_inflate(std::string_view in, uint64_t max_out);

/// Compresses `in` into the snappy block format (for tests and vigil-load).
std::string snappy_compress(std::string_view in);

/// Compresses `in` into one gzip member (for tests and vigil-load).
std::string gzip_compress(std::string_view in);

} // namespace vigil::codec
