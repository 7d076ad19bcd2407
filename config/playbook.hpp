#pragma once

// Playbooks (CONTRACT §7): YAML files in the playbooks directory, read and
// validated as a whole set. A set with any error is refused with every error
// (file:line), so a reload never half-applies. Nothing here throws.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <caf/expected.hpp>

#include "config/loader.hpp"
#include "config/options.hpp"

namespace vigil {

/// The actions a playbook step may name.
enum class action_kind : uint8_t {
  kubernetes_restart_pods,
  kubernetes_scale,
  kubernetes_rollout_restart,
  kubernetes_rollback,
  shell,
  http,
  notify,
};

/// The action's name as written in playbooks ("kubernetes.scale", "shell").
std::string_view to_string(action_kind x);

/// Reads an action name; empty for an unknown one.
std::optional<action_kind> parse_action_kind(std::string_view name);

/// Whether the action restarts something (counted against
/// remediation.limits.max_restarts_per_hour).
bool is_restart(action_kind x);

/// What a playbook does when verification fails.
enum class on_failure_policy : uint8_t { escalate, rollback, continue_ };

/// "escalate", "rollback" or "continue".
std::string_view to_string(on_failure_policy x);

/// A parameter value of a step: a string (possibly templated), a number, a
/// boolean, a list of strings (argv) or a string map (headers, labels).
/// Strings keep their `{{var}}` templates; they are filled in per run.
struct step_value {
  enum class kind : uint8_t { string, number, boolean, list, map };
  kind type = kind::string;
  std::string text;                        // string
  double number = 0;                       // number
  bool flag = false;                       // boolean
  std::vector<std::string> items;          // list
  std::map<std::string, std::string> map;  // map
  friend bool operator==(const step_value&, const step_value&) = default;
};

/// One step of a playbook.
struct playbook_step {
  std::string name;
  action_kind action = action_kind::notify;
  /// The `with:` parameters, by key. `timeout` is not kept here (it is
  /// `timeout` below); an http step without `method` gets "POST".
  std::map<std::string, step_value> with;
  /// How long the step may run; from `with.timeout`, else the action default
  /// (remediation.action_timeout).
  std::optional<duration> timeout;
  /// 1-based line of the step in its file (for messages).
  int line = 0;
  /// What undoes this step (`undo: {action, with}`), run in reverse order
  /// for the steps that succeeded when `on_failure: rollback`; empty when
  /// the step declares none. At most one.
  std::vector<playbook_step> undo;
  friend bool operator==(const playbook_step&, const playbook_step&) = default;
};

/// A playbook as loaded.
struct playbook {
  std::string name;
  std::string description;
  /// The file it came from and the content hash of that file (hex, 16
  /// chars): the playbook's version.
  std::string file;
  std::string version;
  // -- match --
  /// Incident types it applies to; empty = any.
  std::vector<std::string> incident_types;
  /// Root-cause service globs (`*`, `?`); empty = any.
  std::vector<std::string> services;
  /// Incident labels that must be equal (e.g. team: payments).
  std::map<std::string, std::string> labels;
  /// Lowest incident severity it applies to (1..5). Default: 1.
  int min_severity = 1;
  // -- safety --
  /// 1 notify only, 2 diagnose, 3 safe actions, 4 actions needing approval.
  int autonomy = 1;
  /// Forced true for autonomy 4.
  bool requires_approval = false;
  /// Per-playbook dry run (the global remediation.dry_run also applies).
  bool dry_run = false;
  /// Runs per root-cause service per hour; 0 = no own limit.
  uint32_t max_runs_per_hour = 0;
  /// Time after a run during which the playbook does not run again for the
  /// same service.
  duration cooldown{0};
  std::vector<playbook_step> steps;
  /// Recovery must show within this long after the last step. Default: 5m.
  duration verify_within{300'000};
  on_failure_policy on_failure = on_failure_policy::escalate;
  friend bool operator==(const playbook&, const playbook&) = default;
};

/// The template variables a step may use: {{service}}, {{incident.id}},
/// {{incident.type}}, {{incident.severity}}, {{incident.title}},
/// {{namespace}}, {{labels.KEY}} (any KEY).
bool is_template_variable(std::string_view name);

/// Fills every `{{var}}` of `text` from `vars`; unknown variables are
/// errors naming the variable. The result is one value: a template never
/// splits into several argv elements and is never re-parsed.
caf::expected<std::string>
render_template(std::string_view text,
                const std::map<std::string, std::string>& vars);

/// The version of a playbook file with `content`: its FNV-1a 64 hash as 16
/// lower-case hex digits.
std::string playbook_version(std::string_view content);

/// A set of playbooks read from one directory, or every error found.
struct [[nodiscard]] playbook_set_result {
  std::vector<playbook> playbooks;
  /// Every problem, each with file and line; empty on success.
  std::vector<config_error> errors;
  bool ok() const noexcept { return errors.empty(); }
  /// The errors rendered one per line.
  std::string message() const;
};

/// Reads one playbook from YAML text; `file` names it in errors.
playbook_set_result parse_playbook(std::string_view yaml,
                                   const std::string& file);

/// Reads every `*.yaml` / `*.yml` file of `dir` (not recursive), sorted by
/// name, checks each and the set (unique names). A missing directory is an
/// error; an empty one is an empty set.
playbook_set_result load_playbooks(const std::string& dir);

/// Whether `p` applies to an incident of `type`, root cause `service`,
/// `severity` and `labels`.
bool matches(const playbook& p, std::string_view type, std::string_view service,
             int severity, const std::map<std::string, std::string>& labels);

} // namespace vigil
