#pragma once

// The service dependency graph: services are vertices (by name), an edge
// A→B means "A calls B". Edges are learned from trace spans (a span in B
// whose parent span is in A) and merged with static edges (config, POST
// /api/v1/topology). Everything is bounded and driven by event time.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <boost/graph/adjacency_list.hpp>

#include "messages/records.hpp"

namespace vigil::rca {

/// Bounds and ageing of the service graph.
struct graph_options {
  /// Most services (vertices) held; new ones beyond it are dropped and
  /// counted. Default: 10000.
  size_t max_services = 10'000;
  /// Most edges held; new ones beyond it are dropped and counted.
  /// Default: 50000.
  size_t max_edges = 50'000;
  /// A learned edge not seen for this long (event time) is removed; static
  /// edges never age. Default: 15 min.
  int64_t edge_ttl_ms = int64_t{15} * 60 * 1000;
  /// Most spans remembered as possible parents (span id → service).
  /// Default: 200000.
  size_t max_known_spans = 200'000;
  /// A remembered span older than this (event time) is forgotten.
  /// Default: 5 min.
  int64_t known_span_ttl_ms = int64_t{5} * 60 * 1000;
  /// Most children held while waiting for their parent span. Default: 20000.
  size_t max_pending = 20'000;
  /// A child waiting longer than this (event time) for its parent is
  /// dropped. Default: 60 s.
  int64_t pending_ttl_ms = int64_t{60} * 1000;
  /// Weight of a new latency in the edge's running mean (EWMA). Default: 0.1.
  double latency_alpha = 0.1;
};

/// What is known about one caller→callee edge.
struct edge_stats {
  /// Calls seen (child spans joined to a parent in the caller).
  uint64_t calls = 0;
  /// Of those, calls whose callee span had status error.
  uint64_t errors = 0;
  /// EWMA of the callee span's duration, in ms.
  double latency_mean_ms = 0;
  /// Streaming estimate of the 95th percentile of that duration, in ms
  /// (stochastic quantile tracking: one number per edge, adapts over time).
  double latency_p95_ms = 0;
  /// Event time of the newest call, ms since the epoch (0 for static only).
  int64_t last_seen_ms = 0;
  /// Declared statically: never ages out.
  bool is_static = false;
  /// Seen in traces at least once while held.
  bool learned = false;
};

/// One edge as a snapshot row (for GET /api/v1/topology).
struct edge_view {
  std::string caller;
  std::string callee;
  edge_stats stats;
};

/// What the graph did with its input, for self-metrics.
struct graph_counters {
  uint64_t spans = 0;            ///< Spans folded in.
  uint64_t calls = 0;            ///< Cross-service parent/child joins.
  uint64_t late_joins = 0;       ///< Of those, children that had waited.
  uint64_t dropped_services = 0; ///< New services refused (max_services).
  uint64_t dropped_edges = 0;    ///< New edges refused (max_edges).
  uint64_t dropped_pending = 0;  ///< Waiting children refused (max_pending).
  uint64_t expired_pending = 0;  ///< Waiting children whose parent never came.
  uint64_t forgotten_spans = 0;  ///< Known spans evicted early (max_known_spans).
  uint64_t aged_edges = 0;       ///< Learned edges removed by ageing.
};

/// The service dependency graph learned from spans and static topology.
class service_graph {
public:
  struct vertex_data {
    std::string name;
  };
  /// Boost.Graph storage: vertex indices are stable (vertices are only
  /// removed by `compact`, which renumbers them), out-edges are a set so
  /// an edge (u, v) exists at most once.
  using graph_type
    = boost::adjacency_list<boost::setS, boost::vecS, boost::bidirectionalS,
                            vertex_data, edge_stats>;
  using vertex = graph_type::vertex_descriptor;

  /// Creates an empty graph.
  explicit service_graph(graph_options opts = {});

  /// Folds spans in, in any order and across calls; advances event time to
  /// the newest span end seen.
  void add_spans(const std::vector<span_record>& spans);

  /// Folds one span in.
  void add_span(const span_record& span);

  /// Adds a static edge (never ages). Returns false when a bound refused it.
  bool add_static_edge(std::string_view caller, std::string_view callee);

  /// Adds all edges of a topology update as static edges; returns how many
  /// were accepted.
  size_t add_static(const topology_update& update);

  /// Puts back an edge with its statistics as a saved graph held it
  /// (another node's, after it failed). False when a bound refuses it.
  bool restore_edge(const edge_view& e);

  /// Moves event time to `now_ms` (never backwards) and ages out learned
  /// edges, remembered spans and waiting children.
  void advance(int64_t now_ms);

  /// Services `service` calls, sorted by name; empty when unknown.
  std::vector<std::string> callees(std::string_view service) const;

  /// Services that call `service`, sorted by name; empty when unknown.
  std::vector<std::string> callers(std::string_view service) const;

  /// The weakly connected component holding `service`, sorted by name;
  /// just the service itself when it is unknown or isolated.
  std::vector<std::string> component(std::string_view service) const;

  /// A component id per vertex (index = vertex), ids dense from 0.
  std::vector<uint32_t> component_ids() const;

  /// All edges, sorted by (caller, callee).
  std::vector<edge_view> edges() const;

  /// The stats of one edge, if held.
  std::optional<edge_stats> edge(std::string_view caller,
                                 std::string_view callee) const;

  /// The vertex of a service, if held.
  std::optional<vertex> find(std::string_view service) const;

  /// The name of a vertex.
  const std::string& name(vertex v) const {
    return graph_[v].name;
  }

  /// The Boost.Graph view, for ranking (read only).
  const graph_type& graph() const {
    return graph_;
  }

  /// Number of services held.
  size_t service_count() const {
    return boost::num_vertices(graph_);
  }

  /// Number of edges held.
  size_t edge_count() const {
    return boost::num_edges(graph_);
  }

  /// Event time the graph has reached, ms since the epoch.
  int64_t now_ms() const {
    return now_ms_;
  }

  /// What happened to the input so far.
  const graph_counters& counters() const {
    return counters_;
  }

  /// Spans remembered as parents / children waiting (for tests, metrics).
  size_t known_spans() const {
    return known_.size();
  }
  size_t pending_children() const {
    return pending_count_;
  }

private:
  struct known_span {
    std::string service;
    int64_t ts_ms;
  };
  struct pending_child {
    uint64_t seq;
    std::string service;
    int64_t ts_ms;
    double duration_ms;
    bool error;
  };

  std::optional<vertex> vertex_of(std::string_view service);
  void record_call(const std::string& caller, const std::string& callee,
                   int64_t ts_ms, double duration_ms, bool error);
  void expire_spans();
  void drop_pending_front();
  void expire_edges();
  void compact();

  graph_options opts_;
  graph_type graph_;
  std::unordered_map<std::string, vertex> by_name_;
  // Key: trace id + span id. Arrival order in `known_order_` lets ageing
  // and eviction run in amortised O(1) per span.
  std::unordered_map<std::string, known_span> known_;
  std::deque<std::pair<std::string, int64_t>> known_order_;
  // Children whose parent has not arrived, keyed by the parent's key.
  std::unordered_map<std::string, std::vector<pending_child>> pending_;
  struct pending_ref {
    std::string parent_key;
    uint64_t seq;
    int64_t ts_ms;
  };
  std::deque<pending_ref> pending_order_;
  size_t pending_count_ = 0;
  uint64_t next_seq_ = 0;
  int64_t now_ms_ = 0;
  int64_t last_edge_scan_ms_ = 0;
  bool compact_due_ = false;
  graph_counters counters_;
};

} // namespace vigil::rca
