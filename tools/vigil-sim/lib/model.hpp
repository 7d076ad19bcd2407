#pragma once

// The simulated estate behind one case: per-service baselines, the fault
// episodes, deploys and benign spikes, and what they add to each service
// per metric step after propagation along the reversed call edges. The
// emitters (emit.hpp) turn this into files; nothing here writes.

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <unordered_map>
#include <vector>

#include "tools/vigil-sim/lib/generator.hpp"
#include "tools/vigil-sim/lib/rng.hpp"
#include "tools/vigil-sim/lib/topology.hpp"

namespace vigil::sim {

/// The time axis of a case: metric timestamps t0, t0 + step, ...
struct timeline {
  /// First metric timestamp (Unix seconds, a multiple of the step).
  int64_t t0 = 0;
  double step = 10;
  /// Number of metric timestamps.
  size_t steps = 0;
  double start_ts = 0;
  double end_ts = 0;
  double inject_ts = 0;

  /// Returns the timestamp of step `k`.
  double ts(size_t k) const { return static_cast<double>(t0) + k * step; }

  /// Returns the step whose interval [ts(k), ts(k+1)) holds `t`, clamped.
  size_t at(double t) const {
    if (t <= static_cast<double>(t0))
      return 0;
    auto k = static_cast<size_t>((t - static_cast<double>(t0)) / step);
    return k >= steps ? steps - 1 : k;
  }
};

/// How one service behaves when nothing is wrong.
struct service_profile {
  /// Requests per second at load 1, from the call graph.
  double rate = 1;
  /// Requests per second that do not follow load (probes, jobs).
  double background = 0.5;
  /// CPU limit, idle use and cost per request (cores, core-seconds).
  double cpu_limit = 1;
  double cpu_idle = 0.02;
  double cpu_per_req = 0.001;
  /// Memory limit and working set (bytes).
  double mem_limit = 1e9;
  double mem_base = 4e8;
  /// GC sawtooth: amplitude (bytes, 0 = none), period and phase (s).
  double gc_amp = 0;
  double gc_period = 300;
  double gc_phase = 0;
  /// p99 of the service's own work, and of its whole response (own work
  /// plus the share of its callees' p99 it waits for), in ms.
  double own_p99 = 10;
  double base_p99 = 10;
  /// Log-normal sigma of the p99 noise.
  double lat_noise = 0.08;
  /// Share of requests that fail when nothing is wrong.
  double err_base = 0.001;
  /// Owns a connection pool (reports db_connections_*).
  bool pool_owner = false;
  double pool_max = 20;
  /// Share of the pool in use at load 1.
  double pool_frac = 0.2;
  /// Routine log lines per second.
  double log_rate = 0.02;
  /// Line style: 0 plain, 1 logfmt, 2 Java-style with a timestamp.
  uint8_t log_style = 0;
};

/// How a caller reacts to trouble at one callee.
struct edge_profile {
  /// Share of the callee's p99 that shows in the caller's p99.
  double latency_share = 0.6;
  /// The caller gives up on a call after this long (ms).
  double timeout_ms = 3000;
  /// Share of the callee's added latency the caller shows.
  double lat_gain = 1;
  /// Share of the callee's failures the caller turns into its own.
  double err_pass = 0.5;
  /// Time until the caller shows the callee's trouble (s).
  double delay_s = 20;
  /// False: the caller shows nothing (a cache in front, a fallback, rare
  /// calls).
  bool reacts = true;
};

/// A fault (or an older incident in the history) at one service.
struct episode {
  fault_kind kind = fault_kind::cpu_hog;
  uint32_t root = 0;
  double start = 0;
  /// +infinity for the case fault: it lasts until the end.
  double end = std::numeric_limits<double>::infinity();
  /// The case's fault (as opposed to an older incident).
  bool main = true;
  /// The root's own symptoms are weak.
  bool subtle = false;
  /// Seconds until the fault is at full strength.
  double ramp_s = 10;
  /// cpu_hog: utilisation (share of the CPU limit) the hog adds on top of
  /// the root's own work; the total is throttled at the limit.
  double cpu_add = 0.8;
  /// cpu_hog, pool_exhaustion, errors: factor on the root's own p99.
  double lat_factor = 3;
  /// errors, pool_exhaustion, cpu_hog: error ratio added at the root.
  double err = 0.3;
  /// latency: delay added to every call to the root (ms) ...
  double delay_ms = 300;
  /// ... of which this share shows in the root's own p99.
  double own_share = 1;
  /// memory_leak: growth in bytes per second and OOM restart downtime.
  double leak_bps = 1e6;
  double restart_s = 30;
  /// pool_exhaustion: how long a request waits for a connection (ms).
  double pool_wait_ms = 3000;
};

/// The root's own condition at one moment of an episode.
struct root_state {
  /// Added to the root's own p99 (ms).
  double own_lat = 0;
  /// Added to every call as its callers see it (ms; includes network
  /// delay the root itself does not measure).
  double seen_lat = 0;
  /// Error ratio the root adds; as callers see it.
  double own_err = 0;
  double seen_err = 0;
  /// CPU utilisation added on top of the root's own work.
  double cpu_add = 0;
  /// Added memory (bytes; negative right after a restart).
  double mem_add = 0;
  /// Share of the free pool connections taken.
  double pool_fill = 0;
  /// Factor on the root's request rate (retries, restarts).
  double rate_mult = 1;
  /// Share of the root's calls to its callees that no longer happen.
  double downstream = 0;
  /// Memory pressure 0..1 (memory_leak).
  double pressure = 0;
  /// In an OOM restart.
  bool restarting = false;
  /// Strength 0..1 of the episode at this moment.
  double strength = 0;
};

/// Returns the root's condition at time `t` of episode `ep`.
root_state state_at(const episode& ep, const service_profile& root, double t);

/// What episodes, deploys and benign spikes add to one service, per step.
struct effect_track {
  /// Added p99 (ms), own and propagated.
  std::vector<float> lat;
  /// Added error ratio, own and propagated.
  std::vector<float> err;
  /// The service's own part of `lat` and `err` (what a trace of it alone
  /// shows; the rest arrives through its callees).
  std::vector<float> own_lat;
  std::vector<float> own_err;
  /// Network delay added to calls to the service (ms).
  std::vector<float> net;
  /// CPU utilisation floor (0 = none): warm-up after a deploy, a batch
  /// job.
  std::vector<float> cpu;
  /// CPU utilisation added to the service's own work (a hog, GC thrash).
  std::vector<float> cpu_add;
  /// Added memory (bytes).
  std::vector<float> mem;
  /// Share of the free pool connections taken.
  std::vector<float> pool;
  /// Factor on the request rate.
  std::vector<float> rate;
  /// The callee edge trouble came through (logs name it); -1 if none.
  int64_t via_edge = -1;

  explicit effect_track(size_t steps)
    : lat(steps, 0), err(steps, 0), own_lat(steps, 0), own_err(steps, 0),
      net(steps, 0), cpu(steps, 0), cpu_add(steps, 0), mem(steps, 0),
      pool(steps, 0), rate(steps, 1) {}
};

/// A change event (changes.jsonl).
struct change_event_sim {
  double ts = 0;
  uint32_t service = 0;
  std::string kind;
  std::string version;
};

/// A short benign disturbance (for logs).
struct benign_spike {
  enum class type : uint8_t { latency, cpu, errors, traffic, memory };
  type what = type::latency;
  uint32_t service = 0;
  double start = 0;
  double end = 0;
};

/// Everything about one case before it is written.
struct scenario {
  case_spec spec;
  service_graph graph;
  std::vector<service_profile> profiles;
  /// Parallel to `graph.edges`.
  std::vector<edge_profile> edge_profiles;
  timeline time;
  /// [0] is the case's fault; the rest are older incidents in the history.
  std::vector<episode> episodes;
  std::vector<change_event_sim> changes;
  std::vector<benign_spike> spikes;
  /// Only services something happens to have a track.
  std::unordered_map<uint32_t, effect_track> tracks;
  /// System-wide load factor per step (daily curve and slow drift).
  std::vector<float> load;
  /// Service indices in name order (the row order within a timestamp).
  std::vector<uint32_t> by_name;
  /// Whether topology.csv is written.
  bool write_topology = false;
  /// Budget of trace spans and routine log lines.
  uint64_t span_budget = 20000;

  /// Returns the track of service `s`, creating it.
  effect_track& track(uint32_t s) {
    auto i = tracks.find(s);
    if (i == tracks.end())
      i = tracks.emplace(s, effect_track{time.steps}).first;
    return i->second;
  }

  /// Returns the track of service `s`, or null.
  const effect_track* find_track(uint32_t s) const {
    auto i = tracks.find(s);
    return i == tracks.end() ? nullptr : &i->second;
  }
};

/// Builds the scenario of case `spec`.
scenario make_scenario(const case_spec& spec, const sim_options& opts);

} // namespace vigil::sim
