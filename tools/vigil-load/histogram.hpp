#pragma once

// A log-linear latency histogram (the HdrHistogram layout with 64
// sub-buckets per power of two): constant memory, O(1) record, quantiles
// within 1.6 % of the true value. One per thread, merged at the end.

#include <algorithm>
#include <bit>
#include <cstdint>
#include <limits>
#include <vector>

namespace vigil::load {

/// Durations in nanoseconds, bucketed log-linearly.
class latency_histogram {
public:
  latency_histogram() : counts_(buckets, 0) {}

  /// Records one duration; negative durations count as 0.
  void record(int64_t ns) {
    auto v = static_cast<uint64_t>(std::max<int64_t>(ns, 0));
    ++counts_[index(v)];
    ++count_;
    sum_ += static_cast<double>(v);
    min_ = std::min(min_, v);
    max_ = std::max(max_, v);
  }

  /// Adds every duration of `other`.
  void merge(const latency_histogram& other) {
    for (size_t i = 0; i < buckets; ++i)
      counts_[i] += other.counts_[i];
    count_ += other.count_;
    sum_ += other.sum_;
    min_ = std::min(min_, other.min_);
    max_ = std::max(max_, other.max_);
  }

  /// Returns the number of durations recorded.
  uint64_t count() const { return count_; }

  /// Returns the largest duration recorded (0 when empty).
  uint64_t max() const { return count_ == 0 ? 0 : max_; }

  /// Returns the mean duration (0 when empty).
  double mean() const { return count_ == 0 ? 0 : sum_ / count_; }

  /// Returns the duration at quantile `q` in [0, 1]: the middle of the
  /// bucket holding the ceil(q * count)-th smallest value, clamped to the
  /// observed minimum and maximum (0 when empty).
  uint64_t quantile(double q) const {
    if (count_ == 0)
      return 0;
    q = std::clamp(q, 0.0, 1.0);
    auto rank = static_cast<uint64_t>(q * static_cast<double>(count_) + 0.5);
    rank = std::clamp<uint64_t>(rank, 1, count_);
    uint64_t seen = 0;
    for (size_t i = 0; i < buckets; ++i) {
      seen += counts_[i];
      if (seen >= rank)
        return std::clamp(middle(i), min_, max_);
    }
    return max_;
  }

private:
  static constexpr int sub_bits = 7;
  static constexpr uint64_t sub = uint64_t{1} << sub_bits; // 128
  static constexpr uint64_t half = sub / 2;                // 64
  static constexpr size_t buckets = sub + (64 - sub_bits) * half;

  // Values below 128 have a bucket each; above, each power of two is cut
  // into 64 equal parts.
  static size_t index(uint64_t v) {
    if (v < sub)
      return static_cast<size_t>(v);
    int msb = 63 - std::countl_zero(v);
    int shift = msb - (sub_bits - 1);
    uint64_t m = v >> shift; // in [64, 128)
    return static_cast<size_t>(sub + (shift - 1) * half + (m - half));
  }

  static uint64_t middle(size_t i) {
    if (i < sub)
      return i;
    auto shift = static_cast<int>((i - sub) / half) + 1;
    uint64_t m = (i - sub) % half + half;
    uint64_t lo = m << shift;
    return lo + (uint64_t{1} << shift) / 2;
  }

  std::vector<uint64_t> counts_;
  uint64_t count_ = 0;
  double sum_ = 0;
  uint64_t min_ = std::numeric_limits<uint64_t>::max();
  uint64_t max_ = 0;
};

} // namespace vigil::load
