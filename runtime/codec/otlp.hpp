#pragma once

// OTLP/HTTP (`/v1/metrics`, `/v1/traces`, `/v1/logs`) in protobuf or JSON
// encoding into Vigil's batches. Bodies arrive already gunzipped.
//
// Mapping (see docs/wire-formats.md):
// - service: resource attribute `service.name`, else the default service.
// - metrics: gauge and sum points are one sample each; a monotonic
//   cumulative sum is a `counter`, a delta sum `delta`; histograms and
//   exponential histograms become `<name>_count` and `<name>_sum`
//   (`counter` when cumulative, `delta` when delta); summaries become
//   `<name>_count` and `<name>_sum` (counters) and one gauge per quantile
//   with label `quantile`. Labels are the point's attributes (values as
//   text) plus `instance` = resource attribute `service.instance.id`.
//   Metric names keep their dots. A point flagged NO_RECORDED_VALUE is a
//   staleness marker.
// - traces: one `span_record` per span, ids in hex.
// - logs: one `log_batch` per service, format "otlp".

#include <string>
#include <string_view>
#include <vector>

#include <caf/expected.hpp>

#include "messages/records.hpp"
#include "messages/samples.hpp"
#include "runtime/codec/options.hpp"

namespace vigil::codec {

/// The two encodings of OTLP/HTTP.
enum class wire_format {
  /// `application/x-protobuf`.
  protobuf,
  /// `application/json` (OTLP/JSON: hex ids, lowerCamelCase keys).
  json,
};

/// Decodes an ExportMetricsServiceRequest into one batch per service.
[[nodiscard]] caf::expected<std::vector<sample_batch>>
decode_otlp_metrics(std::string_view body, wire_format format,
                    const decode_options& opts,
                    decode_stats* stats = nullptr);

/// Decodes an ExportTraceServiceRequest into spans (any number of
/// services).
[[nodiscard]] caf::expected<span_batch>
decode_otlp_traces(std::string_view body, wire_format format,
                   const decode_options& opts, decode_stats* stats = nullptr);

/// Decodes an ExportLogsServiceRequest into one batch per service.
[[nodiscard]] caf::expected<std::vector<log_batch>>
decode_otlp_logs(std::string_view body, wire_format format,
                 const decode_options& opts, decode_stats* stats = nullptr);

/// Returns the body of a successful Export*ServiceResponse: no bytes for
/// protobuf, `{}` for JSON.
std::string otlp_empty_response(wire_format format);

} // namespace vigil::codec
