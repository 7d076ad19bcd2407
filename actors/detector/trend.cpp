#include "actors/detector/trend.hpp"

#include "actors/detector/median.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

namespace vigil::detector {

trend_forecaster::trend_forecaster(trend_options opts) : opts_(opts) {
  opts_.buckets = std::clamp<uint32_t>(opts_.buckets, 3, max_buckets);
  opts_.min_buckets = std::clamp<uint32_t>(opts_.min_buckets, 3,
                                           opts_.buckets);
  bucket_ms_ = std::max<int64_t>(opts_.window_ms / opts_.buckets, 1);
}

void trend_forecaster::add(int64_t ts_ms, double value) {
  if (!std::isfinite(value))
    return;
  if (head_ < 0) {
    origin_ = ts_ms;
    head_ = 0;
  }
  int64_t index = ts_ms < origin_ ? -1 : (ts_ms - origin_) / bucket_ms_;
  if (index < head_) {
    // Late by less than the window: ignored. Further back than that, the
    // newest bucket came from a wrong timestamp: start over.
    if (newest_ts_ - ts_ms < opts_.window_ms)
      return;
    *this = trend_forecaster{opts_};
    origin_ = ts_ms;
    head_ = 0;
    index = 0;
  }
  if (index > head_) {
    // Clear the buckets skipped over (a gap) and the new one.
    int64_t from = std::max(head_ + 1, index - int64_t{opts_.buckets} + 1);
    for (int64_t i = from; i <= index; ++i)
      ring_[static_cast<size_t>(i % opts_.buckets)] = bucket{};
    head_ = index;
  }
  auto& b = ring_[static_cast<size_t>(index % opts_.buckets)];
  b.t_sum += static_cast<double>(ts_ms - origin_);
  b.v_sum += value;
  ++b.n;
  newest_ts_ = std::max(newest_ts_, ts_ms);
}

uint32_t trend_forecaster::buckets() const {
  uint32_t k = 0;
  for (uint32_t i = 0; i < opts_.buckets; ++i)
    k += ring_[i].n > 0;
  return head_ < 0 ? 0 : k;
}

forecast trend_forecaster::towards(double limit) const {
  forecast f;
  if (head_ < 0)
    return f;
  // Bucket means, oldest first.
  double ts[max_buckets];
  double vs[max_buckets];
  uint32_t k = 0;
  for (int64_t i = std::max<int64_t>(0, head_ - opts_.buckets + 1); i <= head_;
       ++i) {
    const auto& b = ring_[static_cast<size_t>(i % opts_.buckets)];
    if (b.n == 0)
      continue;
    ts[k] = b.t_sum / b.n;
    vs[k] = b.v_sum / b.n;
    ++k;
  }
  if (k < opts_.min_buckets)
    return f;
  std::vector<double> scratch;
  scratch.reserve(k * (k - 1) / 2);
  for (uint32_t i = 0; i < k; ++i)
    for (uint32_t j = i + 1; j < k; ++j)
      if (ts[j] > ts[i])
        scratch.push_back((vs[j] - vs[i]) / (ts[j] - ts[i]));
  if (scratch.empty())
    return f;
  double slope = median(scratch); // per ms
  scratch.clear();
  for (uint32_t i = 0; i < k; ++i)
    scratch.push_back(vs[i] - slope * ts[i]);
  double intercept = median(scratch);
  for (auto& r : scratch)
    r = std::fabs(r - intercept);
  // 1.4826 * MAD estimates a normal's sigma; a floor keeps a perfectly
  // clean line from dividing by zero.
  double now = static_cast<double>(newest_ts_ - origin_);
  double level = intercept + slope * now;
  double spread = std::max(1.4826 * median(scratch),
                           1e-9 * std::max(1.0, std::fabs(level)));
  double span = ts[k - 1] - ts[0];
  f.level = level;
  f.slope_per_s = slope * 1000;
  f.significance = std::fabs(slope) * span / spread;
  double gap = limit - level;
  bool towards = (gap > 0 && slope > 0) || (gap < 0 && slope < 0);
  if (gap == 0) {
    f.trending = true;
    f.exhaustion_ts_ms = newest_ts_;
    return f;
  }
  if (!towards || f.significance < opts_.min_significance)
    return f;
  double eta_ms = gap / slope;
  // A forecast beyond ~300 years is no forecast.
  if (!(eta_ms < 1e13))
    return f;
  f.trending = true;
  f.exhaustion_ts_ms = newest_ts_ + static_cast<int64_t>(eta_ms);
  return f;
}

} // namespace vigil::detector
