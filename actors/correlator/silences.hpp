#pragma once

// Suppression rules, pure logic: Alertmanager-style label matchers,
// silences (matchers + a time range + author and comment) and recurring
// weekly maintenance windows. The correlator consults them before it opens
// or notifies an incident — never before it resolves one.

#include <cstdint>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <caf/expected.hpp>

namespace vigil::correlator {

/// Labels of the thing being judged (an anomaly's service and metric, an
/// alert's labels), as name/value pairs.
using label_set = std::vector<std::pair<std::string, std::string>>;

/// One matcher: `name=value`, `name!=value`, `name=~regex`, `name!~regex`.
/// As in Alertmanager, a missing label matches as the empty string, and a
/// regex must match the whole value.
class label_matcher {
public:
  enum class op : uint8_t { equal, not_equal, regex, not_regex };

  /// Reads `name<op>value`; the value may be double-quoted (with \" and
  /// \\ escapes). The error names what is wrong.
  static caf::expected<label_matcher> parse(std::string_view text);

  bool matches(const label_set& labels) const;
  /// Whether the matcher matches a value (the empty string for a missing
  /// label).
  bool matches_value(std::string_view value) const;

  const std::string& name() const { return name_; }
  op kind() const { return op_; }
  const std::string& value() const { return value_; }
  /// Back to text, e.g. `service=~"pay.*"`.
  std::string to_string() const;

private:
  std::string name_;
  op op_ = op::equal;
  std::string value_;
  std::optional<std::regex> re_;
};

/// A silence: while active, anything all its matchers match is suppressed.
struct silence {
  std::string id;
  std::vector<label_matcher> matchers;
  int64_t starts_ms = 0;
  int64_t ends_ms = 0;
  std::string author;
  std::string comment;

  bool active_at(int64_t now_ms) const {
    return now_ms >= starts_ms && now_ms < ends_ms;
  }
  bool matches(const label_set& labels) const;
};

/// A maintenance window that comes back every week: on the given weekdays
/// (bit 0 = Monday … bit 6 = Sunday, UTC), from `start_minute` after
/// midnight, for `duration_minutes` (it may run past midnight into the next
/// day).
struct maintenance_window {
  std::string id;
  std::vector<label_matcher> matchers;
  uint8_t weekdays = 0;
  uint32_t start_minute = 0;
  uint32_t duration_minutes = 0;
  std::string comment;

  bool active_at(int64_t now_ms) const;
  bool matches(const label_set& labels) const;
};

/// The silences and maintenance windows in force. Bounded; expired
/// silences are dropped by `expire`.
class suppression_set {
public:
  explicit suppression_set(size_t max_entries = 10'000)
    : max_(max_entries) {
  }

  /// Adds or replaces (same id) a silence. Refused, with the reason: no
  /// matchers, only matchers that also match an empty label set (they
  /// would silence everything), an end not after the start, no author,
  /// or the set is full.
  caf::expected<void> add(silence s);
  /// Adds or replaces a maintenance window, with the same checks (a
  /// window needs at least one weekday and a duration of 1 minute to 7
  /// days).
  caf::expected<void> add(maintenance_window w);
  /// Removes a silence or window by id; whether one was there.
  bool remove(std::string_view id);

  /// The id of the first silence or window that suppresses `labels` at
  /// `now_ms`; nothing when none does.
  std::optional<std::string> suppressed(const label_set& labels,
                                        int64_t now_ms) const;

  /// Drops silences that ended before `now_ms`; returns how many.
  size_t expire(int64_t now_ms);

  const std::vector<silence>& silences() const { return silences_; }
  const std::vector<maintenance_window>& windows() const { return windows_; }

private:
  size_t max_;
  std::vector<silence> silences_;
  std::vector<maintenance_window> windows_;
};

} // namespace vigil::correlator
