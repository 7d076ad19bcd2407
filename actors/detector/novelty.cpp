#include "actors/detector/novelty.hpp"

#include <algorithm>
#include <cstring>

#include "runtime/hash.hpp"

namespace vigil::detector {

namespace {

// The schema caps depth at 12; the recent band numbers fit one array.
constexpr uint32_t max_depth = 12;

struct header {
  double lo;
  double hi;
  uint64_t n;
  /// The last depth-1 band numbers, oldest first.
  uint8_t recent[16];
};

static_assert(sizeof(header) % 8 == 0);

uint64_t* bits_of(std::byte* state) {
  return reinterpret_cast<uint64_t*>(state + sizeof(header));
}

} // namespace

novelty::novelty(novelty_options opts, uint32_t warmup)
  : opts_(opts), warmup_(warmup) {
  opts_.levels = std::clamp<uint32_t>(opts_.levels, 2, 64);
  opts_.depth = std::clamp<uint32_t>(opts_.depth, 1, max_depth);
  size_t width = 1;
  for (uint32_t k = 0; k < opts_.depth; ++k) {
    power_.push_back(static_cast<uint32_t>(width));
    width *= opts_.levels;
    // The config rejects levels^depth > 4096; a programmatic caller that
    // asks for more gets the depth that fits.
    if (width > 4096) {
      opts_.depth = k;
      power_.pop_back();
      break;
    }
    base_.push_back(bits_);
    bits_ += width;
  }
  opts_.day_slots = std::min<uint32_t>(opts_.day_slots, 1440);
  day_base_ = bits_;
  bits_ += size_t{2} * opts_.day_slots * opts_.levels;
}

size_t novelty::state_size() const {
  return sizeof(header) + (bits_ + 63) / 64 * 8;
}

void novelty::init(std::byte* state) const {
  std::memset(state, 0, state_size());
}

verdict novelty::update(std::byte* state, double x,
                       int64_t ts_ms) const {
  auto& h = *reinterpret_cast<header*>(state);
  auto* seen = bits_of(state);
  verdict v;
  if (h.n == 0) {
    h.lo = x;
    h.hi = x;
  }
  // A new extreme lands in the top or bottom band of the widened range,
  // which may be familiar; clearing the old range by a margin is what makes
  // it new.
  double old_span = h.hi - h.lo;
  double margin = opts_.extreme_margin * old_span
                  / static_cast<double>(opts_.levels);
  bool beyond = old_span > 0 && (x > h.hi + margin || x < h.lo - margin);
  h.lo = std::min(h.lo, x);
  h.hi = std::max(h.hi, x);
  double span = h.hi - h.lo;
  uint32_t band = 0;
  if (span > 0) {
    auto levels = static_cast<double>(opts_.levels);
    band = static_cast<uint32_t>(
      std::min((x - h.lo) / span * levels, levels - 1));
  }
  // Patterns ending at this value: [band], [prev, band], ... Their codes
  // are the band numbers read as digits, newest first.
  uint32_t history = static_cast<uint32_t>(
    std::min<uint64_t>(h.n, opts_.depth - 1));
  uint32_t fresh = 0;
  uint32_t patterns = 0;
  size_t code = 0;
  for (uint32_t k = 0; k <= history; ++k) {
    uint32_t digit = k == 0 ? band : h.recent[opts_.depth - 1 - k];
    code += digit * static_cast<size_t>(power_[k]);
    size_t bit = base_[k] + code;
    uint64_t mask = uint64_t{1} << (bit % 64);
    ++patterns;
    if ((seen[bit / 64] & mask) == 0) {
      ++fresh;
      seen[bit / 64] |= mask;
    }
  }
  if (opts_.day_slots > 0 && ts_ms > 0) {
    constexpr int64_t day_ms = 86'400'000;
    auto days = ts_ms / day_ms;
    auto slot = static_cast<size_t>((ts_ms % day_ms) * opts_.day_slots
                                    / day_ms);
    // 1970-01-01 was a Thursday: (days + 3) % 7 is 0 on Mondays.
    size_t weekend = (days + 3) % 7 >= 5 ? 1 : 0;
    size_t bit = day_base_
                 + ((weekend * opts_.day_slots + slot) * opts_.levels + band);
    uint64_t mask = uint64_t{1} << (bit % 64);
    ++patterns;
    if ((seen[bit / 64] & mask) == 0) {
      ++fresh;
      seen[bit / 64] |= mask;
    }
  }
  if (opts_.depth > 1) {
    std::memmove(h.recent, h.recent + 1, opts_.depth - 2);
    h.recent[opts_.depth - 2] = static_cast<uint8_t>(band);
  }
  double share = beyond ? 1.0
                        : static_cast<double>(fresh)
                            / static_cast<double>(patterns);
  ++h.n;
  v.warm = h.n > warmup_;
  v.deviation = share;
  if (v.warm) {
    v.score = share;
    v.vote = share >= 0.5;
    v.certain = beyond;
  }
  return v;
}

uint64_t novelty::layout() const {
  hasher hs;
  hs.add("novelty/1");
  hs.add(std::string_view{reinterpret_cast<const char*>(&opts_.levels),
                          sizeof(opts_.levels)});
  hs.add(std::string_view{reinterpret_cast<const char*>(&opts_.depth),
                          sizeof(opts_.depth)});
  hs.add(std::string_view{reinterpret_cast<const char*>(&opts_.day_slots),
                          sizeof(opts_.day_slots)});
  return hs.finish();
}

} // namespace vigil::detector
