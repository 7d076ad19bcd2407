#include "actors/correlator/silences.hpp"

#include <algorithm>

#include "messages/errc.hpp"

namespace vigil::correlator {

namespace {

caf::error invalid(std::string what) {
  return caf::make_error(errc::malformed, std::move(what));
}

// "matcher 'TEXT'", built by appending (GCC 12 warns falsely about
// `"literal" + std::string`, -Wrestrict bug 105329).
std::string about(std::string_view text) {
  std::string out{"matcher '"};
  out.append(text).append("'");
  return out;
}

bool is_label_name(std::string_view x) {
  if (x.empty())
    return false;
  for (size_t i = 0; i < x.size(); ++i) {
    char c = x[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'
              || (i > 0 && c >= '0' && c <= '9');
    if (!ok)
      return false;
  }
  return true;
}

// Reads a double-quoted value with \" and \\ escapes, or returns `text`
// as it is when it is not quoted.
std::optional<std::string> unquote(std::string_view text) {
  if (text.empty() || text.front() != '"')
    return std::string{text};
  if (text.size() < 2 || text.back() != '"')
    return std::nullopt;
  std::string out;
  for (size_t i = 1; i + 1 < text.size(); ++i) {
    char c = text[i];
    if (c == '\\') {
      if (i + 2 >= text.size())
        return std::nullopt;
      out += text[++i];
    } else if (c == '"') {
      return std::nullopt;
    } else {
      out += c;
    }
  }
  return out;
}

bool all_match(const std::vector<label_matcher>& ms, const label_set& ls) {
  return !ms.empty()
         && std::all_of(ms.begin(), ms.end(),
                        [&](const label_matcher& m) { return m.matches(ls); });
}

// Matchers that all match a label set with no labels at all would match
// everything (Alertmanager refuses such silences too).
bool matches_everything(const std::vector<label_matcher>& ms) {
  return std::all_of(ms.begin(), ms.end(), [](const label_matcher& m) {
    return m.matches_value("");
  });
}

} // namespace

caf::expected<label_matcher> label_matcher::parse(std::string_view text) {
  auto op_at = text.find_first_of("=!");
  if (op_at == std::string_view::npos || op_at == 0)
    return invalid(about(text)
                   + " is not NAME=VALUE, NAME!=VALUE, NAME=~REGEX or "
                     "NAME!~REGEX");
  label_matcher m;
  m.name_ = std::string{text.substr(0, op_at)};
  if (!is_label_name(m.name_))
    return invalid(about(text) + ": '" + m.name_ + "' is not a label name");
  auto rest = text.substr(op_at);
  if (rest.starts_with("=~")) {
    m.op_ = op::regex;
    rest.remove_prefix(2);
  } else if (rest.starts_with("!~")) {
    m.op_ = op::not_regex;
    rest.remove_prefix(2);
  } else if (rest.starts_with("!=")) {
    m.op_ = op::not_equal;
    rest.remove_prefix(2);
  } else if (rest.starts_with("=")) {
    m.op_ = op::equal;
    rest.remove_prefix(1);
  } else {
    return invalid(about(text) + ": expected =, !=, =~ or !~ after the name");
  }
  auto value = unquote(rest);
  if (!value)
    return invalid(about(text) + ": badly quoted value");
  m.value_ = std::move(*value);
  if (m.op_ == op::regex || m.op_ == op::not_regex) {
    try {
      m.re_.emplace(m.value_, std::regex::ECMAScript | std::regex::optimize);
    } catch (const std::regex_error& e) {
      return invalid(about(text) + ": invalid regular expression: "
                     + e.what());
    }
  }
  return m;
}

bool label_matcher::matches_value(std::string_view value) const {
  switch (op_) {
    case op::equal:
      return value == value_;
    case op::not_equal:
      return value != value_;
    case op::regex:
      return std::regex_match(value.begin(), value.end(), *re_);
    case op::not_regex:
      return !std::regex_match(value.begin(), value.end(), *re_);
  }
  return false;
}

bool label_matcher::matches(const label_set& labels) const {
  for (const auto& [k, v] : labels)
    if (k == name_)
      return matches_value(v);
  return matches_value("");
}

std::string label_matcher::to_string() const {
  static constexpr const char* ops[] = {"=", "!=", "=~", "!~"};
  std::string quoted = "\"";
  for (char c : value_) {
    if (c == '"' || c == '\\')
      quoted += '\\';
    quoted += c;
  }
  quoted += '"';
  return name_ + ops[static_cast<int>(op_)] + quoted;
}

bool silence::matches(const label_set& labels) const {
  return all_match(matchers, labels);
}

bool maintenance_window::active_at(int64_t now_ms) const {
  constexpr int64_t minute_ms = 60'000;
  constexpr int64_t week_minutes = 7 * 24 * 60;
  // Minutes since Monday 00:00 UTC: 1970-01-01 was a Thursday (day 3).
  int64_t minutes = now_ms >= 0 ? now_ms / minute_ms
                                : (now_ms - minute_ms + 1) / minute_ms;
  int64_t in_week = ((minutes + 3 * 24 * 60) % week_minutes + week_minutes)
                    % week_minutes;
  // A window that began on day d at start_minute is active while fewer than
  // duration_minutes have passed since; it may have begun up to 7 days ago.
  for (int d = 0; d < 7; ++d) {
    if (!(weekdays & (1u << d)))
      continue;
    int64_t begin = int64_t{d} * 24 * 60 + start_minute;
    int64_t since = ((in_week - begin) % week_minutes + week_minutes)
                    % week_minutes;
    if (since < duration_minutes)
      return true;
  }
  return false;
}

bool maintenance_window::matches(const label_set& labels) const {
  return all_match(matchers, labels);
}

caf::expected<void> suppression_set::add(silence s) {
  if (s.matchers.empty())
    return invalid("a silence needs at least one matcher");
  if (matches_everything(s.matchers))
    return invalid("the silence's matchers also match an empty label set "
                   "and would silence everything");
  if (s.ends_ms <= s.starts_ms)
    return invalid("a silence must end after it starts");
  if (s.author.empty())
    return invalid("a silence needs an author");
  auto same = std::find_if(silences_.begin(), silences_.end(),
                           [&](const silence& x) { return x.id == s.id; });
  if (same != silences_.end()) {
    *same = std::move(s);
    return {};
  }
  if (silences_.size() + windows_.size() >= max_)
    return caf::make_error(errc::overloaded, "too many silences and "
                                             "maintenance windows");
  silences_.push_back(std::move(s));
  return {};
}

caf::expected<void> suppression_set::add(maintenance_window w) {
  if (w.matchers.empty())
    return invalid("a maintenance window needs at least one matcher");
  if (matches_everything(w.matchers))
    return invalid("the window's matchers also match an empty label set "
                   "and would suppress everything");
  if ((w.weekdays & 0x7f) == 0)
    return invalid("a maintenance window needs at least one weekday");
  if (w.start_minute >= 24 * 60)
    return invalid("a maintenance window starts within the day "
                   "(minute 0..1439)");
  if (w.duration_minutes < 1 || w.duration_minutes > 7 * 24 * 60)
    return invalid("a maintenance window lasts 1 minute to 7 days");
  auto same = std::find_if(windows_.begin(), windows_.end(),
                           [&](const auto& x) { return x.id == w.id; });
  if (same != windows_.end()) {
    *same = std::move(w);
    return {};
  }
  if (silences_.size() + windows_.size() >= max_)
    return caf::make_error(errc::overloaded, "too many silences and "
                                             "maintenance windows");
  windows_.push_back(std::move(w));
  return {};
}

bool suppression_set::remove(std::string_view id) {
  auto before = silences_.size() + windows_.size();
  std::erase_if(silences_, [&](const silence& s) { return s.id == id; });
  std::erase_if(windows_,
                [&](const maintenance_window& w) { return w.id == id; });
  return silences_.size() + windows_.size() < before;
}

std::optional<std::string>
suppression_set::suppressed(const label_set& labels, int64_t now_ms) const {
  for (const auto& s : silences_)
    if (s.active_at(now_ms) && s.matches(labels))
      return s.id;
  for (const auto& w : windows_)
    if (w.active_at(now_ms) && w.matches(labels))
      return w.id;
  return std::nullopt;
}

size_t suppression_set::expire(int64_t now_ms) {
  return std::erase_if(silences_,
                       [&](const silence& s) { return s.ends_ms <= now_ms; });
}

} // namespace vigil::correlator
