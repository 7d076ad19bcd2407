#pragma once

// Checks protobuf bytes against a message type before libprotobuf parses
// them, so that a bad body gets an error naming the field path and byte
// (libprotobuf only says "failed") and libprotobuf never logs about it.

#include <string_view>

#include <caf/error.hpp>
#include <google/protobuf/descriptor.h>

namespace vigil::codec {

/// Deepest message nesting accepted (libprotobuf's default limit).
constexpr int max_protobuf_depth = 100;

/// Walks `bytes` as a `type` message: keys, lengths, varints, nested
/// messages and UTF-8 of `string` fields. Returns `malformed` with a
/// `where` like "resourceSpans[0].scopeSpans[1].spans[3].name: byte 812",
/// `too_large` when the bytes hold more than `max_messages` (sub-)messages
/// (each costs libprotobuf an object of up to a few hundred bytes, while
/// on the wire it may take two), or no error when libprotobuf will accept
/// the bytes.
[[nodiscard]] caf::error check_protobuf(std::string_view bytes,
                                        const google::protobuf::Descriptor& type,
                                        uint64_t max_messages);

/// Returns whether `s` is well-formed UTF-8 (no overlong forms, surrogates
/// or code points above U+10FFFF).
bool is_valid_utf8(std::string_view s) noexcept;

} // namespace vigil::codec
