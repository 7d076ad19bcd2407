#include "actors/detector/cusum.hpp"

#include <algorithm>
#include <cstring>

#include "runtime/hash.hpp"

namespace vigil::detector {

namespace {

// Largest standardised residual one value adds to a sum.
constexpr double residual_clip = 4.0;

struct state_t {
  double mean;
  double var;
  double hi; // upper cumulative sum
  double lo; // lower cumulative sum
  uint64_t n;
};

} // namespace

cusum::cusum(cusum_options opts, uint32_t warmup)
  : opts_(opts), warmup_(warmup) {
}

size_t cusum::state_size() const {
  return sizeof(state_t);
}

void cusum::init(std::byte* state) const {
  std::memset(state, 0, sizeof(state_t));
}

verdict cusum::update(std::byte* state, double x,
                       int64_t /*ts_ms*/) const {
  auto& s = *reinterpret_cast<state_t*>(state);
  verdict v;
  if (s.n == 0) {
    s.mean = x;
    s.n = 1;
    return v;
  }
  double sd = std::max(std::sqrt(s.var), sd_floor(s.mean));
  // Residuals are clipped (Huber-style) so one wild value cannot cross the
  // decision interval alone: CUSUM is here for persistent shifts, the point
  // detectors are there for spikes.
  double z = std::clamp((x - s.mean) / sd, -residual_clip, residual_clip);
  v.warm = s.n >= warmup_;
  if (v.warm) {
    double cap = 2 * opts_.threshold;
    s.hi = std::min(cap, std::max(0.0, s.hi + z - opts_.drift));
    s.lo = std::min(cap, std::max(0.0, s.lo - z - opts_.drift));
    v.deviation = s.hi >= s.lo ? s.hi : -s.lo;
    v.score = calibrate(v.deviation, opts_.threshold);
    v.vote = std::max(s.hi, s.lo) > opts_.threshold;
  }
  // The reference adapts slowly; a z capped at a few sigmas keeps single
  // outliers from dragging it. Its spread stays put while a sum is over
  // the interval: every sample of a long shift would add up to 4 sd of
  // residual to a spread that grows with it, and an outage in the history
  // would leave it blind to the next shift for an hour.
  double alpha = std::max(opts_.alpha, 1.0 / static_cast<double>(s.n + 1));
  double diff = x - s.mean;
  if (v.warm)
    diff = std::clamp(diff, -4 * sd, 4 * sd);
  double incr = alpha * diff;
  s.mean += incr;
  if (!v.vote)
    s.var = (1 - alpha) * (s.var + diff * incr);
  ++s.n;
  return v;
}

uint64_t cusum::layout() const {
  return hash64("cusum/2");
}

} // namespace vigil::detector
