#pragma once

// Internal to config/: what the YAML reader and the flag parser share. Each
// source records which keys it set and where, so that rules between two
// options (checked once, after every source is read) can point at the text
// that broke them.

#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "config/loader.hpp"
#include "config/options.hpp"
#include "config/schema.hpp"

namespace vigil::config {

/// Where a key got its value.
struct origin {
  /// The file name, or "command line".
  std::string file;
  /// Where in the file; unknown for flags.
  position pos;
  /// The flag that set the key ("--http"); empty for files.
  std::string flag;
};

/// The keys the sources read so far set or refused.
struct tracker {
  /// Keys set, with where; a later source overwrites an earlier one.
  std::map<std::string, origin, std::less<>> set_by;
  /// Keys whose value was refused; rules involving them are not checked, so
  /// one mistake is reported once.
  std::set<std::string, std::less<>> refused;
};

/// Reads YAML text into `x`, recording keys in `t` and problems in `errors`.
void read_yaml(std::string_view yaml, const std::string& name, options& x,
               tracker& t, std::vector<config_error>& errors);

/// Reads the whole file at `path` into `out`; says why it cannot.
std::optional<std::string> read_text_file(const std::string& path,
                                          std::string& out);

/// Word-wraps `text` at `width` columns; every line starts with `indent`
/// spaces and then `lead` (e.g. "# "), and ends with a newline.
std::string wrap(std::string_view text, size_t indent, std::string_view lead,
                 size_t width = 80);

/// Checks the rules between options, and the bounds of values no source set
/// (they came with the base); `fallback` names the source for problems no
/// tracked key explains.
void check_rules(const options& x, const tracker& t,
                 const std::string& fallback,
                 std::vector<config_error>& errors);

} // namespace vigil::config
