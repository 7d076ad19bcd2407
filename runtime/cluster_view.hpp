#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <caf/actor.hpp>

#include "messages/cluster.hpp"

namespace vigil {

/// What the cluster layer tells the rest of a node: the members, which node
/// owns each shard, which node is the control node (correlation, RCA,
/// remediation, notification) and whether this node may act. The membership
/// actor writes it; ingest, the playbook engine, the notifier and the HTTP
/// API read it from any thread. A single node owns everything and may always
/// act.
class cluster_view {
public:
  using clock = std::chrono::steady_clock;

  struct member {
    member_info info;
    /// Its membership actor (null for this node and for members not yet
    /// reached).
    caf::actor door;
    bool self = false;
  };

  /// One consistent picture, replaced whole.
  struct state {
    /// Bumped on every change of members, states or ownership.
    uint64_t version = 0;
    /// Sorted by id; includes this node.
    std::vector<member> members;
    /// Shard -> index into `members` of its primary and replica owner
    /// (`none` when no member is live).
    std::vector<int32_t> primary;
    std::vector<int32_t> replica;
    /// Shard -> how often its primary changed in this node's view.
    std::vector<uint64_t> epoch;
    /// Index of the control node; `none` while unknown (joining).
    int32_t leader = none;
    /// Index of this node.
    int32_t self = none;
    /// Whether the node was started with seeds (a cluster of several).
    bool clustered = false;
    /// Whether this node has joined (always for a single node).
    bool joined = false;
    static constexpr int32_t none = -1;

    bool self_is_leader() const { return leader != none && leader == self; }
    /// The membership actor of the control node; null when it is this node
    /// or unknown.
    caf::actor leader_door() const {
      if (leader == none || leader == self)
        return {};
      return members[static_cast<size_t>(leader)].door;
    }
    /// The membership actor of shard `id`'s primary; null when this node
    /// owns it (or nobody does).
    caf::actor owner_door(uint32_t id) const {
      if (id >= primary.size() || primary[id] == none || primary[id] == self)
        return {};
      return members[static_cast<size_t>(primary[id])].door;
    }
    /// Shards whose primary is this node.
    uint32_t owned() const {
      uint32_t n = 0;
      for (auto p : primary)
        n += p == self && self != none ? 1 : 0;
      return n;
    }
  };

  /// A single node named `self` owning all `shards`; or, with `joining`, a
  /// node that owns nothing until it has joined its cluster.
  cluster_view(std::string self_id, uint32_t shards, bool joining = false);

  std::shared_ptr<const state> get() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return state_;
  }

  void set(std::shared_ptr<const state> next) {
    leading_.store(next->self_is_leader(), std::memory_order_release);
    std::lock_guard<std::mutex> guard{mtx_};
    state_ = std::move(next);
  }

  /// Whether this node is the control node (cheap; no lock).
  bool leading() const { return leading_.load(std::memory_order_acquire); }

  /// The control node may act until `t`; `clock::time_point::max()` for a
  /// single node.
  void set_lease_until(clock::time_point t) {
    lease_until_.store(t.time_since_epoch().count(),
                       std::memory_order_release);
  }

  /// Empty when this node may act now (it is the control node and heard
  /// from a majority of the members within the lease); else why not.
  std::string fence_reason() const;

  bool may_act() const { return fence_reason().empty(); }

  /// The control epoch: a number the node takes, durably and larger than
  /// any before it in the replicated store, each time it becomes the
  /// control node; 0 while it is not. Every action carries the epoch it was
  /// started in.
  void set_control_epoch(uint64_t e) {
    epoch_.store(e, std::memory_order_release);
  }
  uint64_t control_epoch() const {
    return epoch_.load(std::memory_order_acquire);
  }
  /// Empty when an action started in control epoch `epoch` may still act
  /// now: this node may act and is still in that epoch (it did not lose
  /// and regain the control role since); else why not.
  std::string fence_reason(uint64_t epoch) const;

  /// Replication progress of the control node's records: `written` counts
  /// the writes queued for the members, `acked` the highest of them some
  /// member confirmed holding. A record is safe to announce once a member
  /// holds it, or when there is no other member.
  uint64_t note_written() {
    return written_.fetch_add(1, std::memory_order_acq_rel) + 1;
  }
  uint64_t written() const { return written_.load(std::memory_order_acquire); }
  void note_acked(uint64_t seq) {
    auto cur = acked_.load(std::memory_order_relaxed);
    while (seq > cur
           && !acked_.compare_exchange_weak(cur, seq,
                                            std::memory_order_acq_rel)) {
    }
  }
  uint64_t acked() const { return acked_.load(std::memory_order_acquire); }
  void set_alone(bool alone) {
    alone_.store(alone, std::memory_order_release);
  }
  /// Whether write `seq` is held by another member (or there is none).
  bool holds(uint64_t seq) const {
    return alone_.load(std::memory_order_acquire)
           || acked_.load(std::memory_order_acquire) >= seq;
  }
  /// Waits (polling, at most `timeout`) until `holds(seq)`.
  bool wait_held(uint64_t seq, std::chrono::milliseconds timeout) const;

  /// Why the cluster refused this node for good (another admin token, a
  /// clashing node id); empty otherwise.
  std::string refusal() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return refusal_;
  }
  void set_refusal(std::string why) {
    std::lock_guard<std::mutex> guard{mtx_};
    refusal_ = std::move(why);
  }

private:
  mutable std::mutex mtx_;
  std::shared_ptr<const state> state_;
  std::string refusal_;
  std::atomic<clock::rep> lease_until_;
  std::atomic<bool> leading_{true};
  std::atomic<uint64_t> written_{0};
  std::atomic<uint64_t> acked_{0};
  std::atomic<bool> alone_{true};
  std::atomic<uint64_t> epoch_{0};
};

} // namespace vigil
