#pragma once

// Small value types the node's parts report about themselves.

#include <cstdint>
#include <string>

#include <caf/meta/type_name.hpp>

#include "messages/type_ids.hpp"

namespace vigil {

/// Identifies one of the fixed number of shards services hash onto.
struct shard_id {
  uint32_t value = 0;
  friend bool operator==(shard_id x, shard_id y) { return x.value == y.value; }
  friend bool operator<(shard_id x, shard_id y) { return x.value < y.value; }
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, shard_id& x) {
  return f(caf::meta::type_name("vigil.shard_id"), x.value);
}

/// What a detector knows about its service.
struct service_info {
  std::string name;
  shard_id shard;
  /// The node that owns the shard.
  std::string node;
  /// Series with state (including stale ones not yet aged out).
  uint64_t series = 0;
  /// Series that are live (not ended by a staleness marker or aged out).
  uint64_t series_active = 0;
  /// Live series whose detectors are all warm.
  uint64_t series_warm = 0;
  uint64_t samples = 0;
  uint64_t anomalies = 0;
  uint64_t log_lines = 0;
  /// Samples dropped as out of order or duplicate.
  uint64_t out_of_order = 0;
  /// Newest event time seen (ms); 0 = none.
  int64_t last_ts_ms = 0;
  /// How often this service's detector was restarted since the node started.
  uint32_t restarts = 0;
  /// Event time of the snapshot the detector was restored from; 0 = none.
  int64_t restored_from_ms = 0;
  /// The service's sampling step as first observed (ms); 0 = not yet.
  int64_t step_ms = 0;
  /// How many samples of that step are averaged into one judged value.
  uint32_t step_block = 1;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, service_info& x) {
  return f(caf::meta::type_name("vigil.service_info"), x.name, x.shard, x.node,
           x.series, x.series_active, x.series_warm, x.samples, x.anomalies,
           x.log_lines, x.out_of_order, x.last_ts_ms, x.restarts,
           x.restored_from_ms, x.step_ms, x.step_block);
}

/// Identity and state of a node, answered by its admin actor.
struct node_status {
  std::string node;
  std::string version;
  std::string http;
  std::string cluster;
  int64_t started_at_ms = 0;
  bool ready = false;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, node_status& x) {
  return f(caf::meta::type_name("vigil.node_status"), x.node, x.version,
           x.http, x.cluster, x.started_at_ms, x.ready);
}

/// A console command as the `vigil` CLI sends it to a node's admin actor:
/// one admin API call (CONTRACT §3) with the caller's token.
struct console_request {
  std::string token;
  /// GET, POST or DELETE.
  std::string method;
  /// e.g. /api/v1/incidents?status=all
  std::string target;
  std::string body;
  /// A person's own token (remediation.approvers), sent to the API in
  /// place of the admin token so the decision is theirs; empty = none.
  std::string as_token;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, console_request& x) {
  return f(caf::meta::type_name("vigil.console_request"), x.token, x.method,
           x.target, x.body, x.as_token);
}

/// The answer: the API's status and JSON body.
struct console_reply {
  uint32_t status = 0;
  std::string body;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, console_reply& x) {
  return f(caf::meta::type_name("vigil.console_reply"), x.status, x.body);
}

/// What ingest accepted from one request.
struct ingest_receipt {
  /// Items accepted (samples, log records, spans, alerts, changes, edges).
  uint64_t accepted = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, ingest_receipt& x) {
  return f(caf::meta::type_name("vigil.ingest_receipt"), x.accepted);
}

} // namespace vigil
