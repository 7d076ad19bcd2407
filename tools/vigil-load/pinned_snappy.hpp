#pragma once

// A snappy block compressor that keeps chosen input bytes patchable in the
// compressed form. vigil-load pre-compresses every request once; per send
// it only overwrites each sample's value and timestamp, which this encoder
// guarantees sit verbatim inside literal elements and are the source of no
// copy element. The output is an ordinary snappy block (any decoder reads
// it) with about the ratio of the reference encoder on label-heavy
// protobuf, so the server decompresses what Prometheus would have sent.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace vigil::load {

/// A byte range of an input, [offset, offset + size).
struct byte_range {
  uint32_t offset = 0;
  uint32_t size = 0;
};

/// Compresses `in` into the snappy block format such that every byte inside
/// `pinned` (sorted by offset, disjoint) is carried by a literal element and
/// read by no copy element. Writes to `where` (one entry per range) the
/// offset in the result at which that range's bytes start: overwriting
/// them there changes exactly those bytes of the decompressed output.
/// `in` must be smaller than 4 GiB.
std::string snappy_compress_pinned(std::string_view in,
                                   std::span<const byte_range> pinned,
                                   std::vector<uint32_t>& where);

} // namespace vigil::load
