#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

#include <gtest/gtest.h>

#include "messages/errc.hpp"
#include "tests/support/support.hpp"
#include "tools/vigil-sim/lib/generator.hpp"
#include "tools/vigil-sim/lib/model.hpp"
#include "tools/vigil-sim/lib/rca_case.hpp"

namespace {

using namespace vigil;
using namespace vigil::sim;
namespace fs = std::filesystem;

std::string slurp(const fs::path& p) {
  std::ifstream in{p, std::ios::binary};
  std::ostringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

// Generates every planned case of `opts` under `root`; returns the plan.
std::vector<case_spec> generate_all(const sim_options& opts,
                                    const fs::path& root) {
  auto plan = plan_cases(opts);
  for (auto& spec : plan) {
    auto stats = generate_case(spec, opts, (root / spec.id).string());
    EXPECT_TRUE(stats) << spec.id << ": " << render(stats.error());
  }
  return plan;
}

rca_case read(const fs::path& dir) {
  auto c = read_case(dir.string(), {.with_truth = true});
  EXPECT_TRUE(c) << render(c.error());
  return c ? std::move(*c) : rca_case{};
}

/// One metric of one service over time.
struct series {
  std::vector<double> ts;
  std::vector<double> v;

  double mean(double from, double to) const {
    double sum = 0;
    size_t n = 0;
    for (size_t i = 0; i < ts.size(); ++i)
      if (ts[i] >= from && ts[i] < to) {
        sum += v[i];
        ++n;
      }
    return n > 0 ? sum / static_cast<double>(n) : NAN;
  }

  double sd(double from, double to) const {
    double mu = mean(from, to);
    double sum = 0;
    size_t n = 0;
    for (size_t i = 0; i < ts.size(); ++i)
      if (ts[i] >= from && ts[i] < to) {
        sum += (v[i] - mu) * (v[i] - mu);
        ++n;
      }
    return n > 0 ? std::sqrt(sum / static_cast<double>(n)) : NAN;
  }

  double max(double from, double to) const {
    double m = -INFINITY;
    for (size_t i = 0; i < ts.size(); ++i)
      if (ts[i] >= from && ts[i] < to)
        m = std::max(m, v[i]);
    return m;
  }

  // First time from `from` on at which `run` consecutive values exceed
  // `level`; NAN if never.
  double onset(double from, double level, size_t run) const {
    size_t streak = 0;
    for (size_t i = 0; i < ts.size(); ++i) {
      if (ts[i] < from)
        continue;
      streak = v[i] > level ? streak + 1 : 0;
      if (streak == run)
        return ts[i + 1 - run];
    }
    return NAN;
  }
};

using series_map = std::map<std::pair<std::string, std::string>, series>;

series_map series_of(const rca_case& c) {
  series_map out;
  for (auto& r : c.metrics) {
    auto& s = out[{c.services[r.service], c.metric_names[r.metric]}];
    s.ts.push_back(r.ts);
    s.v.push_back(r.value);
  }
  return out;
}

/// Call edges as the traces show them (parent span's service -> child's).
std::set<std::pair<std::string, std::string>> trace_edges(const rca_case& c) {
  std::unordered_map<std::string, const span_row*> by_id;
  for (auto& s : c.spans)
    by_id[s.span_id] = &s;
  std::set<std::pair<std::string, std::string>> out;
  for (auto& s : c.spans) {
    auto p = by_id.find(s.parent_span_id);
    if (p != by_id.end() && p->second->service != s.service)
      out.emplace(p->second->service, s.service);
  }
  return out;
}

double first_ts(const rca_case& c) {
  return c.metrics.empty() ? 0 : c.metrics.front().ts;
}

// -- determinism
// -----------------------------------------------------------------

TEST(sim_generator, the_same_seed_gives_byte_identical_files) {
  test::temp_dir a;
  test::temp_dir b;
  sim_options opts;
  opts.seed = 7;
  opts.cases = 3;
  opts.services = 12;
  auto plan = generate_all(opts, a.path());
  generate_all(opts, b.path());
  for (auto& spec : plan) {
    std::set<std::string> files_a;
    std::set<std::string> files_b;
    for (auto& f : fs::directory_iterator{a.path() / spec.id})
      files_a.insert(f.path().filename().string());
    for (auto& f : fs::directory_iterator{b.path() / spec.id})
      files_b.insert(f.path().filename().string());
    EXPECT_EQ(files_a, files_b);
    for (auto& f : files_a)
      EXPECT_TRUE(slurp(a.path() / spec.id / f)
                  == slurp(b.path() / spec.id / f))
        << spec.id << "/" << f << " differs between two runs";
  }
}

TEST(sim_generator, different_seeds_give_different_cases) {
  test::temp_dir a;
  test::temp_dir b;
  sim_options opts;
  opts.cases = 2;
  opts.services = 12;
  opts.seed = 7;
  auto plan = generate_all(opts, a.path());
  opts.seed = 8;
  generate_all(opts, b.path());
  for (auto& spec : plan) {
    for (auto f : {"metrics.csv", "traces.jsonl", "logs.jsonl", "truth.json"})
      EXPECT_NE(slurp(a.path() / spec.id / f), slurp(b.path() / spec.id / f))
        << spec.id << "/" << f;
    auto ca = read(a.path() / spec.id);
    auto cb = read(b.path() / spec.id);
    EXPECT_NE(ca.services, cb.services) << spec.id;
  }
}

// -- the plan
// --------------------------------------------------------------------

TEST(sim_generator,
     the_plan_spreads_faults_and_sizes_evenly_and_ids_tell_nothing) {
  sim_options opts;
  opts.seed = 3;
  opts.cases = 50;
  auto plan = plan_cases(opts);
  ASSERT_EQ(plan.size(), 50u);
  std::map<fault_kind, int> kinds;
  int small = 0;
  int medium = 0;
  int large = 0;
  for (size_t i = 0; i < plan.size(); ++i) {
    auto number = std::to_string(i + 1);
    EXPECT_EQ(plan[i].id,
              "case-" + std::string(4 - number.size(), '0') + number);
    ++kinds[plan[i].fault];
    auto n = plan[i].services;
    EXPECT_GE(n, 10u);
    EXPECT_LE(n, 5000u);
    (n < 60 ? small : n <= 500 ? medium : large) += 1;
  }
  for (auto f : all_faults())
    EXPECT_EQ(kinds[f], 10) << to_string(f);
  EXPECT_GE(small, 28);
  EXPECT_LE(small, 30);
  EXPECT_EQ(large, 5);
  // The fault order is not a fixed rotation.
  std::vector<fault_kind> first, second;
  for (size_t i = 0; i < 5; ++i) {
    first.push_back(plan[i].fault);
    second.push_back(plan[i + 5].fault);
  }
  auto third = first;
  for (size_t i = 0; i < 5; ++i)
    third[i] = plan[i + 10].fault;
  EXPECT_FALSE(first == second && second == third);
}

TEST(sim_generator, fault_names_round_trip) {
  for (auto f : all_faults())
    EXPECT_EQ(parse_fault(to_string(f)), f);
  EXPECT_FALSE(parse_fault("disk_full"));
}

// -- the data
// --------------------------------------------------------------------

TEST(sim_generator,
     the_history_comes_first_and_the_fault_starts_in_the_window) {
  test::temp_dir tmp;
  sim_options opts;
  opts.seed = 5;
  opts.cases = 4;
  opts.services = 12;
  for (auto& spec : generate_all(opts, tmp.path())) {
    auto c = read(tmp.path() / spec.id);
    ASSERT_TRUE(c.truth);
    EXPECT_GE(c.start_ts - first_ts(c), 45 * 60 - 10) << spec.id;
    EXPECT_LE(c.start_ts - first_ts(c), 60 * 60 + 10) << spec.id;
    EXPECT_GE(c.end_ts - c.start_ts, 20 * 60 - 10) << spec.id;
    EXPECT_LE(c.end_ts - c.start_ts, 30 * 60 + 10) << spec.id;
    EXPECT_GT(c.truth->inject_ts, c.start_ts) << spec.id;
    EXPECT_LT(c.truth->inject_ts, c.end_ts - 5 * 60) << spec.id;
    // Every file is in event-time order.
    for (size_t i = 1; i < c.metrics.size(); ++i)
      ASSERT_LE(c.metrics[i - 1].ts, c.metrics[i].ts) << spec.id;
    for (size_t i = 1; i < c.spans.size(); ++i)
      ASSERT_LE(c.spans[i - 1].start, c.spans[i].start) << spec.id;
    for (size_t i = 1; i < c.logs.size(); ++i)
      ASSERT_LE(c.logs[i - 1].ts, c.logs[i].ts) << spec.id;
    for (size_t i = 1; i < c.changes.size(); ++i)
      ASSERT_LE(c.changes[i - 1].ts, c.changes[i].ts) << spec.id;
  }
}

TEST(sim_generator,
     the_root_cause_is_in_the_graph_and_shows_its_fault_signature) {
  test::temp_dir tmp;
  for (auto kind : all_faults()) {
    sim_options opts;
    opts.seed = 11;
    opts.cases = 4;
    opts.services = 16;
    opts.history_s = 30 * 60;
    opts.window_s = 20 * 60;
    opts.faults = {kind};
    auto dir = tmp.path() / to_string(kind);
    for (auto& spec : generate_all(opts, dir)) {
      auto c = read(dir / spec.id);
      ASSERT_TRUE(c.truth);
      auto& root = c.truth->root_cause_service;
      auto where = spec.id + " (" + to_string(kind) + ", root " + root + ")";
      // In the call graph: in the static topology when there is one, and
      // always in the traces.
      bool in_traces = false;
      for (auto& [a, b] : trace_edges(c))
        in_traces |= a == root || b == root;
      EXPECT_TRUE(in_traces) << where;
      if (c.has_topology) {
        bool in_topology = false;
        for (auto& e : c.edges)
          in_topology |= e.caller == root || e.callee == root;
        EXPECT_TRUE(in_topology) << where;
      }
      // The signature: after the fault (and its ramp), the root's key
      // metric leaves its history band. A subtle fault still moves it, by
      // less.
      auto s = series_of(c);
      bool subtle = make_scenario(spec, opts).episodes.front().subtle;
      double t0 = first_ts(c);
      double from = c.truth->inject_ts + 200;
      double end = c.end_ts + 1;
      double k = subtle ? 1.0 : 3.0;
      switch (kind) {
        case fault_kind::cpu_hog: {
          auto& x = s[{root, "cpu_usage"}];
          EXPECT_GT(x.mean(from, end),
                    x.mean(t0, c.start_ts) + k * x.sd(t0, c.start_ts))
            << where;
          break;
        }
        case fault_kind::memory_leak: {
          auto& x = s[{root, "memory_bytes"}];
          EXPECT_GT(x.max(c.truth->inject_ts, end), x.max(t0, c.start_ts))
            << where;
          break;
        }
        case fault_kind::latency:
        case fault_kind::errors: {
          auto metric
            = kind == fault_kind::latency ? "latency_p99_ms" : "error_rate";
          auto& x = s[{root, metric}];
          EXPECT_GT(x.mean(from, end),
                    x.mean(t0, c.start_ts) + k * x.sd(t0, c.start_ts))
            << where;
          break;
        }
        case fault_kind::pool_exhaustion: {
          auto& in_use = s[{root, "db_connections_in_use"}];
          auto& max = s[{root, "db_connections_max"}];
          ASSERT_FALSE(in_use.v.empty()) << where;
          EXPECT_EQ(in_use.max(c.truth->inject_ts, end), max.v.front())
            << where;
          EXPECT_LT(in_use.max(t0, c.start_ts), max.v.front()) << where;
          break;
        }
      }
    }
  }
}

TEST(sim_generator,
     a_caller_of_the_root_shows_symptoms_after_and_not_before_the_root) {
  test::temp_dir tmp;
  size_t checked = 0;
  for (auto kind : {fault_kind::errors, fault_kind::latency}) {
    sim_options opts;
    opts.seed = 21;
    opts.cases = 5;
    opts.services = 20;
    opts.history_s = 30 * 60;
    opts.window_s = 20 * 60;
    opts.faults = {kind};
    auto dir = tmp.path() / to_string(kind);
    for (auto& spec : generate_all(opts, dir)) {
      auto c = read(dir / spec.id);
      ASSERT_TRUE(c.truth);
      auto sc = make_scenario(spec, opts);
      auto& root = c.truth->root_cause_service;
      auto metric
        = kind == fault_kind::latency ? "latency_p99_ms" : "error_rate";
      auto s = series_of(c);
      double t0 = first_ts(c);
      auto onset = [&](const std::string& svc) {
        auto& x = s[{svc, metric}];
        double level = x.mean(t0, c.start_ts) + 6 * x.sd(t0, c.start_ts);
        return x.onset(c.start_ts, level, 4);
      };
      double root_onset = onset(root);
      if (std::isnan(root_onset))
        continue; // a subtle root: nothing to order against
      EXPECT_GE(root_onset, c.truth->inject_ts - sc.time.step) << spec.id;
      // Callers with nothing else going on in the window.
      std::set<std::string> busy;
      for (auto& sp : sc.spikes)
        if (sp.end >= c.start_ts - 60)
          busy.insert(sc.graph.nodes[sp.service].name);
      for (auto& ch : sc.changes)
        if (ch.ts >= c.start_ts - 600)
          busy.insert(sc.graph.nodes[ch.service].name);
      for (auto& [caller, callee] : trace_edges(c)) {
        if (callee != root || busy.count(caller) > 0)
          continue;
        double t = onset(caller);
        if (std::isnan(t))
          continue; // this caller does not react
        ++checked;
        EXPECT_GE(t, root_onset)
          << spec.id << ": " << caller << " reacted before the root " << root;
        EXPECT_GE(t, c.truth->inject_ts) << spec.id << ": " << caller;
      }
    }
  }
  RecordProperty("callers_checked", static_cast<int>(checked));
  EXPECT_GE(checked, 3u) << "too few reacting callers to check the order";
}

TEST(sim_generator, every_service_reports_the_same_metrics_at_every_step) {
  test::temp_dir tmp;
  sim_options opts;
  opts.seed = 13;
  opts.cases = 5;
  opts.services = 18;
  opts.history_s = 20 * 60;
  opts.window_s = 20 * 60;
  opts.faults = {fault_kind::pool_exhaustion, fault_kind::errors};
  for (auto& spec : generate_all(opts, tmp.path())) {
    auto c = read(tmp.path() / spec.id);
    std::set<double> stamps;
    std::map<std::string, std::map<std::string, size_t>> counts;
    for (auto& r : c.metrics) {
      stamps.insert(r.ts);
      ++counts[c.services[r.service]][c.metric_names[r.metric]];
    }
    std::set<std::string> core{"cpu_usage", "error_rate", "latency_p99_ms",
                               "memory_bytes", "request_rate"};
    std::set<std::string> pool{"db_connections_in_use", "db_connections_max"};
    size_t pool_owners = 0;
    for (auto& [svc, metrics] : counts) {
      std::set<std::string> names;
      for (auto& [m, n] : metrics) {
        names.insert(m);
        EXPECT_EQ(n, stamps.size()) << spec.id << " " << svc << " " << m;
      }
      auto with_pool = core;
      with_pool.insert(pool.begin(), pool.end());
      EXPECT_TRUE(names == core || names == with_pool) << spec.id << " " << svc;
      pool_owners += names == with_pool;
    }
    // Pool metrics never single out the root.
    if (spec.fault == fault_kind::pool_exhaustion) {
      EXPECT_GE(pool_owners, 2u) << spec.id;
    }
  }
}

TEST(sim_generator, names_encode_neither_role_nor_truth) {
  std::regex shape{"^[a-z][a-z0-9-]*-[0-9a-f]{2,3}$"};
  std::vector<std::string> forbidden{"root", "fault",  "victim", "entry",
                                     "leaf", "layer",  "tier",   "hog",
                                     "leak", "inject", "truth",  "cause"};
  sim_options opts;
  opts.seed = 17;
  opts.cases = 60;
  opts.services = 15;
  double rank_sum = 0;
  std::set<std::string> root_words;
  std::map<service_role, size_t> root_roles;
  auto plan = plan_cases(opts);
  for (auto& spec : plan) {
    auto sc = make_scenario(spec, opts);
    std::vector<std::string> names;
    for (auto& n : sc.graph.nodes) {
      names.push_back(n.name);
      EXPECT_TRUE(std::regex_match(n.name, shape)) << spec.id << " " << n.name;
      for (auto& w : forbidden)
        EXPECT_EQ(n.name.find(w), std::string::npos)
          << spec.id << " " << n.name;
    }
    std::set<std::string> unique(names.begin(), names.end());
    EXPECT_EQ(unique.size(), names.size()) << spec.id;
    // Files list services in name order, so the root's place among the
    // sorted names is all an order could tell: it must be spread out.
    auto& root = sc.graph.nodes[sc.episodes.front().root];
    std::sort(names.begin(), names.end());
    auto pos = std::find(names.begin(), names.end(), root.name) - names.begin();
    rank_sum += static_cast<double>(pos) / static_cast<double>(names.size());
    root_words.insert(root.name.substr(0, root.name.find('-')));
    ++root_roles[root.role];
  }
  double mean_rank = rank_sum / static_cast<double>(plan.size());
  EXPECT_GT(mean_rank, 0.3);
  EXPECT_LT(mean_rank, 0.7);
  // Roots come from all over the vocabulary and from every role.
  EXPECT_GE(root_words.size(), 25u);
  EXPECT_EQ(root_roles.size(), 3u);
  // And the files do list services in name order.
  test::temp_dir tmp;
  opts.cases = 1;
  auto one = generate_all(opts, tmp.path());
  auto c = read(tmp.path() / one.front().id);
  auto sorted = c.services;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(sorted, c.services);
}

TEST(sim_generator, traces_show_every_edge_of_the_topology_several_times) {
  test::temp_dir tmp;
  sim_options opts;
  opts.seed = 19;
  opts.cases = 2;
  opts.services = 25;
  opts.history_s = 20 * 60;
  opts.window_s = 20 * 60;
  opts.topology_share = 1.0;
  for (auto& spec : generate_all(opts, tmp.path())) {
    auto c = read(tmp.path() / spec.id);
    ASSERT_TRUE(c.has_topology) << spec.id;
    std::unordered_map<std::string, const span_row*> by_id;
    for (auto& s : c.spans)
      by_id[s.span_id] = &s;
    std::map<std::pair<std::string, std::string>, size_t> seen;
    for (auto& s : c.spans) {
      auto p = by_id.find(s.parent_span_id);
      if (p != by_id.end())
        ++seen[{p->second->service, s.service}];
    }
    std::set<std::pair<std::string, std::string>> topology;
    for (auto& e : c.edges)
      topology.emplace(e.caller, e.callee);
    for (auto& e : topology)
      EXPECT_GE(seen[e], 3u) << spec.id << " " << e.first << " -> " << e.second;
    for (auto& [e, n] : seen)
      EXPECT_EQ(topology.count(e), 1u)
        << spec.id << " traces show " << e.first << " -> " << e.second;
    for (auto& s : c.spans)
      EXPECT_LE(s.start, s.end);
  }
}

TEST(sim_generator, the_topology_file_is_written_for_some_cases_only) {
  test::temp_dir tmp;
  sim_options opts;
  opts.seed = 23;
  opts.cases = 20;
  opts.services = 10;
  opts.history_s = 600;
  opts.window_s = 600;
  size_t with = 0;
  for (auto& spec : generate_all(opts, tmp.path()))
    with += fs::exists(tmp.path() / spec.id / "topology.csv");
  EXPECT_GE(with, 2u);
  EXPECT_LE(with, 12u);
}

} // namespace
