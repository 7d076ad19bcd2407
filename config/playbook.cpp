#include "config/playbook.hpp"

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <span>
#include <sstream>
#include <utility>

#include <yaml-cpp/yaml.h>

#include "config/rules.hpp"
#include "config/source.hpp"
#include "config/suggest.hpp"
#include "config/units.hpp"
#include "config/yaml_support.hpp"
#include "messages/errc.hpp"

namespace vigil {

namespace {

using namespace std::chrono_literals;

// -- small text helpers -------------------------------------------------------

// Concatenates string-like pieces by appending (GCC 12 warns falsely about
// `"literal" + std::string`, -Wrestrict bug 105329).
template <class... Ts>
std::string cat(const Ts&... xs) {
  std::string out;
  (out.append(std::string_view{xs}), ...);
  return out;
}

std::string join(std::span<const std::string_view> words) {
  std::string out;
  for (auto w : words) {
    if (!out.empty())
      out += ", ";
    out += w;
  }
  return out;
}

// Whether `a` becomes `b` by swapping two neighbouring characters (ASCII
// case ignored). edit_distance counts such a swap as two edits, which is
// more than short words tolerate, yet "stesp" is plainly "steps".
bool is_swap(std::string_view a, std::string_view b) {
  if (a.size() != b.size() || a.size() < 2)
    return false;
  auto lower = [](char c) {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
  };
  size_t i = 0;
  while (i < a.size() && lower(a[i]) == lower(b[i]))
    ++i;
  if (i + 1 >= a.size())
    return false;
  return lower(a[i]) == lower(b[i + 1]) && lower(a[i + 1]) == lower(b[i])
         && a.substr(i + 2) == b.substr(i + 2);
}

// The candidates nearest to `word` (all tied at the best distance), or none
// when nothing is close. With `by_leaf`, only the part of a candidate after
// its last '.' is compared, so that "cooldown" finds "limits.cooldown".
std::vector<std::string_view>
suggest(std::string_view word, std::span<const std::string_view> candidates,
        bool by_leaf = false) {
  std::vector<std::string_view> out;
  auto tolerance = config::typo_tolerance(word);
  size_t best = tolerance;
  for (auto candidate : candidates) {
    auto target = candidate;
    if (by_leaf)
      target = candidate.substr(candidate.rfind('.') + 1);
    auto d = is_swap(word, target) ? 1 : config::edit_distance(word, target);
    if (d > tolerance)
      continue;
    if (d < best) {
      best = d;
      out.clear();
    }
    if (d == best)
      out.push_back(candidate);
  }
  return out;
}

// -- templates ----------------------------------------------------------------

/// One `{{ name }}` in a text: its byte range and the name without the
/// blanks around it.
struct placeholder {
  size_t begin = 0;
  size_t end = 0;
  std::string_view name;
};

// A short quote of `text` from `pos` for messages.
std::string excerpt(std::string_view text, size_t pos) {
  auto part = text.substr(pos, 24);
  return cat("'", part, part.size() < text.size() - pos ? "...'" : "'");
}

// Finds every placeholder of `text`. Every "{{" opens one and must be closed
// by the next "}}"; a "}}" with no opening is plain text (JSON bodies end
// nested objects that way). Returns why the text is malformed, if it is.
std::optional<std::string> scan(std::string_view text,
                                std::vector<placeholder>& out) {
  size_t pos = 0;
  while ((pos = text.find("{{", pos)) != std::string_view::npos) {
    auto close = text.find("}}", pos + 2);
    if (close == std::string_view::npos)
      return cat(excerpt(text, pos), " opens a template with '{{' but no '}}' "
                                     "closes it");
    auto inner = text.substr(pos + 2, close - pos - 2);
    auto first = inner.find_first_not_of(" \t");
    if (first == std::string_view::npos)
      return cat("'", text.substr(pos, close + 2 - pos), "' names no variable");
    auto last = inner.find_last_not_of(" \t");
    auto name = inner.substr(first, last - first + 1);
    if (name.find_first_of("{}") != std::string_view::npos)
      return cat(excerpt(text, pos), " holds a brace inside a template");
    out.push_back(placeholder{pos, close + 2, name});
    pos = close + 2;
  }
  return std::nullopt;
}

constexpr std::array<std::string_view, 6> fixed_variables{
  "service",           "incident.id",    "incident.type",
  "incident.severity", "incident.title", "namespace"};

// Every variable form, for suggestions.
constexpr std::array<std::string_view, 7> variable_forms{
  "service",        "incident.id", "incident.type", "incident.severity",
  "incident.title", "namespace",   "labels.KEY"};

constexpr std::string_view template_legal
  = "{{service}}, {{incident.id}}, {{incident.type}}, {{incident.severity}}, "
    "{{incident.title}}, {{namespace}}, {{labels.KEY}} (KEY: letters, digits, "
    "'_', '.', '-')";

// -- actions and their parameters ---------------------------------------------

// In the order of action_kind.
constexpr std::array<std::string_view, 7> action_names{
  "kubernetes.restart_pods",
  "kubernetes.scale",
  "kubernetes.rollout_restart",
  "kubernetes.rollback",
  "shell",
  "http",
  "notify"};

/// How a `with:` parameter is read.
enum class param_kind : uint8_t {
  text,    // a string, may be templated
  argv,    // a non-empty list of strings, argv[0] an absolute path
  env,     // NAME: value
  headers, // Header-Name: value
  method,  // an HTTP method
  url,     // http:// or https://
  factor,  // a number > 0
  count,   // an integer >= min
  timeout, // a duration, kept in playbook_step::timeout
};

/// One key of a step's `with:` map.
struct param_spec {
  std::string_view name;
  param_kind kind;
  bool required;
  int64_t min = 0;
};

/// The keys of one action's `with:` map.
struct action_spec {
  std::vector<param_spec> params;
  std::vector<std::string_view> names;
};

// The longest step timeout accepted: a day is far beyond any runbook step,
// so a larger value is a typo.
constexpr duration max_step_timeout = 24h;

const action_spec& spec_of(action_kind x) {
  using k = param_kind;
  static const auto specs = [] {
    std::array<action_spec, 7> out;
    auto set = [&](action_kind a, std::vector<param_spec> ps) {
      auto& spec = out[static_cast<size_t>(a)];
      spec.params = std::move(ps);
      spec.params.push_back({"timeout", k::timeout, false});
      for (const auto& p : spec.params)
        spec.names.push_back(p.name);
    };
    set(action_kind::kubernetes_restart_pods,
        {{"namespace", k::text, true}, {"selector", k::text, true}});
    set(action_kind::kubernetes_scale, {{"namespace", k::text, true},
                                        {"deployment", k::text, true},
                                        {"factor", k::factor, false},
                                        {"replicas", k::count, false, 0},
                                        {"max_replicas", k::count, false, 1}});
    set(action_kind::kubernetes_rollout_restart,
        {{"namespace", k::text, true}, {"deployment", k::text, true}});
    set(action_kind::kubernetes_rollback, {{"namespace", k::text, true},
                                           {"deployment", k::text, true},
                                           {"revision", k::count, false, 0}});
    set(action_kind::shell, {{"argv", k::argv, true}, {"env", k::env, false}});
    set(action_kind::http, {{"method", k::method, false},
                            {"url", k::url, true},
                            {"headers", k::headers, false},
                            {"body", k::text, false}});
    set(action_kind::notify, {{"message", k::text, true}});
    return out;
  }();
  return specs[static_cast<size_t>(x)];
}

// Every "with.KEY" any action knows, for a parameter written one level too
// high in a step.
std::span<const std::string_view> all_with_keys() {
  static const auto keys = [] {
    std::vector<std::string> names;
    for (size_t i = 0; i < action_names.size(); ++i)
      for (auto n : spec_of(static_cast<action_kind>(i)).names) {
        auto dotted = cat("with.", n);
        if (std::find(names.begin(), names.end(), dotted) == names.end())
          names.push_back(std::move(dotted));
      }
    return names;
  }();
  static const auto views = [] {
    std::vector<std::string_view> out;
    for (const auto& n : keys)
      out.push_back(n);
    return out;
  }();
  return views;
}

constexpr std::array<std::string_view, 5> http_methods{"GET", "POST", "PUT",
                                                       "PATCH", "DELETE"};

// The actions a playbook at `autonomy` may take.
bool allowed_at(action_kind a, int autonomy) {
  if (autonomy <= 1)
    return a == action_kind::notify;
  if (autonomy == 2)
    return a == action_kind::notify || a == action_kind::shell
           || a == action_kind::http;
  return true;
}

std::string_view autonomy_name(int autonomy) {
  switch (autonomy) {
    case 1:
      return "notify only";
    case 2:
      return "diagnose";
    case 3:
      return "safe actions";
    default:
      return "actions needing approval";
  }
}

std::string_view allowed_actions_text(int autonomy) {
  if (autonomy <= 1)
    return "notify";
  if (autonomy == 2)
    return "notify, shell, http";
  return "any action";
}

// -- the playbook schema ------------------------------------------------------

constexpr std::array<std::string_view, 10> top_keys{
  "name",    "description", "match", "autonomy", "requires_approval",
  "dry_run", "limits",      "steps", "verify",   "on_failure"};

// Keys of the sections, for a key written at the top level by mistake.
constexpr std::array<std::string_view, 7> section_keys{
  "match.incident_type", "match.services",           "match.labels",
  "match.min_severity",  "limits.max_runs_per_hour", "limits.cooldown",
  "verify.within"};

constexpr std::array<std::string_view, 4> match_keys{
  "incident_type", "services", "labels", "min_severity"};

constexpr std::array<std::string_view, 2> limits_keys{"max_runs_per_hour",
                                                      "cooldown"};

constexpr std::array<std::string_view, 1> verify_keys{"within"};

constexpr std::array<std::string_view, 4> step_keys{"name", "action", "with",
                                                    "undo"};
constexpr std::array<std::string_view, 2> undo_keys{"action", "with"};

constexpr std::array<std::string_view, 3> on_failure_names{
  "escalate", "rollback", "continue"};

constexpr std::string_view name_legal
  = "1 to 64 of a-z, 0-9, '_' and '-', starting with a letter or digit";

constexpr size_t max_name_size = 64;

bool is_playbook_name(std::string_view x) {
  auto ok = [](char c, bool first) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
           || (!first && (c == '_' || c == '-'));
  };
  if (x.empty() || x.size() > max_name_size)
    return false;
  for (size_t i = 0; i < x.size(); ++i)
    if (!ok(x[i], i == 0))
      return false;
  return true;
}

bool has_control(std::string_view x) {
  return std::any_of(x.begin(), x.end(), [](char c) {
    return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
  });
}

// -- reading YAML -------------------------------------------------------------

/// A 1-based place in a file; 0 when unknown.
using where = config::position;
using config::node_kind;
using config::position_of;
using config::syntax_hint;

/// One key of a map with its value.
struct entry {
  std::string name;
  YAML::Node value;
  where key_at;
  /// Where to point for the value: the key's place when the value is
  /// missing (yaml-cpp gives a null the place of the next token).
  where value_at() const { return value.IsNull() ? key_at : position_of(value); }
};

/// The accepted keys of one map, in file order.
struct fields {
  std::vector<entry> items;
  const entry* find(std::string_view name) const {
    for (const auto& e : items)
      if (e.name == name)
        return &e;
    return nullptr;
  }
};

/// A string read from a list or map, with its place.
struct located {
  std::string text;
  where at;
};

// Reads one playbook file, collecting every problem; never stops at the
// first one.
class reader {
public:
  reader(const std::string& file, std::vector<config_error>& errors)
    : file_(file), errors_(errors) {
    // nop
  }

  void read(const YAML::Node& root, playbook& p, where& name_at) {
    auto top = keys(root, "", top_keys, "the keys", section_keys);
    auto root_at = position_of(root);
    if (auto e = top.find("name")) {
      if (auto x = literal(*e, "name", name_legal)) {
        if (is_playbook_name(*x)) {
          p.name = std::move(*x);
          name_at = e->value_at();
        } else {
          error(e->value_at(), "name", cat("'", *x, "' is not a playbook name"),
                name_legal);
        }
      }
    } else {
      error(root_at, "name", "missing; every playbook has a name", name_legal);
    }
    if (auto e = top.find("description"))
      if (auto x = text(*e, "description", "a string"))
        p.description = std::move(*x);
    if (auto e = top.find("match"))
      read_match(*e, p);
    std::optional<int> autonomy;
    constexpr std::string_view autonomy_legal
      = "1 (notify only), 2 (diagnose: notify, shell, http), 3 (safe "
        "actions), 4 (actions needing approval)";
    if (auto e = top.find("autonomy")) {
      if (auto x = integer(*e, "autonomy", 1, 4, autonomy_legal))
        autonomy = static_cast<int>(*x);
    } else {
      error(root_at, "autonomy",
            "missing; every playbook says how much it may do on its own",
            autonomy_legal);
    }
    if (autonomy)
      p.autonomy = *autonomy;
    if (auto e = top.find("requires_approval"))
      if (auto x = boolean(*e, "requires_approval"))
        p.requires_approval = *x;
    // Autonomy 4 means "acts only once a human said yes", whatever the
    // file says about approval.
    if (p.autonomy == 4)
      p.requires_approval = true;
    if (auto e = top.find("dry_run"))
      if (auto x = boolean(*e, "dry_run"))
        p.dry_run = *x;
    if (auto e = top.find("limits"))
      read_limits(*e, p);
    if (auto e = top.find("verify"))
      read_verify(*e, p);
    if (auto e = top.find("on_failure"))
      read_on_failure(*e, p);
    read_steps(top.find("steps"), root_at, autonomy, p);
  }

private:
  // -- errors --

  void error(where at, std::string key, std::string message,
             std::string_view legal = {}) {
    errors_.push_back(config_error{file_, at.line, at.column, std::move(key),
                                   std::move(message), std::string{legal}});
  }

  void wrong_shape(const entry& e, const std::string& key,
                   std::string_view expected, std::string_view legal) {
    error(e.value_at(), key,
          e.value.IsNull()
            ? cat("has no value; expected ", expected)
            : cat("expected ", expected, ", got ", node_kind(e.value)),
          legal);
  }

  // -- maps --

  // The accepted keys of `map` (the value of `path`, "" for the top level).
  // Non-scalar, repeated and unknown keys are errors; an unknown key gets
  // the nearest legal one, or the nearest of `elsewhere` (dotted keys of
  // nested maps) when it was written at the wrong level.
  fields keys(const YAML::Node& map, const std::string& path,
              std::span<const std::string_view> allowed, std::string_view owner,
              std::span<const std::string_view> elsewhere = {}) {
    fields out;
    auto legal = cat(owner, " ", join(allowed));
    for (auto it = map.begin(); it != map.end(); ++it) {
      YAML::Node k = it->first; // it-> returns a temporary proxy
      YAML::Node v = it->second;
      auto at = position_of(k);
      if (!k.IsScalar()) {
        error(at, path, cat("keys must be plain names, got ", node_kind(k)),
              legal);
        continue;
      }
      const auto& name = k.Scalar();
      auto key = path.empty() ? name : cat(path, ".", name);
      if (std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
        std::string msg = "unknown key";
        auto near = suggest(name, allowed);
        if (near.empty() && !elsewhere.empty())
          near = suggest(name, elsewhere, true);
        if (!near.empty())
          msg += cat("; ", config::did_you_mean(near));
        error(at, key, std::move(msg), legal);
        continue;
      }
      if (auto first = out.find(name)) {
        error(at, key,
              cat("is given twice (first at line ",
                  std::to_string(first->key_at.line), ")"),
              "each key once");
        continue;
      }
      out.items.push_back(entry{name, v, at});
    }
    return out;
  }

  // Reads the map value of `e` at `key`; empty when absent or not a map.
  std::optional<fields> section(const entry& e, const std::string& key,
                                std::span<const std::string_view> allowed) {
    // A bare "match:" is an empty section, like "match: {}".
    if (e.value.IsNull())
      return fields{};
    auto legal = cat("the keys ", join(allowed));
    if (!e.value.IsMap()) {
      wrong_shape(e, key, "a map", legal);
      return std::nullopt;
    }
    return keys(e.value, key, allowed, cat("the keys of ", key, ":"));
  }

  // -- scalars --

  // The text of a single value; an error for a missing value or a list or
  // map.
  std::optional<std::string> scalar(const entry& e, const std::string& key,
                                    std::string_view legal) {
    if (!e.value.IsScalar()) {
      wrong_shape(e, key, "a single value", legal);
      return std::nullopt;
    }
    return e.value.Scalar();
  }

  // Checks the templates in `text`: well-formed braces and known variables.
  bool templates(std::string_view text, where at, const std::string& key) {
    std::vector<placeholder> found;
    if (auto why = scan(text, found)) {
      error(at, key, std::move(*why), template_legal);
      return false;
    }
    bool ok = true;
    for (const auto& p : found) {
      if (is_template_variable(p.name))
        continue;
      auto msg = cat("unknown template variable '", p.name, "'");
      auto near = suggest(p.name, variable_forms);
      if (!near.empty())
        msg += cat("; ", config::did_you_mean(near));
      error(at, key, std::move(msg), template_legal);
      ok = false;
    }
    return ok;
  }

  // Refuses templates in a value that is compared or used as written.
  bool no_template(std::string_view text, where at, const std::string& key,
                   std::string_view legal) {
    if (text.find("{{") == std::string_view::npos)
      return true;
    error(at, key,
          cat("'", text,
              "' is used as written; templates are filled only in step "
              "parameters and the description"),
          legal);
    return false;
  }

  // A string that may hold templates.
  std::optional<std::string> text(const entry& e, const std::string& key,
                                  std::string_view legal) {
    auto x = scalar(e, key, legal);
    if (!x || !templates(*x, e.value_at(), key))
      return std::nullopt;
    return x;
  }

  // A string used as written.
  std::optional<std::string> literal(const entry& e, const std::string& key,
                                     std::string_view legal) {
    auto x = scalar(e, key, legal);
    if (!x || !no_template(*x, e.value_at(), key, legal))
      return std::nullopt;
    return x;
  }

  std::optional<int64_t> integer(const entry& e, const std::string& key,
                                 int64_t lo, int64_t hi,
                                 std::string_view legal = {}) {
    auto range
      = cat("an integer from ", std::to_string(lo), " to ", std::to_string(hi));
    if (legal.empty())
      legal = range;
    auto x = scalar(e, key, legal);
    if (!x)
      return std::nullopt;
    auto n = parse_signed(*x);
    if (!n) {
      error(e.value_at(), key, n.error, legal);
      return std::nullopt;
    }
    if (*n < lo || *n > hi) {
      error(e.value_at(), key, cat(*x, " is out of range"), legal);
      return std::nullopt;
    }
    return *n;
  }

  std::optional<bool> boolean(const entry& e, const std::string& key) {
    constexpr std::string_view legal = "true or false";
    auto x = scalar(e, key, legal);
    if (!x)
      return std::nullopt;
    auto b = parse_bool(*x);
    if (!b) {
      error(e.value_at(), key, b.error, legal);
      return std::nullopt;
    }
    return *b;
  }

  std::optional<duration> span(const entry& e, const std::string& key,
                               duration lo, duration hi) {
    auto legal = cat(duration_forms, "; from ", format_duration(lo), " to ",
                     format_duration(hi));
    auto x = scalar(e, key, legal);
    if (!x)
      return std::nullopt;
    auto d = parse_duration(*x);
    if (!d) {
      error(e.value_at(), key, d.error, legal);
      return std::nullopt;
    }
    if (*d < lo || *d > hi) {
      error(e.value_at(), key, cat(*x, " is out of range"), legal);
      return std::nullopt;
    }
    return *d;
  }

  // A list of strings (or, with `single`, one string standing for a list of
  // one). Each item's templates are checked when `templated`, refused
  // otherwise. Refused items are reported and left out, so the caller can
  // still check the others.
  std::optional<std::vector<located>> string_list(const entry& e,
                                                  const std::string& key,
                                                  std::string_view legal,
                                                  bool single, bool templated) {
    std::vector<located> out;
    if (single && e.value.IsScalar()) {
      auto x = templated ? text(e, key, legal) : literal(e, key, legal);
      if (!x)
        return std::nullopt;
      out.push_back({std::move(*x), e.value_at()});
      return out;
    }
    if (!e.value.IsSequence()) {
      wrong_shape(e, key, single ? "a single value or a list" : "a list",
                  legal);
      return std::nullopt;
    }
    size_t index = 0;
    for (const auto& item : e.value) {
      auto item_key = cat(key, "[", std::to_string(index++), "]");
      // yaml-cpp gives an empty item the next token's place.
      auto at = item.IsNull() ? e.value_at() : position_of(item);
      if (!item.IsScalar()) {
        error(at, item_key,
              cat("list items must be single values, got ", node_kind(item)),
              legal);
        continue;
      }
      const auto& x = item.Scalar();
      if (templated ? templates(x, at, item_key)
                    : no_template(x, at, item_key, legal))
        out.push_back({x, at});
    }
    return out;
  }

  // A map of strings to strings. `check_key` says why a key is refused (or
  // nothing); values may hold templates when `templated`.
  template <class KeyCheck>
  std::optional<std::map<std::string, std::string>>
  string_map(const entry& e, const std::string& key, std::string_view legal,
             bool templated, KeyCheck check_key) {
    std::map<std::string, std::string> out;
    if (e.value.IsNull())
      return out;
    if (!e.value.IsMap()) {
      wrong_shape(e, key, "a map", legal);
      return std::nullopt;
    }
    bool ok = true;
    std::map<std::string, int> lines;
    for (auto it = e.value.begin(); it != e.value.end(); ++it) {
      YAML::Node k = it->first;
      YAML::Node v = it->second;
      auto at = position_of(k);
      if (!k.IsScalar()) {
        error(at, key, cat("keys must be single values, got ", node_kind(k)),
              legal);
        ok = false;
        continue;
      }
      const auto& name = k.Scalar();
      auto item_key = cat(key, ".", name);
      std::optional<std::string> why;
      if (name.empty())
        why = "an empty key";
      else if (name.find("{{") != std::string::npos)
        why = "keys are used as written; templates belong in values";
      else
        why = check_key(name);
      if (why) {
        error(at, item_key, std::move(*why), legal);
        ok = false;
        continue;
      }
      if (auto [first, added] = lines.emplace(name, at.line); !added) {
        error(at, item_key,
              cat("is given twice (first at line ",
                  std::to_string(first->second), ")"),
              "each key once");
        ok = false;
        continue;
      }
      entry item{name, v, at};
      auto x = templated ? text(item, item_key, legal)
                         : literal(item, item_key, legal);
      if (!x) {
        ok = false;
        continue;
      }
      out.emplace(name, std::move(*x));
    }
    if (!ok)
      return std::nullopt;
    return out;
  }

  // -- sections --

  void read_match(const entry& e, playbook& p) {
    auto f = section(e, "match", match_keys);
    if (!f)
      return;
    if (auto x = f->find("incident_type")) {
      constexpr std::string_view legal
        = "an incident type or a list of them (lower-case letters, digits "
          "and '_')";
      if (auto types
          = string_list(*x, "match.incident_type", legal, true, false)) {
        for (auto& t : *types) {
          bool ok = !t.text.empty()
                    && std::all_of(t.text.begin(), t.text.end(), [](char c) {
                         return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
                                || c == '_';
                       });
          if (!ok)
            error(t.at, "match.incident_type",
                  cat("'", t.text, "' is not an incident type"), legal);
          else
            p.incident_types.push_back(std::move(t.text));
        }
      }
    }
    if (auto x = f->find("services")) {
      constexpr std::string_view legal
        = "a service name glob ('*' any run, '?' one character) or a list "
          "of them";
      if (auto globs = string_list(*x, "match.services", legal, true, false)) {
        for (auto& g : *globs) {
          if (g.text.empty() || has_control(g.text)
              || g.text.find(' ') != std::string::npos)
            error(g.at, "match.services",
                  cat("'", g.text,
                      "' is not a service glob: empty, or holds spaces or "
                      "control characters"),
                  legal);
          else
            p.services.push_back(std::move(g.text));
        }
      }
    }
    if (auto x = f->find("labels")) {
      auto labels = string_map(
        *x, "match.labels", "a map of label: value, compared as written", false,
        [](const std::string& k) -> std::optional<std::string> {
          if (has_control(k))
            return "label names hold no control characters";
          return std::nullopt;
        });
      if (labels)
        p.labels = std::move(*labels);
    }
    if (auto x = f->find("min_severity"))
      if (auto n = integer(*x, "match.min_severity", 1, 5))
        p.min_severity = static_cast<int>(*n);
  }

  void read_limits(const entry& e, playbook& p) {
    auto f = section(e, "limits", limits_keys);
    if (!f)
      return;
    if (auto x = f->find("max_runs_per_hour"))
      if (auto n = integer(*x, "limits.max_runs_per_hour", 0, 10'000))
        p.max_runs_per_hour = static_cast<uint32_t>(*n);
    // A week bounds the cooldown: longer would in effect disable the
    // playbook, which is what deleting it is for.
    if (auto x = f->find("cooldown"))
      if (auto d = span(*x, "limits.cooldown", 0ms, 7 * 24h))
        p.cooldown = *d;
  }

  void read_verify(const entry& e, playbook& p) {
    auto f = section(e, "verify", verify_keys);
    if (!f)
      return;
    if (auto x = f->find("within"))
      if (auto d = span(*x, "verify.within", 1s, 24h))
        p.verify_within = *d;
  }

  void read_on_failure(const entry& e, playbook& p) {
    auto legal = join(on_failure_names);
    auto x = scalar(e, "on_failure", legal);
    if (!x)
      return;
    if (*x == "escalate")
      p.on_failure = on_failure_policy::escalate;
    else if (*x == "rollback")
      p.on_failure = on_failure_policy::rollback;
    else if (*x == "continue")
      p.on_failure = on_failure_policy::continue_;
    else {
      auto msg = cat("unknown policy '", *x, "'");
      auto near = suggest(*x, on_failure_names);
      if (!near.empty())
        msg += cat("; ", config::did_you_mean(near));
      error(e.value_at(), "on_failure", std::move(msg), legal);
    }
  }

  // -- steps --

  void read_steps(const entry* e, where root_at, std::optional<int> autonomy,
                  playbook& p) {
    constexpr std::string_view legal
      = "a list of steps, each a map with name, action and with";
    // Autonomy 1 only notifies, which the incident does anyway: steps are
    // optional there. Without a valid autonomy the rule cannot be checked.
    bool need_steps = autonomy && *autonomy != 1;
    auto need = cat("a playbook at autonomy ", std::to_string(p.autonomy), " (",
                    autonomy_name(p.autonomy), ") needs at least one step");
    if (e == nullptr || e->value.IsNull()) {
      if (need_steps)
        error(e ? e->key_at : root_at, "steps", cat("missing; ", need), legal);
      return;
    }
    if (!e->value.IsSequence()) {
      wrong_shape(*e, "steps", "a list", legal);
      return;
    }
    if (e->value.size() == 0) {
      if (need_steps)
        error(e->value_at(), "steps", cat("is empty; ", need), legal);
      return;
    }
    std::map<std::string, int> names;
    size_t index = 0;
    for (const auto& node : e->value) {
      auto key = cat("steps[", std::to_string(index++), "]");
      auto at = node.IsNull() ? e->value_at() : position_of(node);
      if (!node.IsMap()) {
        error(at, key,
              cat("expected a map with name, action and with, got ",
                  node_kind(node)),
              legal);
        continue;
      }
      read_step(node, key, at, autonomy, names, p);
    }
  }

  void read_step(const YAML::Node& node, const std::string& key, where at,
                 std::optional<int> autonomy, std::map<std::string, int>& names,
                 playbook& p) {
    playbook_step s;
    s.line = at.line;
    auto f = keys(node, key, step_keys, "the keys of a step:", all_with_keys());
    bool ok = true;
    constexpr std::string_view step_name_legal
      = "a name unique within the playbook, 1 to 64 characters";
    if (auto e = f.find("name")) {
      auto name_key = cat(key, ".name");
      if (auto x = literal(*e, name_key, step_name_legal)) {
        if (x->empty() || x->size() > max_name_size || has_control(*x)) {
          error(e->value_at(), name_key, cat("'", *x, "' is not a step name"),
                step_name_legal);
          ok = false;
        } else if (auto [first, added] = names.emplace(*x, e->key_at.line);
                   !added) {
          error(e->value_at(), name_key,
                cat("'", *x, "' is also the name of the step at line ",
                    std::to_string(first->second)),
                step_name_legal);
          ok = false;
        } else {
          s.name = std::move(*x);
        }
      } else {
        ok = false;
      }
    } else {
      error(at, cat(key, ".name"), "missing; every step has a name",
            step_name_legal);
      ok = false;
    }
    std::optional<action_kind> action;
    auto action_key = cat(key, ".action");
    auto action_legal = join(action_names);
    const entry* action_entry = f.find("action");
    if (action_entry) {
      if (auto x = scalar(*action_entry, action_key, action_legal)) {
        action = parse_action_kind(*x);
        if (!action) {
          auto msg = cat("unknown action '", *x, "'");
          auto near = suggest(*x, action_names);
          if (near.empty())
            near = suggest(*x, action_names, true);
          if (!near.empty())
            msg += cat("; ", config::did_you_mean(near));
          error(action_entry->value_at(), action_key, std::move(msg),
                action_legal);
        }
      }
    } else {
      error(at, action_key, "missing; every step names its action",
            action_legal);
    }
    if (!action)
      return;
    s.action = *action;
    if (!allowed(*action_entry, action_key, *action, autonomy))
      ok = false;
    if (!read_with(f.find("with"), action_entry->key_at, key, s))
      ok = false;
    if (const auto* u = f.find("undo"); u && !u->value.IsNull()) {
      if (!read_undo(*u, cat(key, ".undo"), autonomy, s))
        ok = false;
    }
    if (ok)
      p.steps.push_back(std::move(s));
  }

  // Whether `action` may run at the playbook's autonomy (unknown autonomy:
  // nothing to check); reports where the action is named when not.
  bool allowed(const entry& action_entry, const std::string& action_key,
               action_kind action, std::optional<int> autonomy) {
    if (!autonomy || allowed_at(action, *autonomy))
      return true;
    error(action_entry.value_at(), action_key,
          cat(to_string(action), " is not allowed at autonomy ",
              std::to_string(*autonomy), " (", autonomy_name(*autonomy), ")"),
          cat("at autonomy ", std::to_string(*autonomy), ": ",
              allowed_actions_text(*autonomy)));
    return false;
  }

  // Reads a step's `undo:`, a map with action and with like a step's own.
  bool read_undo(const entry& e, const std::string& key,
                 std::optional<int> autonomy, playbook_step& s) {
    constexpr std::string_view legal
      = "a map with action and with, what undoes the step";
    if (!e.value.IsMap()) {
      wrong_shape(e, key, "a map", legal);
      return false;
    }
    auto f = keys(e.value, key, undo_keys, "the keys of an undo:",
                  all_with_keys());
    auto action_key = cat(key, ".action");
    auto action_legal = join(action_names);
    const entry* action_entry = f.find("action");
    if (action_entry == nullptr) {
      error(e.value_at(), action_key, "missing; an undo names its action",
            action_legal);
      return false;
    }
    auto x = scalar(*action_entry, action_key, action_legal);
    if (!x)
      return false;
    auto action = parse_action_kind(*x);
    if (!action) {
      error(action_entry->value_at(), action_key,
            cat("unknown action '", *x, "'"), action_legal);
      return false;
    }
    if (!allowed(*action_entry, action_key, *action, autonomy))
      return false;
    playbook_step u;
    u.name = "undo-" + s.name;
    u.line = e.value_at().line;
    u.action = *action;
    if (!read_with(f.find("with"), action_entry->key_at, key, u))
      return false;
    s.undo.push_back(std::move(u));
    return true;
  }

  // Reads the `with:` map of a step whose action is known.
  bool read_with(const entry* with, where action_at, const std::string& step,
                 playbook_step& s) {
    const auto& spec = spec_of(s.action);
    auto name = to_string(s.action);
    auto with_key = cat(step, ".with");
    auto legal = cat("the keys of ", name, "'s with: ", join(spec.names));
    fields f;
    if (with != nullptr && !with->value.IsNull()) {
      if (!with->value.IsMap()) {
        wrong_shape(*with, with_key, "a map", legal);
        return false;
      }
      f = keys(with->value, with_key, spec.names,
               cat("the keys of ", name, "'s with:"));
    }
    // A missing parameter is reported where `with:` is, or at the action
    // when the step has none.
    auto missing_at = with != nullptr ? with->key_at : action_at;
    bool ok = true;
    for (const auto& param : spec.params) {
      auto key = cat(with_key, ".", param.name);
      auto e = f.find(param.name);
      if (e == nullptr) {
        if (param.required) {
          error(missing_at, key, cat("missing; ", name, " needs it"),
                legal_of(param));
          ok = false;
        }
        continue;
      }
      if (!read_param(param, *e, key, s))
        ok = false;
    }
    if (s.action == action_kind::http && !s.with.contains("method")
        && f.find("method") == nullptr) {
      step_value v;
      v.text = "POST";
      s.with.emplace("method", std::move(v));
    }
    if (s.action == action_kind::kubernetes_scale) {
      auto factor = f.find("factor");
      auto replicas = f.find("replicas");
      constexpr std::string_view legal
        = "exactly one of factor (a number > 0) and replicas (an integer >= "
          "0)";
      if (factor && replicas) {
        error(replicas->key_at, cat(with_key, ".replicas"),
              "is given together with factor; say either how much to scale "
              "by or how many replicas to run",
              legal);
        ok = false;
      } else if (!factor && !replicas) {
        error(missing_at, cat(with_key, ".factor"),
              "missing; kubernetes.scale needs factor or replicas", legal);
        ok = false;
      }
    }
    return ok;
  }

  static std::string legal_of(const param_spec& p) {
    switch (p.kind) {
      case param_kind::text:
        return p.required ? cat("a non-empty string; ", template_legal)
                          : cat("a string; ", template_legal);
      case param_kind::argv:
        return "a non-empty list of strings: an absolute program path "
               "without templates, then its arguments";
      case param_kind::env:
        return "a map of NAME: value (NAME: letters, digits and '_', not "
               "starting with a digit)";
      case param_kind::headers:
        return "a map of Header-Name: value";
      case param_kind::method:
        return join(http_methods) + " (default: POST)";
      case param_kind::url:
        return "an http:// or https:// URL";
      case param_kind::factor:
        return "a number greater than 0";
      case param_kind::count:
        return cat("an integer from ", std::to_string(p.min));
      case param_kind::timeout:
        return cat(duration_forms, "; from 1ms to ",
                   format_duration(max_step_timeout));
    }
    return {};
  }

  bool read_param(const param_spec& param, const entry& e,
                  const std::string& key, playbook_step& s) {
    auto legal = legal_of(param);
    auto put_text = [&](std::string x) {
      step_value v;
      v.text = std::move(x);
      s.with.emplace(std::string{param.name}, std::move(v));
    };
    switch (param.kind) {
      case param_kind::text: {
        auto x = text(e, key, legal);
        if (!x)
          return false;
        if (param.required && x->empty()) {
          error(e.value_at(), key, "is empty", legal);
          return false;
        }
        put_text(std::move(*x));
        return true;
      }
      case param_kind::argv:
        return read_argv(e, key, legal, s);
      case param_kind::env:
      case param_kind::headers: {
        auto check = [&](const std::string& k) -> std::optional<std::string> {
          if (param.kind == param_kind::env) {
            bool ok = !(k[0] >= '0' && k[0] <= '9')
                      && std::all_of(k.begin(), k.end(), [](char c) {
                           return (c >= 'a' && c <= 'z')
                                  || (c >= 'A' && c <= 'Z')
                                  || (c >= '0' && c <= '9') || c == '_';
                         });
            if (!ok)
              return cat("'", k, "' is not an environment variable name");
            return std::nullopt;
          }
          if (has_control(k) || k.find_first_of(" \t:") != std::string::npos)
            return cat("'", k, "' is not a header name");
          return std::nullopt;
        };
        auto m = string_map(e, key, legal, true, check);
        if (!m)
          return false;
        if (param.kind == param_kind::headers) {
          // A line break in a header value would start a new header.
          for (const auto& [k, v] : *m)
            if (v.find_first_of("\r\n") != std::string::npos) {
              error(e.value_at(), cat(key, ".", k),
                    "holds a line break; header values are one line", legal);
              return false;
            }
        }
        step_value v;
        v.type = step_value::kind::map;
        v.map = std::move(*m);
        s.with.emplace(std::string{param.name}, std::move(v));
        return true;
      }
      case param_kind::method: {
        auto x = scalar(e, key, legal);
        if (!x)
          return false;
        if (std::find(http_methods.begin(), http_methods.end(), *x)
            == http_methods.end()) {
          auto msg = cat("unknown HTTP method '", *x, "'");
          auto near = suggest(*x, http_methods);
          if (!near.empty())
            msg += cat("; ", config::did_you_mean(near));
          error(e.value_at(), key, std::move(msg), legal);
          return false;
        }
        put_text(std::move(*x));
        return true;
      }
      case param_kind::url: {
        auto x = text(e, key, legal);
        if (!x)
          return false;
        std::string_view u = *x;
        auto rest = u.starts_with("https://")  ? u.substr(8)
                    : u.starts_with("http://") ? u.substr(7)
                                               : std::string_view{};
        if (rest.empty() || has_control(u)) {
          error(e.value_at(), key, cat("'", u, "' is not an http(s) URL"),
                legal);
          return false;
        }
        put_text(std::move(*x));
        return true;
      }
      case param_kind::factor: {
        auto x = scalar(e, key, legal);
        if (!x)
          return false;
        auto r = parse_real(*x);
        if (!r) {
          error(e.value_at(), key, r.error, legal);
          return false;
        }
        if (!(*r > 0)) {
          error(e.value_at(), key, cat(*x, " is not greater than 0"), legal);
          return false;
        }
        step_value v;
        v.type = step_value::kind::number;
        v.number = *r;
        s.with.emplace(std::string{param.name}, std::move(v));
        return true;
      }
      case param_kind::count: {
        auto n = integer(e, key, param.min, std::numeric_limits<int32_t>::max(),
                         legal);
        if (!n)
          return false;
        step_value v;
        v.type = step_value::kind::number;
        v.number = static_cast<double>(*n);
        s.with.emplace(std::string{param.name}, std::move(v));
        return true;
      }
      case param_kind::timeout: {
        auto d = span(e, key, 1ms, max_step_timeout);
        if (!d)
          return false;
        s.timeout = *d;
        return true;
      }
    }
    return false;
  }

  bool read_argv(const entry& e, const std::string& key, std::string_view legal,
                 playbook_step& s) {
    if (!e.value.IsSequence()) {
      wrong_shape(e, key, "a list", legal);
      return false;
    }
    if (e.value.size() == 0) {
      error(e.value_at(), key, "is empty; argv[0] is the program to run",
            legal);
      return false;
    }
    step_value v;
    v.type = step_value::kind::list;
    bool ok = true;
    size_t index = 0;
    for (const auto& item : e.value) {
      auto item_key = cat(key, "[", std::to_string(index), "]");
      auto first = index++ == 0;
      // yaml-cpp gives an empty item the next token's place.
      auto at = item.IsNull() ? e.value_at() : position_of(item);
      if (!item.IsScalar()) {
        error(at, item_key,
              cat("list items must be single values, got ", node_kind(item)),
              legal);
        ok = false;
        continue;
      }
      const auto& x = item.Scalar();
      if (!first) {
        if (templates(x, at, item_key))
          v.items.push_back(x);
        else
          ok = false;
        continue;
      }
      // The program is run directly, never through a shell or a PATH
      // lookup; a templated program would let incident data pick it.
      if (x.find("{{") != std::string::npos) {
        error(at, item_key,
              cat("'", x,
                  "' is templated; the program must be fixed in the playbook"),
              legal);
        ok = false;
      } else if (!x.starts_with("/")) {
        error(at, item_key,
              cat("'", x,
                  "' is not an absolute path; the program is run directly, "
                  "not looked up in PATH"),
              legal);
        ok = false;
      } else {
        v.items.push_back(x);
      }
    }
    if (ok)
      s.with.emplace("argv", std::move(v));
    return ok;
  }

  const std::string& file_;
  std::vector<config_error>& errors_;
};


/// One file read: the playbook (only usable without errors), where its
/// name is (line 0 when it has none) and every problem.
struct parsed_file {
  playbook book;
  where name_at;
  std::vector<config_error> errors;
};

parsed_file parse_file(std::string_view yaml, const std::string& file) {
  parsed_file out;
  out.book.file = file;
  out.book.version = playbook_version(yaml);
  constexpr std::string_view shape
    = "one playbook: a map with name, autonomy, match and steps";
  try {
    auto docs = YAML::LoadAll(std::string{yaml});
    if (docs.empty() || (docs.size() == 1 && docs.front().IsNull())) {
      out.errors.push_back(
        config_error{file, 0, 0, {}, "holds no playbook", std::string{shape}});
    } else if (docs.size() > 1) {
      auto at = position_of(docs[1]);
      out.errors.push_back(
        config_error{file,
                     at.line,
                     at.column,
                     {},
                     cat("holds ", std::to_string(docs.size()),
                         " YAML documents; a playbook file holds one"),
                     "one YAML document (no second ---)"});
    } else if (!docs.front().IsMap()) {
      auto at = position_of(docs.front());
      out.errors.push_back(config_error{
        file,
        at.line,
        at.column,
        {},
        cat("the top level must be a map, got ", node_kind(docs.front())),
        std::string{shape}});
    } else {
      reader{file, out.errors}.read(docs.front(), out.book, out.name_at);
    }
  } catch (const YAML::Exception& e) {
    auto at = position_of(e.mark);
    out.errors.push_back(config_error{
      file,
      at.line,
      at.column,
      {},
      cat("YAML syntax error: ", e.msg, syntax_hint(yaml, at.line)),
      {}});
  } catch (const std::exception& e) {
    out.errors.push_back(
      config_error{file, 0, 0, {}, cat("cannot read: ", e.what()), {}});
  }
  // Errors are found section by section; readers expect them in file order.
  std::stable_sort(
    out.errors.begin(), out.errors.end(),
    [](const config_error& a, const config_error& b) {
      return std::pair{a.line, a.column} < std::pair{b.line, b.column};
    });
  return out;
}

} // namespace

// -- names
// ----------------------------------------------------------------------

std::string_view to_string(action_kind x) {
  auto i = static_cast<size_t>(x);
  return i < action_names.size() ? action_names[i] : "unknown";
}

std::optional<action_kind> parse_action_kind(std::string_view name) {
  for (size_t i = 0; i < action_names.size(); ++i)
    if (action_names[i] == name)
      return static_cast<action_kind>(i);
  return std::nullopt;
}

bool is_restart(action_kind x) {
  // A rollback replaces every pod of the deployment, just like a rollout
  // restart, so it spends the same budget.
  return x == action_kind::kubernetes_restart_pods
         || x == action_kind::kubernetes_rollout_restart
         || x == action_kind::kubernetes_rollback;
}

std::string_view to_string(on_failure_policy x) {
  switch (x) {
    case on_failure_policy::escalate:
      return "escalate";
    case on_failure_policy::rollback:
      return "rollback";
    case on_failure_policy::continue_:
      return "continue";
  }
  return "unknown";
}

// -- templates
// ------------------------------------------------------------------

bool is_template_variable(std::string_view name) {
  if (std::find(fixed_variables.begin(), fixed_variables.end(), name)
      != fixed_variables.end())
    return true;
  constexpr std::string_view prefix = "labels.";
  if (!name.starts_with(prefix) || name.size() == prefix.size())
    return false;
  auto label = name.substr(prefix.size());
  return std::all_of(label.begin(), label.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
           || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
  });
}

caf::expected<std::string>
render_template(std::string_view text,
                const std::map<std::string, std::string>& vars) {
  std::vector<placeholder> found;
  if (auto why = scan(text, found))
    return caf::make_error(errc::invalid_config, std::move(*why));
  std::string out;
  out.reserve(text.size());
  size_t pos = 0;
  for (const auto& p : found) {
    out.append(text.substr(pos, p.begin - pos));
    auto i = vars.find(std::string{p.name});
    if (i == vars.end())
      return caf::make_error(
        errc::invalid_config,
        cat("template variable '", p.name, "' has no value"));
    // Appended as is and never scanned again: a value holding "{{x}}" or
    // shell syntax stays that text.
    out.append(i->second);
    pos = p.end;
  }
  out.append(text.substr(pos));
  return out;
}

// -- loading
// ----------------------------------------------------------------------

std::string playbook_version(std::string_view content) {
  // FNV-1a, 64 bits: stable across builds and platforms, which is all a
  // version needs; it is not a security hash.
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : content) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016llx",
                static_cast<unsigned long long>(h));
  return std::string{buf, 16};
}

std::string playbook_set_result::message() const {
  std::string out;
  for (const auto& e : errors) {
    if (!out.empty())
      out += '\n';
    out += e.to_string();
  }
  return out;
}

playbook_set_result parse_playbook(std::string_view yaml,
                                   const std::string& file) {
  playbook_set_result out;
  auto parsed = parse_file(yaml, file);
  out.errors = std::move(parsed.errors);
  if (out.errors.empty())
    out.playbooks.push_back(std::move(parsed.book));
  return out;
}

playbook_set_result load_playbooks(const std::string& dir) {
  namespace fs = std::filesystem;
  playbook_set_result out;
  constexpr std::string_view legal = "a directory of *.yaml and *.yml files";
  auto fail = [&](std::string why) {
    out.errors.push_back(
      config_error{dir, 0, 0, {}, std::move(why), std::string{legal}});
    return std::move(out);
  };
  try {
    std::error_code ec;
    auto status = fs::status(dir, ec);
    if (!fs::exists(status))
      return fail(ec && ec != std::errc::no_such_file_or_directory
                    ? cat("cannot read the playbook directory: ", ec.message())
                    : std::string{"the playbook directory does not exist"});
    if (!fs::is_directory(status))
      return fail("is not a directory");
    std::vector<std::string> names;
    fs::directory_iterator it{dir, ec};
    if (ec)
      return fail(cat("cannot list the playbook directory: ", ec.message()));
    for (; it != fs::directory_iterator{}; it.increment(ec)) {
      if (ec)
        break;
      auto name = it->path().filename().string();
      auto ext = it->path().extension().string();
      // Like the shell's *.yaml, hidden files (editor leftovers) are not
      // playbooks.
      if (name.starts_with(".") || (ext != ".yaml" && ext != ".yml"))
        continue;
      std::error_code type_ec;
      if (!it->is_regular_file(type_ec))
        continue;
      names.push_back(std::move(name));
    }
    if (ec)
      return fail(cat("cannot list the playbook directory: ", ec.message()));
    std::sort(names.begin(), names.end());
    // The first file (in name order) that uses each playbook name.
    std::map<std::string, std::pair<std::string, where>> owners;
    for (const auto& name : names) {
      auto path = (fs::path{dir} / name).string();
      std::string text;
      if (auto why = config::read_text_file(path, text)) {
        out.errors.push_back(config_error{path, 0, 0, {}, std::move(*why), {}});
        continue;
      }
      auto parsed = parse_file(text, path);
      bool ok = parsed.errors.empty();
      out.errors.insert(out.errors.end(), parsed.errors.begin(),
                        parsed.errors.end());
      // A file with other errors still claims its name, so a clash is
      // reported now rather than after the other errors are fixed.
      if (parsed.name_at.line > 0) {
        auto [i, added]
          = owners.emplace(parsed.book.name, std::pair{path, parsed.name_at});
        if (!added) {
          const auto& [first_file, first_at] = i->second;
          out.errors.push_back(config_error{
            path, parsed.name_at.line, parsed.name_at.column, "name",
            cat("'", parsed.book.name, "' is also the name of the playbook in ",
                first_file, ":", std::to_string(first_at.line)),
            "a name unique across the playbook directory"});
          ok = false;
        }
      }
      if (ok)
        out.playbooks.push_back(std::move(parsed.book));
    }
  } catch (const std::exception& e) {
    out.errors.push_back(
      config_error{dir,
                   0,
                   0,
                   {},
                   cat("cannot read the playbook directory: ", e.what()),
                   std::string{legal}});
  }
  // A set with any error is refused as a whole.
  if (!out.errors.empty())
    out.playbooks.clear();
  return out;
}

// -- matching
// ---------------------------------------------------------------------

bool matches(const playbook& p, std::string_view type, std::string_view service,
             int severity, const std::map<std::string, std::string>& labels) {
  if (severity < p.min_severity)
    return false;
  if (!p.incident_types.empty()
      && std::find(p.incident_types.begin(), p.incident_types.end(), type)
           == p.incident_types.end())
    return false;
  if (!p.services.empty()
      && std::none_of(
        p.services.begin(), p.services.end(),
        [&](const std::string& g) { return glob_match(g, service); }))
    return false;
  for (const auto& [k, v] : p.labels) {
    auto i = labels.find(k);
    if (i == labels.end() || i->second != v)
      return false;
  }
  return true;
}

} // namespace vigil
