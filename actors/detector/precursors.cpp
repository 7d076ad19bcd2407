#include "actors/detector/precursors.hpp"

#include <algorithm>
#include <cmath>

#include "messages/errc.hpp"

namespace vigil::detector {

precursor_tracker::precursor_tracker(std::string service,
                                     const precursor_options& opts)
  : service_(std::move(service)), opts_(opts) {
  for (auto& text : opts_.limits)
    if (auto r = parse_limit_rule(text))
      rules_.push_back(std::move(*r));
}

int32_t precursor_tracker::role_of(std::string_view metric) {
  if (auto it = role_.find(metric); it != role_.end())
    return it->second;
  int32_t role = -1;
  for (const auto& r : rules_)
    if (r.companion == metric) {
      role = -2;
      break;
    }
  for (size_t i = 0; role == -1 && i < rules_.size(); ++i)
    if (glob_match(rules_[i].glob, metric))
      role = static_cast<int32_t>(i);
  // A service has a bounded set of metric names in practice; a client
  // inventing names cannot grow this without bound.
  if (role_.size() < 100'000)
    role_.emplace(std::string{metric}, role);
  return role;
}

void precursor_tracker::ingest(const sample_batch& batch,
                               std::vector<anomaly_event>& out) {
  if (rules_.empty())
    return;
  trend_options topts;
  topts.window_ms = opts_.window.count();
  topts.min_significance = opts_.min_significance;
  int64_t judge_every = std::max<int64_t>(topts.window_ms / topts.buckets, 1);
  for (const auto& s : batch.samples) {
    if ((s.flags
         & (sample_flags::stale | sample_flags::counter | sample_flags::delta))
        || !std::isfinite(s.value))
      continue;
    auto text = batch.text(s);
    auto metric = metric_of(text);
    // The service clock (for forgetting silent series) ignores a sample
    // more than a day ahead of it: one wrong timestamp must not expire
    // every series.
    if (newest_ts_ == 0 || s.ts_ms - newest_ts_ < 86'400'000)
      newest_ts_ = std::max(newest_ts_, s.ts_ms);
    auto role = role_of(metric);
    if (role == -2) {
      if (companions_.size() >= 4 * static_cast<size_t>(opts_.max_series))
        companions_.clear(); // label churn: relearn the limits
      companions_[std::string{text}] = s.value;
      continue;
    }
    if (role < 0)
      continue;
    auto it = series_.find(s.series);
    if (it == series_.end()) {
      if (series_.size() >= opts_.max_series)
        continue;
      tracked_series fresh{trend_forecaster{topts}, std::string{text},
                           std::string{metric}, static_cast<size_t>(role)};
      if (const auto& r = rules_[fresh.rule]; !r.value)
        fresh.limit_key = r.companion + fresh.text.substr(fresh.metric.size());
      it = series_.emplace(s.series, std::move(fresh)).first;
    }
    auto& t = it->second;
    t.trend.add(s.ts_ms, s.value);
    t.value = s.value;
    auto limit = limit_of(t);
    // Reaching the limit is judged on every sample: a pool that fills in
    // a minute has no trend worth the name over the window. Only a limit
    // a companion series reports (a pool's or a cgroup's maximum) is one
    // to be at: a fixed one such as *_ratio=1 is also where a healthy
    // hit ratio lives.
    bool full = limit && *limit > 0 && opts_.saturation > 0
                && !rules_[t.rule].value
                && s.value >= opts_.saturation * *limit;
    t.at_limit = full ? std::min(t.at_limit + 1, UINT32_MAX - 1) : 0;
    bool reached = t.at_limit == std::max<uint32_t>(opts_.saturated_samples, 1)
                   && !t.warning;
    if (!reached && s.ts_ms - t.last_ts_ms < judge_every)
      continue;
    t.last_ts_ms = s.ts_ms;
    if (limit)
      judge(t, *limit, out);
  }
  // Forget series silent for two windows.
  auto horizon = newest_ts_ - 2 * opts_.window.count();
  for (auto i = series_.begin(); i != series_.end();)
    i = i->second.last_ts_ms < horizon ? series_.erase(i) : std::next(i);
}

std::optional<double>
precursor_tracker::limit_of(const tracked_series& s) const {
  const auto& rule = rules_[s.rule];
  if (rule.value)
    return *rule.value;
  auto c = companions_.find(s.limit_key);
  // No limit known yet, or none set (a limit of 0 means unlimited for
  // cgroup memory): nothing to forecast against.
  if (c == companions_.end() || !(c->second > 0))
    return std::nullopt;
  return c->second;
}

void precursor_tracker::judge(tracked_series& s, double limit,
                              std::vector<anomaly_event>& out) {
  auto f = s.trend.towards(limit);
  int64_t now = s.last_ts_ms;
  int64_t horizon = opts_.horizon.count();
  bool saturated = s.at_limit >= std::max<uint32_t>(opts_.saturated_samples, 1);
  if (saturated) {
    // At the limit now, whatever the line says.
    f.exhaustion_ts_ms = now;
    f.level = s.value;
  }
  int64_t eta = f.exhaustion_ts_ms - now;
  bool warn = saturated || (f.trending && eta <= horizon);
  // Hysteresis: a warning ends only when the trend is gone or the forecast
  // moved well past the horizon, and the series is off its limit.
  bool clear = !saturated && (!f.trending || eta > horizon + horizon / 2);
  anomaly_phase phase;
  if (warn && !s.warning) {
    s.warning = true;
    s.onset_ts_ms = now;
    phase = anomaly_phase::onset;
  } else if (warn && now - s.announced_ts_ms >= opts_.reemit.count()) {
    phase = anomaly_phase::ongoing;
  } else if (s.warning && clear) {
    s.warning = false;
    phase = anomaly_phase::recovered;
  } else {
    return;
  }
  s.announced_ts_ms = now;
  anomaly_event ev;
  ev.kind = anomaly_kind::predictive;
  ev.service = service_;
  ev.metric = s.metric;
  ev.series = s.text;
  ev.phase = phase;
  ev.ts_ms = now;
  ev.onset_ts_ms = s.onset_ts_ms;
  ev.value = f.level;
  // 0.5 when exhaustion is a horizon away, 1 when it is now.
  double urgency
    = horizon > 0
        ? 1.0 - 0.5 * static_cast<double>(eta) / static_cast<double>(horizon)
        : 1.0;
  ev.score
    = phase == anomaly_phase::recovered ? 0 : std::clamp(urgency, 0.5, 1.0);
  ev.limit = limit;
  ev.forecast_ts_ms = f.trending || saturated ? f.exhaustion_ts_ms : 0;
  ev.expected_lo = std::min(f.level, limit);
  ev.expected_hi = std::max(f.level, limit);
  if (saturated)
    ev.votes.push_back({"saturation", ev.score, s.value / limit, true});
  else
    ev.votes.push_back({"trend", ev.score, f.significance, warn});
  out.push_back(std::move(ev));
}

} // namespace vigil::detector
