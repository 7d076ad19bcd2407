#include "actors/detector/ewma.hpp"

#include <algorithm>
#include <cstring>

#include "runtime/hash.hpp"

namespace vigil::detector {

namespace {

struct state_t {
  double mean;
  double var;
  uint64_t n;
};

} // namespace

ewma::ewma(ewma_options opts, uint32_t warmup) : opts_(opts), warmup_(warmup) {
}

size_t ewma::state_size() const {
  return sizeof(state_t);
}

void ewma::init(std::byte* state) const {
  std::memset(state, 0, sizeof(state_t));
}

verdict ewma::update(std::byte* state, double x,
                       int64_t /*ts_ms*/) const {
  auto& s = *reinterpret_cast<state_t*>(state);
  verdict v;
  if (s.n == 0) {
    s.mean = x;
    s.var = 0;
    s.n = 1;
    return v;
  }
  double sd = std::max(std::sqrt(s.var), sd_floor(s.mean));
  v.deviation = (x - s.mean) / sd;
  v.expected_lo = s.mean - opts_.threshold * sd;
  v.expected_hi = s.mean + opts_.threshold * sd;
  v.warm = s.n >= warmup_;
  if (v.warm) {
    v.score = calibrate(v.deviation, opts_.threshold);
    v.vote = std::fabs(v.deviation) > opts_.threshold;
  }
  // During warm-up the weight starts as a plain running average, which
  // estimates the first moments far better than a tiny alpha would.
  double alpha = std::max(opts_.alpha, 1.0 / static_cast<double>(s.n + 1));
  double diff = x - s.mean;
  if (v.warm) {
    double cap = 2 * opts_.threshold * sd;
    diff = std::clamp(diff, -cap, cap);
  }
  double incr = alpha * diff;
  s.mean += incr;
  s.var = (1 - alpha) * (s.var + diff * incr);
  ++s.n;
  return v;
}

uint64_t ewma::layout() const {
  return hash64("ewma/1");
}

} // namespace vigil::detector
