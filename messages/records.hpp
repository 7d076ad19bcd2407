#pragma once

// Decoded non-metric telemetry: logs, spans, alerts, change events and static
// topology. Each is produced by a codec in runtime/codec and routed by ingest.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <caf/meta/type_name.hpp>

#include "messages/type_ids.hpp"

namespace vigil {

/// A key/value pair with the value rendered as text.
struct attribute {
  std::string key;
  std::string value;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, attribute& x) {
  return f(caf::meta::type_name("vigil.attribute"), x.key, x.value);
}

/// One log line or OTLP log record.
struct log_record {
  /// Event time in ms since the epoch; 0 when the source gave none.
  int64_t ts_ms = 0;
  /// OTLP severity number (1..24); 0 when unknown.
  int32_t severity = 0;
  /// Severity as the source spelled it ("ERROR", "warn", ...); may be empty.
  std::string severity_text;
  /// The message (for structured bodies: their JSON rendering).
  std::string body;
  /// W3C trace id (32 hex digits) or empty.
  std::string trace_id;
  /// W3C span id (16 hex digits) or empty.
  std::string span_id;
  /// Structured attributes.
  std::vector<attribute> attributes;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, log_record& x) {
  return f(caf::meta::type_name("vigil.log_record"), x.ts_ms, x.severity,
           x.severity_text, x.body, x.trace_id, x.span_id, x.attributes);
}

/// Log records of one service.
struct log_batch {
  std::string service;
  /// The format the lines were sent in ("otlp", "text", "ndjson").
  std::string format;
  std::vector<log_record> records;
  int64_t received_ns = 0;
  /// How each line's text is parsed: "auto" (recognised per line) or a
  /// format the client named ("json", "logfmt", "syslog", "access",
  /// "log4j", "python", "text").
  std::string line_format = "auto";
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, log_batch& x) {
  return f(caf::meta::type_name("vigil.log_batch"), x.service, x.format,
           x.records, x.received_ns, x.line_format);
}

/// OTLP span kinds (numbering of opentelemetry.proto.trace.v1.Span.SpanKind).
enum class span_kind : uint8_t {
  unspecified = 0,
  internal = 1,
  server = 2,
  client = 3,
  producer = 4,
  consumer = 5,
};

/// OTLP status codes (numbering of opentelemetry.proto.trace.v1.Status).
enum class span_status : uint8_t { unset = 0, ok = 1, error = 2 };

/// One span, with the service that emitted it.
struct span_record {
  std::string trace_id;       ///< 32 hex digits.
  std::string span_id;        ///< 16 hex digits.
  std::string parent_span_id; ///< 16 hex digits or empty for a root span.
  std::string service;
  std::string name;
  uint8_t kind = 0;           ///< A `span_kind`.
  int64_t start_ns = 0;
  int64_t end_ns = 0;
  uint8_t status = 0;         ///< A `span_status`.
  std::string status_message;
  std::vector<attribute> attributes;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, span_record& x) {
  return f(caf::meta::type_name("vigil.span_record"), x.trace_id, x.span_id,
           x.parent_span_id, x.service, x.name, x.kind, x.start_ns, x.end_ns,
           x.status, x.status_message, x.attributes);
}

/// Spans of one request (any number of services).
struct span_batch {
  std::vector<span_record> spans;
  int64_t received_ns = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, span_batch& x) {
  return f(caf::meta::type_name("vigil.span_batch"), x.spans, x.received_ns);
}

/// One alert of an Alertmanager webhook notification.
struct alert_record {
  std::string fingerprint;
  /// "firing" or "resolved".
  std::string status;
  /// The service named by the alert's labels (ingest.service_labels), or
  /// empty when none matched.
  std::string service;
  std::vector<attribute> labels;
  std::vector<attribute> annotations;
  /// ms since the epoch; 0 when unset (Alertmanager's 0001-01-01).
  int64_t starts_at_ms = 0;
  int64_t ends_at_ms = 0;
  std::string generator_url;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, alert_record& x) {
  return f(caf::meta::type_name("vigil.alert_record"), x.fingerprint,
           x.status, x.service, x.labels, x.annotations, x.starts_at_ms,
           x.ends_at_ms, x.generator_url);
}

/// One Alertmanager webhook notification (version 4).
struct alert_batch {
  std::string receiver;
  std::string status;
  std::string group_key;
  std::string external_url;
  std::vector<attribute> group_labels;
  std::vector<attribute> common_labels;
  uint64_t truncated_alerts = 0;
  std::vector<alert_record> alerts;
  int64_t received_ns = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, alert_batch& x) {
  return f(caf::meta::type_name("vigil.alert_batch"), x.receiver, x.status,
           x.group_key, x.external_url, x.group_labels, x.common_labels,
           x.truncated_alerts, x.alerts, x.received_ns);
}

/// A deploy, config change, scale or other change to a service.
struct change_event {
  std::string service;
  /// "deploy", "config", "scale", "rollback", ...
  std::string kind;
  std::string version;
  std::string author;
  std::string description;
  int64_t ts_ms = 0;
};

/// Whether a change of this kind starts a new process (a deploy, a
/// rollback, a restart): one whose warm-up, fresh heap and first failed
/// requests pass by themselves.
inline bool starts_process(std::string_view kind) {
  return kind == "deploy" || kind == "rollback" || kind == "restart";
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, change_event& x) {
  return f(caf::meta::type_name("vigil.change_event"), x.service, x.kind,
           x.version, x.author, x.description, x.ts_ms);
}

/// Change events of one request.
struct change_batch {
  std::vector<change_event> changes;
  int64_t received_ns = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, change_batch& x) {
  return f(caf::meta::type_name("vigil.change_batch"), x.changes,
           x.received_ns);
}

/// A static dependency: `caller` calls `callee`.
struct topology_edge {
  std::string caller;
  std::string callee;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, topology_edge& x) {
  return f(caf::meta::type_name("vigil.topology_edge"), x.caller, x.callee);
}

/// One caller -> callee edge of the service graph with what is known of it.
struct topology_edge_stats {
  std::string caller;
  std::string callee;
  /// Calls seen in traces, and of those with an error status.
  uint64_t calls = 0;
  uint64_t errors = 0;
  /// The callee's span duration: moving mean and a streaming p95, in ms.
  double latency_mean_ms = 0;
  double latency_p95_ms = 0;
  /// Event time of the newest call (ms since the epoch; 0 = never seen).
  int64_t last_seen_ms = 0;
  /// Declared statically (never ages out) / seen in traces.
  bool is_static = false;
  bool learned = false;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f,
                                        topology_edge_stats& x) {
  return f(caf::meta::type_name("vigil.topology_edge_stats"), x.caller,
           x.callee, x.calls, x.errors, x.latency_mean_ms, x.latency_p95_ms,
           x.last_seen_ms, x.is_static, x.learned);
}

/// The whole service graph, for GET /api/v1/topology.
struct topology_snapshot {
  /// Every service in the graph, sorted.
  std::vector<std::string> services;
  /// Every edge, sorted by (caller, callee).
  std::vector<topology_edge_stats> edges;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, topology_snapshot& x) {
  return f(caf::meta::type_name("vigil.topology_snapshot"), x.services,
           x.edges);
}

/// Static edges posted by a user or loaded from config.
struct topology_update {
  std::vector<topology_edge> edges;
  int64_t received_ns = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, topology_update& x) {
  return f(caf::meta::type_name("vigil.topology_update"), x.edges,
           x.received_ns);
}

} // namespace vigil
