#pragma once

// Remediation as it travels between the playbook engine, the correlator
// (which keeps each incident's actions) and the front door: action states,
// the loaded playbooks and the outcome of a reload.

#include <cstdint>
#include <string>
#include <vector>

#include <caf/meta/type_name.hpp>

#include "messages/records.hpp"
#include "messages/type_ids.hpp"

namespace vigil {

/// One step of one playbook run against one incident (CONTRACT §3
/// `actions`).
struct action_view {
  /// Unique per node; shown as ACT-000042.
  uint64_t id = 0;
  uint64_t incident = 0;
  std::string playbook;
  std::string playbook_version;
  std::string step;
  /// kubernetes.scale, shell, ...
  std::string action;
  /// The root-cause service it acts on.
  std::string service;
  /// pending_approval, running, succeeded, failed, dry_run, denied,
  /// refused_limit, expired.
  std::string status;
  /// Why it has that status (the envelope's reason, an error, an
  /// approver's comment).
  std::string reason;
  /// Wall clock, ms since the epoch; 0 when not started / not ended.
  int64_t started_ms = 0;
  int64_t ended_ms = 0;
  /// The beginning of the action's output (shell), for people.
  std::string output;
  /// Who decided: "vigil" or the approver.
  std::string by;
  /// The control epoch the step was started in (0 when it never ran): an
  /// executor refuses it once the node left that epoch, and Kubernetes
  /// objects changed by a newer epoch are not touched by an older one.
  uint64_t epoch = 0;
  /// Identifies this step to whatever it calls, the same over retries:
  /// the Idempotency-Key header of http steps, VIGIL_IDEMPOTENCY_KEY of
  /// shell steps, the vigil.dev/action annotation of Kubernetes objects.
  std::string idempotency_key;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, action_view& x) {
  return f(caf::meta::type_name("vigil.action_view"), x.id, x.incident,
           x.playbook, x.playbook_version, x.step, x.action, x.service,
           x.status, x.reason, x.started_ms, x.ended_ms, x.output, x.by,
           x.epoch, x.idempotency_key);
}

/// A step with every template filled in, handed to one executor.
struct action_job {
  /// The step as the engine recorded it (status "running").
  action_view action;
  /// shell: the program and its arguments, each one argv element.
  std::vector<std::string> argv;
  /// shell: extra environment; http: headers; kubernetes: namespace,
  /// deployment, selector, replicas, ... (rendered text).
  std::vector<attribute> params;
  /// The child's environment variables taken from vigild (allow-list).
  std::vector<std::string> env_allow;
  /// http: hosts it may call.
  std::vector<std::string> allow_hosts;
  int64_t timeout_ms = 60'000;
  /// Retries of a failed (not timed-out) attempt, and the first delay.
  uint32_t retries = 0;
  int64_t backoff_ms = 1'000;
  /// kubernetes.*: the API server (empty = in-cluster), token file, CA
  /// bundle, and the envelope's scale limit (checked against the live
  /// replica count).
  std::string kube_server;
  std::string kube_token_file;
  std::string kube_ca_file;
  double max_scale_factor = 1;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, action_job& x) {
  return f(caf::meta::type_name("vigil.action_job"), x.action, x.argv,
           x.params, x.env_allow, x.allow_hosts, x.timeout_ms, x.retries,
           x.backoff_ms, x.kube_server, x.kube_token_file, x.kube_ca_file,
           x.max_scale_factor);
}

/// A person approves or denies a pending step.
struct approval_decision {
  uint64_t action = 0;
  bool approve = false;
  /// Who decides; must not be the requester.
  std::string by;
  std::string comment;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, approval_decision& x) {
  return f(caf::meta::type_name("vigil.approval_decision"), x.action,
           x.approve, x.by, x.comment);
}

/// An incident event for the notifiers (engine -> notifier).
struct incident_notice {
  /// opened, escalated, action, acknowledged, resolved.
  std::string event;
  uint64_t incident = 0;
  uint32_t severity = 3;
  std::string status;
  std::string type;
  std::string title;
  /// The root-cause service; may be empty.
  std::string service;
  std::string text;
  /// Wall clock, ms since the epoch.
  int64_t ts_ms = 0;
  /// Names what the notice is about (e.g. "action/12/succeeded"): the
  /// notifier stores a notice once per key, so one said again after a
  /// restart or a failover is not delivered twice. Empty: always stored.
  std::string key;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, incident_notice& x) {
  return f(caf::meta::type_name("vigil.incident_notice"), x.event,
           x.incident, x.severity, x.status, x.type, x.title, x.service,
           x.text, x.ts_ms, x.key);
}

/// A line for an incident's timeline from the engine (escalations,
/// verification), kind "action" or "notification".
struct incident_note {
  uint64_t incident = 0;
  /// Event time; 0 = the owning partition's event time now.
  int64_t ts_ms = 0;
  std::string kind;
  std::string service;
  std::string text;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, incident_note& x) {
  return f(caf::meta::type_name("vigil.incident_note"), x.incident, x.ts_ms,
           x.kind, x.service, x.text);
}

/// A loaded playbook, as listed by GET /api/v1/playbooks.
struct playbook_info {
  std::string name;
  std::string description;
  std::string file;
  std::string version;
  uint32_t autonomy = 1;
  bool requires_approval = false;
  bool dry_run = false;
  std::vector<std::string> incident_types;
  std::vector<std::string> services;
  uint32_t min_severity = 1;
  std::vector<std::string> steps;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, playbook_info& x) {
  return f(caf::meta::type_name("vigil.playbook_info"), x.name,
           x.description, x.file, x.version, x.autonomy, x.requires_approval,
           x.dry_run, x.incident_types, x.services, x.min_severity, x.steps);
}

/// The outcome of a playbook reload: what changed, or every error (the
/// old set stays loaded).
struct reload_report {
  bool ok = false;
  std::vector<std::string> added;
  std::vector<std::string> changed;
  std::vector<std::string> removed;
  uint32_t unchanged = 0;
  /// "FILE:LINE:COL: KEY: MESSAGE", one per error.
  std::vector<std::string> errors;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, reload_report& x) {
  return f(caf::meta::type_name("vigil.reload_report"), x.ok, x.added,
           x.changed, x.removed, x.unchanged, x.errors);
}

} // namespace vigil
