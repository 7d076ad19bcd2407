#include <chrono>
#include <cmath>
#include <future>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "actors/detector/iforest_detectors.hpp"
#include "actors/detector/iforest_trainer.hpp"
#include "messages/errc.hpp"

using namespace vigil::detector;
using namespace std::chrono_literals;

namespace {

constexpr auto deadline = 20s;

/// An executor that runs each job on its own thread once the test releases
/// it (or, so that a blocked test fails instead of hanging, once `deadline`
/// passed). Joins its threads on destruction.
class gated_executor {
public:
  ~gated_executor() {
    for (auto& g : gates_)
      release_gate(*g);
    for (auto& t : threads_)
      t.join();
  }

  iforest_executor get() {
    return [this](std::function<void()> job) {
      std::lock_guard<std::mutex> guard{mtx_};
      gates_.push_back(std::make_unique<gate>());
      auto opened = gates_.back()->open.get_future().share();
      threads_.emplace_back([opened, job = std::move(job)] {
        opened.wait_for(deadline);
        job();
      });
    };
  }

  /// Lets job `i` (0 = the first submitted) run.
  void release(size_t i) {
    std::lock_guard<std::mutex> guard{mtx_};
    ASSERT_LT(i, gates_.size());
    release_gate(*gates_[i]);
  }

  size_t submitted() {
    std::lock_guard<std::mutex> guard{mtx_};
    return gates_.size();
  }

private:
  struct gate {
    std::promise<void> open;
    bool released = false;
  };

  static void release_gate(gate& g) {
    if (!g.released) {
      g.released = true;
      g.open.set_value();
    }
  }

  std::mutex mtx_;
  std::vector<std::unique_ptr<gate>> gates_;
  std::vector<std::thread> threads_;
};

/// A service's vector: latency (ms), error rate, throughput (rps),
/// saturation, loosely tied to each other.
std::vector<double> service_vector(std::mt19937& gen) {
  std::normal_distribution<double> z;
  double load = 1000 + 100 * z(gen);
  return {50 + 0.01 * load + 3 * z(gen), 0.01 + 0.002 * std::fabs(z(gen)), load,
          0.4 + load / 5000 + 0.02 * z(gen)};
}

iforest_trainer_options small_options() {
  iforest_trainer_options o;
  o.window = 512;
  o.min_samples = 256;
  o.retrain_every = 256;
  o.retrain_interval_ms = 0;
  return o;
}

} // namespace

TEST(iforest_trainer, scoring_goes_on_while_a_training_is_in_flight) {
  gated_executor exec;
  iforest_vector_detector det{4, small_options(), exec.get()};
  std::mt19937 gen{1};
  for (int i = 0; i < 256; ++i) {
    auto v = det.update(service_vector(gen), i);
    EXPECT_FALSE(v.v.warm); // no model yet
  }
  ASSERT_EQ(exec.submitted(), 1u);
  ASSERT_TRUE(det.trainer().training());
  // The first training is held: scoring must not wait for it.
  for (int i = 256; i < 2256; ++i) {
    auto v = det.update(service_vector(gen), i);
    EXPECT_FALSE(v.v.warm);
    EXPECT_EQ(v.model, 0u);
  }
  EXPECT_TRUE(det.trainer().training())
    << "the scoring loop waited for the training";
  EXPECT_EQ(exec.submitted(), 1u) << "at most one training in flight";
  exec.release(0);
  ASSERT_TRUE(det.trainer().wait_idle(deadline));
  EXPECT_EQ(det.trainer().generation(), 1u);
  // The next vector is judged by the new model, and (2000 vectors came in
  // since) starts the second training, which is held again.
  auto v = det.update(service_vector(gen), 3000);
  EXPECT_TRUE(v.v.warm);
  EXPECT_EQ(v.model, 1u);
  ASSERT_EQ(exec.submitted(), 2u);
  ASSERT_TRUE(det.trainer().training());
  for (int i = 0; i < 1000; ++i)
    EXPECT_EQ(det.update(service_vector(gen), 3001 + i).model, 1u);
  EXPECT_TRUE(det.trainer().training());
  exec.release(1);
  ASSERT_TRUE(det.trainer().wait_idle(deadline));
  EXPECT_EQ(det.update(service_vector(gen), 5000).model, 2u);
}

TEST(iforest_trainer, trains_on_its_own_thread_and_joins_it) {
  auto opts = small_options();
  std::mt19937 gen{2};
  iforest_trainer trainer{4, opts};
  EXPECT_EQ(trainer.model(), nullptr);
  for (int i = 0; i < 256; ++i)
    ASSERT_TRUE(trainer.add(service_vector(gen).data(), i));
  ASSERT_TRUE(trainer.wait_idle(deadline));
  ASSERT_NE(trainer.model(), nullptr);
  EXPECT_EQ(trainer.model()->generation, 1u);
  EXPECT_EQ(trainer.model()->rows, 256u);
  EXPECT_EQ(trainer.shared_model().get(), trainer.model());
  // Every retrain_every vectors a new model; the window stays bounded.
  for (int i = 0; i < 256; ++i)
    trainer.add(service_vector(gen).data(), 256 + i);
  ASSERT_TRUE(trainer.wait_idle(deadline));
  EXPECT_EQ(trainer.generation(), 2u);
  EXPECT_EQ(trainer.model()->rows, 512u);
  for (int i = 0; i < 300; ++i)
    trainer.add(service_vector(gen).data(), 512 + i);
  ASSERT_TRUE(trainer.wait_idle(deadline));
  EXPECT_EQ(trainer.window_size(), 512u);
  EXPECT_EQ(trainer.model()->rows, 512u);
  // The destructor joins a training that is still running.
  for (int i = 0; i < 256; ++i)
    trainer.add(service_vector(gen).data(), 900 + i);
}

TEST(iforest_trainer, retrains_by_event_time) {
  auto opts = small_options();
  opts.retrain_every = 0;
  opts.retrain_interval_ms = 60'000;
  iforest_trainer trainer{4, opts};
  std::mt19937 gen{3};
  int64_t ts = 0;
  for (int i = 0; i < 256; ++i, ts += 1000)
    trainer.add(service_vector(gen).data(), ts);
  ASSERT_TRUE(trainer.wait_idle(deadline));
  ASSERT_EQ(trainer.generation(), 1u);
  // 59 s after the first training: not yet; at 60 s: again.
  int64_t first = ts - 1000;
  for (; ts < first + 60'000; ts += 1000) {
    trainer.add(service_vector(gen).data(), ts);
    ASSERT_TRUE(trainer.wait_idle(deadline));
    EXPECT_EQ(trainer.generation(), 1u) << ts;
  }
  trainer.add(service_vector(gen).data(), ts);
  ASSERT_TRUE(trainer.wait_idle(deadline));
  EXPECT_EQ(trainer.generation(), 2u);
}

TEST(iforest_trainer, a_failed_training_keeps_warming_up_and_says_why) {
  auto opts = small_options();
  iforest_trainer trainer{2, opts};
  double flat[2] = {3, 4};
  for (int i = 0; i < 256; ++i)
    trainer.add(flat, i);
  ASSERT_TRUE(trainer.wait_idle(deadline));
  EXPECT_EQ(trainer.generation(), 0u);
  EXPECT_EQ(trainer.failures(), 1u);
  EXPECT_NE(trainer.last_error().find("equal"), std::string::npos)
    << trainer.last_error();
  EXPECT_EQ(trainer.model(), nullptr);
  // Non-finite vectors are refused.
  double bad[2] = {NAN, 1};
  EXPECT_FALSE(trainer.add(bad, 300));
  // Once the window varies, the retry (min_samples later) succeeds.
  std::mt19937 gen{4};
  std::normal_distribution<double> z;
  for (int i = 0; i < 256; ++i) {
    double x[2] = {z(gen), z(gen)};
    trainer.add(x, 300 + i);
  }
  ASSERT_TRUE(trainer.wait_idle(deadline));
  EXPECT_EQ(trainer.generation(), 1u);
}

TEST(iforest_vector_detector, flags_a_broken_service_and_names_the_feature) {
  iforest_vector_detector det{4, small_options()};
  std::mt19937 gen{5};
  for (int i = 0; i < 512; ++i)
    det.update(service_vector(gen), i);
  ASSERT_TRUE(det.trainer().wait_idle(deadline));
  ASSERT_NE(det.trainer().model(), nullptr);
  int votes = 0;
  for (int i = 0; i < 1000; ++i) {
    auto v = det.judge(service_vector(gen));
    ASSERT_TRUE(v.v.warm);
    votes += v.v.vote;
    EXPECT_GE(v.v.score, 0.0);
    EXPECT_LT(v.v.score, 1.0);
  }
  EXPECT_LT(votes, 30); // threshold at the window's 99.5 % quantile
  // Error rate 30x its usual level, everything else normal... plus a
  // latency that has nothing to do with the load.
  std::vector<double> broken{95, 0.3, 1000, 0.6};
  auto v = det.judge(broken);
  EXPECT_TRUE(v.v.vote);
  EXPECT_GT(v.v.score, 0.5);
  EXPECT_EQ(v.feature, 1); // error rate deviates most, in robust sigmas
  EXPECT_GT(v.v.deviation, 10);
  EXPECT_LT(v.v.expected_lo, 0.02);
  EXPECT_GT(v.v.expected_hi, 0.01);
  EXPECT_LT(v.v.expected_hi, 0.1);
  // Wrong size or NaN: skipped.
  EXPECT_TRUE(det.judge(std::vector<double>{1, 2, 3}).skipped);
  EXPECT_TRUE(det.update(std::vector<double>{1, NAN, 3, 4}, 0).skipped);
}

TEST(iforest_series_detector, catches_a_shape_that_no_single_value_shows) {
  iforest_series_options opts;
  opts.window = 12;
  opts.trainer = small_options();
  opts.trainer.window = 2048;
  opts.trainer.min_samples = 1024;
  opts.trainer.retrain_every = 0; // one model, trained on the clean part
  iforest_series_detector det{opts};
  std::mt19937 gen{6};
  std::normal_distribution<double> noise{0, 0.05};
  auto wave = [&](int t) {
    return 10 + 3 * std::sin(2 * M_PI * t / 24.0) + noise(gen);
  };
  int t = 0;
  for (; t < 11; ++t)
    EXPECT_FALSE(det.update(wave(t), t).v.warm); // window not full
  for (; t < 1100; ++t)
    det.update(wave(t), t);
  ASSERT_TRUE(det.trainer().wait_idle(deadline));
  ASSERT_EQ(det.trainer().generation(), 1u);
  int clean_votes = 0;
  for (; t < 1600; ++t)
    clean_votes += det.update(wave(t), t).v.vote;
  EXPECT_LT(clean_votes, 15);
  // The wave stops for 8 steps at its mean: every value lies well inside
  // the series' range, only the shape is wrong.
  double worst = 0;
  for (int k = 0; k < 8; ++k, ++t)
    worst = std::max(worst, det.update(10 + noise(gen), t).v.score);
  EXPECT_GT(worst, 0.5);
  // Skipped values do not enter the window.
  EXPECT_TRUE(det.update(NAN, t).skipped);
}

TEST(iforest_series_detector, differences_and_level_division_shape_vectors) {
  // A doubled level with the same relative shape scores like the original
  // when vectors are divided by their level.
  iforest_series_options opts;
  opts.window = 8;
  opts.divide_by_level = true;
  opts.trainer = small_options();
  opts.trainer.retrain_every = 0;
  iforest_series_detector det{opts};
  std::mt19937 gen{7};
  std::normal_distribution<double> noise{0, 0.01};
  int t = 0;
  for (; t < 400; ++t)
    det.update(100 * (1 + 0.2 * std::sin(t / 3.0) + noise(gen)), t);
  ASSERT_TRUE(det.trainer().wait_idle(deadline));
  ASSERT_EQ(det.trainer().generation(), 1u);
  for (; t < 420; ++t) // move the window into the new level
    det.update(200 * (1 + 0.2 * std::sin(t / 3.0) + noise(gen)), t);
  int votes = 0;
  for (; t < 520; ++t)
    votes
      += det.update(200 * (1 + 0.2 * std::sin(t / 3.0) + noise(gen)), t).v.vote;
  EXPECT_LT(votes, 5);
  // With differences, the first vector needs window + 1 values.
  iforest_series_options d_opts;
  d_opts.window = 4;
  d_opts.difference = true;
  iforest_series_detector diff{d_opts};
  for (int i = 0; i < 5; ++i)
    EXPECT_FALSE(diff.update(i, i).v.warm);
  EXPECT_EQ(diff.trainer().window_size(), 1u);
}

TEST(iforest_model, survives_a_snapshot_and_can_be_installed) {
  iforest_vector_detector det{4, small_options()};
  std::mt19937 gen{8};
  for (int i = 0; i < 300; ++i)
    det.update(service_vector(gen), i);
  ASSERT_TRUE(det.trainer().wait_idle(deadline));
  auto model = det.trainer().shared_model();
  ASSERT_NE(model, nullptr);
  auto bytes = model->serialize();
  auto back = iforest_model::deserialize(bytes);
  ASSERT_TRUE(back) << vigil::render(back.error());
  EXPECT_EQ(back->serialize(), bytes);
  EXPECT_EQ(back->center, model->center);
  EXPECT_EQ(back->inv_scale, model->inv_scale);
  EXPECT_EQ(back->score_threshold, model->score_threshold);
  // A fresh detector given the restored model is warm at once and judges
  // exactly as the original.
  iforest_vector_detector restored{4, small_options()};
  EXPECT_FALSE(restored.judge(service_vector(gen)).v.warm);
  ASSERT_TRUE(restored.trainer().install(std::move(*back)));
  for (int i = 0; i < 100; ++i) {
    auto x = service_vector(gen);
    auto a = det.judge(x);
    auto b = restored.judge(x);
    ASSERT_TRUE(b.v.warm);
    EXPECT_EQ(a.raw, b.raw);
    EXPECT_EQ(a.v.score, b.v.score);
    EXPECT_EQ(a.feature, b.feature);
  }
  // Damaged or foreign bytes are refused; so is a model of other dims.
  bytes[0] = std::byte{0};
  EXPECT_FALSE(iforest_model::deserialize(bytes));
  auto good = model->serialize();
  good.pop_back();
  EXPECT_FALSE(iforest_model::deserialize(good));
  iforest_vector_detector other{3, small_options()};
  EXPECT_FALSE(other.trainer().install(*model));
}
