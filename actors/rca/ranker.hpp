#pragma once

// Root-cause ranking on the service graph: which anomalous service most
// likely started an incident, with evidence, blast radius and an honest
// confidence. Pure logic: no actors, no clocks (all times are event times).

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "actors/rca/service_graph.hpp"
#include "messages/incidents.hpp"
#include "messages/records.hpp"

namespace vigil::rca {

/// What the detectors said about one anomalous service in the incident
/// (the message the correlator sends, `rca_evidence`): onset, score,
/// deviation, persisting onset, current stretch and time anomalous, all in
/// event time; 0 where unknown.
using service_evidence = rca_evidence;

/// One incident as the ranker sees it.
struct rank_input {
  std::vector<service_evidence> anomalous;
  /// Recent change events (any services; filtered by the lookback).
  std::vector<change_event> changes;
  /// The incident window, ms since the epoch (0 = open).
  int64_t window_start_ms = 0;
  int64_t window_end_ms = 0;
};

/// How much the ranker trusts its top candidate.
enum class confidence_level { unknown, low, medium, high };

/// "unknown", "low", "medium" or "high".
const char* to_string(confidence_level x);

/// One ranked root-cause candidate.
struct candidate {
  std::string service;
  /// Weighted sum of the signals below, in [0, 1].
  double score = 0;
  /// Human-readable reasons, strongest first.
  std::vector<std::string> evidence;
  /// Anomalous services upstream of it (transitive callers through
  /// anomalous services, each gone bad after the callee it reaches it by,
  /// within the propagation horizon): who it plausibly dragged down.
  size_t blast_radius = 0;
  /// All services upstream of it in the graph (transitive callers).
  size_t upstream_callers = 0;
  // The signals, each in [0, 1], for explanation and evaluation.
  /// No anomalous callee explains it: 1, or 0.5 when an anomalous caller
  /// went bad before it (it may be suffering from that caller, e.g. less
  /// traffic), 0 when a callee explains it.
  double isolation = 0;
  double earliness = 0;   ///< Onset order (1 = first).
  /// What it explains: anomalous callers (transitively) that went bad after
  /// their callee, and its own callees that went bad after it; relative to
  /// the candidate that explains most.
  double propagation = 0;
  double pagerank = 0;    ///< Personalised PageRank, max-normalised.
  double change = 0;      ///< Recent change event before onset.
  double magnitude = 0;   ///< Largest deviation, log-scaled, max-normalised.
  /// How long it has been anomalous, relative to the longest: a cause lasts
  /// as long as the fault, a bystander's blip ends.
  double persistence = 0;
  int64_t onset_ms = 0;
};

/// The ranking of one incident (or one component of it).
struct ranking {
  /// Best first; at most ranker_options::max_candidates.
  std::vector<candidate> candidates;
  confidence_level confidence = confidence_level::unknown;
  /// Numeric confidence in [0, 1] for the incident object (CONTRACT §3).
  double confidence_score = 0;
  /// Why the confidence is what it is.
  std::string confidence_reason;
};

/// Weights and windows of the ranker. Weights need not sum to one; the
/// score is divided by their sum.
struct ranker_options {
  /// Weight of "no anomalous callee started before it". Default: 0.25.
  double w_isolation = 0.25;
  /// Weight of onset order. Default: 0.25.
  double w_earliness = 0.25;
  /// Weight of what it explains (propagation). Default: 0.15.
  double w_propagation = 0.15;
  /// Weight of the personalised PageRank. Default: 0.20.
  double w_pagerank = 0.20;
  /// Weight of a change event shortly before onset. Default: 0.25.
  double w_change = 0.25;
  /// Weight of the size of the deviation (a fault is usually loudest where
  /// it starts, relative to that service's own noise). Default: 0.25.
  double w_magnitude = 0.25;
  /// Deviations count up to this many standard deviations for magnitude;
  /// beyond it every one is as extreme (a series that was flat has a
  /// deviation of millions). Default: 100.
  double magnitude_cap_sigma = 100;
  /// Weight of how long it has been anomalous (relative to the longest).
  /// Default: 0.6.
  double w_persistence = 0.6;
  /// How long after a candidate's onset a symptom of a caller (or of its
  /// own callee) still counts as explained by it. Default: 10 min.
  int64_t propagation_horizon_ms = 600'000;
  /// A callee explains its caller only if it stayed anomalous at least
  /// this share of the caller's time: a short hiccup downstream does not
  /// explain a caller that keeps failing long after it. Default: 0.25.
  double explain_min_share = 0.25;
  /// Onsets closer than this count as simultaneous. Default: 5 s.
  int64_t onset_slack_ms = 5'000;
  /// Earliness falls to 1/e this long after the first onset (beyond the
  /// slack). Default: 2 min.
  int64_t earliness_decay_ms = 120'000;
  /// How far before its onset a change still counts. Default: 30 min.
  int64_t change_lookback_ms = int64_t{30} * 60 * 1000;
  /// How far after onset a change still counts (clock skew, detection
  /// lag). Default: 30 s.
  int64_t change_grace_ms = 30'000;
  /// A recovered symptom that began this long after the service's own
  /// deploy, rollback or restart (or change_grace before it) is the
  /// restart's effect and is set aside. 0 = off. Default: 60 s.
  int64_t restart_window_ms = 60'000;
  /// PageRank damping (probability of following an edge). Default: 0.85.
  double damping = 0.85;
  /// PageRank power iterations at most. Default: 50.
  int pagerank_iterations = 50;
  /// PageRank stops when the L1 change is below this. Default: 1e-9.
  double pagerank_tolerance = 1e-9;
  /// Candidates returned at most. Default: 10.
  size_t max_candidates = 10;
  /// When some anomalous services have persisting anomalies, rank only
  /// those, from the onset of their first persisting anomaly: a fault
  /// lasts, while the blips a noisy estate raises all the time (and that
  /// ride along in a long incident) do not. Default: true.
  bool persisting_only = true;
  /// Score lead of the top candidate over the second for "high".
  /// Default: 0.15.
  double high_margin = 0.15;
  /// Score lead for "medium". Default: 0.05.
  double medium_margin = 0.05;
};

/// Ranks root-cause candidates among the anomalous services of `in` on
/// `graph`. Services absent from the graph take part as isolated vertices.
/// Runs in O(A * (A + E_A) + iterations * E_A) for A anomalous services and
/// E_A edges among them, plus O(V + E) per returned candidate for the
/// upstream count.
ranking rank(const service_graph& graph, const rank_input& in,
             const ranker_options& opts = {});

/// Splits the anomalous services by weakly connected component of `graph`
/// and ranks each part alone (independent faults stay apart). Parts come
/// ordered by their top score, best first.
std::vector<ranking> rank_by_component(const service_graph& graph,
                                       const rank_input& in,
                                       const ranker_options& opts = {});

/// The seeds' baseline, "nearest anomalous ancestor", for comparison:
/// 1. the *frontend* is the anomalous service with no anomalous caller that
///    has the highest max_score (ties: earlier onset, then name); when every
///    anomalous service has an anomalous caller (a cycle), all of them are
///    eligible;
/// 2. breadth-first from it along call edges through anomalous services
///    only, the answer is the first service reached (fewest hops; ties:
///    higher max_score, then name) none of whose callees is anomalous;
/// 3. when none is reached (every path loops), the frontend itself.
/// Returns the empty string when nothing is anomalous.
std::string nearest_anomalous_ancestor(const service_graph& graph,
                                       const rank_input& in);

} // namespace vigil::rca
