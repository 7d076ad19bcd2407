#include "tools/vigil-eval/rank.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <tuple>

#include <nlohmann/json.hpp>

#include "actors/correlator/incidents.hpp"
#include "actors/rca/ranker.hpp"
#include "actors/rca/rca.hpp"
#include "actors/rca/service_graph.hpp"
#include "tools/vigil-sim/lib/rca_case.hpp"

namespace vigil::eval {

namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

int64_t ms_of(const json& seconds) {
  return seconds.is_number()
           ? static_cast<int64_t>(std::llround(seconds.get<double>() * 1000.0))
           : 0;
}

// The ranker's input for an incident of the API: its anomalies back into
// symptoms, folded by the correlator's own code.
rca::rank_input input_of(const json& inc, const rca_options& opts) {
  std::vector<correlator::symptom> symptoms;
  int64_t last = 0;
  for (const auto& a : inc["anomalies"]) {
    correlator::symptom s;
    s.service = a.value("service", std::string{});
    s.metric = a.value("metric", std::string{});
    auto kind = a.value("kind", std::string{});
    for (auto k : {anomaly_kind::metric, anomaly_kind::log_new_template,
                   anomaly_kind::log_error_spike, anomaly_kind::predictive,
                   anomaly_kind::alert})
      if (kind == to_string(k))
        s.kind = k;
    s.first_ms = ms_of(a["ts"]);
    s.max_score = a.value("score", 0.0);
    s.max_deviation = a["deviation"].is_number() ? a["deviation"].get<double>()
                                                 : 0.0;
    s.sustained_since_ms = ms_of(a.value("persisting_since", json()));
    s.events = a.value("events", uint64_t{0});
    s.last_ms = ms_of(a["last_ts"]);
    s.recovered = a.value("recovered", false);
    s.active_since_ms = ms_of(a.value("active_since", json()));
    s.recovered_ms = ms_of(a.value("recovered_at", json()));
    // The correlator keeps the latest stretch's onset after it recovered
    // too (older dumps lack it).
    if (auto latest = ms_of(a.value("latest_onset", json())); latest > 0)
      s.active_since_ms = latest;
    s.earlier_until_ms = ms_of(a.value("earlier_until", json()));
    // anomalous_s counts the current stretch up to its last event.
    s.ended_ms = ms_of(a.value("anomalous_s", json()));
    if (!s.recovered && s.active_since_ms > 0)
      s.ended_ms -= std::max<int64_t>(s.last_ms - s.active_since_ms, 0);
    s.ended_ms = std::max<int64_t>(s.ended_ms, 0);
    last = std::max(last, s.last_ms);
    symptoms.push_back(std::move(s));
  }
  rca_request req;
  req.anomalous
    = correlator::evidence_of(symptoms, opts.traffic_metrics,
                              opts.load_metrics, opts.load_slack.count());
  req.window_start_ms = ms_of(inc["opened_at"]);
  req.window_end_ms = last;
  return rca::input_of(req);
}

} // namespace

std::tuple<bool, double, size_t, int, double>
scoring_order(const json& incident, int64_t end_ms) {
  bool going = false;
  double longest = 0;
  if (incident.contains("anomalies"))
    for (const auto& a : incident["anomalies"]) {
      const auto& s = a.value("anomalous_s", json());
      bool still = !a.value("recovered", true)
                   && a.value("persisting_since", json()).is_number();
      if (s.is_number()) {
        double d = s.get<double>();
        const auto& last = a.value("last_ts", json());
        if (still && last.is_number())
          d += std::max(0.0, static_cast<double>(end_ms) / 1000
                               - last.get<double>());
        longest = std::max(longest, d);
      }
      going = going || still;
    }
  return {going, longest, incident["services"].size(),
          incident["severity"].get<int>(),
          -incident["opened_at"].get<double>()};
}

int64_t opened_by_engine_ms(const json& incident) {
  const auto& detected = incident.value("detected_at", json());
  return ms_of(detected.is_number() ? detected : incident["opened_at"]);
}

int run_rank(const std::string& dump_file, const std::string& case_dir,
             const options& opts, const std::string& weights) {
  rca::ranker_options ro;
  if (!weights.empty()) {
    double* w[] = {&ro.w_isolation, &ro.w_earliness, &ro.w_propagation,
                   &ro.w_pagerank,  &ro.w_change,    &ro.w_magnitude,
                   &ro.w_persistence};
    size_t k = 0;
    size_t pos = 0;
    while (pos <= weights.size() && k < std::size(w)) {
      auto end = weights.find(',', pos);
      auto text = weights.substr(pos, end == std::string::npos
                                        ? std::string::npos
                                        : end - pos);
      char* stop = nullptr;
      auto x = std::strtod(text.c_str(), &stop);
      if (text.empty() || *stop != '\0' || x < 0) {
        std::cerr << "vigil-eval rank: --weights: '" << text
                  << "' is not a weight >= 0\n";
        return 2;
      }
      *w[k++] = x;
      if (end == std::string::npos)
        break;
      pos = end + 1;
    }
    if (k != std::size(w)) {
      std::cerr << "vigil-eval rank: --weights needs 7 numbers: isolation,"
                   "earliness,propagation,pagerank,change,magnitude,"
                   "persistence\n";
      return 2;
    }
  }
  std::ifstream f{dump_file};
  auto dump = json::parse(f, nullptr, false);
  if (!f || dump.is_discarded() || !dump.is_object()
      || !dump.contains("incidents") || !dump.contains("topology")) {
    std::cerr << "vigil-eval rank: " << dump_file
              << ": not a dump of `vigil-eval rca --dump` "
                 "({\"incidents\",\"topology\"})\n";
    return 1;
  }
  std::ifstream w{(fs::path{case_dir} / sim::case_files::window).string()};
  auto window = json::parse(w, nullptr, false);
  if (!w || window.is_discarded() || !window.contains("start_ts")
      || !window.contains("end_ts")) {
    std::cerr << "vigil-eval rank: " << case_dir
              << "/case.json: missing, or not {\"start_ts\",\"end_ts\"}\n";
    return 1;
  }
  auto start_ms = ms_of(window["start_ts"]);
  auto end_ms = ms_of(window["end_ts"]);
  rca::graph_options go;
  go.max_services = opts.topology.max_services;
  go.max_edges = opts.topology.max_edges;
  go.edge_ttl_ms = opts.topology.edge_ttl.count();
  rca::service_graph graph{go};
  for (const auto& e : dump["topology"]["edges"]) {
    rca::edge_view v;
    v.caller = e.value("caller", std::string{});
    v.callee = e.value("callee", std::string{});
    v.stats.calls = e.value("calls", uint64_t{0});
    v.stats.errors = e.value("errors", uint64_t{0});
    v.stats.last_seen_ms = ms_of(e.value("last_seen", json()));
    v.stats.is_static = e.value("static", false);
    v.stats.learned = e.value("learned", false);
    graph.restore_edge(v);
  }
  std::vector<change_event> changes;
  {
    std::ifstream c{(fs::path{case_dir} / sim::case_files::changes).string()};
    std::string line;
    while (std::getline(c, line)) {
      auto j = json::parse(line, nullptr, false);
      if (j.is_discarded() || !j.is_object())
        continue;
      change_event ch;
      ch.ts_ms = ms_of(j["ts"]);
      ch.service = j.value("service", std::string{});
      ch.kind = j.value("kind", std::string{});
      ch.version = j.value("version", std::string{});
      changes.push_back(std::move(ch));
    }
  }
  // The incident `vigil-eval rca` scores: opened by the engine inside the
  // window (opened_by_engine_ms), the strongest by scoring_order.
  const json* best = nullptr;
  const auto key = [&](const json& inc) { return scoring_order(inc, end_ms); };
  size_t count = 0;
  for (const auto& inc : dump["incidents"]) {
    if (inc.contains("merged_into"))
      continue;
    auto opened = opened_by_engine_ms(inc);
    if (opened < start_ms || opened > end_ms)
      continue;
    ++count;
    if (!best || key(inc) > key(*best))
      best = &inc;
  }
  json out{{"incidents", count}, {"ranking", json::array()}};
  if (best) {
    auto in = input_of(*best, opts.rca);
    auto lookback = opts.rca.change_lookback.count();
    for (const auto& ch : changes) {
      if (ch.ts_ms < in.window_start_ms - lookback
          || ch.ts_ms > in.window_end_ms)
        continue;
      bool mine = std::any_of(in.anomalous.begin(), in.anomalous.end(),
                              [&](const auto& e) {
                                return e.service == ch.service;
                              });
      if (mine)
        in.changes.push_back(ch);
    }
    ro.change_lookback_ms = lookback;
    ro.max_candidates = opts.rca.max_candidates;
    ro.persisting_only = opts.rca.persisting_only;
    auto r = rca::rank(graph, in, ro);
    out["incident"] = (*best)["id"];
    out["services"] = (*best)["services"].size();
    for (const auto& c : r.candidates)
      out["ranking"].push_back({{"service", c.service},
                                {"score", c.score},
                                {"isolation", c.isolation},
                                {"earliness", c.earliness},
                                {"propagation", c.propagation},
                                {"pagerank", c.pagerank},
                                {"change", c.change},
                                {"magnitude", c.magnitude},
                                {"persistence", c.persistence}});
    out["confidence"] = rca::to_string(r.confidence);
    out["baseline"] = rca::nearest_anomalous_ancestor(graph, in);
  }
  std::cout << out.dump() << std::endl;
  return 0;
}

} // namespace vigil::eval
