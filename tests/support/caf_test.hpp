#pragma once

// A CAF actor system on the deterministic test scheduler: time moves only
// when the test says so, messages are delivered only when the test runs them.

#include <memory>
#include <ostream>
#include <string>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/error.hpp>
#include <caf/scheduler/test_coordinator.hpp>

namespace caf {
/// Lets gtest print a caf::error readably.
inline void PrintTo(const error& x, std::ostream* os) {
  *os << to_string(x);
}
} // namespace caf

namespace vigil::test {

/// Owns an actor system with the `testing` scheduler policy.
class deterministic_system {
public:
  deterministic_system();
  ~deterministic_system();

  caf::actor_system& sys() { return *sys_; }
  caf::scheduler::test_coordinator& sched() { return *sched_; }

  /// Runs every pending message (and what they trigger) to quiescence.
  void run() { sched_->run(); }

  /// Moves the clock by `dt`, fires due timeouts, runs to quiescence.
  template <class Duration>
  void advance(Duration dt) {
    sched_->advance_time(
      std::chrono::duration_cast<caf::timespan>(dt));
    sched_->run();
  }

private:
  caf::actor_system_config cfg_;
  std::unique_ptr<caf::actor_system> sys_;
  caf::scheduler::test_coordinator* sched_ = nullptr;
};

} // namespace vigil::test
