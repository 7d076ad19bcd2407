#include "actors/detector/iforest_trainer.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <exception>

#include "actors/detector/detector.hpp"
#include "messages/errc.hpp"

namespace vigil::detector {

namespace {

/// The `q` quantile of `xs` (reorders it; nearest rank).
double quantile(std::vector<double>& xs, double q) {
  auto k
    = static_cast<size_t>(std::lround(q * static_cast<double>(xs.size() - 1)));
  k = std::min(k, xs.size() - 1);
  std::nth_element(xs.begin(), xs.begin() + static_cast<ptrdiff_t>(k),
                   xs.end());
  return xs[k];
}

// MAD x 1.4826 estimates the standard deviation of normal data.
constexpr double mad_to_sigma = 1.4826;

} // namespace

// -- iforest_model -------------------------------------------------------

void iforest_model::scale(const double* x, double* out) const {
  for (size_t i = 0; i < center.size(); ++i)
    out[i] = (x[i] - center[i]) * inv_scale[i];
}

double iforest_model::calibrated(double raw) const {
  // A floor on the denominator keeps a window whose scores are all alike
  // from turning the smallest difference into a full-scale score.
  double span = std::max(score_threshold - score_median, 0.01);
  return calibrate(std::max(raw - score_median, 0.0), span);
}

caf::expected<iforest_model>
iforest_model::fit(const Eigen::MatrixXd& x,
                   const iforest_trainer_options& opts, uint64_t seed) {
  auto d = static_cast<size_t>(x.cols());
  iforest_model m;
  m.center.assign(d, 0.0);
  m.inv_scale.assign(d, 1.0);
  Eigen::MatrixXd scaled = x;
  if (opts.robust_scaling && x.rows() > 0) {
    std::vector<double> col(static_cast<size_t>(x.rows()));
    for (size_t f = 0; f < d; ++f) {
      auto c = static_cast<Eigen::Index>(f);
      col.assign(x.col(c).data(), x.col(c).data() + x.rows());
      double med = quantile(col, 0.5);
      for (auto& v : col)
        v = std::fabs(v - med);
      double sigma = mad_to_sigma * quantile(col, 0.5);
      if (!(sigma > 0)) {
        // More than half the window sits on the median (an error rate that
        // is mostly 0): fall back to the mean absolute deviation, and to
        // no scaling for a feature that never moved.
        double sum = 0;
        for (auto v : col)
          sum += v;
        sigma = 1.2533 * sum / static_cast<double>(col.size());
      }
      m.center[f] = med;
      m.inv_scale[f] = sigma > 0 ? 1.0 / sigma : 1.0;
      scaled.col(c) = (x.col(c).array() - med) * m.inv_scale[f];
    }
  }
  auto params = opts.forest;
  params.seed = seed;
  auto forest = isolation_forest::fit(scaled, params);
  if (!forest)
    return std::move(forest.error());
  m.forest = std::move(*forest);
  std::vector<double> scores(static_cast<size_t>(scaled.rows()));
  m.forest.score(scaled, scores.data());
  // Rows fit() skipped score NaN; they take no part in the calibration.
  std::erase_if(scores, [](double s) { return std::isnan(s); });
  m.rows = scores.size();
  m.score_median = quantile(scores, 0.5);
  m.score_threshold = opts.score_threshold > 0
                        ? opts.score_threshold
                        : quantile(scores, opts.threshold_quantile);
  return m;
}

namespace {

constexpr uint32_t model_magic = 0x4d464956; // "VIFM" in little endian

void put_u64(std::vector<std::byte>& out, uint64_t x) {
  for (int i = 0; i < 8; ++i)
    out.push_back(static_cast<std::byte>((x >> (8 * i)) & 0xff));
}

uint64_t get_u64(std::span<const std::byte> in, size_t& pos, bool& ok) {
  if (!ok || in.size() - pos < 8) {
    ok = false;
    return 0;
  }
  uint64_t x = 0;
  for (int i = 0; i < 8; ++i)
    x |= static_cast<uint64_t>(in[pos + i]) << (8 * i);
  pos += 8;
  return x;
}

caf::error bad_model(const std::string& what) {
  return caf::make_error(errc::malformed, "iforest_model: " + what);
}

} // namespace

// Layout: magic and version (one u64), dims, rows, generation, the score
// median and threshold, center[dims], inv_scale[dims], the forest's byte
// count and bytes (isolation_forest's own versioned format).
std::vector<std::byte> iforest_model::serialize() const {
  std::vector<std::byte> out;
  put_u64(out, uint64_t{model_magic} | uint64_t{format_version} << 32);
  put_u64(out, center.size());
  put_u64(out, rows);
  put_u64(out, generation);
  put_u64(out, std::bit_cast<uint64_t>(score_median));
  put_u64(out, std::bit_cast<uint64_t>(score_threshold));
  for (auto v : center)
    put_u64(out, std::bit_cast<uint64_t>(v));
  for (auto v : inv_scale)
    put_u64(out, std::bit_cast<uint64_t>(v));
  auto trees = forest.serialize();
  put_u64(out, trees.size());
  out.insert(out.end(), trees.begin(), trees.end());
  return out;
}

caf::expected<iforest_model>
iforest_model::deserialize(std::span<const std::byte> bytes) {
  size_t pos = 0;
  bool ok = true;
  auto head = get_u64(bytes, pos, ok);
  if (!ok || (head & 0xffffffff) != model_magic)
    return bad_model("not a model (bad magic)");
  if ((head >> 32) != format_version)
    return bad_model("unsupported format version "
                     + std::to_string(head >> 32));
  iforest_model m;
  auto dims = get_u64(bytes, pos, ok);
  m.rows = get_u64(bytes, pos, ok);
  m.generation = get_u64(bytes, pos, ok);
  m.score_median = std::bit_cast<double>(get_u64(bytes, pos, ok));
  m.score_threshold = std::bit_cast<double>(get_u64(bytes, pos, ok));
  // Bound dims by the bytes left before allocating by it.
  if (!ok || dims == 0 || dims > (bytes.size() - pos) / 16)
    return bad_model("truncated or inconsistent header");
  m.center.resize(dims);
  m.inv_scale.resize(dims);
  for (auto& v : m.center)
    v = std::bit_cast<double>(get_u64(bytes, pos, ok));
  for (auto& v : m.inv_scale)
    v = std::bit_cast<double>(get_u64(bytes, pos, ok));
  auto n = get_u64(bytes, pos, ok);
  if (!ok || n != bytes.size() - pos)
    return bad_model("length does not match the header");
  auto f = isolation_forest::deserialize(bytes.subspan(pos));
  if (!f)
    return std::move(f.error());
  m.forest = std::move(*f);
  bool finite
    = std::isfinite(m.score_median) && std::isfinite(m.score_threshold);
  for (size_t i = 0; i < dims; ++i)
    finite = finite && std::isfinite(m.center[i])
             && std::isfinite(m.inv_scale[i]) && m.inv_scale[i] > 0;
  if (!finite || m.forest.dims() != dims)
    return bad_model("inconsistent values");
  return m;
}

// -- iforest_trainer -----------------------------------------------------

iforest_trainer::iforest_trainer(size_t dims, iforest_trainer_options opts,
                                 iforest_executor exec)
  : dims_(dims), opts_(opts), exec_(std::move(exec)),
    shared_(std::make_shared<shared_state>()) {
  opts_.window = std::max<uint32_t>(opts_.window, 2);
  opts_.min_samples = std::clamp<uint32_t>(opts_.min_samples, 2, opts_.window);
  ring_.resize(size_t{opts_.window} * dims_);
}

iforest_trainer::~iforest_trainer() {
  if (worker_.joinable())
    worker_.join();
}

bool iforest_trainer::add(const double* x, int64_t ts_ms) {
  for (size_t i = 0; i < dims_; ++i)
    if (!std::isfinite(x[i]))
      return false;
  std::copy(x, x + dims_, ring_.data() + head_ * dims_);
  head_ = (head_ + 1) % opts_.window;
  count_ = std::min<size_t>(count_ + 1, opts_.window);
  ++since_start_;
  if (due(ts_ms) && !training())
    start(ts_ms);
  return true;
}

bool iforest_trainer::due(int64_t ts_ms) const {
  if (count_ < opts_.min_samples)
    return false;
  if (starts_ == 0)
    return true;
  if (generation() == 0) // no model yet: retry every min_samples vectors
    return since_start_ >= opts_.min_samples;
  if (opts_.retrain_every > 0 && since_start_ >= opts_.retrain_every)
    return true;
  return opts_.retrain_interval_ms > 0 && since_start_ > 0
         && ts_ms - last_start_ms_ >= opts_.retrain_interval_ms;
}

bool iforest_trainer::install(iforest_model m) {
  if (m.center.size() != dims_ || m.forest.dims() != dims_)
    return false;
  std::lock_guard<std::mutex> guard{shared_->mtx};
  // Generations only grow, so the scoring thread notices the swap.
  m.generation = shared_->generation.load() + 1;
  shared_->model = std::make_shared<const iforest_model>(std::move(m));
  shared_->generation.store(shared_->model->generation,
                            std::memory_order_release);
  // Counts as a training for `due`: the next one comes retrain_every later.
  ++starts_;
  since_start_ = 0;
  return true;
}

bool iforest_trainer::train_now() {
  if (count_ < 2 || training())
    return false;
  start(last_start_ms_);
  return true;
}

void iforest_trainer::start(int64_t ts_ms) {
  // The window is copied here, on the caller's thread, so the ring needs no
  // lock: the job owns its data.
  Eigen::MatrixXd data(static_cast<Eigen::Index>(count_),
                       static_cast<Eigen::Index>(dims_));
  size_t oldest = (head_ + opts_.window - count_) % opts_.window;
  for (size_t r = 0; r < count_; ++r) {
    const double* row = ring_.data() + ((oldest + r) % opts_.window) * dims_;
    for (size_t c = 0; c < dims_; ++c)
      data(static_cast<Eigen::Index>(r), static_cast<Eigen::Index>(c)) = row[c];
  }
  {
    std::lock_guard<std::mutex> guard{shared_->mtx};
    shared_->in_flight = true;
  }
  since_start_ = 0;
  last_start_ms_ = ts_ms;
  // Successive trainings draw different forests, reproducibly.
  uint64_t seed = opts_.forest.seed + starts_++;
  auto job = [shared = shared_, data = std::move(data), opts = opts_, seed] {
    auto m = [&]() -> caf::expected<iforest_model> {
      try {
        return iforest_model::fit(data, opts, seed);
      } catch (const std::exception& e) {
        // Out of memory, most likely: the trainer must still come back
        // idle, or it would never train again.
        return caf::make_error(errc::internal,
                               std::string{"training: "} + e.what());
      }
    }();
    std::lock_guard<std::mutex> guard{shared->mtx};
    if (m) {
      m->generation = shared->generation.load() + 1;
      shared->model = std::make_shared<const iforest_model>(std::move(*m));
      shared->generation.store(shared->model->generation,
                               std::memory_order_release);
    } else {
      shared->last_error = render(m.error());
      shared->failures.fetch_add(1);
    }
    shared->in_flight = false;
    shared->idle.notify_all();
  };
  // If the job cannot even be handed over (no thread to be had), the
  // trainer must come back idle, or it would never train again.
  auto give_up = [this](const char* what) {
    std::lock_guard<std::mutex> guard{shared_->mtx};
    shared_->last_error = std::string{"training not started: "} + what;
    shared_->failures.fetch_add(1);
    shared_->in_flight = false;
    shared_->idle.notify_all();
  };
  try {
    if (exec_) {
      exec_(std::move(job));
      return;
    }
    // The previous training is over (in_flight was false), so this join
    // only waits for its thread to return.
    if (worker_.joinable())
      worker_.join();
    worker_ = std::thread{std::move(job)};
  } catch (const std::exception& e) {
    give_up(e.what());
  }
}

const iforest_model* iforest_trainer::model() {
  auto gen = shared_->generation.load(std::memory_order_acquire);
  if (gen != seen_) {
    std::lock_guard<std::mutex> guard{shared_->mtx};
    current_ = shared_->model;
    seen_ = current_ ? current_->generation : 0;
  }
  return current_.get();
}

std::shared_ptr<const iforest_model> iforest_trainer::shared_model() const {
  std::lock_guard<std::mutex> guard{shared_->mtx};
  return shared_->model;
}

bool iforest_trainer::training() const {
  return shared_->in_flight.load(std::memory_order_acquire);
}

uint64_t iforest_trainer::generation() const {
  return shared_->generation.load(std::memory_order_acquire);
}

uint64_t iforest_trainer::failures() const {
  return shared_->failures.load();
}

std::string iforest_trainer::last_error() const {
  std::lock_guard<std::mutex> guard{shared_->mtx};
  return shared_->last_error;
}

bool iforest_trainer::wait_idle(std::chrono::milliseconds deadline) const {
  std::unique_lock<std::mutex> lock{shared_->mtx};
  return shared_->idle.wait_for(lock, deadline,
                                [&] { return !shared_->in_flight; });
}

} // namespace vigil::detector
