#pragma once

// vigild's command line (CONTRACT §2) and the precedence rule: built-in
// defaults < config file < flags. parse_flags only splits the command line;
// apply_flags and resolve_options check the values against the schema, so a
// bad --http reads like a bad node.http in a file, but names the flag.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/loader.hpp"
#include "config/options.hpp"

namespace vigil {

/// The file name errors about flags carry.
inline constexpr std::string_view command_line = "command line";

/// vigild's flags as given; values are checked by apply_flags.
struct flags {
  /// --config FILE: the YAML file to read.
  std::optional<std::string> config;
  /// --data-dir DIR: sets node.data_dir.
  std::optional<std::string> data_dir;
  /// --http HOST:PORT: sets node.http.
  std::optional<std::string> http;
  /// --cluster HOST:PORT: sets node.cluster.
  std::optional<std::string> cluster;
  /// --node-id ID: sets node.id.
  std::optional<std::string> node_id;
  /// --join HOST:PORT[,HOST:PORT...]: sets cluster.join; repeated flags
  /// add up, and an empty value clears the list.
  std::optional<std::string> join;
  /// --playbooks DIR: sets node.playbooks_dir.
  std::optional<std::string> playbooks;
  /// --log-level LEVEL: sets node.log_level.
  std::optional<std::string> log_level;
  /// --help or -h: print usage() and exit.
  bool help = false;
  /// --version: print the version and exit.
  bool version = false;
  /// --print-config: print reference_config() and exit.
  bool print_config = false;

  friend bool operator==(const flags&, const flags&) = default;
};

/// A command line split into flags, with every problem found.
struct [[nodiscard]] flags_result {
  /// The flags; only complete when ok().
  flags value;
  /// Unknown flags, missing values, stray arguments; file "command line".
  std::vector<config_error> errors;

  /// Returns whether the command line was well-formed.
  bool ok() const noexcept {
    return errors.empty();
  }

  /// Returns every error rendered by config_error::to_string, one per line.
  std::string message() const;
};

/// Splits vigild's command line (argv[0] is the program) into flags; accepts
/// `--flag value` and `--flag=value`. A later flag replaces an earlier one,
/// except --join, whose values add up.
flags_result parse_flags(int argc, const char* const* argv);

/// Applies the value flags of `f` over `base`, checking each against its
/// option; errors name the flag and have file "command line".
load_result apply_flags(const flags& f, options base = {});

/// Builds the effective options: built-in defaults, then the --config file
/// if given, then the flags. Reports the problems of both sources at once.
load_result resolve_options(const flags& f);

/// The --help text: synopsis, every flag with its default, and the
/// precedence rule.
std::string usage();

} // namespace vigil
