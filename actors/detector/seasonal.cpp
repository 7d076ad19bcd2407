#include "actors/detector/seasonal.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "runtime/hash.hpp"

namespace vigil::detector {

namespace {

constexpr int64_t day_ms = 86'400'000;

struct header {
  double level;
  /// Mean squared residual of the flat, daily and weekly models.
  double msr[3];
  int64_t first_ts;
  int64_t last_ts;
  uint64_t n;
  float week[7];
  /// The model that judged the last value.
  int32_t model;
};

static_assert(sizeof(header) % 8 == 0);

float* day_of(std::byte* state) {
  return reinterpret_cast<float*>(state + sizeof(header));
}

// A residual of `r` counts at most `cap` when it teaches a model.
double clip(double r, double cap) {
  return std::clamp(r, -cap, cap);
}

} // namespace

seasonal::seasonal(seasonal_options opts, uint32_t warmup)
  : opts_(opts), warmup_(warmup) {
  opts_.day_slots = std::clamp<uint32_t>(opts_.day_slots, 1, 1440);
}

size_t seasonal::state_size() const {
  size_t bytes = sizeof(header) + sizeof(float) * opts_.day_slots;
  return (bytes + 7) / 8 * 8;
}

void seasonal::init(std::byte* state) const {
  std::memset(state, 0, state_size());
}

int seasonal::model_of(const std::byte* state) {
  return reinterpret_cast<const header*>(state)->model;
}

verdict seasonal::update(std::byte* state, double x, int64_t ts_ms) const {
  auto& h = *reinterpret_cast<header*>(state);
  auto* day = day_of(state);
  verdict v;
  if (h.n == 0) {
    h.level = x;
    h.first_ts = ts_ms;
  }
  auto slot = static_cast<size_t>(((ts_ms % day_ms) + day_ms) % day_ms
                                  * opts_.day_slots / day_ms);
  // 1970-01-01 was a Thursday: (days + 3) % 7 is 0 on Mondays.
  auto days = ts_ms >= 0 ? ts_ms / day_ms : (ts_ms - day_ms + 1) / day_ms;
  auto dow = static_cast<size_t>(((days + 3) % 7 + 7) % 7);
  double pred[3] = {h.level, h.level + day[slot],
                    h.level + day[slot] + h.week[dow]};
  // Pick the model: richer ones must have had time to see their period and
  // must beat the simpler one clearly.
  int64_t age = ts_ms - h.first_ts;
  int m = 0;
  if (age >= 2 * day_ms && h.msr[1] <= opts_.gain * h.msr[0]) {
    m = 1;
    if (age >= 14 * day_ms && h.msr[2] <= opts_.gain * h.msr[1])
      m = 2;
  }
  h.model = m;
  double sd = std::max(std::sqrt(h.msr[m]), sd_floor(h.level));
  double resid = x - pred[m];
  v.deviation = resid / sd;
  v.expected_lo = pred[m] - opts_.threshold * sd;
  v.expected_hi = pred[m] + opts_.threshold * sd;
  v.warm = h.n >= warmup_;
  if (v.warm) {
    v.score = calibrate(v.deviation, opts_.threshold);
    v.vote = std::fabs(v.deviation) > opts_.threshold;
  }
  // Learn. During warm-up everything counts fully; after it a residual
  // teaches at most as much as one of `clip` standard deviations.
  double cap = v.warm ? opts_.clip * sd
                      : std::numeric_limits<double>::infinity();
  double a = opts_.alpha;
  double slow = std::max(a / 10, 1.0 / static_cast<double>(h.n + 1));
  // Residual power is averaged over about a week of event time, whatever
  // the sample rate, so a once-a-day event weighs in every day's verdict.
  constexpr double week_ms = 7.0 * day_ms;
  double dt = static_cast<double>(std::max<int64_t>(ts_ms - h.last_ts, 0));
  double msr_w = std::max(1.0 - std::exp(-dt / week_ms),
                          1.0 / static_cast<double>(h.n + 1));
  h.last_ts = ts_ms;
  for (int i = 0; i < 3; ++i) {
    double r = std::min(std::fabs(x - pred[i]), cap);
    h.msr[i] += msr_w * (r * r - h.msr[i]);
  }
  // The level follows what the full model leaves over; the day profile
  // what level and week leave over; the week what level and day leave.
  double r_level = clip(x - pred[2], cap);
  h.level += slow * r_level;
  double r_day = clip(x - h.level - h.week[dow] - day[slot], cap);
  day[slot] += static_cast<float>(a * r_day);
  double r_week = clip(x - h.level - day[slot] - h.week[dow], cap);
  h.week[dow] += static_cast<float>(a / 4 * r_week);
  ++h.n;
  return v;
}

uint64_t seasonal::layout() const {
  hasher hs;
  hs.add("seasonal/1");
  hs.add(std::string_view{reinterpret_cast<const char*>(&opts_.day_slots),
                          sizeof(opts_.day_slots)});
  return hs.finish();
}

} // namespace vigil::detector
