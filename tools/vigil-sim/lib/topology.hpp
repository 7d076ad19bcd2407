#pragma once

// Synthetic microservice call graphs: a few entry services (frontends,
// gateways), layers of mid-tier services, and leaf stores (databases,
// caches, queues, search), some owned by one service and some shared by
// many. Mostly a layered DAG with fan-out 1..5; larger systems may hold one
// or two disconnected sub-systems and, rarely, one edge back up a layer.
//
// Names come from a vocabulary of business domains and technologies plus a
// random hex suffix ("cart-7f3", "orders-db-2a"); node indices are shuffled
// after construction, so neither a name nor an index tells a service's
// layer.

#include <cstdint>
#include <string>
#include <vector>

#include "tools/vigil-sim/lib/rng.hpp"

namespace vigil::sim {

/// Where a service sits in its system.
enum class service_role : uint8_t {
  /// Takes external traffic (frontend, gateway, BFF).
  entry,
  /// Application service between entries and stores.
  mid,
  /// A leaf that keeps state (database, cache, queue, search).
  store,
};

/// What kind of store a leaf is (`none` for entries and mid-tier services).
enum class store_kind : uint8_t { none, database, cache, queue, search };

/// Returns "entry", "mid" or "store".
const char* to_string(service_role x);

/// One service of the graph.
struct service_node {
  std::string name;
  service_role role = service_role::mid;
  store_kind store = store_kind::none;
  /// The business word the name was built from ("orders").
  std::string domain;
  /// Which disconnected sub-system the service belongs to (0 = the main).
  uint32_t subsystem = 0;
  /// 0 for entries, 1.. for mid-tier layers, one past the deepest mid-tier
  /// layer for stores.
  uint32_t layer = 0;
};

/// One call edge: `caller` sends requests to `callee`.
struct call_edge {
  uint32_t caller = 0;
  uint32_t callee = 0;
  /// Mean calls to the callee per request the caller serves.
  double calls_per_request = 1;
  /// Fire-and-forget (a queue producer): the caller does not wait.
  bool async = false;
  /// Points back up the layers (may close a cycle); ignored when ordering
  /// the graph and when propagating faults.
  bool back = false;
};

/// A generated call graph.
struct service_graph {
  std::vector<service_node> nodes;
  std::vector<call_edge> edges;
  /// Edge indices by caller.
  std::vector<std::vector<uint32_t>> out;
  /// Edge indices by callee.
  std::vector<std::vector<uint32_t>> in;
  /// Every node, callees before their callers (back edges ignored).
  std::vector<uint32_t> callee_first;

  /// Rebuilds `out`, `in` and `callee_first` from `edges`.
  void index();
};

/// Builds a graph of `services` services (at least 3).
service_graph make_graph(rng& gen, uint32_t services);

} // namespace vigil::sim
