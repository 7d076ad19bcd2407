#include "actors/detector/ramp.hpp"

#include <algorithm>
#include <cstring>

#include "runtime/hash.hpp"

namespace vigil::detector {

namespace {

// A rise more than this many standard deviations from the mean teaches the
// reference only as much as one at this distance.
constexpr double learn_clip = 3.0;

struct header {
  double shift;    // values are summed relative to this, for precision
  double newer;    // sum of (v - shift) over the newer span
  double older;    // sum of (v - shift) over the older span
  double mean;     // of the rise
  double level;    // slowly learned level of the values (relative to shift)
  double var;      // of the rise
  uint32_t count;  // values held, up to 2 * span
  uint32_t head;   // slot of the oldest value (the next to overwrite)
  uint32_t rises;  // rises learned, saturating
  uint32_t since_recompute;
};

static_assert(sizeof(header) % 8 == 0);

float* ring_of(std::byte* state) {
  return reinterpret_cast<float*>(state + sizeof(header));
}

} // namespace

ramp::ramp(ramp_options opts, uint32_t warmup)
  : opts_(opts), warmup_(warmup) {
  opts_.span = std::max<uint32_t>(opts_.span, 1);
}

size_t ramp::state_size() const {
  size_t bytes = sizeof(header) + sizeof(float) * 2 * opts_.span;
  return (bytes + 7) / 8 * 8;
}

void ramp::init(std::byte* state) const {
  std::memset(state, 0, state_size());
}

verdict ramp::update(std::byte* state, double x, int64_t /*ts_ms*/) const {
  auto& h = *reinterpret_cast<header*>(state);
  auto* ring = ring_of(state);
  auto span = opts_.span;
  auto size = 2 * span;
  auto xf = static_cast<double>(static_cast<float>(x));
  verdict v;
  if (h.count == 0)
    h.shift = xf;
  // The ring holds the older span, then the newer one, oldest at `head`
  // once full. The value leaving the newer span joins the older one.
  if (h.count < size) {
    ring[(h.head + h.count) % size] = static_cast<float>(xf);
    ++h.count;
    // Until the ring is full the first `span` values are the older span.
    if (h.count <= span)
      h.older += xf - h.shift;
    else
      h.newer += xf - h.shift;
    if (h.count < size)
      return v;
  } else {
    double oldest = static_cast<double>(ring[h.head]) - h.shift;
    double middle = static_cast<double>(ring[(h.head + span) % size])
                    - h.shift;
    h.older += middle - oldest;
    h.newer += (xf - h.shift) - middle;
    ring[h.head] = static_cast<float>(xf);
    h.head = (h.head + 1) % size;
  }
  if (++h.since_recompute >= size) {
    // Exact sums again, re-centred on the newer span's mean, so rounding
    // does not accumulate.
    double centre = h.shift + h.newer / span;
    double older = 0, newer = 0;
    for (uint32_t i = 0; i < size; ++i) {
      double d = static_cast<double>(ring[(h.head + i) % size]) - centre;
      (i < span ? older : newer) += d;
    }
    h.level -= centre - h.shift;
    h.shift = centre;
    h.older = older;
    h.newer = newer;
    h.since_recompute = 0;
  }
  double rise = (h.newer - h.older) / span;
  double newer_mean = h.newer / span;
  if (h.rises == 0) {
    h.mean = rise;
    h.var = 0;
    h.level = newer_mean;
    h.rises = 1;
    return v;
  }
  double sd = std::max(std::sqrt(h.var), sd_floor(h.shift + newer_mean));
  v.warm = h.rises >= warmup_;
  v.deviation = (rise - h.mean) / sd;
  // Only a slope taking the series away from its usual level (by more than
  // a rise's spread) counts: the climb back after a restart's drop is a
  // recovery, not a leak.
  bool away = v.deviation > 0 ? newer_mean > h.level + sd
                              : newer_mean < h.level - sd;
  // And only one that goes on: the last quarter span moved the way the
  // rise goes, and the newest value leads the newer span. A drop keeps the
  // rise negative for two spans while the values climb back; a leak keeps
  // climbing.
  if (v.warm && away) {
    uint32_t q = std::max<uint32_t>(span / 4, 1);
    double late = 0, early = 0;
    for (uint32_t i = 0; i < q; ++i) {
      late += ring[(h.head + size - 1 - i) % size];
      early += ring[(h.head + size - 1 - q - i) % size];
    }
    away = (late > early) == (v.deviation > 0)
           && (xf - h.shift > newer_mean) == (v.deviation > 0);
  }
  if (v.warm && away) {
    v.score = calibrate(std::min(std::fabs(v.deviation), 2 * opts_.threshold),
                        opts_.threshold);
    v.vote = std::fabs(v.deviation) > opts_.threshold;
  }
  double alpha = std::max(opts_.alpha, 1.0 / static_cast<double>(h.rises + 1));
  // The level stands still while the rise is out of the ordinary, so a
  // drop does not pull it down under the climb back.
  if (!v.warm || std::fabs(v.deviation) <= opts_.threshold)
    h.level += alpha * (newer_mean - h.level);
  double diff = rise - h.mean;
  if (v.warm)
    diff = std::clamp(diff, -learn_clip * sd, learn_clip * sd);
  double incr = alpha * diff;
  h.mean += incr;
  h.var = (1 - alpha) * (h.var + diff * incr);
  if (h.rises < UINT32_MAX)
    ++h.rises;
  return v;
}

uint64_t ramp::layout() const {
  hasher hs;
  hs.add("ramp/2");
  hs.add(std::string_view{reinterpret_cast<const char*>(&opts_.span),
                          sizeof(opts_.span)});
  return hs.finish();
}

} // namespace vigil::detector
