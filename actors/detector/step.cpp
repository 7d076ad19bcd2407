#include "actors/detector/step.hpp"

#include <algorithm>
#include <cmath>

#include "actors/detector/median.hpp"

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
    gaps_.push_back(static_cast<double>(gap_ms));
}

int64_t step_estimator::step_ms() const {
  if (gaps_.empty())
    return 0;
  auto g = gaps_;
  return std::llround(median(g));
}

} // namespace vigil::detector
