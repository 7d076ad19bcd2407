#pragma once

// The schema: every option once, with its dotted key, value kind, a
// one-sentence description, its bounds and the field it sets. The loader, the
// flag parser, the reference config and to_yaml all walk this table. Defaults
// are never written here: they are rendered from a default-constructed
// vigil::options, so config/options.hpp stays the single place they live.

#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "config/options.hpp"

namespace vigil::config {

/// What an option holds and how it is written in YAML.
enum class value_kind : uint8_t {
  /// true or false.
  boolean,
  /// A whole number >= 0 within bounds.
  unsigned_integer,
  /// A whole number within bounds.
  signed_integer,
  /// A finite floating-point number within bounds (open or closed).
  real,
  /// Text, possibly with a rule (non-empty, a token, a node id).
  string,
  /// One of a fixed set of words, e.g. a log level.
  choice,
  /// A duration such as 250ms, 30s, 5m, 1h, 1d or 1h30m.
  duration,
  /// A byte count or a size such as 64KiB, 16MiB or 500MB.
  byte_size,
  /// HOST:PORT or [IPv6]:PORT.
  host_port,
  /// A YAML sequence of strings, each following a rule.
  string_list,
};

/// Returns the name of `x` with an article, as used in messages
/// ("a duration").
std::string_view to_string(value_kind x);

/// A rule a string, or each string of a list, must follow.
enum class string_rule : uint8_t {
  /// Any text.
  any,
  /// At least one character.
  non_empty,
  /// Empty, or 1 to 64 letters, digits, '.', '_' and '-'.
  node_id,
  /// Empty, or printable ASCII without spaces (an HTTP bearer token).
  token,
  /// A Prometheus label name: [a-zA-Z_][a-zA-Z0-9_]*.
  label_name,
  /// One of the option's choices.
  choice,
  /// HOST:PORT with a port of at least the option's minimum port.
  host_port,
  /// GLOB=NUMBER or GLOB=METRIC (a precursor limit rule).
  limit_rule,
  /// GLOB=DETECTOR[,DETECTOR...][:VOTES] (a per-metric detector rule).
  detector_rule,
  /// A metric-name glob: letters, digits, '_', ':', '*' and '?'.
  metric_glob,
  /// GLOB=TYPE (an incident classification rule).
  classification_rule,
  /// CALLER->CALLEE (a static topology edge).
  edge_rule,
  /// SERVICE_GLOB=LEVEL (a remediation autonomy cap).
  autonomy_cap_rule,
  /// NAME KIND URL [OPTION=VALUE ...] (a notification receiver).
  receiver_rule,
  /// NAME=TOKEN_FILE (a person who may decide approvals).
  approver_rule,
};

/// A 1-based line and column in a source; 0 means unknown.
struct position {
  /// 1-based line; 0 when unknown.
  int line = 0;
  /// 1-based column; 0 when unknown.
  int column = 0;
  friend bool operator==(const position&, const position&) = default;
};

/// One scalar as the source wrote it.
struct raw_scalar {
  /// The text, unquoted.
  std::string text;
  /// Where the scalar starts.
  position pos;
};

/// A value as the source wrote it, before it is checked against an option.
struct raw_value {
  /// The YAML node type the source used.
  enum class shape : uint8_t { null, scalar, sequence, map };
  /// The YAML node type of this value.
  shape form = shape::null;
  /// Where the value starts (the key's position for a missing value).
  position pos;
  /// The text when `form` is scalar.
  std::string text;
  /// The items when `form` is sequence; every item is a scalar.
  std::vector<raw_scalar> items;

  /// Returns a scalar value with `text` at `pos`.
  static raw_value scalar(std::string text, position pos = {});
};

/// Why a value was refused, and where (a list item may sit elsewhere than its
/// key).
struct value_error {
  /// What is wrong, e.g. "0 is below the minimum 1".
  std::string message;
  /// Where: the value, or the offending list item.
  position pos;
};

/// The field an option sets, typed by the field.
using field_pointer
  = std::variant<bool*, uint32_t*, uint64_t*, int64_t*, double*, std::string*,
                 duration*, host_port*, std::vector<std::string>*>;

/// The field an option sets, read-only.
using const_field_pointer
  = std::variant<const bool*, const uint32_t*, const uint64_t*,
                 const int64_t*, const double*, const std::string*,
                 const duration*, const host_port*,
                 const std::vector<std::string>*>;

/// One option: its key, kind, description, bounds and the field it sets.
class option {
public:
  /// Everything that defines an option; schema.cpp builds one per field.
  struct spec {
    /// Dotted key, e.g. "ingest.max_body_bytes".
    std::string_view key;
    /// What the option holds.
    value_kind kind = value_kind::string;
    /// One sentence, from the field's comment in options.hpp.
    std::string_view description;
    /// Rule for strings and for each item of a list.
    string_rule rule = string_rule::any;
    /// Legal words of a choice, or of each item of a choice list.
    std::span<const std::string_view> choices;
    /// Smallest unsigned integer, byte size, duration (in ms) or list length.
    uint64_t min = 0;
    /// Largest unsigned integer, byte size, duration (in ms) or list length.
    uint64_t max = std::numeric_limits<uint64_t>::max();
    /// Smallest signed integer.
    int64_t signed_min = std::numeric_limits<int64_t>::min();
    /// Largest signed integer.
    int64_t signed_max = std::numeric_limits<int64_t>::max();
    /// Lower bound of a real.
    double real_min = std::numeric_limits<double>::lowest();
    /// Upper bound of a real.
    double real_max = std::numeric_limits<double>::max();
    /// Whether real_min itself is excluded.
    bool real_min_open = false;
    /// Whether real_max itself is excluded.
    bool real_max_open = false;
    /// Durations must be a multiple of this many milliseconds.
    uint64_t step = 1;
    /// Smallest port a host_port (or each list item) may name.
    uint16_t min_port = 0;
    /// The value is a credential: redacted where configuration is shown.
    bool secret = false;
    /// Returns the field in an options struct.
    field_pointer (*field)(options&) = nullptr;
    /// Returns the field in an options struct, read-only.
    const_field_pointer (*const_field)(const options&) = nullptr;
  };

  /// Wraps a spec built by the schema.
  explicit option(spec x) : spec_(x) {
    // nop
  }

  /// The dotted key, e.g. "detection.zscore.window".
  std::string_view key() const noexcept {
    return spec_.key;
  }

  /// The last part of the key, e.g. "window".
  std::string_view name() const noexcept;

  /// The key of the section holding the option, e.g. "detection.zscore".
  std::string_view section() const noexcept;

  /// What the option holds.
  value_kind kind() const noexcept {
    return spec_.kind;
  }

  /// One sentence saying what the option does.
  std::string_view description() const noexcept {
    return spec_.description;
  }

  /// The full definition.
  const spec& definition() const noexcept {
    return spec_;
  }

  /// The legal values with their bounds, e.g. "1..65536" or "1s..1h".
  std::string legal() const;

  /// The value in `x` as YAML (a scalar, or a flow sequence for lists).
  std::string render(const options& x) const;

  /// For lists: each item as a YAML scalar (for block-style rendering);
  /// empty for other kinds.
  std::vector<std::string> render_items(const options& x) const;

  /// Whether the value is a credential that displays should redact.
  bool secret() const noexcept {
    return spec_.secret;
  }

  /// The built-in default, rendered from a default-constructed options.
  std::string default_value() const;

  /// The field this option sets in `x`.
  field_pointer field(options& x) const {
    return spec_.field(x);
  }

  /// The field this option sets in `x`, read-only.
  const_field_pointer field(const options& x) const {
    return spec_.const_field(x);
  }

  /// Checks `v` and stores it into `x`; leaves `x` untouched on error.
  [[nodiscard]] std::optional<value_error> assign(options& x,
                                                  const raw_value& v) const;

  /// Checks the value `x` holds against the bounds; says why it is illegal.
  [[nodiscard]] std::optional<std::string> check(const options& x) const;

private:
  spec spec_;
};

/// A map of options: a top-level section or a nested one like
/// node.supervision.
struct section {
  /// Dotted key, e.g. "node" or "node.supervision".
  std::string_view key;
  /// One sentence saying what the section configures.
  std::string_view description;
  /// False for sections reserved for features that have no options yet.
  bool has_options = true;
};

/// A rule between two options; reported on the later one.
struct cross_check {
  /// The option that comes first in the schema.
  std::string_view earlier;
  /// The option the error is reported on.
  std::string_view later;
  /// Says why `x` breaks the rule, or nothing when it holds.
  std::optional<std::string> (*check)(const options& x);
  /// The rule, as shown after "legal:".
  std::string_view legal;
};

/// Every option, in reference order (sections in CONTRACT order, fields in
/// struct order, nested sections after the fields of their parent).
std::span<const option> schema();

/// Every section, top-level and nested, in reference order.
std::span<const section> sections();

/// Every rule between options.
std::span<const cross_check> cross_checks();

/// Every valid dotted key, sections and options, in reference order.
std::span<const std::string_view> all_keys();

/// Returns the option with dotted `key`, or nullptr.
const option* find_option(std::string_view key);

/// Returns the section with dotted `key`, or nullptr.
const section* find_section(std::string_view key);

/// Returns the parent of dotted `key` ("" for a top-level key).
std::string_view parent_key(std::string_view key);

/// Returns the last part of dotted `key`.
std::string_view leaf_key(std::string_view key);

/// Suggests valid keys for the unknown dotted `key`: the nearest key by edit
/// distance, else keys elsewhere with the same last part (a key placed in the
/// wrong section). Empty when nothing is close.
std::vector<std::string_view> suggest_keys(std::string_view key);

/// Renders `text` as a YAML scalar, quoting it when a plain scalar would be
/// read differently; `in_flow` also quotes text holding ',', ':' and
/// brackets, as used inside [...].
std::string yaml_scalar(std::string_view text, bool in_flow = false);

} // namespace vigil::config
