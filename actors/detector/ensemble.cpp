#include "actors/detector/ensemble.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
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
  result->likelihood_ = opts.likelihood;
  if (result->likelihood_.enabled) {
    result->likelihood_.average
      = std::clamp<uint32_t>(result->likelihood_.average, 1, 64);
    result->likelihood_.memory
      = std::max<uint32_t>(result->likelihood_.memory, 2);
    layout.add("likelihood");
    auto avg = result->likelihood_.average;
    layout.add(std::string_view{reinterpret_cast<const char*>(&avg),
                                sizeof(avg)});
    result->size_ = sizeof(header) + sizeof(likelihood_state)
                    + sizeof(double) * avg;
  } else if (result->refractory_ > 0) {
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
  if (likelihood_.enabled)
    judge_likelihood(state, r);
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

void ensemble::judge_likelihood(std::byte* state, ensemble_result& r) const {
  auto& h = *reinterpret_cast<likelihood_state*>(state + sizeof(header));
  auto* ring = reinterpret_cast<double*>(state + sizeof(header)
                                         + sizeof(likelihood_state));
  const auto& o = likelihood_;
  double raw = r.score;
  // The mean of the last `average` raw scores.
  auto slot = h.n % o.average;
  h.sum += raw - ring[slot];
  ring[slot] = raw;
  double ma = h.sum / static_cast<double>(std::min<uint64_t>(h.n + 1,
                                                             o.average));
  double lik = 0;
  if (h.n >= o.warmup) {
    // How far in the upper tail of the history the average lies, on a log
    // scale: 0.5 at a tail of 1e-5, 1 at 1e-10.
    double z = (ma - std::max(h.mu, o.mean_floor))
               / std::sqrt(std::max(h.var, o.variance_floor));
    double tail = 0.5 * std::erfc(z / std::sqrt(2.0));
    lik = std::log(tail + 1e-10) / std::log(1e-10);
  }
  double w = std::max(1.0 / o.memory, 1.0 / static_cast<double>(h.n + 1));
  double d = ma - h.mu;
  h.mu += w * d;
  h.var = (1 - w) * (h.var + w * d * d);
  ++h.n;
  double s = lik;
  bool certain = false;
  for (size_t i = 0; i < kinds_.size(); ++i)
    certain = certain || (r.verdicts[i].warm && r.verdicts[i].certain);
  if (certain)
    s = 1;
  for (size_t i = 0; i < kinds_.size(); ++i)
    if (kinds_[i]->floors_likelihood() && r.verdicts[i].warm)
      s = std::max(s, o.novelty_weight * r.verdicts[i].score);
  r.score = std::clamp(s, 0.0, 1.0);
  r.anomalous = r.score >= 0.5;
}

} // namespace vigil::detector
