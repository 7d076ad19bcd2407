#include "config/rules.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <utility>

#include "config/options.hpp"
#include "config/suggest.hpp"
#include "messages/errc.hpp"

namespace vigil {

namespace {

bool is_metric_char(char c, bool first) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'
         || c == ':' || (!first && c >= '0' && c <= '9');
}

// "'TEXT': WHY", built by appending (GCC 12 warns falsely about
// `"literal" + std::string`, -Wrestrict bug 105329).
caf::error refuse(std::string_view text, std::string_view why) {
  std::string msg{"'"};
  msg.append(text).append("': ").append(why);
  return caf::make_error(errc::invalid_config, std::move(msg));
}

// Splits "GLOB=REST" and checks the glob; `shape` names the rule's form for
// the error.
caf::expected<std::pair<std::string, std::string_view>>
split_rule(std::string_view text, std::string_view shape) {
  auto eq = text.find('=');
  if (eq == std::string_view::npos || eq == 0 || eq + 1 == text.size())
    return refuse(text, shape);
  auto glob = text.substr(0, eq);
  if (!is_metric_glob(glob))
    return refuse(text, "the glob may use letters, digits, '_', ':', '*' "
                        "and '?'");
  return std::pair{std::string{glob}, text.substr(eq + 1)};
}

} // namespace

caf::expected<classification_rule>
parse_classification_rule(std::string_view text) {
  auto split = split_rule(text, "not GLOB=TYPE");
  if (!split)
    return split.error();
  auto type = split->second;
  for (char c : type)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
      return refuse(text, "the type may use lower-case letters, digits and "
                          "'_'");
  return classification_rule{std::move(split->first), std::string{type}};
}

caf::expected<std::pair<std::string, std::string>>
parse_edge_rule(std::string_view text) {
  auto arrow = text.find("->");
  if (arrow == std::string_view::npos || arrow == 0
      || arrow + 2 == text.size())
    return refuse(text, "not CALLER->CALLEE");
  auto caller = text.substr(0, arrow);
  auto callee = text.substr(arrow + 2);
  auto bad = [](std::string_view x) {
    return std::any_of(x.begin(), x.end(), [](char c) {
      return static_cast<unsigned char>(c) < 0x20 || c == 0x7f || c == ' ';
    });
  };
  if (bad(caller) || bad(callee))
    return refuse(text, "service names hold no spaces or control "
                        "characters");
  if (caller == callee)
    return refuse(text, "a service does not call itself");
  return std::pair{std::string{caller}, std::string{callee}};
}

caf::expected<autonomy_cap_rule> parse_autonomy_cap(std::string_view text) {
  auto eq = text.rfind('=');
  if (eq == std::string_view::npos || eq == 0 || eq + 1 == text.size())
    return refuse(text, "not SERVICE_GLOB=LEVEL");
  auto glob = text.substr(0, eq);
  if (std::any_of(glob.begin(), glob.end(), [](char c) {
        return static_cast<unsigned char>(c) <= 0x20 || c == 0x7f;
      }))
    return refuse(text, "the glob holds no spaces or control characters");
  auto level = text.substr(eq + 1);
  if (level.size() != 1 || level[0] < '1' || level[0] > '4')
    return refuse(text, "the level is 1, 2, 3 or 4");
  return autonomy_cap_rule{std::string{glob},
                           static_cast<uint32_t>(level[0] - '0')};
}

caf::expected<approver_rule> parse_approver(std::string_view text) {
  auto eq = text.find('=');
  if (eq == std::string_view::npos || eq == 0 || eq + 1 == text.size())
    return refuse(text, "not NAME=TOKEN_FILE");
  auto name = text.substr(0, eq);
  if (name.size() > 64 || !std::all_of(name.begin(), name.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '.'
               || c == '_' || c == '-' || c == '@';
      }))
    return refuse(text, "the name is 1 to 64 letters, digits, '.', '_', "
                        "'-' or '@'");
  if (name == "vigil")
    return refuse(text, "'vigil' is the engine's own name, not a person");
  auto file = text.substr(eq + 1);
  if (std::any_of(file.begin(), file.end(), [](char c) {
        return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
      }))
    return refuse(text, "the token file path holds no control characters");
  return approver_rule{std::string{name}, std::string{file}};
}

caf::expected<receiver_rule> parse_receiver(std::string_view text) {
  std::vector<std::string_view> words;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && text[i] == ' ')
      ++i;
    auto start = i;
    while (i < text.size() && text[i] != ' ')
      ++i;
    if (i > start)
      words.push_back(text.substr(start, i - start));
  }
  if (words.size() < 3)
    return refuse(text, "not NAME KIND URL [OPTION=VALUE ...]");
  receiver_rule r;
  r.name = std::string{words[0]};
  for (char c : r.name)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
          || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.'))
      return refuse(text, "the name may use letters, digits, '-', '_' and "
                          "'.'");
  r.kind = std::string{words[1]};
  static constexpr std::string_view kinds[]
    = {"webhook", "slack", "pagerduty", "opsgenie"};
  if (std::find(std::begin(kinds), std::end(kinds), r.kind) == std::end(kinds))
    return refuse(text, "the kind is webhook, slack, pagerduty or opsgenie");
  r.url = std::string{words[2]};
  if (r.url.rfind("http://", 0) != 0 && r.url.rfind("https://", 0) != 0)
    return refuse(text, "the URL starts with http:// or https://");
  auto list = [](std::string_view v) {
    std::vector<std::string> out;
    size_t from = 0;
    while (from <= v.size()) {
      auto comma = v.find(',', from);
      auto item = v.substr(from, comma == std::string_view::npos
                                   ? std::string_view::npos
                                   : comma - from);
      if (!item.empty())
        out.emplace_back(item);
      if (comma == std::string_view::npos)
        break;
      from = comma + 1;
    }
    return out;
  };
  for (size_t w = 3; w < words.size(); ++w) {
    auto eq = words[w].find('=');
    if (eq == std::string_view::npos || eq == 0 || eq + 1 == words[w].size())
      return refuse(text, "options are OPTION=VALUE");
    auto key = words[w].substr(0, eq);
    auto value = words[w].substr(eq + 1);
    if (key == "min_severity") {
      if (value.size() != 1 || value[0] < '1' || value[0] > '5')
        return refuse(text, "min_severity is 1..5");
      r.min_severity = static_cast<uint32_t>(value[0] - '0');
    } else if (key == "services") {
      r.services = list(value);
    } else if (key == "events") {
      r.events = list(value);
      static constexpr std::string_view known[]
        = {"opened", "escalated", "action", "acknowledged", "resolved"};
      for (const auto& e : r.events)
        if (std::find(std::begin(known), std::end(known), e)
            == std::end(known))
          return refuse(text, "events are opened, escalated, action, "
                              "acknowledged, resolved");
    } else if (key == "key_file") {
      r.key_file = std::string{value};
    } else if (key == "key_env") {
      r.key_env = std::string{value};
    } else {
      return refuse(text, "options are min_severity, services, events, "
                          "key_file, key_env");
    }
  }
  if ((r.kind == "pagerduty" || r.kind == "opsgenie") && r.key_file.empty()
      && r.key_env.empty())
    return refuse(text, r.kind + " needs key_file= or key_env=");
  return r;
}

std::string rule_error_text(const caf::error& err) {
  const auto& ctx = err.context();
  if (ctx.size() > 0 && ctx.match_element<std::string>(0))
    return ctx.get_as<std::string>(0);
  return "invalid rule";
}

bool glob_match(std::string_view glob, std::string_view name) {
  size_t g = 0;
  size_t n = 0;
  size_t star = std::string_view::npos;
  size_t resume = 0;
  while (n < name.size()) {
    if (g < glob.size() && (glob[g] == '?' || glob[g] == name[n])) {
      ++g;
      ++n;
    } else if (g < glob.size() && glob[g] == '*') {
      star = g++;
      resume = n;
    } else if (star != std::string_view::npos) {
      g = star + 1;
      n = ++resume;
    } else {
      return false;
    }
  }
  while (g < glob.size() && glob[g] == '*')
    ++g;
  return g == glob.size();
}

bool is_metric_glob(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
    return is_metric_char(c, false) || c == '*' || c == '?';
  });
}

bool is_metric_name(std::string_view text) {
  if (text.empty())
    return false;
  for (size_t i = 0; i < text.size(); ++i)
    if (!is_metric_char(text[i], i == 0))
      return false;
  return true;
}

caf::expected<detector_rule> parse_detector_rule(std::string_view text) {
  auto split
    = split_rule(text, "a rule is GLOB=DETECTOR[,DETECTOR...][:VOTES]");
  if (!split)
    return std::move(split.error());
  detector_rule r;
  r.glob = std::move(split->first);
  auto rhs = split->second;
  if (auto colon = rhs.find(':'); colon != std::string_view::npos) {
    auto votes = rhs.substr(colon + 1);
    rhs = rhs.substr(0, colon);
    auto [end, ec]
      = std::from_chars(votes.data(), votes.data() + votes.size(), r.min_votes);
    if (ec != std::errc{} || end != votes.data() + votes.size()
        || r.min_votes == 0)
      return refuse(text, "the votes after ':' must be a number >= 1");
  }
  while (true) {
    auto comma = rhs.find(',');
    auto name = rhs.substr(0, comma);
    if (std::find(known_detectors.begin(), known_detectors.end(), name)
        == known_detectors.end()) {
      std::string why{"'"};
      why.append(name).append("' is not a detector");
      auto near
        = config::nearest(name, known_detectors, config::typo_tolerance(name));
      if (!near.empty())
        why.append("; ").append(config::did_you_mean(near));
      return refuse(text, why);
    }
    if (std::find(r.detectors.begin(), r.detectors.end(), name)
        != r.detectors.end()) {
      std::string why{"'"};
      why.append(name).append("' is named twice");
      return refuse(text, why);
    }
    r.detectors.emplace_back(name);
    if (comma == std::string_view::npos)
      break;
    rhs.remove_prefix(comma + 1);
  }
  if (r.min_votes > r.detectors.size())
    return refuse(text, "more votes than detectors");
  return r;
}

caf::expected<limit_rule> parse_limit_rule(std::string_view text) {
  auto split = split_rule(text, "a limit rule is GLOB=NUMBER or GLOB=METRIC");
  if (!split)
    return std::move(split.error());
  limit_rule r;
  r.glob = std::move(split->first);
  auto rhs = split->second;
  double v = 0;
  auto [end, ec] = std::from_chars(rhs.data(), rhs.data() + rhs.size(), v);
  if (ec == std::errc{} && end == rhs.data() + rhs.size()) {
    if (!std::isfinite(v))
      return refuse(text, "the limit is not a finite number");
    r.value = v;
    return r;
  }
  if (!is_metric_name(rhs))
    return refuse(text, "the limit is neither a number nor a metric name");
  r.companion = std::string{rhs};
  return r;
}

} // namespace vigil
