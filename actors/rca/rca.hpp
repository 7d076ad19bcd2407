#pragma once

#include <memory>

#include "messages/interfaces.hpp"
#include "runtime/load_meter.hpp"
#include "runtime/metrics/registry.hpp"

namespace vigil::rca {

/// Everything the RCA actor needs, passed by value at spawn.
struct rca_config {
  std::shared_ptr<metrics::registry> metrics;
  /// Ingest's queue bound: spans and edges are released once handled.
  std::shared_ptr<load_meter> load;
};

/// What the RCA actor owns. Lives on one node (replicated in a later issue).
struct rca_state {
  std::shared_ptr<load_meter> load;
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
