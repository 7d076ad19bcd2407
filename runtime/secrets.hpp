#pragma once

#include <string>
#include <string_view>

#include <caf/expected.hpp>

namespace vigil {

/// Returns `bytes` random bytes from the OS as lowercase hex.
std::string random_hex(size_t bytes);

/// Reads a token from `path`: the first line, surrounding whitespace
/// removed; error when unreadable or empty.
caf::expected<std::string> read_token_file(const std::string& path);

/// Returns the token in `path`, creating the file with a fresh random token
/// (mode 0600, never overwriting) when it does not exist.
caf::expected<std::string> load_or_create_token(const std::string& path);

/// Compares two secrets in time independent of where they differ.
bool equal_secrets(std::string_view a, std::string_view b);

} // namespace vigil
