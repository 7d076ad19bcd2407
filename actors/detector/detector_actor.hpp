#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include <caf/typed_actor.hpp>

#include "actors/detector/ensemble.hpp"
#include "actors/detector/log_state.hpp"
#include "actors/detector/precursors.hpp"
#include "actors/detector/service_vector.hpp"
#include "actors/detector/service_tables.hpp"
#include "config/options.hpp"
#include "messages/interfaces.hpp"
#include "runtime/metrics/registry.hpp"
#include "runtime/storage/store.hpp"

namespace vigil::detector {

/// Hot-path references into the node's metrics, shared by every detector.
struct detector_metrics {
  explicit detector_metrics(metrics::registry& reg);
  metrics::counter& samples;
  metrics::counter& anomalies;
  metrics::counter& undelivered;
  metrics::counter& out_of_order;
  metrics::counter& log_lines;
  metrics::histogram& anomaly_latency;
  metrics::histogram& snapshot_seconds;
  metrics::counter& snapshot_bytes;
  metrics::counter& snapshot_failures;
};

/// Everything a detector needs, passed by value at spawn.
struct detector_config {
  std::string service;
  shard_id shard;
  std::string node;
  detection_options detection;
  std::shared_ptr<const detector::ensemble> ens;
  /// Where snapshots live; null = no persistence (tests).
  std::shared_ptr<storage::store> store;
  /// May be null.
  std::shared_ptr<detector_metrics> metrics;
  /// Receives the service's live series count after every batch.
  std::shared_ptr<std::atomic<int64_t>> active_series;
  /// Registry key under which the anomaly sink is published.
  caf::atom_value sink_key = caf::atom("correlator");
  /// How often this service's detector was restarted before this start.
  uint32_t restarts = 0;
};

/// The detector's implementation interface: the public one plus its own
/// snapshot timer.
using detector_impl = detector_actor::extend<caf::reacts_to<atom::tick>>;

/// What a detector owns: the series table and the log pipeline state of one
/// service. Lives on the node that owns the service's shard.
struct detector_state {
  detector_config cfg;
  std::unique_ptr<service_tables> table;
  std::unique_ptr<log_state> logs;
  std::unique_ptr<precursor_tracker> precursors;
  /// The service's feature vector under an Isolation Forest; null when
  /// detection.iforest.features is empty.
  std::unique_ptr<service_vector> vector;
  std::vector<anomaly_event> scratch;
  int64_t restored_from_ms = 0;
  /// Whether anything changed since the last snapshot.
  bool dirty = false;
  static inline const char* name = "vigil.detector";
};

/// Spawned by the service's shard on first data (or at start-up for known
/// services). Restores its state from the last snapshot, folds samples into
/// the series table, sends anomalies to the sink, snapshots every
/// `detection.snapshot_interval` and when asked to stop.
detector_impl::behavior_type
detector(detector_impl::stateful_pointer<detector_state> self,
         detector_config cfg);

/// Reads and parses the stored snapshot of `service`, if any.
caf::expected<std::optional<std::string>>
load_snapshot(storage::store& store, const std::string& service);

/// The snapshots-column key of a service's log pipeline state.
std::string log_snapshot_key(const std::string& service);

} // namespace vigil::detector
