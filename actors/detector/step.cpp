#include "actors/detector/step.hpp"

#include <algorithm>
#include <cmath>

namespace vigil::detector {

uint32_t step_block(duration reference, int64_t step_ms) {
  auto ref = reference.count();
  if (ref <= 0 || step_ms <= 0)
    return 1;
  auto n
    = std::llround(static_cast<double>(ref) / static_cast<double>(step_ms));
  return static_cast<uint32_t>(
    std::clamp<long long>(n, 1, static_cast<long long>(max_step_block)));
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
