#pragma once

#include <memory>

#include "actors/rca/service_graph.hpp"

#include "messages/interfaces.hpp"
#include "runtime/load_meter.hpp"
#include "runtime/metrics/registry.hpp"

namespace vigil::rca {

/// Everything the RCA actor needs, passed by value at spawn.
struct rca_config {
  std::shared_ptr<metrics::registry> metrics;
  /// Ingest's queue bound: spans and edges are released once handled.
  std::shared_ptr<load_meter> load;
  /// Bounds and ageing of the service graph.
  graph_options graph;
};

/// What the RCA actor owns. Lives on one node (replicated in a later issue).
struct rca_state {
  std::shared_ptr<load_meter> load;
  metrics::counter* spans = nullptr;
  metrics::counter* error_spans = nullptr;
  metrics::counter* edges = nullptr;
  /// The service dependency graph: learned from spans, merged with static
  /// edges.
  std::unique_ptr<service_graph> graph;
  static inline const char* name = "vigil.rca";
};

/// The owner of spans and static topology: keeps the service dependency
/// graph (edges learned from spans, static edges merged in) and answers
/// queries for it. Root-cause ranking (`rank`) arrives with the correlator's
/// incidents.
rca_actor::behavior_type rca(rca_actor::stateful_pointer<rca_state> self,
                             rca_config cfg);

} // namespace vigil::rca
