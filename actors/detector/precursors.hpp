#pragma once

// Precursors: series that trend towards a limit (memory towards its limit,
// free disk towards zero, a ratio towards 1), with a forecast of when they
// get there, raised as predictive anomalies before the hard failure.
// Pure logic: event time only, no I/O.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <caf/expected.hpp>

#include "actors/detector/trend.hpp"
#include "config/options.hpp"
#include "config/rules.hpp"
#include "messages/anomaly.hpp"
#include "messages/samples.hpp"

namespace vigil::detector {

/// The precursor state of one service.
class precursor_tracker {
public:
  /// Rules that do not parse are skipped (the config loader refuses them
  /// before this point).
  precursor_tracker(std::string service, const precursor_options& opts);

  /// Folds the samples in; appends predictive anomalies to `out`.
  void ingest(const sample_batch& batch, std::vector<anomaly_event>& out);

  /// Series followed for a trend now.
  size_t tracked() const { return series_.size(); }

private:
  struct tracked_series {
    trend_forecaster trend;
    std::string text;
    std::string metric;
    size_t rule = 0;
    /// The series text of its limit's companion (empty for a fixed limit).
    std::string limit_key{};
    /// Whether a warning is open, and when it was last (re-)announced.
    bool warning = false;
    int64_t onset_ts_ms = 0;
    int64_t announced_ts_ms = 0;
    int64_t last_ts_ms = 0;
    /// Samples in a row at the limit (detection.precursors.saturation),
    /// and the latest value.
    uint32_t at_limit = 0;
    double value = 0;
  };
  std::optional<double> limit_of(const tracked_series& s) const;
  void judge(tracked_series& s, double limit, std::vector<anomaly_event>& out);
  int32_t role_of(std::string_view metric);

  std::string service_;
  precursor_options opts_;
  std::vector<limit_rule> rules_;
  std::unordered_map<uint64_t, tracked_series> series_;
  /// Latest values of companion (limit) series, by series text.
  std::unordered_map<std::string, double> companions_;
  /// What a metric name is to the rules, so globs are matched once per
  /// name: -1 nothing, -2 a companion, else the index of its rule.
  struct name_hash {
    using is_transparent = void;
    size_t operator()(std::string_view x) const noexcept {
      return std::hash<std::string_view>{}(x);
    }
  };
  std::unordered_map<std::string, int32_t, name_hash, std::equal_to<>> role_;
  int64_t newest_ts_ = 0;
};

} // namespace vigil::detector
