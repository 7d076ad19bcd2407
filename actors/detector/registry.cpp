#include "actors/detector/cusum.hpp"
#include "actors/detector/detector.hpp"
#include "actors/detector/ewma.hpp"
#include "actors/detector/novelty.hpp"
#include "actors/detector/ramp.hpp"
#include "actors/detector/seasonal.hpp"
#include "actors/detector/zscore.hpp"

namespace vigil::detector {

std::unique_ptr<detector_kind> make_detector(std::string_view name,
                                             const detection_options& opts) {
  if (name == "zscore")
    return std::make_unique<zscore>(opts.zscore, opts.warmup_samples);
  if (name == "ewma")
    return std::make_unique<ewma>(opts.ewma, opts.warmup_samples);
  if (name == "cusum")
    return std::make_unique<cusum>(opts.cusum, opts.warmup_samples);
  if (name == "novelty")
    return std::make_unique<novelty>(opts.novelty, opts.warmup_samples);
  if (name == "ramp")
    return std::make_unique<ramp>(opts.ramp, opts.warmup_samples);
  if (name == "seasonal")
    return std::make_unique<seasonal>(opts.seasonal, opts.warmup_samples);
  return nullptr;
}

std::vector<std::string_view> detector_names() {
  return {known_detectors.begin(), known_detectors.end()};
}

} // namespace vigil::detector
