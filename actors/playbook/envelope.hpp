#pragma once

// The safety envelope (ARCHITECTURE principle 6): every limit on automatic
// action, checked in this one place right before a step is handed to an
// executor. Pure logic: the engine passes the wall clock in, so tests drive
// time. Not thread-safe; it lives inside the playbook engine actor. (The
// namespace is plural because `vigil::playbook` is the loaded playbook.)

#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "config/options.hpp"
#include "config/playbook.hpp"
#include "config/rules.hpp"

namespace vigil::playbooks {

/// What the envelope says about a run or a step.
enum class verdict_kind : uint8_t {
  /// Hand it to an executor now.
  run,
  /// Record it as if run, run nothing (global or playbook dry run).
  dry_run,
  /// A human must approve it first.
  needs_approval,
  /// Too many actions running; try again when one ends.
  wait,
  /// A limit, the kill switch or the autonomy level refuses it.
  refused_limit,
};

/// "run", "dry_run", "needs_approval", "wait" or "refused_limit".
std::string_view to_string(verdict_kind x);

/// A verdict and the reason an operator reads in the audit log.
struct verdict {
  verdict_kind kind = verdict_kind::run;
  std::string reason;
};

/// One step about to run, with what the envelope needs to judge it.
struct step_request {
  const playbook* book = nullptr;
  const playbook_step* step = nullptr;
  /// The root-cause service the run acts on.
  std::string service;
  std::string incident_type;
  /// For kubernetes.scale: the factor the step multiplies replicas by
  /// (replicas / current when the step names an absolute count); 0 when
  /// unknown.
  double scale_factor = 0;
  /// A scale step names an absolute replica count: the executor checks it
  /// against the live count and max_scale_factor (the envelope cannot
  /// know the current count).
  bool absolute_replicas = false;
  /// A human approved this step.
  bool approved = false;
};

/// The autonomy level an action needs: notify 1; shell and http 2
/// (diagnose); kubernetes actions 3.
int required_autonomy(action_kind x);

/// The envelope's counters and the rules they are checked against.
class safety_envelope {
public:
  explicit safety_envelope(remediation_options opts);

  /// Replaces the options (config reload); counters stay.
  void configure(remediation_options opts);

  /// Turns the kill switch on or off at run time.
  void set_kill_switch(bool on) { kill_switch_ = on; }

  /// Whether every action is refused.
  bool kill_switch() const { return kill_switch_; }

  /// The autonomy level `book` runs at for `service`: its own, capped by
  /// remediation.max_autonomy and the first matching autonomy cap.
  int effective_autonomy(const playbook& book,
                         const std::string& service) const;

  /// Judges starting a run of `book` for `service` at `now_ms`: the
  /// playbook's max_runs_per_hour and cooldown for that service. Counts
  /// nothing; call `run_started` when the run goes ahead.
  verdict admit_run(const playbook& book, const std::string& service,
                    int64_t now_ms) const;

  /// Records the start of a run (for max_runs_per_hour and cooldown).
  void run_started(const playbook& book, const std::string& service,
                   int64_t now_ms);

  /// Judges one step: kill switch, autonomy, scale factor, global restart
  /// budget, dry run, approval, concurrency — in that order, so a step
  /// that would be refused is never put to a human and a dry run asks
  /// nobody. Counts nothing; call `step_started` when it is handed to an
  /// executor, and judge again after an approval.
  verdict admit_step(const step_request& req, int64_t now_ms) const;

  /// Records a step handed to an executor (restart budget, concurrency).
  void step_started(const step_request& req, int64_t now_ms);

  /// Records the end of a step `step_started` counted.
  void step_finished();

  /// Counts a run and a step started before this process (read back from
  /// the audit log at start), so a restart does not reset the hourly
  /// limits and cooldowns. Nothing is counted as running.
  void remember_run(const std::string& playbook, const std::string& service,
                    int64_t at_ms);
  void remember_step(action_kind action, int64_t at_ms);

  /// Actions running now.
  uint32_t running() const { return running_; }

  /// Restarting actions started in the hour before `now_ms`.
  uint32_t restarts_in_last_hour(int64_t now_ms) const;

private:
  static void prune(std::deque<int64_t>& xs, int64_t now_ms);
  bool needs_approval(const step_request& req) const;

  remediation_options opts_;
  std::vector<autonomy_cap_rule> caps_;
  bool kill_switch_ = false;
  uint32_t running_ = 0;
  // Start times (ms) of restarting actions, oldest first, last hour only.
  mutable std::deque<int64_t> restarts_;
  // (playbook, service) -> start times of its runs in the last hour.
  mutable std::map<std::pair<std::string, std::string>, std::deque<int64_t>>
    runs_;
};

} // namespace vigil::playbooks
