#pragma once

// Loading vigil.yaml into vigil::options: every value checked against the
// schema (config/schema.hpp), every problem collected with its file, line,
// column, key and the legal values. Nothing here throws: yaml-cpp's
// exceptions stop at this boundary and become errors.

#include <string>
#include <string_view>
#include <vector>

#include <caf/error.hpp>

#include "config/options.hpp"

namespace vigil {

/// One problem in a configuration source.
struct config_error {
  /// The file name, "command line" for flags, or empty when the problem is in
  /// an options struct built by code.
  std::string file;
  /// 1-based line of the offending text; 0 when unknown.
  int line = 0;
  /// 1-based column of the offending text; 0 when unknown.
  int column = 0;
  /// The dotted key ("ingest.max_body_bytes") or the flag ("--http"); empty
  /// for problems with no key, such as YAML syntax errors.
  std::string key;
  /// What is wrong, e.g. "30 has no unit; ...".
  std::string message;
  /// The legal values or forms; may be empty.
  std::string legal;

  /// Renders the error as "FILE:LINE:COL: KEY: MESSAGE (legal: LEGAL)",
  /// leaving out the parts that are unknown.
  std::string to_string() const;

  friend bool operator==(const config_error&, const config_error&) = default;
};

/// Options read from a source, with every problem found on the way.
struct [[nodiscard]] load_result {
  /// The options: the base with every accepted value applied. Only safe to
  /// use when ok().
  options opts;
  /// Every problem, in source order; empty on success.
  std::vector<config_error> errors;

  /// Returns whether the source was read without a problem.
  bool ok() const noexcept {
    return errors.empty();
  }

  /// Returns every error rendered by config_error::to_string, one per line.
  std::string message() const;

  /// Returns the errors as one `caf::error` (errc::invalid_config, context:
  /// message()), or a default-constructed error when ok().
  caf::error to_error() const;
};

/// Reads the YAML file at `path` over `base`; keys the file names replace
/// the base's values. An empty file (or only comments) yields `base`.
load_result load_config_file(const std::string& path, options base = {});

/// Reads YAML text over `base`; `name` stands for the file in errors.
load_result load_config_string(std::string_view yaml, const std::string& name,
                               options base = {});

/// Checks an options struct built in code against every bound and rule;
/// errors carry keys but no file or position.
std::vector<config_error> validate(const options& x);

/// Renders `x` as YAML in the reference layout without comments: the
/// effective configuration, which load_config_string reads back to `x`.
/// With `redact_secrets`, non-empty tokens show as "<redacted>" (for
/// displays such as an admin endpoint; such text no longer round-trips).
std::string to_yaml(const options& x, bool redact_secrets = false);

/// Renders the reference configuration: every section and key in schema
/// order, each with a comment giving its description, default and legal
/// values, and set to its default. config/vigil.yaml is exactly this text.
std::string reference_config();

} // namespace vigil
