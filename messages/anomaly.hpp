#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/meta/type_name.hpp>

#include "messages/type_ids.hpp"

namespace vigil {

/// Where a series stands in an anomalous stretch.
enum class anomaly_phase : uint8_t {
  /// First sample the ensemble judged anomalous after a normal stretch.
  onset = 1,
  /// Still anomalous; re-announced at most once per re-emit interval.
  ongoing = 2,
  /// Back to normal for the configured number of samples.
  recovered = 3,
};

/// Returns "onset", "ongoing" or "recovered".
const char* to_string(anomaly_phase x);

/// What an anomaly is about.
enum class anomaly_kind : uint8_t {
  /// A metric series left its expected band.
  metric = 0,
  /// A log template appeared for the first time after the service's warm-up.
  log_new_template = 1,
  /// Error-severity log lines (of one template, or of the whole service)
  /// spiked over their baseline.
  log_error_spike = 2,
  /// A series trends towards its limit and is forecast to reach it within
  /// the precursor horizon.
  predictive = 3,
  /// An external alert (Alertmanager) folded in by the correlator; never
  /// emitted by a detector.
  alert = 4,
};

/// Returns "metric", "log_new_template", "log_error_spike", "predictive"
/// or "alert".
const char* to_string(anomaly_kind x);

/// One detector's opinion on one sample.
struct detector_vote {
  /// The detector's name ("zscore", "ewma", "cusum", ...).
  std::string detector;
  /// Calibrated score in [0, 1].
  double score = 0;
  /// Deviation from the expectation in the detector's own unit (sigmas).
  double deviation = 0;
  /// Whether this detector voted "anomalous".
  bool vote = false;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, detector_vote& x) {
  return f(caf::meta::type_name("vigil.detector_vote"), x.detector, x.score,
           x.deviation, x.vote);
}

/// An anomaly on one series, as emitted by the service's detector.
struct anomaly_event {
  /// Node-local sequence number assigned by the anomaly sink; 0 until then.
  uint64_t id = 0;
  std::string service;
  std::string metric;
  /// The full series text, `metric{label="value",...}`.
  std::string series;
  anomaly_phase phase = anomaly_phase::onset;
  /// Event time of the sample that triggered this event (ms since epoch).
  int64_t ts_ms = 0;
  /// Event time the anomalous stretch began.
  int64_t onset_ts_ms = 0;
  /// The value the detectors judged (the rate, for counters).
  double value = 0;
  /// Ensemble score in [0, 1].
  double score = 0;
  /// The band the ensemble expected the value in.
  double expected_lo = 0;
  double expected_hi = 0;
  /// Every warm detector's opinion; `vote` marks those that agreed.
  std::vector<detector_vote> votes;
  /// Wall clock (ns) the sample's request arrived and the anomaly was found;
  /// for latency metrics only.
  int64_t received_ns = 0;
  int64_t detected_ns = 0;
  /// Metric or log anomaly; the fields below are set for log anomalies.
  anomaly_kind kind = anomaly_kind::metric;
  /// The log template's id (16 hex digits); empty for the service's
  /// error total and for metric anomalies.
  std::string template_id;
  /// The log template's text, variables shown as `<*>`.
  std::string template_text;
  /// A few of the log lines behind the anomaly, newest last.
  std::vector<std::string> examples;
  /// Predictive anomalies: the limit the series trends towards, and when
  /// it is forecast to get there (ms since the epoch; 0 when no longer).
  double limit = 0;
  int64_t forecast_ts_ms = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, anomaly_event& x) {
  return f(caf::meta::type_name("vigil.anomaly_event"), x.id, x.service,
           x.metric, x.series, x.phase, x.ts_ms, x.onset_ts_ms, x.value,
           x.score, x.expected_lo, x.expected_hi, x.votes, x.received_ns,
           x.detected_ns, x.kind, x.template_id, x.template_text,
           x.examples, x.limit, x.forecast_ts_ms);
}

/// Filter for the recent-anomalies query.
struct anomaly_query {
  /// Only this service; empty = all.
  std::string service;
  /// Only events with `ts_ms >= since_ms`.
  int64_t since_ms = 0;
  /// At most this many, newest first.
  uint32_t limit = 100;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, anomaly_query& x) {
  return f(caf::meta::type_name("vigil.anomaly_query"), x.service, x.since_ms,
           x.limit);
}

} // namespace vigil
