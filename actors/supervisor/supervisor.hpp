#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/atom.hpp>
#include <caf/behavior.hpp>
#include <caf/stateful_actor.hpp>

#include "runtime/metrics/registry.hpp"
#include "runtime/supervision/restart_budget.hpp"

namespace vigil::supervisor {

/// When a child is restarted (OTP's restart types).
enum class restart_kind : uint8_t {
  /// Always, whatever the exit reason (except while the supervisor stops).
  permanent,
  /// Only after an abnormal exit.
  transient,
  /// Never.
  temporary,
};

/// How to start and restart one child.
struct child_spec {
  /// Unique within the supervisor; used in logs.
  std::string name;
  /// The actor kind, the `actor` label of vigil_actor_restarts_total.
  std::string kind;
  /// When set, every (re)start publishes the child's handle in the actor
  /// registry under this key, and its death removes it, so peers always
  /// find the current incarnation.
  std::optional<caf::atom_value> registry_key;
  /// Spawns the child. Called again for every restart.
  std::function<caf::actor(caf::local_actor* supervisor)> start;
  restart_kind restart = restart_kind::permanent;
};

/// A supervisor's configuration.
struct supervisor_options {
  /// Name used in logs.
  std::string name;
  restart_policy policy;
  /// Children, started in order and stopped in reverse order.
  std::vector<child_spec> children;
  /// How long a child may take to stop before it is killed.
  duration shutdown_timeout{10000};
  /// Where restarts are counted; may be null.
  std::shared_ptr<metrics::registry> metrics;
};

/// What a supervisor owns: its children and their restart budgets. Lives on
/// the node that spawned it.
struct supervisor_state {
  struct child {
    child_spec spec;
    caf::actor handle;
    restart_budget budget;
    bool running = false;
    /// Bumped on every start; a delayed restart for an older generation is
    /// stale and ignored.
    uint64_t generation = 0;
    uint32_t restarts = 0;
  };
  std::vector<child> children;
  /// The running children's handles, shared with the cleanup that stops
  /// them when the supervisor terminates.
  std::shared_ptr<std::vector<caf::actor>> live;
  bool stopping = false;
  caf::error stop_reason;
  static inline const char* name = "vigil.supervisor";
};

/// An OTP-style one-for-one supervisor. Monitors its children and traps
/// exits: a child's abnormal exit restarts that child after a backoff; more
/// than `policy.max_restarts` restarts of one child within `policy.period`
/// stops every child and makes the supervisor itself exit with
/// `errc::restart_budget_exhausted`, escalating to its own supervisor. An
/// exit message from anyone else stops the children in reverse order, each
/// within `shutdown_timeout`, then the supervisor.
caf::behavior supervisor_actor(caf::stateful_actor<supervisor_state>* self,
                               supervisor_options opts);

} // namespace vigil::supervisor
