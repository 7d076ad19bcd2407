#pragma once

// Incident grouping, pure logic: the symptoms of one fault (anomalies of
// many series and services) folded into one incident, keyed by correlation
// domain (the topology component of the service, or a configured label)
// and time; deduplicated by fingerprint; typed by classification rules;
// auto-resolved when every symptom recovered and stayed quiet. Event time
// only; the correlator actor persists and publishes what this decides.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <caf/expected.hpp>

#include "messages/anomaly.hpp"

namespace vigil::correlator {

/// Grouping and lifecycle knobs.
struct incident_options {
  /// A new symptom joins an open incident of its domain when it comes at
  /// most this long after the incident's newest symptom. Default: 5 min.
  int64_t group_window_ms = 5 * 60'000;
  /// An incident whose symptoms all recovered resolves after this long
  /// with no new symptom. Default: 10 min.
  int64_t resolve_after_ms = 10 * 60'000;
  /// "METRIC_GLOB=TYPE" rules, first match wins; the incident takes the
  /// type its symptoms vote for most. E.g. "*memory*=high_memory_usage".
  std::vector<std::string> classification;
  /// Incidents kept (open and recently closed); the oldest closed go
  /// first. Default: 10000.
  size_t max_incidents = 10'000;
  /// Symptoms (fingerprints) one incident keeps. Default: 5000.
  size_t max_symptoms = 5'000;
};

enum class incident_status : uint8_t { open, acknowledged, mitigated,
                                       resolved };
const char* to_string(incident_status x);

enum class incident_severity : uint8_t { info, warning, critical };
const char* to_string(incident_severity x);

/// One distinct symptom of an incident: a series (or log template) of a
/// service.
struct symptom {
  std::string fingerprint;
  std::string service;
  std::string metric;
  anomaly_kind kind = anomaly_kind::metric;
  int64_t first_ms = 0;
  int64_t last_ms = 0;
  double max_score = 0;
  uint64_t events = 0;
  bool recovered = false;
};

struct incident {
  uint64_t id = 0;
  std::string domain;
  std::string type;
  incident_status status = incident_status::open;
  incident_severity severity = incident_severity::warning;
  int64_t opened_ms = 0;
  int64_t last_evidence_ms = 0;
  int64_t resolved_ms = 0;
  /// Symptoms by fingerprint, in first-seen order.
  std::vector<symptom> symptoms;
  /// Symptoms beyond max_symptoms, counted but not kept.
  uint64_t dropped_symptoms = 0;

  /// The services involved, sorted, each once.
  std::vector<std::string> services() const;
  bool closed() const { return status == incident_status::resolved; }
};

/// What folding one anomaly did.
struct fold_result {
  uint64_t incident = 0;
  /// A new incident was opened for it.
  bool opened = false;
  /// A symptom not seen in the incident before.
  bool new_symptom = false;
};

/// Checks a classification rule ("GLOB=TYPE").
caf::expected<std::pair<std::string, std::string>>
parse_classification(std::string_view text);

class incident_book {
public:
  explicit incident_book(incident_options opts = {});

  /// Folds an anomaly of correlation domain `domain` in. Recovered events
  /// only mark their symptom recovered; they never open an incident.
  /// Returns what happened (incident 0 for a recovery of nothing known).
  fold_result fold(const anomaly_event& ev, const std::string& domain);

  /// Advances event time: resolves incidents whose symptoms all recovered
  /// and that saw nothing for resolve_after. Returns the ids resolved.
  std::vector<uint64_t> tick(int64_t now_ms);

  /// Lifecycle moves by a person: acknowledge, mitigate, resolve. Refused
  /// (errc::malformed naming the move) for an unknown id or a move back.
  caf::expected<void> set_status(uint64_t id, incident_status to,
                                 int64_t now_ms);

  const incident* find(uint64_t id) const;
  /// Incidents, newest first; open ones only when `open_only`.
  std::vector<const incident*> list(bool open_only) const;
  size_t open_count() const;

private:
  incident* open_in(const std::string& domain, int64_t ts_ms);
  void classify(incident& inc) const;
  void rate(incident& inc) const;
  void trim();

  incident_options opts_;
  std::vector<std::pair<std::string, std::string>> rules_;
  std::map<uint64_t, incident> incidents_;
  uint64_t next_id_ = 1;
};

} // namespace vigil::correlator
