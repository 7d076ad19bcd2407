#pragma once

#include <memory>

#include <chrono>
#include <tuple>
#include <vector>

#include <caf/atom.hpp>

#include "actors/rca/ranker.hpp"
#include "actors/rca/service_graph.hpp"

#include "messages/interfaces.hpp"
#include "runtime/load_meter.hpp"
#include "runtime/metrics/registry.hpp"
#include "runtime/storage/store.hpp"

namespace vigil::rca {

/// Everything the RCA actor needs, passed by value at spawn.
struct rca_config {
  std::shared_ptr<metrics::registry> metrics;
  /// Ingest's queue bound: spans and edges are released once handled.
  std::shared_ptr<load_meter> load;
  /// Bounds and ageing of the service graph.
  graph_options graph;
  /// Ranking weights and windows.
  ranker_options ranker;
  /// Static edges from the config.
  std::vector<topology_edge> static_edges;
  /// Where the graph is saved when its shape changes and restored from at
  /// start (a replicated record: a new control node starts with the
  /// graph); null = not saved.
  std::shared_ptr<storage::store> store;
  /// Where the correlator is registered (domain map pushes).
  caf::atom_value correlator_key = caf::atom("");
  /// How often the domain map is checked for changes (wall clock).
  std::chrono::milliseconds domain_interval{200};
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
  rca_config cfg;
  /// What the last domain map was computed from, and what it said.
  std::tuple<size_t, size_t, uint64_t> shape{0, 0, 0};
  std::vector<attribute> domains;
  uint64_t domains_version = 0;
  size_t sent_edges = 0;
  metrics::histogram* rank_seconds = nullptr;
  static inline const char* name = "vigil.rca";
};

/// The ranker's input for a request (moves its evidence and changes out).
rank_input input_of(rca_request& req);

/// The owner of spans and static topology: keeps the service dependency
/// graph (edges learned from spans, static edges merged in) and answers
/// queries for it; ranks the root-cause candidates of incidents on it; tells
/// the correlator which services share a component (correlation domain).
rca_actor::behavior_type rca(rca_actor::stateful_pointer<rca_state> self,
                             rca_config cfg);

} // namespace vigil::rca
