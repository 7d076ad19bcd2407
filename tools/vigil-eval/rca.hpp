#pragma once

#include <string>

#include "config/options.hpp"

namespace vigil::eval {

/// Replays one RCA case directory (CONTRACT §5) through a real node started
/// in this process (temp data dir, loopback ports): the case is streamed
/// through the node's ingest endpoints as fast as it accepts, the node is
/// left to settle, and its incidents are read back through the HTTP API.
/// Prints `{"incidents": N, "ranking": [{"service","score"}, ...],
/// "incident": ID, "baseline": SERVICE, "storm": {...}}` for the strongest
/// incident the engine opened inside the case window (by `detected_at`,
/// `opened_by_engine_ms`; its first symptom may have begun before it),
/// the strongest by `scoring_order`: one
/// with a persisting symptom not yet recovered, then a service anomalous
/// longest, then most services; N counts those
/// incidents); "storm" holds the same fields for the incident that took
/// the most services whose first anomaly lies inside the window (where the
/// window's storm went, even into an incident opened before it). With a
/// non-empty `dump`, the node's whole incident list (every incident with
/// its services, anomalies and ranking) is also written there as JSON, for
/// looking into a case. Returns a process exit code; errors go to stderr.
int run_rca(const std::string& case_dir, options opts,
            const std::string& dump = {});

} // namespace vigil::eval
