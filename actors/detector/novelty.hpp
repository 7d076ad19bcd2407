#pragma once

#include "actors/detector/detector.hpp"

namespace vigil::detector {

/// Pattern novelty: the series' observed range is cut into `levels` bands
/// and every run of the last 1..`depth` band numbers is a pattern. The
/// score is the share of the current value's patterns that this series has
/// never produced before (1 = all new, 0 = all familiar); it votes at 0.5.
/// Seen patterns are one bit each (levels + levels^2 + ... + levels^depth
/// bits per series), so the state is fixed-size and a snapshot is a copy.
///
/// With `day_slots` > 0, (band, slot of the day, weekday or weekend) is one
/// more pattern, so a value at a time it never occurred at is new too.
/// A value that clears the observed range by more than `extreme_margin`
/// band widths scores 1 by itself. It reacts to shapes the series never
/// had — a flat stretch in a busy signal, a new level, a new rhythm — where
/// distance-based detectors see only the size of a deviation. Its range
/// only widens, so one huge spike coarsens the bands for the rest of the
/// series' life; the detector knows no time of day or week.
class novelty final : public detector_kind {
public:
  novelty(novelty_options opts, uint32_t warmup);
  std::string_view name() const override { return "novelty"; }
  size_t state_size() const override;
  void init(std::byte* state) const override;
  verdict update(std::byte* state, double x,
                 int64_t ts_ms) const override;
  uint64_t layout() const override;
  bool floors_likelihood() const override { return true; }

  /// Bits of seen-pattern memory per series (sequence and time patterns).
  size_t pattern_bits() const { return bits_; }

private:
  novelty_options opts_;
  uint32_t warmup_;
  /// Bit offset of the patterns of length k+1, and levels^k.
  std::vector<size_t> base_;
  std::vector<uint32_t> power_;
  /// Bit offset of the (band, slot, weekend) patterns.
  size_t day_base_ = 0;
  size_t bits_ = 0;
};

} // namespace vigil::detector
