#include "actors/detector/service_vector.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "config/rules.hpp"
#include "messages/samples.hpp"

namespace vigil::detector {

namespace {

constexpr double nan = std::numeric_limits<double>::quiet_NaN();

} // namespace

service_vector::service_vector(std::string service, const iforest_options& opts,
                               iforest_executor exec)
  : service_(std::move(service)), globs_(opts.features),
    step_ms_(std::max<int64_t>(opts.step.count(), 1)) {
  if (globs_.empty())
    return;
  iforest_trainer_options t;
  t.forest.trees = opts.trees;
  t.forest.sample_size = opts.sample_size;
  t.window = opts.window;
  t.min_samples = std::min(opts.min_samples, opts.window);
  t.retrain_every = opts.retrain_every;
  t.threshold_quantile = opts.threshold_quantile;
  forest_ = std::make_unique<iforest_vector_detector>(globs_.size(), t,
                                                      std::move(exec));
  sum_.assign(globs_.size(), 0);
  count_.assign(globs_.size(), 0);
  last_.assign(globs_.size(), nan);
  vec_.resize(globs_.size());
}

void service_vector::observe(uint64_t series, std::string_view text,
                             int64_t ts_ms, double x,
                             std::vector<anomaly_event>& out) {
  if (!enabled() || !std::isfinite(x))
    return;
  auto it = feature_of_.find(series);
  if (it == feature_of_.end()) {
    int32_t f = -1;
    auto metric = metric_of(text);
    for (size_t i = 0; i < globs_.size() && f < 0; ++i)
      if (glob_match(globs_[i], metric))
        f = static_cast<int32_t>(i);
    // Bounded against label churn: the cache is rebuilt when it grows.
    if (feature_of_.size() >= 200'000)
      feature_of_.clear();
    it = feature_of_.emplace(series, f).first;
  }
  if (it->second < 0)
    return;
  auto step = ts_ms / step_ms_;
  if (step < step_) {
    // A late value for a step already judged is dropped; but a clock a
    // day or more ahead of the data came from one wrong timestamp: start
    // over from the data's time.
    if ((step_ - step) * step_ms_ < 86'400'000)
      return;
    std::fill(sum_.begin(), sum_.end(), 0.0);
    std::fill(count_.begin(), count_.end(), 0u);
    step_ = step;
  }
  if (step > step_) {
    if (step_ >= 0)
      close_step(out);
    step_ = step;
  }
  auto f = static_cast<size_t>(it->second);
  sum_[f] += x;
  ++count_[f];
}

void service_vector::close_step(std::vector<anomaly_event>& out) {
  for (size_t i = 0; i < globs_.size(); ++i) {
    if (count_[i] > 0)
      last_[i] = sum_[i] / count_[i];
    sum_[i] = 0;
    count_[i] = 0;
    vec_[i] = last_[i];
  }
  // A feature that never had a value leaves the vector incomplete.
  for (double v : vec_)
    if (std::isnan(v))
      return;
  int64_t ts = (step_ + 1) * step_ms_;
  auto r = forest_->update(vec_, ts);
  ++vectors_;
  if (!r.v.warm || r.skipped)
    return;
  anomaly_phase phase;
  if (r.v.vote && !anomalous_) {
    anomalous_ = true;
    onset_ts_ms_ = ts;
    phase = anomaly_phase::onset;
  } else if (!r.v.vote && anomalous_) {
    anomalous_ = false;
    phase = anomaly_phase::recovered;
  } else {
    return;
  }
  anomaly_event ev;
  ev.service = service_;
  ev.metric = "service_vector";
  auto f = r.feature >= 0 ? static_cast<size_t>(r.feature) : 0;
  // The feature that deviates most names the series of the event.
  ev.series = "service_vector{feature=\"" + globs_[f] + "\"}";
  ev.phase = phase;
  ev.ts_ms = ts;
  ev.onset_ts_ms = onset_ts_ms_;
  ev.value = vec_[f];
  ev.score = r.v.score;
  ev.expected_lo = r.v.expected_lo;
  ev.expected_hi = r.v.expected_hi;
  ev.votes.push_back({"iforest", r.v.score, r.v.deviation, r.v.vote});
  out.push_back(std::move(ev));
}

} // namespace vigil::detector
