#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>

#include "config/options.hpp"

namespace vigil {

/// How a supervisor restarts a child: an OTP-style intensity (`max_restarts`
/// within `period`) and an exponential backoff between restarts.
struct restart_policy {
  uint32_t max_restarts = 5;
  duration period{60000};
  duration backoff_initial{100};
  duration backoff_max{5000};

  /// The policy configured in `node.supervision`.
  static restart_policy from(const supervision_options& x) {
    return {x.max_restarts, x.period, x.backoff_initial, x.backoff_max};
  }
};

/// Counts one child's crashes in a sliding window and decides whether and
/// when to restart it. Pure logic, driven by the caller's clock so that
/// tests run on CAF's deterministic scheduler.
class restart_budget {
public:
  using time_point = std::chrono::steady_clock::time_point;

  restart_budget() = default;
  explicit restart_budget(restart_policy policy) : policy_(policy) {}

  /// Records a crash at `now`. Returns the delay before restarting, or
  /// nothing when more than `max_restarts` crashes fell within `period`: the
  /// budget is spent and the supervisor must escalate.
  std::optional<duration> on_crash(time_point now) {
    forget_before(now);
    crashes_.push_back(now);
    if (crashes_.size() > policy_.max_restarts)
      return std::nullopt;
    // 1st crash in the window waits backoff_initial, each further one twice
    // as long, capped.
    auto delay = policy_.backoff_initial;
    for (size_t i = 1; i < crashes_.size() && delay < policy_.backoff_max; ++i)
      delay *= 2;
    return std::min(delay, policy_.backoff_max);
  }

  /// Crashes within the window ending at `now`.
  size_t recent(time_point now) {
    forget_before(now);
    return crashes_.size();
  }

  const restart_policy& policy() const { return policy_; }

private:
  void forget_before(time_point now) {
    while (!crashes_.empty() && now - crashes_.front() >= policy_.period)
      crashes_.pop_front();
  }

  restart_policy policy_;
  std::deque<time_point> crashes_;
};

} // namespace vigil
