#pragma once

#include <algorithm>
#include <cstddef>
#include <vector>

namespace vigil::detector {

/// The median of `xs` (reorders it; the mean of the middle two when the
/// count is even). `xs` must not be empty.
inline double median(std::vector<double>& xs) {
  auto mid = xs.begin() + static_cast<std::ptrdiff_t>(xs.size() / 2);
  std::nth_element(xs.begin(), mid, xs.end());
  double m = *mid;
  if (xs.size() % 2 == 0)
    m = (m + *std::max_element(xs.begin(), mid)) / 2;
  return m;
}

} // namespace vigil::detector
