#pragma once

// Incidents as they travel between the correlator, the RCA actor and the
// front door: the ranking request and answer, the incident object of
// CONTRACT §3, the commands people give (acknowledge, resolve) and
// silences.

#include <cstdint>
#include <string>
#include <vector>

#include <caf/meta/type_name.hpp>

#include "messages/records.hpp"
#include "messages/remediation.hpp"
#include "messages/type_ids.hpp"

namespace vigil {

/// A stretch of time a symptom was anomalous.
struct anomaly_span {
  int64_t from_ms = 0;
  /// When it recovered; 0 while still anomalous (or not known).
  int64_t until_ms = 0;
  /// A symptom of request volume (traffic), not of failing: what its
  /// callers send it, so it explains none of them.
  bool traffic = false;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, anomaly_span& x) {
  return f(caf::meta::type_name("vigil.anomaly_span"), x.from_ms, x.until_ms,
           x.traffic);
}

/// What the detectors said about one anomalous service of an incident.
struct rca_evidence {
  std::string service;
  /// Event time of its first anomaly in the incident (ms since the epoch).
  int64_t onset_ms = 0;
  double max_score = 0;
  uint64_t anomaly_count = 0;
  /// Metric names and anomaly kinds, for the evidence text.
  std::vector<std::string> kinds;
  /// Largest detector deviation (standard deviations).
  double max_deviation = 0;
  /// Onset of its first anomaly that persisted rather than blipped
  /// (0 = only blips so far).
  int64_t sustained_onset_ms = 0;
  /// Onset of its current anomalous stretch while any of its anomalies is
  /// still going on (not recovered); 0 when all recovered.
  int64_t active_since_ms = 0;
  /// Time spent anomalous up to its latest event (the longest of its
  /// symptoms: stretches that ended, plus the current one).
  int64_t anomalous_ms = 0;
  /// When it was anomalous: each symptom's first onset up to its latest
  /// recovery (at most `max_spans`; empty = not known).
  std::vector<anomaly_span> spans{};
  static constexpr size_t max_spans = 32;
};

/// Whether evidence shows its service anomalous at `t_ms`, give or take
/// `slack_ms` (true when its spans are not known).
bool anomalous_at(const rca_evidence& e, int64_t t_ms, int64_t slack_ms);

/// The same, counting only symptoms of failing (not of traffic): whether
/// it can explain a caller that went bad at `t_ms`.
bool failing_at(const rca_evidence& e, int64_t t_ms, int64_t slack_ms);

/// Folds more evidence of the same service into `into`: earliest onsets
/// (0 = unknown), strongest score and deviation, longest time anomalous,
/// counts added, kinds joined (at most 16), spans joined (at most
/// `max_spans`, the last one widened over the rest).
void fold_into(rca_evidence& into, const rca_evidence& more);

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, rca_evidence& x) {
  return f(caf::meta::type_name("vigil.rca_evidence"), x.service, x.onset_ms,
           x.max_score, x.anomaly_count, x.kinds, x.max_deviation,
           x.sustained_onset_ms, x.active_since_ms, x.anomalous_ms, x.spans);
}

/// Asks the RCA actor to rank the anomalous services of one incident.
struct rca_request {
  uint64_t incident = 0;
  std::vector<rca_evidence> anomalous;
  /// Change events of the incident's services (and neighbours).
  std::vector<change_event> changes;
  int64_t window_start_ms = 0;
  int64_t window_end_ms = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, rca_request& x) {
  return f(caf::meta::type_name("vigil.rca_request"), x.incident,
           x.anomalous, x.changes, x.window_start_ms, x.window_end_ms);
}

/// One root-cause candidate.
struct rca_candidate {
  std::string service;
  /// In [0, 1].
  double score = 0;
  /// Reasons, strongest first.
  std::vector<std::string> evidence;
  /// Anomalous services upstream of it: the callers it plausibly dragged
  /// down.
  uint64_t blast_radius = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, rca_candidate& x) {
  return f(caf::meta::type_name("vigil.rca_candidate"), x.service, x.score,
           x.evidence, x.blast_radius);
}

/// The ranking of one incident.
struct rca_result {
  uint64_t incident = 0;
  /// Best first.
  std::vector<rca_candidate> candidates;
  /// "unknown", "low", "medium" or "high".
  std::string confidence_level = "unknown";
  /// In [0, 1].
  double confidence = 0;
  std::string confidence_reason;
  /// Event time the ranking was made at (newest evidence it saw).
  int64_t ranked_at_ms = 0;
  /// The simple rule's answer ("nearest anomalous ancestor"), for
  /// comparison.
  std::string baseline;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, rca_result& x) {
  return f(caf::meta::type_name("vigil.rca_result"), x.incident,
           x.candidates, x.confidence_level, x.confidence,
           x.confidence_reason, x.ranked_at_ms, x.baseline);
}

/// Service -> correlation domain (the topology component it belongs to),
/// pushed by the RCA actor whenever the components change.
struct domain_map {
  uint64_t version = 0;
  /// key = service, value = domain; services absent share the domain of
  /// unconnected services (see correlator::unconnected_domain).
  std::vector<attribute> entries;
  /// The graph's edges, key = caller, value = callee (for adjacency).
  std::vector<attribute> links;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, domain_map& x) {
  return f(caf::meta::type_name("vigil.domain_map"), x.version, x.entries,
           x.links);
}

/// One line of an incident's timeline.
struct timeline_entry {
  int64_t ts_ms = 0;
  /// "metric_anomaly", "log_event", "alert", "change", "status",
  /// "root_cause" (later: "action", "notification").
  std::string kind;
  std::string service;
  std::string text;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, timeline_entry& x) {
  return f(caf::meta::type_name("vigil.timeline_entry"), x.ts_ms, x.kind,
           x.service, x.text);
}

/// One distinct symptom of an incident, as shown to people.
struct incident_symptom {
  std::string service;
  std::string metric;
  std::string series;
  /// An anomaly_kind name, or "alert".
  std::string kind;
  int64_t first_ms = 0;
  int64_t last_ms = 0;
  double max_score = 0;
  uint64_t events = 0;
  bool recovered = false;
  /// Detectors that voted on the strongest event.
  std::vector<std::string> detectors;
  /// Largest |deviation| a detector measured (standard deviations).
  double max_deviation = 0;
  /// Onset of its first stretch that persisted; 0 while only blips.
  int64_t sustained_since_ms = 0;
  /// Onset of the current anomalous stretch; 0 when recovered.
  int64_t active_since_ms = 0;
  /// Time anomalous in its stretches that ended.
  int64_t ended_ms = 0;
  /// When it recovered; 0 while anomalous (or not known).
  int64_t recovered_ms = 0;
  /// Onset of its latest stretch, recovered or not.
  int64_t latest_onset_ms = 0;
  /// End of its stretches before the latest; 0 while it has had one.
  int64_t earlier_until_ms = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, incident_symptom& x) {
  return f(caf::meta::type_name("vigil.incident_symptom"), x.service,
           x.metric, x.series, x.kind, x.first_ms, x.last_ms, x.max_score,
           x.events, x.recovered, x.detectors, x.max_deviation,
           x.sustained_since_ms, x.active_since_ms, x.ended_ms,
           x.recovered_ms, x.latest_onset_ms, x.earlier_until_ms);
}

/// The incident object of CONTRACT §3.
struct incident_view {
  uint64_t id = 0;
  /// "open", "acknowledged", "mitigated", "resolved".
  std::string status;
  /// 1 (info) .. 5 (critical).
  uint32_t severity = 3;
  std::string type;
  std::string title;
  std::string domain;
  std::vector<std::string> services;
  /// When its first symptom began.
  int64_t opened_ms = 0;
  /// Event time Vigil opened it; 0 = not known.
  int64_t detected_ms = 0;
  int64_t updated_ms = 0;
  /// 0 while not resolved.
  int64_t resolved_ms = 0;
  /// Set when this incident was folded into another one.
  uint64_t merged_into = 0;
  rca_result root_cause;
  std::vector<incident_symptom> symptoms;
  uint64_t dropped_symptoms = 0;
  std::vector<timeline_entry> timeline;
  uint64_t dropped_timeline = 0;
  std::string summary;
  /// Playbook steps run (or refused) for it, oldest first.
  std::vector<action_view> actions;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, incident_view& x) {
  return f(caf::meta::type_name("vigil.incident_view"), x.id, x.status,
           x.severity, x.type, x.title, x.domain, x.services, x.opened_ms,
           x.detected_ms, x.updated_ms, x.resolved_ms, x.merged_into, x.root_cause,
           x.symptoms, x.dropped_symptoms, x.timeline, x.dropped_timeline,
           x.summary, x.actions);
}

/// Which incidents to list.
struct incident_query {
  /// Not resolved only.
  bool open_only = true;
  /// At most this many, newest first.
  uint32_t limit = 100;
  /// Leave out symptoms and timeline (list views).
  bool brief = true;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, incident_query& x) {
  return f(caf::meta::type_name("vigil.incident_query"), x.open_only,
           x.limit, x.brief);
}

/// A person moves an incident forward.
struct incident_command {
  uint64_t id = 0;
  /// "acknowledged", "mitigated" or "resolved".
  std::string to;
  std::string by;
  std::string comment;
  /// Wall clock of the request, ms since the epoch; the partition uses its
  /// event time when that is later (0 = event time).
  int64_t now_ms = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, incident_command& x) {
  return f(caf::meta::type_name("vigil.incident_command"), x.id, x.to, x.by,
           x.comment, x.now_ms);
}

/// A silence or a recurring maintenance window, as the API shows it.
struct silence_spec {
  /// Assigned by the correlator when empty.
  std::string id;
  /// `name=value`, `name!=value`, `name=~regex`, `name!~regex`.
  std::vector<std::string> matchers;
  /// One-off silences: [starts, ends), ms since the epoch.
  int64_t starts_ms = 0;
  int64_t ends_ms = 0;
  /// Recurring windows: weekdays bit 0 = Monday .. bit 6 = Sunday (UTC);
  /// 0 for a one-off silence.
  uint32_t weekdays = 0;
  uint32_t start_minute = 0;
  uint32_t duration_minutes = 0;
  std::string author;
  std::string comment;
  /// Where it came from: "api" or "config".
  std::string origin = "api";
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, silence_spec& x) {
  return f(caf::meta::type_name("vigil.silence_spec"), x.id, x.matchers,
           x.starts_ms, x.ends_ms, x.weekdays, x.start_minute,
           x.duration_minutes, x.author, x.comment, x.origin);
}

} // namespace vigil
