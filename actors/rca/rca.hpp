#pragma once

#include <memory>

#include "messages/interfaces.hpp"
#include "runtime/metrics/registry.hpp"

namespace vigil::rca {

/// Everything the RCA actor needs, passed by value at spawn.
struct rca_config {
  std::shared_ptr<metrics::registry> metrics;
};

/// What the RCA actor owns. Lives on one node (replicated in a later issue).
struct rca_state {
  metrics::counter* spans = nullptr;
  metrics::counter* error_spans = nullptr;
  metrics::counter* edges = nullptr;
  static inline const char* name = "vigil.rca";
};

/// The owner of spans and static topology. In this version it counts what
/// it receives; the dependency graph and root-cause ranking arrive with the
/// correlation/RCA issue, behind the same interface.
rca_actor::behavior_type rca(rca_actor::stateful_pointer<rca_state> self,
                             rca_config cfg);

} // namespace vigil::rca
