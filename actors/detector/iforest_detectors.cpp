#include "actors/detector/iforest_detectors.hpp"

#include <algorithm>
#include <cmath>

namespace vigil::detector {

namespace {

/// Judges `x` with `m` (nullptr: warming up); `scaled` has room for the
/// model's dims. `band` asks for the deviating feature's expected band.
iforest_verdict judge_with(const iforest_model* m, const double* x,
                           double* scaled, bool band) {
  iforest_verdict out;
  if (m == nullptr)
    return out;
  out.model = m->generation;
  m->scale(x, scaled);
  out.raw = m->forest.score(scaled);
  size_t top = 0;
  for (size_t i = 1; i < m->center.size(); ++i)
    if (std::fabs(scaled[i]) > std::fabs(scaled[top]))
      top = i;
  out.feature = static_cast<int32_t>(top);
  out.v.warm = true;
  out.v.score = m->calibrated(out.raw);
  out.v.vote = out.v.score >= 0.5;
  out.v.deviation = scaled[top];
  if (band) {
    double sigma = 1.0 / m->inv_scale[top];
    out.v.expected_lo = m->center[top] - 3 * sigma;
    out.v.expected_hi = m->center[top] + 3 * sigma;
  }
  return out;
}

bool all_finite(std::span<const double> x) {
  return std::all_of(x.begin(), x.end(),
                     [](double v) { return std::isfinite(v); });
}

} // namespace

// -- iforest_vector_detector ---------------------------------------------

iforest_vector_detector::iforest_vector_detector(size_t dims,
                                                 iforest_trainer_options opts,
                                                 iforest_executor exec)
  : trainer_(dims, opts, std::move(exec)), scaled_(dims) {}

iforest_verdict iforest_vector_detector::judge(std::span<const double> x) {
  if (x.size() != trainer_.dims() || !all_finite(x)) {
    iforest_verdict out;
    out.skipped = true;
    return out;
  }
  return judge_with(trainer_.model(), x.data(), scaled_.data(), true);
}

iforest_verdict iforest_vector_detector::update(std::span<const double> x,
                                                int64_t ts_ms) {
  auto out = judge(x);
  if (!out.skipped)
    trainer_.add(x.data(), ts_ms);
  return out;
}

// -- iforest_series_detector ---------------------------------------------

iforest_series_detector::iforest_series_detector(iforest_series_options opts,
                                                 iforest_executor exec)
  : opts_([&] {
      opts.window = std::clamp<uint32_t>(opts.window, 2, 1024);
      return opts;
    }()),
    trainer_(opts_.window, opts_.trainer, std::move(exec)),
    values_(opts_.window + 1), features_(opts_.window), scaled_(opts_.window) {}

iforest_verdict iforest_series_detector::update(double x, int64_t ts_ms) {
  iforest_verdict out;
  if (!std::isfinite(x)) {
    out.skipped = true;
    return out;
  }
  auto cap = values_.size();
  values_[head_] = x;
  head_ = (head_ + 1) % cap;
  count_ = std::min(count_ + 1, cap);
  size_t w = opts_.window;
  size_t need = opts_.difference ? w + 1 : w;
  if (count_ < need)
    return out;
  // Value i of the window, oldest first: the window ends at head_ - 1.
  auto at = [&](size_t i, size_t len) {
    return values_[(head_ + cap - len + i) % cap];
  };
  double level = 0;
  for (size_t i = 0; i < w; ++i)
    level += at(i, w);
  level /= static_cast<double>(w);
  if (opts_.difference) {
    for (size_t i = 0; i < w; ++i)
      features_[i] = at(i + 1, w + 1) - at(i, w + 1);
  } else {
    for (size_t i = 0; i < w; ++i)
      features_[i] = at(i, w) - (opts_.subtract_level ? level : 0.0);
  }
  if (opts_.divide_by_level) {
    double abs_level = 0;
    for (size_t i = 0; i < w; ++i)
      abs_level += std::fabs(at(i, w));
    abs_level /= static_cast<double>(w);
    if (abs_level > 0)
      for (auto& f : features_)
        f /= abs_level;
  }
  out = judge_with(trainer_.model(), features_.data(), scaled_.data(), false);
  trainer_.add(features_.data(), ts_ms);
  return out;
}

} // namespace vigil::detector
