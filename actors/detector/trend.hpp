#pragma once

// Robust trend of one series over a sliding window of event time, and when
// it will reach a limit. Pure logic: no clock, no I/O.

#include <array>
#include <cstdint>
#include <optional>

namespace vigil::detector {

/// Window and significance of a trend.
struct trend_options {
  /// Event time the slope is estimated over. Default: 1h.
  int64_t window_ms = 3'600'000;
  /// Buckets of the window (each keeps the mean time and value of its
  /// samples); at most `trend_forecaster::max_buckets`. Default: 30.
  uint32_t buckets = 30;
  /// Buckets needed before a trend is reported. Default: 10.
  uint32_t min_buckets = 10;
  /// The rise over the window must be this many times the robust spread
  /// of the residuals around the line. Default: 3.
  double min_significance = 3.0;
};

/// What the trend says about reaching a limit.
struct forecast {
  /// A significant trend towards the limit exists.
  bool trending = false;
  /// The line's value now.
  double level = 0;
  /// Units per second (Theil–Sen median of pairwise bucket slopes).
  double slope_per_s = 0;
  /// Rise over the window in units of the residuals' robust spread.
  double significance = 0;
  /// When the line reaches the limit (ms since the epoch); set only when
  /// `trending`.
  int64_t exhaustion_ts_ms = 0;
};

/// A series' recent history in buckets and the robust line through them.
/// Theil–Sen (median of pairwise slopes) over bucket means shrugs off
/// spikes and sawtooth drops (a garbage collector) that would tilt a least
/// squares fit. Fixed size; copyable.
class trend_forecaster {
public:
  static constexpr uint32_t max_buckets = 48;

  explicit trend_forecaster(trend_options opts = {});

  /// Adds a value. Values older than the newest bucket are ignored.
  void add(int64_t ts_ms, double value);

  /// The trend as of the newest value, and when it crosses `limit`
  /// (upwards when the limit lies above the level, downwards otherwise).
  forecast towards(double limit) const;

  /// Closed and open buckets holding data.
  uint32_t buckets() const;

private:
  struct bucket {
    double t_sum = 0; // ms relative to `origin_`
    double v_sum = 0;
    uint32_t n = 0;
  };
  trend_options opts_;
  int64_t bucket_ms_;
  int64_t origin_ = 0;
  int64_t newest_ts_ = 0;
  /// Index (absolute, since origin) of the newest bucket; -1 when empty.
  int64_t head_ = -1;
  std::array<bucket, max_buckets> ring_{};
};

} // namespace vigil::detector
