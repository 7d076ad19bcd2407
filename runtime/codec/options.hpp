#pragma once

// Knobs every decoder takes, and the counts every decoder reports.

#include <cstdint>
#include <string>
#include <vector>

namespace vigil::codec {

/// How a request body is turned into batches: service naming and bounds.
struct decode_options {
  /// Label names (remote write, NDJSON) tried in order; the first one present
  /// with a non-empty value names the service.
  /// Default: {"service", "job"} (config: ingest.service_labels).
  std::vector<std::string> service_labels{"service", "job"};
  /// Service of items that carry no service label / no `service.name`.
  /// Default: "unknown".
  std::string default_service = "unknown";
  /// Upper bound for the output of snappy and gzip decompression, checked
  /// before (snappy) or while (gzip) decompressing. Default: 64 MiB.
  uint64_t max_decoded_bytes = 64ull << 20;
  /// Wall clock (ns since the epoch) when the request arrived; stamped into
  /// every batch. Default: 0.
  int64_t received_ns = 0;
  /// Upper bound for the number of decoded items (samples, spans, log
  /// records, alerts) in one request, and for the number of protobuf
  /// messages in an OTLP body, so that a body of tiny repeated messages
  /// cannot make the decoder allocate many times its size; more is
  /// `too_large`. Default: 5,000,000 (200 MB of samples).
  uint64_t max_items = 5'000'000;
};

/// What one decode produced. Decoders overwrite `*stats` on success and leave
/// it untouched on failure.
struct decode_stats {
  /// Series seen (remote write: TimeSeries messages; OTLP and NDJSON:
  /// distinct series texts).
  uint64_t series = 0;
  /// Samples produced, staleness markers included.
  uint64_t samples = 0;
  /// Samples that are Prometheus staleness markers (or OTLP points flagged
  /// NO_RECORDED_VALUE).
  uint64_t stale_markers = 0;
  /// Samples whose value is an ordinary NaN.
  uint64_t nan_values = 0;
  /// Remote-write MetricMetadata entries (counted, not decoded).
  uint64_t metadata = 0;
  /// Spans produced.
  uint64_t spans = 0;
  /// Log records produced.
  uint64_t log_records = 0;
  /// Alerts produced.
  uint64_t alerts = 0;
  /// Items recognised but not decoded: exemplars, native histograms, span
  /// events and links, metrics without data.
  uint64_t ignored = 0;
};

} // namespace vigil::codec
