#pragma once

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "actors/detector/detector_actor.hpp"
#include "runtime/load_meter.hpp"
#include "runtime/metrics/board.hpp"
#include "runtime/supervision/restart_budget.hpp"

namespace vigil::detector {

/// Everything a shard needs, passed by value at spawn.
struct shard_config {
  shard_id id;
  std::string node;
  detection_options detection;
  std::shared_ptr<const detector::ensemble> ens;
  /// Restart policy for the shard's detectors.
  restart_policy policy;
  /// How long detectors may take to snapshot and stop.
  duration shutdown_timeout{10000};
  /// Items waiting per service (while a batch is in flight or the detector
  /// restarts); beyond this they are dropped and counted.
  uint64_t max_buffered_samples = 100000;
  std::shared_ptr<storage::store> store;
  /// Whether the detectors of the services in storage start with the
  /// shard (a single node); a node joining a cluster waits until the shard
  /// is its own.
  bool restore_at_start = true;
  std::shared_ptr<metrics::registry> metrics;
  std::shared_ptr<detector::detector_metrics> det_metrics;
  /// Items admitted by ingest; released here once a detector has them.
  std::shared_ptr<load_meter> load;
  /// Live series per service.
  std::shared_ptr<metrics::board> series_board;
  caf::atom_value sink_key = caf::atom("correlator");
};

/// The shard implementation interface: the public one plus the internal
/// restart timer.
using shard_impl = shard_actor::extend<
  caf::reacts_to<atom::restart, std::string, uint64_t>>;

/// What a shard owns: one detector per service of the shard, with their
/// restart budgets and the data waiting for each. Lives on the node that
/// owns the shard.
///
/// At most one batch of samples (and one of log records) is in flight to a
/// detector; what arrives meanwhile is merged into the next batch. Batches
/// thus grow with load (fewer, larger messages when busy) and go out at once
/// when the detector is idle. While a detector restarts, the same pending
/// batch holds its data.
struct shard_state {
  struct service_entry {
    detector_actor handle;
    restart_budget budget;
    uint32_t restarts = 0;
    /// Bumped on every spawn; replies from an older incarnation do not
    /// count as the current one's.
    uint64_t generation = 0;
    bool restarting = false;
    /// Generation of the batch in flight, 0 when none.
    uint64_t samples_in_flight = 0;
    uint64_t logs_in_flight = 0;
    sample_batch pending;
    log_batch pending_logs;
    std::shared_ptr<std::atomic<int64_t>> active_series;
  };
  shard_config cfg;
  std::unordered_map<std::string, service_entry> services;
  std::unordered_map<caf::actor_addr, std::string> by_addr;
  /// Running detectors, shared with the cleanup that stops them when the
  /// shard terminates in any way (they must never outlive it).
  std::shared_ptr<std::unordered_map<caf::actor_addr, caf::actor>> live;
  metrics::counter* restarts_total = nullptr;
  metrics::counter* dropped_total = nullptr;
  metrics::histogram* batch_samples = nullptr;
  bool stopping = false;
  caf::error stop_reason;
  static inline const char* name = "vigil.shard";
};

/// A shard: the only way to reach a detector. Spawns a service's detector
/// on its first data (and, at start-up, every service the store remembers
/// for this shard), supervises them one-for-one with backoff and a restart
/// budget per detector, and escalates (exits with
/// errc::restart_budget_exhausted) when one spends its budget.
shard_impl::behavior_type shard(shard_impl::stateful_pointer<shard_state> self,
                                shard_config cfg);

/// The services-column key of `service` in `shard`: the shard as 4
/// big-endian bytes, then the name, so one shard's services are a prefix.
std::string service_key(shard_id shard, std::string_view service);

} // namespace vigil::detector
