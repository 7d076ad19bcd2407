#pragma once

// The log pipeline of one service: parse, mine templates, keep per-template
// error rates over event time, and judge new templates and error spikes.
// Pure logic: no actor, no clock (event time only), no I/O.

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "actors/detector/log_parse.hpp"
#include "actors/detector/log_templates.hpp"
#include "config/options.hpp"
#include "messages/anomaly.hpp"
#include "messages/records.hpp"

namespace vigil::detector {

/// Tuning of the log pipeline; `detection.logs` sets the common knobs.
struct log_options {
  /// Template mining.
  log_template_options templates;
  /// Width of one rate bucket, event time. Default: 60s.
  int64_t bucket_ms = 60'000;
  /// Weight of a closed bucket in a baseline (EWMA). Default: 0.2.
  double baseline_alpha = 0.2;
  /// Baseline errors per bucket assumed at least (keeps a quiet template's
  /// first errors from looking infinite). Default: 1.
  double baseline_floor = 1.0;
  /// Event time from the first line before anomalies are judged.
  /// Default: 10m.
  int64_t warmup_ms = 600'000;
  /// Lines before anomalies are judged. Default: 100.
  uint64_t warmup_lines = 100;
  /// Error lines in one bucket (per template or service) before a spike may
  /// be reported. Default: 10.
  uint32_t min_spike_errors = 10;
  /// Errors in a bucket over the baseline that make a spike. Default: 5.
  double spike_ratio = 5.0;
  /// Lines at or above this OTLP severity count as errors of their
  /// template. Default: 13 (WARN).
  int32_t template_error_severity = 13;
  /// Lines at or above this OTLP severity count in the service's error
  /// total. Default: 17 (ERROR).
  int32_t service_error_severity = 17;
  /// The service's criticality; multiplies every log anomaly's score.
  /// Default: 1.0.
  double criticality = 1.0;
  /// Example lines carried by an anomaly. Default: 3.
  uint32_t examples = 3;
  /// Bytes of one example line kept. Default: 1024.
  uint32_t example_bytes = 1024;
  /// New-template anomalies per bucket at most. Default: 10.
  uint32_t max_new_per_bucket = 10;
  /// The format lines are read as. Default: auto.
  log_format format = log_format::auto_detect;
};

/// The pipeline tuning `detection.logs` gives; the rest keeps its
/// defaults.
log_options log_options_from(const log_detection_options& cfg);

/// Weight of an OTLP severity in a log anomaly's score: 0.1 for TRACE and
/// DEBUG, 0.25 for INFO or unknown, 0.5 WARN, 0.8 ERROR, 1.0 FATAL.
double severity_weight(int32_t severity) noexcept;

/// Counts kept by a log state.
struct log_state_stats {
  uint64_t lines = 0;
  uint64_t error_lines = 0;
  uint64_t new_templates = 0;
  uint64_t spikes = 0;
  int64_t first_ts_ms = 0;
  int64_t last_ts_ms = 0;
};

/// The log pipeline state of one service; lives in its detector actor.
class log_state {
public:
  log_state(std::string service, log_options opts);

  /// Folds one record in; appends the anomalies it caused to `out`.
  void ingest(const log_record& rec, std::vector<anomaly_event>& out);
  /// The same, reading the line as `format` instead of the configured one.
  void ingest(const log_record& rec, log_format format,
              std::vector<anomaly_event>& out);

  /// Whether anomalies are judged yet.
  bool warm() const;

  const template_miner& miner() const { return miner_; }
  const log_state_stats& stats() const { return stats_; }
  const log_options& options() const { return opts_; }

  /// Serialises templates, baselines and warm-up state.
  std::string snapshot() const;
  /// Replaces the state with a snapshot's; false when `bytes` is not one.
  [[nodiscard]] bool restore(std::string_view bytes);

private:
  // Error counts of one template or of the service, bucketed in event time.
  struct rate {
    int64_t bucket_start = 0;
    uint32_t lines = 0;
    uint32_t errors = 0;
    double baseline = 0;
    bool spiking = false;
    bool reported = false;
    int64_t onset_ts_ms = 0;
    std::deque<std::string> examples;
  };

  // Closes the buckets `r` has passed by `ts`.
  void advance(rate& r, int64_t ts) const;
  void remember(rate& r, std::string_view line) const;
  void judge_spike(rate& r, int32_t severity, int64_t ts,
                   const log_template* tpl, std::vector<anomaly_event>& out);
  anomaly_event make_event(anomaly_kind kind, int64_t ts,
                           const log_template* tpl) const;
  void forget_evicted();

  std::string service_;
  log_options opts_;
  template_miner miner_;
  std::unordered_map<uint64_t, rate> rates_;
  rate total_;
  log_state_stats stats_;
  int64_t new_bucket_ = 0;
  uint32_t new_in_bucket_ = 0;
};

} // namespace vigil::detector
