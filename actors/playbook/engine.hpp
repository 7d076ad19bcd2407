#pragma once

// The playbook engine actor: one per node. It watches the incidents the
// correlator stores, matches each ranked one to a playbook, runs the steps
// through the safety envelope (envelope.hpp), writes the audit log before
// and after every action, hands steps to executors (spawned through a
// factory the node wires in, so this folder never includes the executor),
// verifies recovery, and escalates to a human when there is no playbook,
// a limit refuses, an approval is needed or a fix fails.

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <caf/atom.hpp>

#include "actors/playbook/approvals.hpp"
#include "actors/playbook/envelope.hpp"
#include "config/options.hpp"
#include "config/playbook.hpp"
#include "messages/interfaces.hpp"
#include "runtime/metrics/registry.hpp"
#include "runtime/storage/audit_log.hpp"
#include "runtime/storage/store.hpp"

namespace vigil::playbooks {

/// Starts one executor for `job`; it must answer the engine with
/// `atom::done, action_view` (the final state) and then quit.
using executor_factory
  = std::function<caf::actor(caf::local_actor* self, action_job job,
                             playbook_actor engine)>;

/// Everything the engine needs, passed by value at spawn.
struct engine_config {
  remediation_options remediation;
  /// The playbooks directory (reloads read it again).
  std::string dir;
  /// The set loaded at start (the node refuses to start on a bad set).
  std::vector<playbook> initial;
  std::shared_ptr<storage::store> store;
  std::shared_ptr<storage::audit_log> audit;
  std::shared_ptr<metrics::registry> metrics;
  /// Where the correlator is registered (actions, notes, status moves).
  caf::atom_value correlator_key = caf::atom("");
  /// Where the notifier is registered; empty = no notifications.
  caf::atom_value notifier_key = caf::atom("");
  /// Where the summarizer is registered; empty = template summaries only.
  caf::atom_value summarizer_key = caf::atom("");
  executor_factory spawn_executor;
  /// Empty when this node may act now, else why not (the cluster's fence:
  /// only the control node holding its lease acts); unset = always.
  std::function<std::string()> fence;
  /// Whether this node is still the control node (a lapsed lease then
  /// means wait, not give up); unset = never waits on the fence.
  std::function<bool()> in_charge;
  /// Waits until another member holds everything written so far (the
  /// audit record of the step about to run); false when none confirmed in
  /// time. Unset = nothing to wait for.
  std::function<bool()> held;
  /// The node's control epoch, carried by every step that runs; unset = 0.
  std::function<uint64_t()> epoch;
  /// Housekeeping period (wall clock): approvals, verification deadlines,
  /// waiting steps, the directory watch. Default: 1s.
  duration tick{1000};
};

/// One playbook run against one incident.
struct run_state {
  uint64_t incident = 0;
  /// The playbook as it was when the run started (reloads do not touch it).
  playbook book;
  std::string service;
  std::string incident_type;
  size_t next_step = 0;
  /// The action of the step in flight (0 when none).
  uint64_t current = 0;
  /// Waiting for a free executor slot.
  bool waiting = false;
  /// Every step so far was a dry run.
  bool only_dry = true;
  /// The action a person approved for step `next_step` (0 when none).
  uint64_t approved_action = 0;
  std::string approved_by;
  /// Wall clock by which recovery must show; 0 until the steps are done.
  int64_t verify_deadline_ms = 0;
  bool finished = false;
  /// Indices of the steps that succeeded, in order (for a rollback).
  std::vector<size_t> succeeded;
  /// The run is undoing its steps (on_failure: rollback): `book.steps`
  /// now holds the undo steps, and `not_undone` names succeeded steps
  /// that declare no undo.
  bool rolling_back = false;
  std::string rollback_cause;
  std::vector<std::string> not_undone;
};

/// What the engine owns (one node): the playbook set, the envelope, the
/// runs in flight and recent actions. Durable parts live in the store's
/// audit and approvals columns.
struct engine_state {
  engine_config cfg;
  std::vector<playbook> books;
  std::unique_ptr<safety_envelope> envelope;
  /// By incident id.
  std::map<uint64_t, run_state> runs;
  /// Incidents already handled (ran, refused or escalated): never twice.
  std::set<uint64_t> handled;
  /// Incidents escalated for a low-confidence root cause (said once).
  std::set<uint64_t> told_uncertain;
  /// Incidents escalated because no playbook matched, with the cause
  /// (type and service) they were escalated for.
  std::map<uint64_t, std::string> told_no_match;
  /// Newest incident views, for verification.
  std::map<uint64_t, incident_view> incidents;
  /// What receivers were told of each unresolved incident: its last
  /// announced status and the facts notifications carry.
  std::map<uint64_t, incident_notice> announced;
  /// Notices waiting for a notifier to be up.
  std::vector<incident_notice> unsent;
  /// Notices of the audit log's last hour, said again once at start.
  std::vector<incident_notice> renotify;
  uint32_t renotify_waits = 0;
  /// Recent actions, newest last (bounded), and the running ones by id.
  std::deque<action_view> recent;
  std::map<uint64_t, action_view> in_flight;
  /// Executors running, to fail their step if one dies silently.
  std::map<caf::actor_addr, uint64_t> executors;
  /// Pending approvals (each also in the approvals column).
  approval_book approvals;
  uint64_t next_action = 1;
  int watch_fd = -1;
  int64_t dir_changed_ms = 0;
  metrics::family<metrics::counter>* actions_total = nullptr;
  metrics::family<metrics::counter>* runs_total = nullptr;
  metrics::family<metrics::counter>* escalations = nullptr;
  static inline const char* name = "vigil.playbook";
  engine_state() = default;
  engine_state(const engine_state&) = delete;
  engine_state& operator=(const engine_state&) = delete;
  ~engine_state();
};

/// The engine's behaviour.
playbook_actor::behavior_type
engine(playbook_actor::stateful_pointer<engine_state> self, engine_config cfg);

/// The listing form of a playbook.
playbook_info info_of(const playbook& p);

/// Compares two sets by name and version.
reload_report diff_sets(const std::vector<playbook>& before,
                        const std::vector<playbook>& after);

/// The template variables of a run: service, incident.*, labels.KEY for
/// the incident's labels, and namespace (its namespace label, else
/// "default").
/// The labels an incident carries for `service`: every label (name and
/// value) that all of that service's symptoms' series share, e.g.
/// namespace, team or cluster (a pod label differs and drops out). What
/// playbook `match.labels` and `{{labels.KEY}}` see.
std::map<std::string, std::string> incident_labels(const incident_view& inc,
                                                   const std::string& service);

std::map<std::string, std::string> run_variables(const incident_view& inc,
                                                 const std::string& service);

} // namespace vigil::playbooks
