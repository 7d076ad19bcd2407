#include "tests/support/caf_test.hpp"

#include "messages/messages.hpp"

namespace vigil::test {

deterministic_system::deterministic_system() {
  cfg_.set("scheduler.policy", caf::atom("testing"));
  cfg_.set("logger.verbosity", caf::atom("quiet"));
  add_message_types(cfg_);
  sys_ = std::make_unique<caf::actor_system>(cfg_);
  sched_ = &dynamic_cast<caf::scheduler::test_coordinator&>(sys_->scheduler());
}

deterministic_system::~deterministic_system() {
  // Let pending exit messages drain so actors terminate before the system.
  sched_->run();
}

} // namespace vigil::test
