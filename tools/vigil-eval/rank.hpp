#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <tuple>

#include <nlohmann/json.hpp>

#include "config/options.hpp"

namespace vigil::eval {

/// Orders the incidents (whole API objects, with their anomalies)
/// `vigil-eval rca` may score, strongest first: one with a persisting
/// symptom still anomalous (a fault going on over one that healed by
/// itself), then the one where a service has been anomalous longest (a
/// lasting fault over a passing storm; a persisting symptom still
/// anomalous counts until `end_ms`, the end of the replay, not only until
/// its last re-announcement, which may be minutes earlier), then more
/// services, then higher severity, then the earlier opened.
std::tuple<bool, double, size_t, int, double>
scoring_order(const nlohmann::json& incident, int64_t end_ms);

/// When the engine opened an incident, in Unix ms: its `detected_at` (the
/// evidence that opened it), or `opened_at` (its first symptom's onset) in
/// dumps written before incidents kept both. An incident "opened inside the
/// case window" by this moment: its first symptom may have begun earlier,
/// as a weak anomaly held for a while, without it being an older incident.
int64_t opened_by_engine_ms(const nlohmann::json& incident);

/// Ranks again, without a node, the incident `vigil-eval rca` scores in a
/// dump it wrote (`--dump`: incidents with their anomalies, and the learned
/// topology), with the case's change events and the ranker options of
/// `opts`. For trying ranking changes on many cases in seconds; it folds the
/// anomalies into per-service evidence the way the correlator does. Prints
/// `{"incidents","incident","ranking":[{"service","score",<signals>}],
/// "confidence","baseline"}`. `weights` ("W1,...,W7": isolation,
/// earliness, propagation, pagerank, change, magnitude, persistence)
/// replaces the
/// ranker's default weights when not empty. Returns a process exit code.
int run_rank(const std::string& dump_file, const std::string& case_dir,
             const options& opts, const std::string& weights = {});

} // namespace vigil::eval
