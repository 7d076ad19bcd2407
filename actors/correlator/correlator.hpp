#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <caf/atom.hpp>

#include "actors/correlator/anomaly_log.hpp"
#include "actors/correlator/incidents.hpp"
#include "actors/correlator/silences.hpp"
#include "config/options.hpp"
#include "messages/interfaces.hpp"
#include "runtime/load_meter.hpp"
#include "runtime/metrics/registry.hpp"
#include "runtime/storage/store.hpp"

namespace vigil::correlator {

/// Everything the correlator needs, passed by value at spawn.
struct correlator_config {
  detection_options detection;
  correlation_options correlation;
  suppression_options suppression;
  rca_options rca;
  std::shared_ptr<storage::store> store;
  std::shared_ptr<metrics::registry> metrics;
  /// Ingest's queue bound: alerts and changes are released once handled.
  std::shared_ptr<load_meter> load;
  /// Where the RCA actor is registered (ranking requests).
  caf::atom_value rca_key = caf::atom("");
  /// Where the playbook engine is registered (every stored change of an
  /// incident goes there); empty = none.
  caf::atom_value playbook_key = caf::atom("");
  /// Service for alerts whose labels name none.
  std::string default_service = "unknown";
};

/// Incident ids of the node, shared by its partitions.
struct id_source {
  std::atomic<uint64_t> next{1};
};

/// What one partition owns: the incidents of its domains.
struct partition_state {
  uint32_t index = 0;
  uint32_t count = 1;
  correlator_config cfg;
  std::unique_ptr<incident_book> book;
  std::shared_ptr<id_source> ids;
  /// Service -> domain (topology component), for re-homing incidents.
  std::unordered_map<std::string, std::string> domains;
  /// Newest event time seen, and the wall clock it was seen at: event time
  /// keeps moving while nothing arrives.
  int64_t event_ms = 0;
  int64_t event_wall_ms = 0;
  /// Incidents with a ranking request on the way, and those that got new
  /// evidence meanwhile.
  std::vector<uint64_t> ranking;
  std::vector<uint64_t> rank_again;
  double open_reported = 0;
  double settling_reported = 0;
  uint64_t opened_reported = 0;
  /// The playbook engine, looked up on every tick (it may restart).
  playbook_actor engine;
  metrics::gauge* open_gauge = nullptr;
  metrics::gauge* settling_gauge = nullptr;
  metrics::counter* opened = nullptr;
  metrics::family<metrics::counter>* held_back = nullptr;
  static inline const char* name = "vigil.correlator.partition";
  partition_state() = default;
  partition_state(const partition_state&) = delete;
  partition_state& operator=(const partition_state&) = delete;
  ~partition_state();
};

/// The front of the correlator: keeps the recent anomalies, the silences
/// and the service -> domain map, and hands every anomaly, alert and
/// change to the partition of its correlation domain.
struct correlator_state {
  correlator_config cfg;
  std::unique_ptr<anomaly_log> log;
  std::shared_ptr<load_meter> load;
  std::vector<partition_actor> partitions;
  suppression_set silences;
  std::unordered_map<std::string, std::string> domains;
  uint64_t domains_version = 0;
  uint64_t silence_seq = 0;
  metrics::counter* anomalies_kept = nullptr;
  metrics::family<metrics::counter>* alerts = nullptr;
  metrics::counter* changes = nullptr;
  metrics::counter* suppressed = nullptr;
  static inline const char* name = "vigil.correlator";
  correlator_state() = default;
  correlator_state(const correlator_state&) = delete;
  correlator_state& operator=(const correlator_state&) = delete;
  ~correlator_state();
};

/// Which partition of `count` owns correlation domain `domain`.
uint32_t partition_of(const std::string& domain, uint32_t count);

/// The correlation domain of the services the topology connects to no
/// other (no edge learned or configured yet): they share it and group by
/// time alone, so a fleet without tracing still gets one incident per
/// storm rather than one per service.
inline const std::string unconnected_domain = "(unconnected)";

/// `service`'s domain in a service -> topology component map.
const std::string&
domain_of(const std::unordered_map<std::string, std::string>& domains,
          const std::string& service);

/// Labels of an anomaly for silences: service, metric, kind, and the
/// labels of its series text (`metric{name="value",...}`).
label_set labels_of(const anomaly_event& ev);

/// The anomaly an Alertmanager alert stands for (kind alert; firing =
/// onset, resolved = recovered).
anomaly_event anomaly_of(const alert_record& a, int64_t received_ms,
                         const std::string& default_service);

/// The correlator: anomalies, alerts and changes in; incidents, ranked by
/// the RCA actor, out. Spawns `correlation.partitions` partitions and stops
/// when one of them stops (its supervisor restarts the whole correlator,
/// which reloads everything from storage).
correlator_actor::behavior_type
correlator(correlator_actor::stateful_pointer<correlator_state> self,
           const correlator_config& cfg);

/// One correlator partition.
partition_actor::behavior_type
partition(partition_actor::stateful_pointer<partition_state> self,
          correlator_config cfg, uint32_t index, uint32_t count,
          std::shared_ptr<id_source> ids);

} // namespace vigil::correlator
