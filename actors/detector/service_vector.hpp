#pragma once

// A service's multivariate view: one feature vector per step of event time
// (the mean of each feature's matching series in that step), judged by an
// Isolation Forest trained in the background. It catches combinations no
// single series shows: latency normal while throughput collapses and the
// error rate creeps up.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "actors/detector/iforest_detectors.hpp"
#include "config/options.hpp"
#include "messages/anomaly.hpp"

namespace vigil::detector {

class service_vector {
public:
  /// Off (`enabled()` false) when `opts.features` is empty. `exec` runs
  /// trainings; empty = a thread per training, joined on destruction.
  service_vector(std::string service, const iforest_options& opts,
                 iforest_executor exec = {});

  bool enabled() const { return !globs_.empty(); }

  /// One judged value of a series (a counter's rate). Closing a step
  /// judges its vector and may append an anomaly to `out`.
  void observe(uint64_t series, std::string_view text, int64_t ts_ms,
               double x, std::vector<anomaly_event>& out);

  /// Vectors judged so far.
  uint64_t vectors() const { return vectors_; }
  /// The forest (model generation, wait_idle, ...); null when off.
  iforest_vector_detector* forest() { return forest_.get(); }

private:
  void close_step(std::vector<anomaly_event>& out);

  std::string service_;
  std::vector<std::string> globs_;
  int64_t step_ms_;
  std::unique_ptr<iforest_vector_detector> forest_;
  /// Series hash -> feature index, or -1 for series that match none.
  std::unordered_map<uint64_t, int32_t> feature_of_;
  int64_t step_ = -1;
  std::vector<double> sum_;
  std::vector<uint32_t> count_;
  /// Each feature's latest step mean; NaN until it has one.
  std::vector<double> last_;
  std::vector<double> vec_;
  bool anomalous_ = false;
  int64_t onset_ts_ms_ = 0;
  uint64_t vectors_ = 0;
};

} // namespace vigil::detector
