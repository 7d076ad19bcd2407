#pragma once

#include <memory>

#include "actors/correlator/anomaly_log.hpp"
#include "config/options.hpp"
#include "messages/interfaces.hpp"
#include "runtime/load_meter.hpp"
#include "runtime/metrics/registry.hpp"
#include "runtime/storage/store.hpp"

namespace vigil::correlator {

/// Everything the correlator needs, passed by value at spawn.
struct correlator_config {
  detection_options detection;
  std::shared_ptr<storage::store> store;
  std::shared_ptr<metrics::registry> metrics;
  /// Ingest's queue bound: alerts and changes are released once handled.
  std::shared_ptr<load_meter> load;
};

/// What the correlator owns. Lives on one node (partitioned in a later
/// issue).
struct correlator_state {
  std::unique_ptr<anomaly_log> log;
  std::shared_ptr<load_meter> load;
  metrics::counter* anomalies_kept = nullptr;
  metrics::family<metrics::counter>* alerts = nullptr;
  metrics::counter* changes = nullptr;
  static inline const char* name = "vigil.correlator";
};

/// The anomaly sink and owner of external alerts and change events. In this
/// version it keeps the recent anomalies (for GET /api/v1/anomalies) and
/// counts alerts and changes; grouping them into incidents arrives with the
/// correlation issue, behind the same interface.
correlator_actor::behavior_type
correlator(correlator_actor::stateful_pointer<correlator_state> self,
           const correlator_config& cfg);

} // namespace vigil::correlator
