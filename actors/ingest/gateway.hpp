#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "config/options.hpp"
#include "messages/interfaces.hpp"
#include "runtime/cluster_view.hpp"
#include "runtime/load_meter.hpp"
#include "runtime/metrics/registry.hpp"

namespace vigil::ingest {

/// Maps a service onto one of `shards` shards; the same on every node.
uint32_t shard_of(std::string_view service, uint32_t shards);

/// The registry key of shard `id`'s actor ("s_<id>"; atoms have no colon).
caf::atom_value shard_key(uint32_t id);

/// A token bucket: `rate` items per second, bursts up to `burst`.
class token_bucket {
public:
  using clock = std::chrono::steady_clock;
  token_bucket(uint64_t rate, uint64_t burst);
  /// Takes `n` tokens if available at `now`; 0 rate = unlimited.
  bool take(uint64_t n, clock::time_point now);

private:
  double rate_;
  double burst_;
  double tokens_;
  clock::time_point last_{};
};

/// Everything the gateway needs, passed by value at spawn.
struct gateway_config {
  ingest_options ingest;
  uint32_t shards = 256;
  std::shared_ptr<load_meter> load;
  std::shared_ptr<metrics::registry> metrics;
  caf::atom_value correlator_key = caf::atom("correlator");
  caf::atom_value rca_key = caf::atom("rca");
  /// Which node owns which shard; null = this node owns all.
  std::shared_ptr<cluster_view> view;
  /// Items forwarded to another node in one message at most, and how long
  /// an item waits for its batch to fill.
  uint32_t forward_batch = 2000;
  duration forward_delay{20};
};

/// What the gateway owns: cached shard handles (refreshed from the actor
/// registry when one dies) and the rate limiter. Lives on every node.
struct gateway_state {
  gateway_config cfg;
  std::vector<shard_actor> shards;
  token_bucket bucket{0, 0};
  metrics::counter* routed_alerts = nullptr;
  metrics::counter* routed_changes = nullptr;
  metrics::counter* routed_spans = nullptr;
  metrics::counter* routed_edges = nullptr;
  /// Batches waiting to go to the node owning their shard, by that node's
  /// membership actor.
  struct outgoing {
    caf::actor door;
    std::vector<sample_batch> samples;
    std::vector<log_batch> logs;
    uint64_t items = 0;
  };
  std::map<caf::actor_addr, outgoing> out;
  uint64_t out_items = 0;
  bool flush_pending = false;
  metrics::counter* forwarded_items = nullptr;
  metrics::counter* forwarded_messages = nullptr;
  metrics::counter* forward_failed = nullptr;
  static inline const char* name = "vigil.ingest";
};

/// The ingest gateway: admission control (bounded queue per shard and per
/// node, optional rate limit) and routing of decoded items to their owners:
/// samples and logs through their service's shard, alerts and changes to
/// the correlator, spans and static edges to the RCA actor. A request is
/// applied whole or not at all.
ingest_actor::behavior_type
gateway(ingest_actor::stateful_pointer<gateway_state> self,
        gateway_config cfg);

} // namespace vigil::ingest
