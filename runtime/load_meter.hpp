#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

namespace vigil {

/// Items admitted by ingest and not yet processed by their owner, per slot
/// and in total: the bounded queue behind ingest's 503. Slots are the shards
/// (0..shards-1) followed by the other owners of ingested items (see
/// `correlator_slot`, `rca_slot`). One gateway admits (so check-then-add
/// needs no lock); any owner releases.
class load_meter {
public:
  load_meter(uint32_t shards, uint64_t max_total, uint64_t max_per_shard)
    : per_shard_(new std::atomic<uint64_t>[shards + 2]),
      shards_(shards),
      max_total_(max_total),
      max_per_shard_(max_per_shard) {
    for (uint32_t i = 0; i < shards + 2; ++i)
      per_shard_[i].store(0, std::memory_order_relaxed);
  }

  /// The slot of alerts and change events (owned by the correlator).
  uint32_t correlator_slot() const { return shards_; }
  /// The slot of spans and static edges (owned by the RCA actor).
  uint32_t rca_slot() const { return shards_ + 1; }

  /// Returned by `try_admit` when everything was admitted.
  static constexpr int64_t admitted = -1;
  /// Returned by `try_admit` when the node-wide bound is reached.
  static constexpr int64_t node_full = -2;

  /// Admits `demand` (shard, items) pairs all together or not at all.
  /// Returns `admitted`, `node_full` or the number of a full shard. Only one
  /// thread may call this at a time.
  int64_t try_admit(const std::vector<std::pair<uint32_t, uint64_t>>& demand) {
    uint64_t sum = 0;
    for (auto& [shard, n] : demand) {
      sum += n;
      if (per_shard_[shard].load(std::memory_order_relaxed) + n
          > max_per_shard_)
        return shard;
    }
    if (total_.load(std::memory_order_relaxed) + sum > max_total_)
      return node_full;
    for (auto& [shard, n] : demand)
      per_shard_[shard].fetch_add(n, std::memory_order_relaxed);
    total_.fetch_add(sum, std::memory_order_relaxed);
    return admitted;
  }

  /// Counts `n` items of `shard` that were admitted elsewhere (relayed by
  /// another node) and will be released here.
  void add(uint32_t shard, uint64_t n) {
    per_shard_[shard].fetch_add(n, std::memory_order_relaxed);
    total_.fetch_add(n, std::memory_order_relaxed);
  }

  /// Marks `n` items of `shard` as processed (or dropped).
  void release(uint32_t shard, uint64_t n) {
    per_shard_[shard].fetch_sub(n, std::memory_order_relaxed);
    total_.fetch_sub(n, std::memory_order_relaxed);
  }

  uint64_t total() const { return total_.load(std::memory_order_relaxed); }
  uint64_t of(uint32_t shard) const {
    return per_shard_[shard].load(std::memory_order_relaxed);
  }
  uint32_t shards() const { return shards_; }

private:
  std::unique_ptr<std::atomic<uint64_t>[]> per_shard_;
  uint32_t shards_;
  uint64_t max_total_;
  uint64_t max_per_shard_;
  std::atomic<uint64_t> total_{0};
};

} // namespace vigil
