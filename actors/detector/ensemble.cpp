#include "actors/detector/ensemble.hpp"

#include <algorithm>
#include <bit>
#include <cstring>

#include "messages/errc.hpp"
#include "runtime/hash.hpp"

namespace vigil::detector {

caf::expected<std::shared_ptr<const ensemble>>
ensemble::make(const detection_options& opts) {
  std::shared_ptr<ensemble> result{new ensemble};
  if (opts.detectors.empty() || opts.detectors.size() > max_detectors)
    return caf::make_error(errc::invalid_config,
                           "detection.detectors must name 1 to "
                             + std::to_string(max_detectors) + " detectors",
                           "detection.detectors");
  hasher layout;
  // Snapshots are byte copies: refuse to restore across byte orders.
  layout.add(std::endian::native == std::endian::little ? "le" : "be");
  result->refractory_ = opts.refractory_samples;
  if (result->refractory_ > 0) {
    layout.add("refractory");
    result->size_ = sizeof(header);
  }
  for (auto& name : opts.detectors) {
    auto kind = make_detector(name, opts);
    if (!kind)
      return caf::make_error(errc::invalid_config,
                             "unknown detector '" + name + "'",
                             "detection.detectors");
    result->offsets_.push_back(result->size_);
    result->size_ += (kind->state_size() + 7) / 8 * 8;
    auto l = kind->layout();
    layout.add(std::string_view{reinterpret_cast<const char*>(&l), sizeof(l)});
    result->kinds_.push_back(std::move(kind));
  }
  if (opts.min_votes < 1 || opts.min_votes > result->kinds_.size())
    return caf::make_error(errc::invalid_config,
                           "detection.min_votes must be between 1 and the "
                           "number of detectors",
                           "detection.min_votes");
  result->min_votes_ = opts.min_votes;
  result->layout_ = layout.finish();
  return std::shared_ptr<const ensemble>{std::move(result)};
}

void ensemble::init(std::byte* state) const {
  std::memset(state, 0, size_);
  for (size_t i = 0; i < kinds_.size(); ++i)
    kinds_[i]->init(state + offsets_[i]);
}

ensemble_result ensemble::update(std::byte* state, double x,
                                 int64_t ts_ms) const {
  ensemble_result r;
  std::array<double, max_detectors> scores{};
  double lo = std::numeric_limits<double>::infinity();
  double hi = -lo;
  for (size_t i = 0; i < kinds_.size(); ++i) {
    auto v = kinds_[i]->update(state + offsets_[i], x, ts_ms);
    r.verdicts[i] = v;
    if (!v.warm)
      continue;
    scores[r.warm++] = v.score;
    if (v.vote)
      ++r.votes;
    if (!std::isnan(v.expected_lo)) {
      lo = std::min(lo, v.expected_lo);
      hi = std::max(hi, v.expected_hi);
    }
  }
  if (r.warm >= min_votes_) {
    std::partial_sort(scores.begin(), scores.begin() + min_votes_,
                      scores.begin() + r.warm, std::greater<>{});
    double sum = 0;
    for (uint32_t i = 0; i < min_votes_; ++i)
      sum += scores[i];
    r.score = sum / min_votes_;
  }
  r.anomalous = r.votes >= min_votes_;
  if (refractory_ > 0) {
    auto& h = *reinterpret_cast<header*>(state);
    if (h.quiet > 0) {
      --h.quiet;
      r.score = std::min(r.score, 0.5) * 0.5;
    } else if (r.anomalous) {
      h.quiet = refractory_;
    }
  }
  r.expected_lo = lo <= hi ? lo : std::numeric_limits<double>::quiet_NaN();
  r.expected_hi = lo <= hi ? hi : std::numeric_limits<double>::quiet_NaN();
  return r;
}

} // namespace vigil::detector
