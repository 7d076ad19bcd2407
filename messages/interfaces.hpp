#pragma once

// The catalogue of typed actor interfaces. Actors know each other only
// through these handles, passed in by the node's wiring at spawn time; every
// message here can cross nodes.

#include <cstdint>
#include <string>
#include <vector>

#include <caf/replies_to.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "messages/anomaly.hpp"
#include "messages/atoms.hpp"
#include "messages/incidents.hpp"
#include "messages/records.hpp"
#include "messages/samples.hpp"
#include "messages/status.hpp"

namespace vigil {

/// The DETECTOR: one per service, holding per-series detector state.
using detector_actor = caf::typed_actor<
  // Folds samples into the detectors; anomalies go to the sink given at
  // spawn. Replies with the number of samples taken.
  caf::replies_to<atom::ingest, sample_batch>::with<uint64_t>,
  // Takes log records of the service. Replies with the number taken.
  caf::replies_to<atom::ingest, log_batch>::with<uint64_t>,
  // Reports what the detector knows about its service.
  caf::replies_to<atom::status>::with<service_info>,
  // Writes a snapshot of all series state to storage now. Replies with the
  // snapshot size in bytes.
  caf::replies_to<atom::snapshot>::with<uint64_t>>;

/// A SHARD: owns and supervises the detectors of the services that hash onto
/// it. The router reaches detectors only through their shard.
using shard_actor = caf::typed_actor<
  // Delivers samples of one service, spawning its detector on first data.
  caf::reacts_to<atom::ingest, sample_batch>,
  // Delivers log records of one service.
  caf::reacts_to<atom::ingest, log_batch>,
  // Lists the shard's services.
  caf::replies_to<atom::list>::with<std::vector<service_info>>,
  // Returns the detector of a service (error not_found if it has none).
  caf::replies_to<atom::locate, std::string>::with<detector_actor>,
  // Snapshots every detector of the shard. Replies with the bytes written.
  caf::replies_to<atom::snapshot>::with<uint64_t>,
  // The shard came (back) to this node in a cluster: its detectors stop
  // without writing their state, and restart from storage (the state the
  // previous owner handed over) on their next data.
  caf::reacts_to<atom::reload>>;

/// Where detectors send anomalies (the correlator, from the correlation
/// issue on; until then a sink that keeps the recent ones).
using anomaly_sink_actor
  = caf::typed_actor<caf::reacts_to<atom::anomaly, anomaly_event>>;

/// The CORRELATOR: folds anomalies, alerts and changes into incidents.
using correlator_actor = caf::typed_actor<
  // An anomaly from a detector.
  caf::reacts_to<atom::anomaly, anomaly_event>,
  // Alerts from an Alertmanager webhook.
  caf::reacts_to<atom::ingest, alert_batch>,
  // Deploys, config changes and other change events.
  caf::reacts_to<atom::ingest, change_batch>,
  // Recent anomalies matching the query, newest first.
  caf::replies_to<atom::query, anomaly_query>::with<
    std::vector<anomaly_event>>,
  // Incidents, newest first.
  caf::replies_to<atom::query, incident_query>::with<
    std::vector<incident_view>>,
  // One incident, whole (errc::not_found when unknown).
  caf::replies_to<atom::get, uint64_t>::with<incident_view>,
  // A person acknowledges or resolves an incident.
  caf::replies_to<atom::incident, incident_command>::with<incident_view>,
  // The playbook engine reports a step's new state; the incident's owner
  // keeps it in `actions` and on the timeline.
  caf::reacts_to<atom::action, action_view>,
  // The playbook engine adds a timeline line (escalation, verification).
  caf::reacts_to<atom::note, incident_note>,
  // A summary written by a language model replaces the template one.
  caf::reacts_to<atom::summary, uint64_t, std::string>,
  // Silences and maintenance windows in force.
  caf::replies_to<atom::silence, atom::get>::with<std::vector<silence_spec>>,
  // Adds (or replaces, same id) a silence; replies with it as stored.
  caf::replies_to<atom::silence, atom::put, silence_spec>::with<
    silence_spec>,
  // Expires a silence now; replies whether it existed.
  caf::replies_to<atom::silence, std::string>::with<bool>,
  // Service -> correlation domain, from the RCA actor.
  caf::reacts_to<atom::domains, domain_map>,
  // An incident a partition hands over (its stored record) to whichever
  // partition owns its new domain.
  caf::reacts_to<atom::adopt, std::string>>;

/// One PARTITION of the correlator: owns the incidents of the correlation
/// domains that hash onto it.
using partition_actor = caf::typed_actor<
  // An anomaly of a domain; the flag says a silence or maintenance window
  // covers it (it may join an open incident but opens none).
  caf::reacts_to<atom::anomaly, anomaly_event, std::string, bool>,
  // A change event of a domain.
  caf::reacts_to<atom::ingest, change_event, std::string>,
  // The new service -> domain map.
  caf::reacts_to<atom::domains, domain_map>,
  // An incident handed over by another partition (its stored record).
  caf::reacts_to<atom::adopt, std::string>,
  caf::replies_to<atom::query, incident_query>::with<
    std::vector<incident_view>>,
  caf::replies_to<atom::get, uint64_t>::with<incident_view>,
  caf::replies_to<atom::incident, incident_command>::with<incident_view>,
  // A step's state and a timeline line from the playbook engine; ignored
  // by partitions that do not hold the incident.
  caf::reacts_to<atom::action, action_view>,
  caf::reacts_to<atom::note, incident_note>,
  caf::reacts_to<atom::summary, uint64_t, std::string>,
  // Housekeeping timer: ranking, persistence, auto-resolution.
  caf::reacts_to<atom::tick>>;

/// The RCA actor: holds the service dependency graph.
using rca_actor = caf::typed_actor<
  // Spans, from which caller -> callee edges are learned.
  caf::reacts_to<atom::ingest, span_batch>,
  // Static edges.
  caf::reacts_to<atom::ingest, topology_update>,
  // The service graph as it stands.
  caf::replies_to<atom::query>::with<topology_snapshot>,
  // Ranks the root-cause candidates of one incident.
  caf::replies_to<atom::rank, rca_request>::with<rca_result>,
  // Pushes the service -> domain map to the correlator when it changed.
  caf::reacts_to<atom::tick>>;

/// The PLAYBOOK ENGINE: matches incidents to playbooks, checks the safety
/// envelope, writes the audit log and hands steps to executors.
using playbook_actor = caf::typed_actor<
  // An incident as stored by its correlator partition (sent after every
  // change): starts a run when it is ranked, verifies recovery after one.
  caf::reacts_to<atom::incident, incident_view>,
  // An executor finished a step (its final state).
  caf::reacts_to<atom::done, action_view>,
  // The loaded playbooks, in match order.
  caf::replies_to<atom::list>::with<std::vector<playbook_info>>,
  // Reads the playbook directory again; on any error keeps the old set.
  caf::replies_to<atom::reload>::with<reload_report>,
  // Steps waiting for a human's approval, oldest first.
  caf::replies_to<atom::approval>::with<std::vector<action_view>>,
  // A person approves or denies one; replies with the step as it stands
  // (running after an approval). errc::not_found for an unknown or decided
  // one, malformed for a self-approval, unavailable once expired.
  caf::replies_to<atom::approval, approval_decision>::with<action_view>,
  // Throws the kill switch (true) or releases it (false), by a named
  // person; replies with the switch's state. Audited.
  caf::replies_to<atom::configure, bool, std::string>::with<bool>,
  // Every action the engine knows of, newest first, at most N.
  caf::replies_to<atom::action, atom::get, uint32_t>::with<
    std::vector<action_view>>,
  // Housekeeping timer: verification deadlines, waiting steps.
  caf::reacts_to<atom::tick>>;

/// The NOTIFIER: one per node; a durable outbox in front of the receivers.
using notifier_actor = caf::typed_actor<
  // An incident event: one outbox entry per receiver whose route matches,
  // stored durably before the reply (the number of entries).
  caf::replies_to<atom::notify, incident_notice>::with<uint32_t>,
  // Delivery timer: due entries go out, failures back off.
  caf::reacts_to<atom::tick>>;

/// The SUMMARIZER: writes incident summaries with a language model when
/// one is configured (detached: the call blocks).
using summarizer_actor = caf::typed_actor<
  // (Re)write the summary of an incident; the result goes to the
  // correlator, a failure leaves the template summary.
  caf::reacts_to<atom::summary, uint64_t>>;

/// The INGEST gateway: takes decoded items from the front door and routes
/// each to its owner. Replies with a receipt, or with errc::overloaded /
/// errc::unavailable, in which case nothing of the request was applied.
using ingest_actor = caf::typed_actor<
  caf::replies_to<atom::ingest, std::vector<sample_batch>>::with<
    ingest_receipt>,
  caf::replies_to<atom::ingest, std::vector<log_batch>>::with<ingest_receipt>,
  caf::replies_to<atom::ingest, span_batch>::with<ingest_receipt>,
  caf::replies_to<atom::ingest, alert_batch>::with<ingest_receipt>,
  caf::replies_to<atom::ingest, change_batch>::with<ingest_receipt>,
  caf::replies_to<atom::ingest, topology_update>::with<ingest_receipt>,
  // Samples and logs another node forwarded to this one, the owner of their
  // shards: routed to the local shards whatever this node's view says.
  caf::replies_to<atom::forward, std::vector<sample_batch>>::with<
    ingest_receipt>,
  caf::replies_to<atom::forward, std::vector<log_batch>>::with<
    ingest_receipt>,
  // Timer: sends the batches waiting for other nodes.
  caf::reacts_to<atom::flush>,
  // The shard's owner is now the given actor.
  caf::reacts_to<atom::route, shard_id, shard_actor>,
  // Lists every service of every shard.
  caf::replies_to<atom::list>::with<std::vector<service_info>>,
  // Finds the detector of a service through its shard.
  caf::replies_to<atom::locate, std::string>::with<detector_actor>,
  // Snapshots every detector. Replies with the bytes written.
  caf::replies_to<atom::snapshot>::with<uint64_t>>;

/// The ADMIN actor, published on the node's cluster port: the console's
/// entry point.
using admin_actor = caf::typed_actor<
  // The node's identity and addresses.
  caf::replies_to<atom::status>::with<node_status>,
  // A console command: checked against the admin token, then answered by
  // the node's admin API (the same code the HTTP endpoints run).
  caf::replies_to<atom::console, console_request>::with<console_reply>>;

} // namespace vigil
