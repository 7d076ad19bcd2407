#include "actors/detector/zscore.hpp"

#include <algorithm>
#include <cstring>

#include "runtime/hash.hpp"

namespace vigil::detector {

namespace {

struct header {
  double shift;   // values are summed relative to this, for precision
  double sum;     // sum of (v - shift) over the window
  double sumsq;   // sum of (v - shift)^2 over the window
  uint32_t count; // values in the window
  uint32_t head;  // next slot to overwrite
  uint32_t since_recompute;
  uint32_t seen; // values ever seen, saturating
};

static_assert(sizeof(header) % 8 == 0);

float* window_of(std::byte* state) {
  return reinterpret_cast<float*>(state + sizeof(header));
}

} // namespace

zscore::zscore(zscore_options opts, uint32_t warmup)
  : opts_(opts), warmup_(warmup) {
}

size_t zscore::state_size() const {
  size_t bytes = sizeof(header) + sizeof(float) * opts_.window;
  return (bytes + 7) / 8 * 8;
}

void zscore::init(std::byte* state) const {
  std::memset(state, 0, state_size());
}

verdict zscore::update(std::byte* state, double x,
                       int64_t /*ts_ms*/) const {
  auto& h = *reinterpret_cast<header*>(state);
  auto* w = window_of(state);
  auto xf = static_cast<double>(static_cast<float>(x));
  verdict v;
  if (h.seen == 0)
    h.shift = xf;
  auto n = h.count;
  // The window must hold enough values to estimate a spread.
  auto needed = std::min<uint32_t>(std::max<uint32_t>(warmup_, 2),
                                   opts_.window);
  if (n >= needed) {
    double mean_rel = h.sum / n;
    double var = std::max(0.0, (h.sumsq - h.sum * mean_rel) / (n - 1));
    double mean = h.shift + mean_rel;
    double sd = std::max(std::sqrt(var), sd_floor(mean));
    v.warm = h.seen >= warmup_;
    v.deviation = (xf - mean) / sd;
    v.expected_lo = mean - opts_.threshold * sd;
    v.expected_hi = mean + opts_.threshold * sd;
    if (v.warm) {
      v.score = calibrate(v.deviation, opts_.threshold);
      v.vote = std::fabs(v.deviation) > opts_.threshold;
    }
  }
  // Fold x in, evicting the oldest value once the window is full.
  double rel = xf - h.shift;
  if (n == opts_.window) {
    double old = static_cast<double>(w[h.head]) - h.shift;
    h.sum -= old;
    h.sumsq -= old * old;
  } else {
    ++h.count;
  }
  w[h.head] = static_cast<float>(xf);
  h.head = (h.head + 1) % opts_.window;
  h.sum += rel;
  h.sumsq += rel * rel;
  if (h.seen < UINT32_MAX)
    ++h.seen;
  if (++h.since_recompute >= opts_.window) {
    // Exact recomputation, re-centred on the current mean.
    double s = 0;
    for (uint32_t i = 0; i < h.count; ++i)
      s += static_cast<double>(w[i]);
    double centre = s / h.count;
    double sum = 0, sumsq = 0;
    for (uint32_t i = 0; i < h.count; ++i) {
      double d = static_cast<double>(w[i]) - centre;
      sum += d;
      sumsq += d * d;
    }
    h.shift = centre;
    h.sum = sum;
    h.sumsq = sumsq;
    h.since_recompute = 0;
  }
  return v;
}

uint64_t zscore::layout() const {
  hasher hs;
  hs.add("zscore/1");
  hs.add(std::string_view{reinterpret_cast<const char*>(&opts_.window),
                          sizeof(opts_.window)});
  return hs.finish();
}

} // namespace vigil::detector
