#pragma once

#include <chrono>
#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/stateful_actor.hpp>

#include "config/options.hpp"
#include "messages/messages.hpp"
#include "runtime/cluster_view.hpp"
#include "runtime/load_meter.hpp"
#include "runtime/metrics/registry.hpp"
#include "runtime/storage/store.hpp"

namespace vigil::cluster {

/// Writes of the control node waiting to be shipped to the other members,
/// filled by the store's observer in the writers' threads.
class repl_queue {
public:
  /// Queues `op`, the `seq`-th write of the stream.
  void push(repl_op op, uint64_t seq = 0) {
    std::lock_guard<std::mutex> guard{mtx_};
    ops_.push_back(std::move(op));
    last_ = std::max(last_, seq);
  }
  /// Takes the queued writes; `through` gets the seq of the last.
  std::vector<repl_op> take(uint64_t* through = nullptr) {
    std::lock_guard<std::mutex> guard{mtx_};
    std::vector<repl_op> out;
    out.swap(ops_);
    if (through)
      *through = last_;
    return out;
  }
  void clear() { take(); }

private:
  std::mutex mtx_;
  std::vector<repl_op> ops_;
  uint64_t last_ = 0;
};

/// Installs the observer that queues this node's replicated writes while it
/// is the control node (`queue`), and its detector snapshots (`snapshots`,
/// streamed to every member so a shard's next owner starts warm).
void replicate_writes(storage::store& db, std::shared_ptr<cluster_view> view,
                      std::shared_ptr<repl_queue> queue,
                      std::shared_ptr<repl_queue> snapshots);

/// The service a key of the snapshots column belongs to.
std::string_view snapshot_service(std::string_view key);

/// What a node presents when it joins: a hash of the cluster's admin token
/// (the nodes of one cluster share it, so a console may talk to any).
std::string token_proof(const std::string& admin_token);

/// Everything the membership actor needs, passed by value at spawn.
struct member_config {
  /// This node: id, cluster and HTTP addresses, version, incarnation.
  member_info self;
  /// HOST:PORT of nodes to join; empty = a single-node cluster.
  std::vector<std::string> seeds;
  cluster_options opts;
  std::shared_ptr<cluster_view> view;
  std::shared_ptr<storage::store> store;
  std::shared_ptr<repl_queue> queue;
  std::shared_ptr<repl_queue> snapshots;
  std::shared_ptr<load_meter> load;
  std::shared_ptr<metrics::registry> metrics;
  /// The node's admin actor: console commands and status are passed on.
  caf::actor admin;
  caf::atom_value ingest_key;
  caf::atom_value correlator_key;
  caf::atom_value rca_key;
  /// Proof that a joining node holds the cluster's admin token; members
  /// with another token are refused.
  std::string proof;
  /// Called (in the actor) when this node becomes (true) or stops being
  /// (false) the control node.
  std::function<void(bool)> on_role;
  /// Called (in the actor) when a shard this node owns is about to move to
  /// a member that just came up: snapshot its detectors now, so the state
  /// reaches the next owner before the ownership switches.
  std::function<void(uint32_t)> on_handoff;
  /// Called (in the actor) when a shard another member owned becomes this
  /// node's: its detectors restart from the state in storage.
  std::function<void(uint32_t)> on_gain;
  /// Whether nodes talk TLS (libcaf_openssl).
  bool tls = false;
  /// Replication timer. Default: 20 ms.
  duration repl_tick{20};
};

/// The membership actor, published on the node's cluster port: the door
/// other nodes and the console talk to. It joins the seeds, sends and judges
/// heartbeats (up, suspect, down, left), places shards on the live members,
/// elects the control node (the oldest live incarnation), keeps the control
/// node's lease, ships the control node's durable writes to the others and
/// applies them on followers, and passes on forwarded samples, relayed
/// control-plane items and console commands.
caf::behavior member(caf::stateful_actor<struct member_state>* self,
                     member_config cfg);

/// Forwards what ingest and detectors send the control-plane actors to the
/// control node while this node is a follower (registered under the
/// correlator and RCA keys in their place).
caf::behavior forwarder(caf::event_based_actor* self,
                        std::shared_ptr<cluster_view> view,
                        std::shared_ptr<load_meter> load,
                        std::shared_ptr<metrics::registry> metrics);

struct member_state {
  using clock = std::chrono::steady_clock;
  struct peer {
    member_info info;
    caf::actor door;
    clock::time_point heard{};
    bool connecting = false;
    /// Whether this node (as control node) has sent it the full copy.
    bool synced = false;
    /// Whether it has this node's detector snapshots.
    bool snaps_synced = false;
    /// When it last came up (joined, rejoined, came back): it owns shards
    /// only handoff_delay later, after their state reached it.
    clock::time_point up_since{};
    /// The newest of this node's own heartbeat send times that the peer
    /// echoed back: the lease counts from it, so heartbeats the peer sent
    /// long ago (queued while this node was paused) renew nothing.
    clock::time_point echoed{};
    /// The send time (the peer's clock) of its newest heartbeat, echoed
    /// back in the next one to it.
    int64_t their_sent = 0;
  };
  member_config cfg;
  member_info self;
  std::map<std::string, peer> peers;
  bool joined = false;
  bool joining = false;
  bool leading = false;
  /// Whether on_role was called once (followers learn their role too).
  bool role_told = false;
  /// Set while this node sees no majority alive: on the next word from a
  /// member it rejoins as a new incarnation.
  bool must_rejoin = false;
  /// When the heartbeat timer last ran, and until when this node judges
  /// nobody (after it stalled itself).
  clock::time_point last_tick{};
  clock::time_point judge_after{};
  /// When this node joined (it owns shards handoff_delay later).
  clock::time_point joined_at{};
  /// Shards already snapshotted for a coming handoff, with their target.
  std::map<uint32_t, int32_t> handing_off;
  metrics::counter* handoffs = nullptr;
  uint64_t version = 0;
  /// Shard -> the id of its owner in the previous view.
  std::vector<std::string> last_owner;
  std::vector<uint64_t> epochs;
  /// Replication stream: sent (as control node) and applied (as follower).
  uint64_t sent_seq = 0;
  uint64_t applied_seq = 0;
  metrics::counter* beats_in = nullptr;
  metrics::counter* repl_ops_sent = nullptr;
  metrics::counter* repl_ops_applied = nullptr;
  metrics::counter* repl_refused = nullptr;
  metrics::counter* relay_dropped = nullptr;
  static inline const char* name = "vigil.member";
};

} // namespace vigil::cluster
