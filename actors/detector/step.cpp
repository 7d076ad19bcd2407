#include "actors/detector/step.hpp"

#include <algorithm>
#include <cmath>

namespace vigil::detector {

uint32_t step_factor(duration reference, int64_t step_ms) {
  auto ref = reference.count();
  if (ref <= 0 || step_ms <= 0)
    return 1;
  auto f
    = std::llround(static_cast<double>(ref) / static_cast<double>(step_ms));
  return static_cast<uint32_t>(
    std::clamp<long long>(f, 1, static_cast<long long>(max_step_factor)));
}

namespace {

uint32_t times(uint32_t n, uint32_t factor, uint32_t cap) {
  auto x = static_cast<uint64_t>(n) * factor;
  return static_cast<uint32_t>(std::min<uint64_t>(x, cap));
}

double weight(double a, uint32_t factor) {
  if (a <= 0 || a >= 1)
    return a;
  return 1 - std::pow(1 - a, 1.0 / factor);
}

} // namespace

detection_options scaled_to_step(const detection_options& opts,
                                 uint32_t factor) {
  auto o = opts;
  if (factor <= 1)
    return o;
  // The caps are the config's own upper bounds, so a scaled set is one
  // the loader would accept.
  o.warmup_samples = times(o.warmup_samples, factor, 1'000'000);
  o.recovery_samples = times(o.recovery_samples, factor, 100'000);
  o.confirm_samples = times(o.confirm_samples, factor, 100'000);
  o.refractory_samples = times(o.refractory_samples, factor, 1'000'000);
  o.zscore.window = times(o.zscore.window, factor, 10'000);
  o.ramp.span = times(o.ramp.span, factor, 10'000);
  o.likelihood.average = times(o.likelihood.average, factor, 64);
  o.likelihood.memory = times(o.likelihood.memory, factor, 10'000'000);
  o.likelihood.warmup = times(o.likelihood.warmup, factor, 10'000'000);
  o.ewma.alpha = weight(o.ewma.alpha, factor);
  o.cusum.alpha = weight(o.cusum.alpha, factor);
  o.ramp.alpha = weight(o.ramp.alpha, factor);
  o.seasonal.alpha = weight(o.seasonal.alpha, factor);
  return o;
}

step_estimator::step_estimator(uint32_t needed)
  : needed_(std::max<uint32_t>(needed, 1)) {
  gaps_.reserve(needed_);
}

void step_estimator::add(int64_t gap_ms) {
  if (gap_ms > 0 && gaps_.size() < needed_)
    gaps_.push_back(gap_ms);
}

int64_t step_estimator::step_ms() const {
  if (gaps_.empty())
    return 0;
  auto g = gaps_;
  auto mid = g.begin() + static_cast<std::ptrdiff_t>(g.size() / 2);
  std::nth_element(g.begin(), mid, g.end());
  return *mid;
}

} // namespace vigil::detector
