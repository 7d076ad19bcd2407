#include "tools/vigil-sim/lib/model.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <unordered_set>

namespace vigil::sim {

namespace {

constexpr double mib = 1024.0 * 1024.0;
constexpr double inf = std::numeric_limits<double>::infinity();

template <class T, size_t N>
T pick(rng& g, const std::array<T, N>& xs) {
  return xs[g.index(N)];
}

double clamp01(double x) {
  return x < 0 ? 0 : x > 1 ? 1 : x;
}

// Combines two independent failure ratios.
float either(float a, float b) {
  return 1.0f - (1.0f - a) * (1.0f - b);
}

// Linear interpolation in a per-step signal at fractional step `x`.
float sample(const std::vector<float>& xs, double x) {
  if (x < 0 || xs.empty())
    return 0;
  auto i = static_cast<size_t>(x);
  if (i + 1 >= xs.size())
    return xs.back();
  auto f = static_cast<float>(x - static_cast<double>(i));
  return xs[i] * (1 - f) + xs[i + 1] * f;
}

// -- baselines
// -----------------------------------------------------------------

void make_profiles(scenario& sc, rng& g) {
  auto& graph = sc.graph;
  auto n = graph.nodes.size();
  sc.profiles.assign(n, {});
  sc.edge_profiles.assign(graph.edges.size(), {});
  // Request rates flow from the entries down the call edges.
  std::vector<double> rate(n, 0);
  for (auto it = graph.callee_first.rbegin(); it != graph.callee_first.rend();
       ++it) {
    auto s = *it;
    bool has_caller = false;
    for (auto ei : graph.in[s])
      if (!graph.edges[ei].back) {
        has_caller = true;
        rate[s]
          += rate[graph.edges[ei].caller] * graph.edges[ei].calls_per_request;
      }
    if (!has_caller)
      rate[s] = g.log_uniform(5, 300);
    // Shared stores of big estates would reach absurd rates; real ones
    // are sharded and report per shard.
    if (rate[s] > 2000)
      rate[s] = 2000 * (1 + std::log(rate[s] / 2000));
    rate[s] = std::max(rate[s], 0.05);
  }
  for (uint32_t s = 0; s < n; ++s) {
    auto& node = graph.nodes[s];
    auto& p = sc.profiles[s];
    bool store = node.role == service_role::store;
    p.rate = rate[s];
    p.background = g.uniform(0.1, 1.5);
    p.cpu_limit = store ? pick(g, std::array<double, 4>{1, 2, 4, 8})
                        : pick(g, std::array<double, 6>{0.5, 1, 1, 2, 2, 4});
    double util = g.uniform(0.08, 0.5);
    p.cpu_idle = p.cpu_limit * g.uniform(0.01, 0.05);
    p.cpu_per_req = std::max(1e-6, (util * p.cpu_limit - p.cpu_idle)
                                     / (p.rate + p.background));
    p.mem_limit
      = (store ? pick(g, std::array<double, 5>{1024, 2048, 4096, 8192, 16384})
               : pick(g, std::array<double, 5>{256, 512, 1024, 2048, 4096}))
        * mib;
    p.mem_base = p.mem_limit * g.uniform(0.25, 0.55);
    if (!store && g.chance(0.45)) {
      p.gc_amp = p.mem_limit * g.uniform(0.04, 0.15);
      p.gc_period = g.uniform(60, 600);
      p.gc_phase = g.uniform(0, p.gc_period);
    }
    switch (node.store) {
      case store_kind::database:
        p.own_p99 = g.log_uniform(1, 25);
        break;
      case store_kind::cache:
        p.own_p99 = g.log_uniform(0.3, 3);
        break;
      case store_kind::queue:
        p.own_p99 = g.log_uniform(0.5, 5);
        break;
      case store_kind::search:
        p.own_p99 = g.log_uniform(5, 60);
        break;
      case store_kind::none:
        p.own_p99 = node.role == service_role::entry ? g.log_uniform(3, 40)
                                                     : g.log_uniform(2, 80);
        break;
    }
    p.lat_noise = g.uniform(0.05, 0.15);
    p.err_base = store ? g.log_uniform(1e-5, 1e-3) : g.log_uniform(2e-4, 8e-3);
    p.log_style = static_cast<uint8_t>(g.weighted({0.5, 0.3, 0.2}));
  }
  // Connection pools: every caller of a database, and a few others (HTTP
  // client pools), so the pool metrics do not point at anyone.
  for (auto& e : graph.edges)
    if (graph.nodes[e.callee].store == store_kind::database)
      sc.profiles[e.caller].pool_owner = true;
  for (uint32_t s = 0; s < n; ++s) {
    auto& p = sc.profiles[s];
    if (graph.nodes[s].role != service_role::store && g.chance(0.15))
      p.pool_owner = true;
    // Busy connections are Poisson around max * frac * load: these bounds
    // keep a healthy pool from touching its maximum by chance.
    p.pool_max = pick(g, std::array<double, 6>{16, 20, 32, 50, 64, 100});
    p.pool_frac = g.uniform(0.03, 0.25);
  }
  for (size_t i = 0; i < graph.edges.size(); ++i) {
    auto& e = graph.edges[i];
    auto& ep = sc.edge_profiles[i];
    ep.latency_share = e.async ? 0.02 : g.uniform(0.4, 1.0);
    ep.lat_gain = g.uniform(0.5, 1.6);
    ep.err_pass = g.uniform(0.2, 0.9);
    ep.delay_s = g.uniform(5, 60);
    ep.reacts = !g.chance(e.async ? 0.7 : 0.2);
  }
  // The p99 of a response holds a share of the callees' p99: compute from
  // the leaves up.
  for (auto s : graph.callee_first) {
    auto& p = sc.profiles[s];
    p.base_p99 = p.own_p99;
    for (auto ei : graph.out[s]) {
      auto& e = graph.edges[ei];
      if (e.back)
        continue;
      p.base_p99
        += sc.edge_profiles[ei].latency_share * sc.profiles[e.callee].base_p99;
    }
  }
  for (size_t i = 0; i < graph.edges.size(); ++i) {
    auto callee_p99 = sc.profiles[graph.edges[i].callee].base_p99;
    auto standard
      = pick(g, std::array<double, 6>{500, 1000, 2000, 3000, 5000, 10000});
    sc.edge_profiles[i].timeout_ms
      = std::max(callee_p99 * g.uniform(4, 10), standard);
  }
}

// -- the fault
// -----------------------------------------------------------------

uint32_t pick_root(const scenario& sc, fault_kind kind, rng& g,
                   uint32_t avoid) {
  auto& nodes = sc.graph.nodes;
  std::array<std::vector<uint32_t>, 3> by_role;
  for (uint32_t s = 0; s < nodes.size(); ++s) {
    if (s == avoid)
      continue;
    if (kind == fault_kind::pool_exhaustion
        && (!sc.profiles[s].pool_owner || nodes[s].role == service_role::store))
      continue;
    by_role[static_cast<size_t>(nodes[s].role)].push_back(s);
  }
  std::vector<double> w{by_role[0].empty() ? 0.0 : 0.1,
                        by_role[1].empty() ? 0.0 : 0.65,
                        by_role[2].empty() ? 0.0 : 0.25};
  if (w[0] + w[1] + w[2] <= 0)
    return avoid == 0 ? 1 : 0;
  auto& xs = by_role[g.weighted(w)];
  return xs[g.index(xs.size())];
}

episode make_episode(const scenario& sc, fault_kind kind, uint32_t root,
                     double start, bool subtle, rng& g) {
  episode ep;
  ep.kind = kind;
  ep.root = root;
  ep.start = start;
  ep.subtle = subtle;
  auto& p = sc.profiles[root];
  switch (kind) {
    case fault_kind::cpu_hog:
      ep.ramp_s = g.uniform(0, 40);
      // Mostly a hog that saturates the container; a subtle one takes a
      // fifth or so of it.
      ep.cpu_add = subtle ? g.uniform(0.15, 0.3) : g.uniform(0.5, 1.0);
      ep.lat_factor = subtle ? g.uniform(0.3, 0.8) : g.uniform(1.5, 8);
      ep.err = subtle ? 0 : g.uniform(0, 0.03);
      break;
    case fault_kind::memory_leak: {
      ep.ramp_s = 0;
      double fill = subtle ? g.uniform(1200, 3000) : g.uniform(240, 1000);
      ep.leak_bps = std::max(1.0, (0.97 * p.mem_limit - p.mem_base) / fill);
      ep.restart_s = g.uniform(15, 45);
      break;
    }
    case fault_kind::latency:
      ep.ramp_s = g.uniform(0, 20);
      // Delay on the root's network path: callers always pay it, the
      // root's own server-side p99 may hardly show it.
      ep.delay_ms = subtle ? g.log_uniform(100, 800) : g.log_uniform(80, 1500);
      ep.own_share = subtle ? g.uniform(0.3, 0.6) : g.uniform(0.8, 1.0);
      break;
    case fault_kind::errors:
      ep.ramp_s = g.uniform(0, 30);
      ep.err = subtle ? g.uniform(0.01, 0.06) : g.uniform(0.15, 0.9);
      ep.lat_factor = g.uniform(-0.3, 0.5);
      break;
    case fault_kind::pool_exhaustion:
      ep.ramp_s = g.uniform(20, 180);
      ep.err = subtle ? g.uniform(0.01, 0.05) : g.uniform(0.05, 0.5);
      ep.lat_factor = subtle ? g.uniform(1, 3) : g.uniform(5, 30);
      ep.pool_wait_ms
        = pick(g, std::array<double, 5>{1000, 2000, 3000, 5000, 30000});
      break;
  }
  return ep;
}

} // namespace

root_state state_at(const episode& ep, const service_profile& p, double t) {
  root_state st;
  double tau = t - ep.start;
  if (tau < 0)
    return st;
  // An older incident fades out within a minute of its end.
  double fade = t <= ep.end ? 1.0 : clamp01(1.0 - (t - ep.end) / 60.0);
  if (fade <= 0)
    return st;
  double r = (ep.ramp_s > 0 ? clamp01(tau / ep.ramp_s) : 1.0) * fade;
  st.strength = r;
  switch (ep.kind) {
    case fault_kind::cpu_hog:
      st.cpu_add = ep.cpu_add * r;
      st.own_lat = r * ep.lat_factor * p.own_p99;
      st.seen_lat = st.own_lat;
      st.own_err = st.seen_err = r * ep.err;
      st.downstream = r * 0.15;
      break;
    case fault_kind::memory_leak: {
      double fill_s
        = std::max(30.0, (0.97 * p.mem_limit - p.mem_base) / ep.leak_bps);
      double cycle = fill_s + ep.restart_s;
      double phase = std::fmod(tau, cycle);
      if (phase < fill_s) {
        st.mem_add = ep.leak_bps * phase * fade;
        double used = (p.mem_base + st.mem_add) / p.mem_limit;
        st.pressure = clamp01((used - 0.75) / 0.22);
        double q = st.pressure * st.pressure;
        st.own_lat = p.own_p99 * 6 * q;
        st.seen_lat = st.own_lat;
        st.own_err = st.seen_err = 0.12 * q * st.pressure;
        st.cpu_add = 0.5 * q; // the collector thrashes
        st.strength = std::max(st.pressure, 0.2);
      } else {
        // OOM-killed: down for restart_s, connections refused.
        st.restarting = true;
        st.mem_add = -0.5 * p.mem_base;
        st.rate_mult = 0.05;
        st.own_err = 0.9;
        st.seen_err = 1.0;
        st.downstream = 0.95;
        st.strength = 1;
      }
      break;
    }
    case fault_kind::latency:
      st.seen_lat = r * ep.delay_ms;
      st.own_lat = st.seen_lat * ep.own_share;
      break;
    case fault_kind::errors:
      st.own_err = st.seen_err = r * ep.err;
      st.own_lat = st.seen_lat = r * ep.lat_factor * p.own_p99;
      st.rate_mult = 1 + r * ep.err * 0.3; // client retries
      st.downstream = r * ep.err * 0.6;    // fails before calling on
      break;
    case fault_kind::pool_exhaustion: {
      st.pool_fill = r;
      double s = clamp01((r - 0.85) / 0.15);
      st.own_lat = s * std::min(ep.pool_wait_ms, p.own_p99 * ep.lat_factor);
      st.seen_lat = st.own_lat;
      st.own_err = st.seen_err = s * ep.err;
      st.downstream = s * ep.err * 0.5;
      st.strength = std::max(s, r * 0.3);
      break;
    }
  }
  return st;
}

namespace {

// Adds episode `ep` to the tracks: the root's own condition, the callees
// that see fewer calls, and every caller upstream that reacts, each after
// its hop's delay.
void apply_episode(scenario& sc, const episode& ep, rng& g) {
  auto& graph = sc.graph;
  auto& time = sc.time;
  auto K = time.steps;
  auto r = ep.root;
  auto& prof = sc.profiles[r];
  std::vector<float> seen_lat(K, 0), seen_err(K, 0), down(K, 0);
  {
    auto& tr = sc.track(r);
    for (size_t k = 0; k < K; ++k) {
      auto st = state_at(ep, prof, time.ts(k));
      if (st.strength <= 0 && !st.restarting && st.mem_add == 0)
        continue;
      tr.lat[k] += static_cast<float>(st.own_lat);
      tr.own_lat[k] += static_cast<float>(st.own_lat);
      tr.net[k] += static_cast<float>(st.seen_lat - st.own_lat);
      tr.err[k] = either(tr.err[k], static_cast<float>(st.own_err));
      tr.own_err[k] = either(tr.own_err[k], static_cast<float>(st.own_err));
      tr.cpu_add[k] += static_cast<float>(st.cpu_add);
      tr.mem[k] += static_cast<float>(st.mem_add);
      tr.pool[k] = std::max(tr.pool[k], static_cast<float>(st.pool_fill));
      tr.rate[k] *= static_cast<float>(st.rate_mult);
      seen_lat[k] = static_cast<float>(st.seen_lat);
      seen_err[k] = static_cast<float>(st.seen_err);
      down[k] = static_cast<float>(st.downstream);
    }
  }
  // Callees of the root see fewer calls while it struggles.
  for (auto ei : graph.out[r]) {
    auto& e = graph.edges[ei];
    if (e.back)
      continue;
    double q = g.uniform(0.3, 1.0);
    auto& tr = sc.track(e.callee);
    for (size_t k = 0; k < K; ++k)
      if (down[k] > 0)
        tr.rate[k] *= static_cast<float>(1 - q * down[k]);
  }
  // Who can the trouble reach: the root's ancestors on forward edges.
  std::vector<bool> ancestor(graph.nodes.size(), false);
  std::vector<uint32_t> stack{r};
  while (!stack.empty()) {
    auto s = stack.back();
    stack.pop_back();
    for (auto ei : graph.in[s]) {
      auto& e = graph.edges[ei];
      if (e.back || ancestor[e.caller] || e.caller == r)
        continue;
      ancestor[e.caller] = true;
      stack.push_back(e.caller);
    }
  }
  struct signal {
    std::vector<float> lat, err;
    uint32_t hop = 0;
  };
  std::unordered_map<uint32_t, signal> sig;
  sig.emplace(r, signal{std::move(seen_lat), std::move(seen_err), 0});
  for (auto s : graph.callee_first) {
    if (!ancestor[s])
      continue;
    std::vector<float> lat_max(K, 0), lat_sum(K, 0), keep(K, 1);
    double best = 0;
    int64_t best_edge = -1;
    uint32_t hop = UINT32_MAX;
    for (auto ei : graph.out[s]) {
      auto& e = graph.edges[ei];
      if (e.back)
        continue;
      auto it = sig.find(e.callee);
      if (it == sig.end())
        continue;
      auto& ep_e = sc.edge_profiles[ei];
      if (!ep_e.reacts)
        continue;
      auto& c = it->second;
      hop = std::min(hop, c.hop + 1);
      // A delayed call costs every caller the whole delay; other trouble
      // fades with each hop.
      double gain = ep.kind == fault_kind::latency
                      ? std::max(1.0, ep_e.lat_gain)
                      : ep_e.lat_gain * (c.hop >= 1 ? 0.85 : 1.0);
      double headroom
        = std::max(0.0, ep_e.timeout_ms - sc.profiles[e.callee].base_p99);
      double shift = ep_e.delay_s / time.step;
      double contribution = 0;
      for (size_t k = 0; k < K; ++k) {
        double x = static_cast<double>(k) - shift;
        if (x < 0)
          continue;
        double l = gain * sample(c.lat, x);
        double extra_err = 0;
        if (l > headroom) {
          // Calls beyond the timeout fail instead of waiting longer.
          extra_err
            = std::min(1.0, (l - headroom) / std::max(headroom, 50.0)) * 0.8;
          l = headroom;
        }
        double ee = std::min(1.0, ep_e.err_pass * sample(c.err, x) + extra_err);
        lat_max[k] = std::max(lat_max[k], static_cast<float>(l));
        lat_sum[k] += static_cast<float>(l);
        keep[k] *= static_cast<float>(1 - ee);
        contribution += l / std::max(1.0, sc.profiles[s].base_p99) + ee;
      }
      if (contribution > best) {
        best = contribution;
        best_edge = ei;
      }
    }
    if (best_edge < 0)
      continue;
    signal out;
    out.lat.assign(K, 0);
    out.err.assign(K, 0);
    out.hop = hop;
    float peak = 0;
    for (size_t k = 0; k < K; ++k) {
      out.lat[k] = lat_max[k] + 0.25f * (lat_sum[k] - lat_max[k]);
      out.err[k] = 1 - keep[k];
      peak = std::max({peak, out.lat[k], out.err[k] * 1000});
    }
    if (peak < 1e-3f)
      continue;
    auto& tr = sc.track(s);
    for (size_t k = 0; k < K; ++k) {
      tr.lat[k] += out.lat[k];
      tr.err[k] = either(tr.err[k], out.err[k]);
    }
    if (tr.via_edge < 0 || ep.main)
      tr.via_edge = best_edge;
    sig.emplace(s, std::move(out));
  }
}

// -- changes, deploy blips and benign spikes
// ------------------------------------

struct version_state {
  int style = 0; // 0 semver, 1 sha, 2 date-build
  int major = 1, minor = 0, patch = 0;
  int config_rev = 1;
  int replicas = 2;
};

std::string hex(rng& g, size_t n) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < n; ++i)
    out += digits[g.index(16)];
  return out;
}

std::string next_version(version_state& v, const std::string& kind, rng& g) {
  if (kind == "config")
    return "rev-" + std::to_string(++v.config_rev);
  if (kind == "scale") {
    v.replicas = std::max(1, v.replicas + (g.chance(0.6) ? 1 : -1));
    return "replicas=" + std::to_string(v.replicas);
  }
  switch (v.style) {
    case 1:
      return "sha-" + hex(g, 7);
    case 2:
      return "2024." + std::to_string(g.range(1, 12)) + "."
             + std::to_string(g.range(1, 28)) + "-" + hex(g, 6);
    default:
      if (g.chance(0.3)) {
        ++v.minor;
        v.patch = 0;
      } else {
        ++v.patch;
      }
      return "v" + std::to_string(v.major) + "." + std::to_string(v.minor) + "."
             + std::to_string(v.patch);
  }
}

// A restart when a new version rolls out: a moment of high CPU (warm-up),
// slower and a few failed requests, and a fresh, smaller heap.
void apply_deploy_blip(scenario& sc, uint32_t s, double ts, rng& g) {
  auto& time = sc.time;
  auto& p = sc.profiles[s];
  auto& tr = sc.track(s);
  auto k0 = time.at(ts);
  auto span = std::max<size_t>(
    1, static_cast<size_t>(std::round(g.uniform(20, 60) / time.step)));
  double lat = p.base_p99 * g.uniform(0.3, 1.5);
  double err = g.uniform(0, 0.03);
  double cpu = g.uniform(0.5, 0.9);
  for (size_t i = 0; i < span && k0 + i < time.steps; ++i) {
    float decay = 1.0f / static_cast<float>(i + 1);
    tr.lat[k0 + i] += static_cast<float>(lat) * decay;
    tr.own_lat[k0 + i] += static_cast<float>(lat) * decay;
    tr.err[k0 + i] = either(tr.err[k0 + i], static_cast<float>(err) * decay);
    tr.own_err[k0 + i]
      = either(tr.own_err[k0 + i], static_cast<float>(err) * decay);
  }
  tr.cpu[k0] = std::max(tr.cpu[k0], static_cast<float>(cpu));
  double drop = p.mem_base * g.uniform(0.3, 0.5);
  double recover = g.uniform(120, 300);
  for (size_t k = k0; k < time.steps; ++k) {
    double dt = time.ts(k) - ts;
    if (dt > recover)
      break;
    tr.mem[k] -= static_cast<float>(drop * (1 - std::max(0.0, dt) / recover));
  }
}

void make_changes(scenario& sc, rng& g) {
  auto& time = sc.time;
  auto n = static_cast<uint32_t>(sc.graph.nodes.size());
  std::vector<version_state> versions(n);
  for (auto& v : versions) {
    v.style = static_cast<int>(g.weighted({0.6, 0.25, 0.15}));
    v.major = static_cast<int>(g.range(1, 4));
    v.minor = static_cast<int>(g.range(0, 30));
    v.patch = static_cast<int>(g.range(0, 20));
    v.config_rev = static_cast<int>(g.range(1, 400));
    v.replicas = static_cast<int>(g.range(1, 6));
  }
  auto add = [&](uint32_t s, double ts, std::string kind) {
    change_event_sim c;
    c.ts = std::round(ts * 1000) / 1000;
    c.service = s;
    c.version = next_version(versions[s], kind, g);
    c.kind = std::move(kind);
    sc.changes.push_back(std::move(c));
  };
  auto random_kind = [&] {
    static constexpr const char* kinds[] = {"deploy", "config", "scale"};
    return std::string{kinds[g.weighted({0.6, 0.3, 0.1})]};
  };
  double first = time.ts(0);
  auto background = std::min<uint64_t>(g.poisson(2 + n * 0.05), 400);
  for (uint64_t i = 0; i < background; ++i)
    add(static_cast<uint32_t>(g.index(n)), g.uniform(first, time.end_ts),
        random_kind());
  auto& main = sc.episodes.front();
  double p_root = 0;
  switch (main.kind) {
    case fault_kind::errors:
      p_root = 0.45;
      break;
    case fault_kind::memory_leak:
      p_root = 0.4;
      break;
    case fault_kind::pool_exhaustion:
      p_root = 0.35;
      break;
    case fault_kind::cpu_hog:
      p_root = 0.15;
      break;
    case fault_kind::latency:
      p_root = 0.1;
      break;
  }
  if (g.chance(p_root)) {
    // A release (or for a pool, a config change) shortly before the fault.
    bool config = main.kind == fault_kind::pool_exhaustion && g.chance(0.4);
    add(main.root, time.inject_ts - g.uniform(20, 360),
        config ? "config" : "deploy");
  }
  if (g.chance(0.35) && n > 1) {
    // A decoy: an innocent deploy near the fault, often next door.
    std::vector<uint32_t> near;
    for (auto ei : sc.graph.in[main.root])
      near.push_back(sc.graph.edges[ei].caller);
    for (auto ei : sc.graph.out[main.root])
      near.push_back(sc.graph.edges[ei].callee);
    uint32_t s = main.root;
    if (!near.empty() && g.chance(0.5))
      s = near[g.index(near.size())];
    while (s == main.root)
      s = static_cast<uint32_t>(g.index(n));
    double ts = std::clamp(time.inject_ts + g.uniform(-480, 180),
                           time.start_ts - 600, time.end_ts - 1);
    add(s, ts, g.chance(0.8) ? "deploy" : "config");
  }
  std::stable_sort(sc.changes.begin(), sc.changes.end(),
                   [&](const change_event_sim& a, const change_event_sim& b) {
                     if (a.ts != b.ts)
                       return a.ts < b.ts;
                     return sc.graph.nodes[a.service].name
                            < sc.graph.nodes[b.service].name;
                   });
  for (auto& c : sc.changes)
    if (c.kind == "deploy" && g.chance(0.85))
      apply_deploy_blip(sc, c.service, c.ts, g);
}

void make_spikes(scenario& sc, rng& g) {
  auto& time = sc.time;
  auto& graph = sc.graph;
  auto n = static_cast<uint32_t>(graph.nodes.size());
  std::vector<uint32_t> entries;
  for (uint32_t s = 0; s < n; ++s)
    if (graph.in[s].empty())
      entries.push_back(s);
  auto count = std::min<uint64_t>(g.poisson(3 + n / 12.0), 600);
  auto root = sc.episodes.front().root;
  for (uint64_t i = 0; i < count; ++i) {
    benign_spike sp;
    sp.what = static_cast<benign_spike::type>(
      g.weighted({0.4, 0.2, 0.2, 0.15, 0.05}));
    sp.start = g.uniform(time.ts(0), time.end_ts);
    auto s = sp.what == benign_spike::type::traffic && !entries.empty()
               ? entries[g.index(entries.size())]
               : static_cast<uint32_t>(g.index(n));
    // Spikes in the window stay away from the root: they are noise, not
    // a second clue.
    for (int tries = 0; s == root && sp.start >= time.start_ts && tries < 8;
         ++tries)
      s = static_cast<uint32_t>(g.index(n));
    if (s == root && sp.start >= time.start_ts)
      continue;
    sp.service = s;
    auto& p = sc.profiles[s];
    auto k0 = time.at(sp.start);
    size_t len = 1;
    switch (sp.what) {
      case benign_spike::type::latency: {
        len = static_cast<size_t>(g.range(1, 3));
        double add = p.base_p99 * g.uniform(0.8, 4);
        for (size_t k = k0; k < std::min(time.steps, k0 + len); ++k) {
          sc.track(s).lat[k] += static_cast<float>(add);
          sc.track(s).own_lat[k] += static_cast<float>(add);
        }
        break;
      }
      case benign_spike::type::cpu: {
        len = static_cast<size_t>(g.range(1, 6));
        double util = g.uniform(0.6, 0.95);
        for (size_t k = k0; k < std::min(time.steps, k0 + len); ++k)
          sc.track(s).cpu[k]
            = std::max(sc.track(s).cpu[k], static_cast<float>(util));
        break;
      }
      case benign_spike::type::errors: {
        len = static_cast<size_t>(g.range(1, 2));
        double err = g.uniform(0.02, 0.3);
        for (size_t k = k0; k < std::min(time.steps, k0 + len); ++k) {
          auto& tr = sc.track(s);
          tr.err[k] = either(tr.err[k], static_cast<float>(err));
          tr.own_err[k] = either(tr.own_err[k], static_cast<float>(err));
        }
        break;
      }
      case benign_spike::type::traffic: {
        // A burst of users: the entry and, fading, what it calls.
        len = static_cast<size_t>(g.range(2, 6));
        double m = g.uniform(1.4, 2.5);
        std::vector<std::pair<uint32_t, double>> level{{s, m}};
        std::unordered_set<uint32_t> seen{s};
        for (size_t depth = 0; depth < 2; ++depth) {
          std::vector<std::pair<uint32_t, double>> next;
          for (auto [x, f] : level) {
            for (size_t k = k0; k < std::min(time.steps, k0 + len); ++k)
              sc.track(x).rate[k] *= static_cast<float>(f);
            for (auto ei : graph.out[x]) {
              auto c = graph.edges[ei].callee;
              if (seen.insert(c).second)
                next.emplace_back(c, 1 + (f - 1) * 0.7);
            }
          }
          level = std::move(next);
        }
        for (auto [x, f] : level)
          for (size_t k = k0; k < std::min(time.steps, k0 + len); ++k)
            sc.track(x).rate[k] *= static_cast<float>(f);
        break;
      }
      case benign_spike::type::memory: {
        len = static_cast<size_t>(g.range(3, 10));
        double add = p.mem_base * g.uniform(0.1, 0.3);
        for (size_t k = k0; k < std::min(time.steps, k0 + len); ++k)
          sc.track(s).mem[k] += static_cast<float>(add);
        break;
      }
    }
    sp.end = time.ts(std::min(time.steps - 1, k0 + len));
    sc.spikes.push_back(sp);
  }
}

} // namespace

scenario make_scenario(const case_spec& spec, const sim_options& opts) {
  scenario sc;
  sc.spec = spec;
  // Independent streams, so that changing how (say) logs are drawn leaves
  // the metrics of a seed alone.
  rng g_graph{mix64(spec.seed ^ 0x01)};
  rng g_profile{mix64(spec.seed ^ 0x02)};
  rng g_plan{mix64(spec.seed ^ 0x03)};
  rng g_effects{mix64(spec.seed ^ 0x04)};
  sc.graph = make_graph(g_graph, spec.services);
  auto n = static_cast<uint32_t>(sc.graph.nodes.size());
  make_profiles(sc, g_profile);
  // Time: history for baselines, then the window with the fault inside.
  // Bigger estates get a coarser step and a shorter history, so that a
  // 5,000-service case stays near 150 MB and a run of 300 cases a few GB.
  double step = opts.step_s;
  double history = g_plan.uniform(45, 60) * 60;
  double window = g_plan.uniform(20, 30) * 60;
  if (n >= 1000) {
    step = std::max(step, 30.0);
    history = 22 * 60;
    window = 20 * 60;
  } else if (n >= 500) {
    step = std::max(step, 20.0);
    history = g_plan.uniform(30, 40) * 60;
  } else if (n >= 100) {
    step = std::max(step, 15.0);
  }
  if (opts.history_s > 0)
    history = opts.history_s;
  if (opts.window_s > 0)
    window = opts.window_s;
  history = std::max(step, std::round(history / step) * step);
  window = std::max(step, std::round(window / step) * step);
  auto& time = sc.time;
  time.step = step;
  time.t0 = static_cast<int64_t>(
    std::floor(g_plan.uniform(1.69e9, 1.76e9) / step) * step);
  time.start_ts = static_cast<double>(time.t0) + history;
  time.end_ts = time.start_ts + window;
  time.steps = static_cast<size_t>(std::round((history + window) / step)) + 1;
  time.inject_ts
    = std::round((time.start_ts + g_plan.uniform(0.15, 0.6) * window) * 1000)
      / 1000;
  sc.write_topology = g_plan.chance(opts.topology_share);
  // A pool fault needs pool owners, and more than one, so the pool metrics
  // do not point at the root.
  if (spec.fault == fault_kind::pool_exhaustion) {
    std::vector<uint32_t> candidates;
    size_t owners = 0;
    for (uint32_t s = 0; s < n; ++s) {
      if (sc.graph.nodes[s].role == service_role::store)
        continue;
      if (sc.profiles[s].pool_owner)
        ++owners;
      else
        candidates.push_back(s);
    }
    g_plan.shuffle(candidates);
    while (owners < 3 && !candidates.empty()) {
      sc.profiles[candidates.back()].pool_owner = true;
      candidates.pop_back();
      ++owners;
    }
  }
  // The fault, and perhaps an older unrelated incident in the history.
  auto root = pick_root(sc, spec.fault, g_plan, UINT32_MAX);
  sc.episodes.push_back(make_episode(sc, spec.fault, root, time.inject_ts,
                                     g_plan.chance(0.2), g_plan));
  if (history >= 30 * 60 && n >= 4 && g_plan.chance(0.35)) {
    static constexpr fault_kind kinds[]
      = {fault_kind::errors, fault_kind::latency, fault_kind::cpu_hog,
         fault_kind::pool_exhaustion};
    auto kind = kinds[g_plan.index(4)];
    auto old_root = pick_root(sc, kind, g_plan, root);
    double duration = g_plan.uniform(120, 480);
    double lo = time.ts(0) + 12 * 60;
    double hi = time.start_ts - 6 * 60 - duration;
    if (hi > lo && old_root != root) {
      auto ep = make_episode(sc, kind, old_root, g_plan.uniform(lo, hi), false,
                             g_plan);
      ep.end = ep.start + duration;
      ep.main = false;
      sc.episodes.push_back(ep);
    }
  }
  make_changes(sc, g_plan);
  make_spikes(sc, g_effects);
  for (auto& ep : sc.episodes)
    apply_episode(sc, ep, g_effects);
  // Load: a daily curve (only a slice of it shows) and a slow drift.
  double amplitude = g_plan.uniform(0.15, 0.45);
  double peak = g_plan.uniform(13, 21) * 3600;
  double drift = 0;
  sc.load.resize(time.steps);
  for (size_t k = 0; k < time.steps; ++k) {
    drift = 0.97 * drift + g_plan.normal(0, 0.006);
    double day = std::fmod(time.ts(k), 86400.0);
    double x
      = 1 + amplitude * std::cos(6.283185307179586 * (day - peak) / 86400.0)
        + drift;
    sc.load[k] = static_cast<float>(std::max(0.3, x));
  }
  sc.by_name.resize(n);
  for (uint32_t i = 0; i < n; ++i)
    sc.by_name[i] = i;
  std::sort(sc.by_name.begin(), sc.by_name.end(), [&](uint32_t a, uint32_t b) {
    return sc.graph.nodes[a].name < sc.graph.nodes[b].name;
  });
  // Spans: enough to see every edge several times, ~20k for small
  // estates, growing slowly beyond.
  sc.span_budget = n <= 133 ? std::max<uint64_t>(3000, 150 * n)
                            : std::min<uint64_t>(20000 + 15 * (n - 133), 80000);
  // Routine log volume: bounded per case, spread unevenly over services.
  double duration = time.end_ts - time.ts(0);
  double lines = std::clamp(n * 60.0, 3000.0, 60000.0);
  for (auto& p : sc.profiles)
    p.log_rate = lines / (n * duration) * g_profile.log_uniform(0.3, 3) / 1.17;
  return sc;
}

} // namespace vigil::sim
