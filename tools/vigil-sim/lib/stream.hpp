#pragma once

// `vigil-sim --case DIR --to URL`: streams one RCA case to a vigild node
// through its ingest endpoints, all files merged in event-time order and
// paced at --speed seconds of event time per wall second.

#include <cstdint>
#include <string>

namespace vigil::sim {

/// What `run_stream` sends where, and how fast.
struct stream_options {
  /// The case directory.
  std::string case_dir;
  /// http://HOST:PORT of the node.
  std::string url;
  /// Event seconds per wall second; 0 = as fast as the node accepts.
  /// Default: 0.
  double speed = 0;
  /// Ingest token (sent as `Authorization: Bearer`); empty = none.
  std::string token;
  /// Lines (samples, spans, log lines, changes) per request. Default: 2000.
  uint32_t batch = 2000;
  /// With --speed 0: event seconds gathered before every stream is flushed,
  /// so the streams stay interleaved. Default: 60.
  double slice_s = 60;
  /// Per-exchange timeout in seconds. Default: 30.
  double timeout_s = 30;
  /// Retries of one throttled (429/503) request. Default: 30.
  uint32_t max_retries = 30;
  /// Upper bound of an honoured Retry-After, seconds. Default: 30.
  double max_retry_wait = 30;
  /// No progress lines on stderr.
  bool quiet = false;
  /// Print the totals on stdout at the end.
  bool totals = true;
};

/// Streams the case; prints totals to stdout and returns the exit code:
/// 0 everything accepted, 1 the case could not be read or the node refused
/// something (the message names the file and line), 2 bad options.
int run_stream(const stream_options& opts);

} // namespace vigil::sim
