#pragma once

#include "actors/detector/detector.hpp"

namespace vigil::detector {

/// Seasonal baseline. Three nested models predict each value:
///   flat:   level
///   daily:  level + day[slot of the day]
///   weekly: level + day[slot] + week[day of the week]
/// all learned online (exponential weights, residuals clipped at `clip`
/// standard deviations so anomalies barely teach). Each model's mean squared residual is
/// tracked; the daily model is used once two days of data are in and its
/// residuals are at most `gain` times the flat model's, the weekly model
/// likewise after two weeks against the daily one. So the periods are found
/// from the data: a series without a daily rhythm is judged flat, one with
/// a nightly batch job learns that 02:00 is busy and stays quiet then,
/// while the same load at an hour it never had votes.
///
/// Time is UTC; a workload that follows a local-time day is still learned,
/// only shifted. Daylight-saving jumps cost a few days of extra residual.
class seasonal final : public detector_kind {
public:
  seasonal(seasonal_options opts, uint32_t warmup);
  std::string_view name() const override { return "seasonal"; }
  size_t state_size() const override;
  void init(std::byte* state) const override;
  verdict update(std::byte* state, double x, int64_t ts_ms) const override;
  uint64_t layout() const override;

  /// Which model judged the last value: 0 flat, 1 daily, 2 weekly.
  static int model_of(const std::byte* state);

private:
  seasonal_options opts_;
  uint32_t warmup_;
};

} // namespace vigil::detector
