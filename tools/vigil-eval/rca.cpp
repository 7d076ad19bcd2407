#include "tools/vigil-eval/rca.hpp"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <tuple>
#include <iostream>
#include <map>
#include <thread>

#include <nlohmann/json.hpp>

#include "messages/errc.hpp"
#include "runtime/http/client.hpp"
#include "runtime/logging.hpp"
#include "tools/node/node.hpp"
#include "tools/vigil-eval/rank.hpp"
#include "tools/vigil-sim/lib/rca_case.hpp"
#include "tools/vigil-sim/lib/stream.hpp"

namespace vigil::eval {

namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

// A fresh data dir under the system temp dir, removed at the end.
struct scratch {
  fs::path path;
  scratch() {
    auto base = fs::temp_directory_path();
    for (int i = 0; i < 100; ++i) {
      auto p = base / ("vigil-eval-rca-" + std::to_string(::getpid()) + "-"
                       + std::to_string(i));
      std::error_code ec;
      if (fs::create_directory(p, ec)) {
        path = p;
        return;
      }
    }
  }
  ~scratch() {
    std::error_code ec;
    if (!path.empty())
      fs::remove_all(path, ec);
  }
};

caf::expected<json> get_json(http::client& c, const std::string& target,
                             const std::string& token) {
  http::header_list h{{"Authorization", "Bearer " + token}};
  auto r = c.send(http::verb::get, target, {}, h);
  if (!r)
    return r.error();
  if (r->status != 200)
    return caf::make_error(errc::unavailable,
                           target + " answered " + std::to_string(r->status)
                             + ": " + r->body);
  auto j = json::parse(r->body, nullptr, false);
  if (j.is_discarded())
    return caf::make_error(errc::malformed, target + ": not JSON");
  return j;
}

// What the incidents look like now: ids, services and top candidates; the
// node has settled when this stops changing.
std::string fingerprint(const json& list) {
  std::string out;
  for (const auto& inc : list["incidents"]) {
    out += inc["id"].get<std::string>();
    out += inc["status"].get<std::string>();
    out += std::to_string(inc["services"].size());
    if (!inc["root_cause"].is_null())
      out += inc["root_cause"]["candidates"].dump();
    out += ';';
  }
  return out;
}

} // namespace

int run_rca(const std::string& case_dir, options opts,
            const std::string& dump) {
  // Only the window is needed here; the streamer reads the rest.
  std::ifstream in{(fs::path{case_dir} / sim::case_files::window).string()};
  auto window = json::parse(in, nullptr, false);
  if (!in || window.is_discarded() || !window.is_object()
      || !window.contains("start_ts") || !window["start_ts"].is_number()
      || !window.contains("end_ts") || !window["end_ts"].is_number()) {
    std::cerr << "vigil-eval rca: " << case_dir
              << "/case.json: missing, or not {\"start_ts\",\"end_ts\"}\n";
    return 1;
  }
  auto start_ms
    = static_cast<int64_t>(window["start_ts"].get<double>() * 1000);
  auto end_ms = static_cast<int64_t>(window["end_ts"].get<double>() * 1000);
  scratch dir;
  if (dir.path.empty()) {
    std::cerr << "vigil-eval rca: cannot create a temp data dir\n";
    return 1;
  }
  opts.node.data_dir = (dir.path / "data").string();
  opts.node.http = {"127.0.0.1", 0};
  opts.node.cluster = {"127.0.0.1", 0};
  opts.node.playbooks_dir = (dir.path / "playbooks").string();
  set_log_level(opts.node.log_level);
  auto n = node::node::start(opts);
  if (!n) {
    std::cerr << "vigil-eval rca: the node did not start: " << render(n.error())
              << "\n";
    return 1;
  }
  auto& nd = **n;
  sim::stream_options so;
  so.case_dir = case_dir;
  so.url = "http://127.0.0.1:" + std::to_string(nd.http_port());
  so.speed = 0;
  so.token = nd.ingest_token();
  so.quiet = true;
  so.totals = false;
  if (auto rc = sim::run_stream(so); rc != 0) {
    std::cerr << "vigil-eval rca: streaming the case failed\n";
    nd.stop();
    return 1;
  }
  // Let the node settle: the incident list unchanged for several ranking
  // rounds (bounded).
  http::client c{"127.0.0.1", nd.http_port()};
  auto settle = std::max<std::chrono::milliseconds>(
    std::chrono::milliseconds{1500}, 4 * opts.correlation.rank_interval);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{120};
  std::string last;
  auto stable_since = std::chrono::steady_clock::now();
  json list;
  while (std::chrono::steady_clock::now() < deadline) {
    auto j = get_json(c, "/api/v1/incidents?status=all&limit=10000",
                      nd.admin_token());
    if (!j) {
      std::cerr << "vigil-eval rca: " << render(j.error()) << "\n";
      nd.stop();
      return 1;
    }
    list = std::move(*j);
    auto fp = fingerprint(list);
    auto now = std::chrono::steady_clock::now();
    if (fp != last) {
      last = fp;
      stable_since = now;
    } else if (now - stable_since >= settle) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds{100});
  }
  // Every incident whole (with its anomalies), read once for the dump and
  // for choosing; the list's brief object stands in if a read fails.
  json all = json::array();
  for (const auto& inc : list["incidents"]) {
    auto id = inc["id"].get<std::string>();
    auto one = get_json(c, "/api/v1/incidents/" + id, nd.admin_token());
    all.push_back(one ? std::move(*one) : inc);
  }
  if (!dump.empty()) {
    auto topology = get_json(c, "/api/v1/topology", nd.admin_token());
    json doc{{"incidents", all},
             {"topology", topology ? std::move(*topology) : json::object()}};
    std::ofstream f{dump};
    f << doc.dump() << "\n";
    if (!f) {
      std::cerr << "vigil-eval rca: cannot write " << dump << "\n";
      nd.stop();
      return 1;
    }
  }
  // Two ways to pick "the" incident of the case, neither looking at the
  // answer: (1) among incidents the engine opened inside the window
  // (opened_by_engine_ms: when the evidence that opened it came), the
  // strongest (scoring_order: one still anomalous, then the
  // longest-anomalous service, an ongoing one counted to the window's end,
  // the most services, severity, the earliest); (2) among
  // all incidents, the one with the most services whose first anomaly in
  // it lies inside the window, i.e. where the window's storm went, even
  // when it joined an incident that opened before the window.
  json best;
  json grew;
  size_t count = 0;
  size_t grew_by = 0;
  const auto key = [&](const json& inc) { return scoring_order(inc, end_ms); };
  for (const auto& inc : all) {
    if (inc.contains("merged_into"))
      continue;
    auto opened = opened_by_engine_ms(inc);
    if (opened >= start_ms && opened <= end_ms) {
      ++count;
      if (best.is_null() || key(inc) > key(best))
        best = inc;
    }
    if (!inc.contains("anomalies"))
      continue;
    std::map<std::string, double> first;
    for (const auto& a : inc["anomalies"]) {
      auto svc = a["service"].get<std::string>();
      auto ts = a["ts"].get<double>();
      auto [it, fresh] = first.try_emplace(svc, ts);
      if (!fresh)
        it->second = std::min(it->second, ts);
    }
    size_t in_window = 0;
    for (const auto& [svc, ts] : first)
      if (ts * 1000 >= static_cast<double>(start_ms)
          && ts * 1000 <= static_cast<double>(end_ms))
        ++in_window;
    if (in_window > grew_by
        || (in_window == grew_by && in_window > 0 && key(inc) > key(grew))) {
      grew_by = in_window;
      grew = inc;
    }
  }
  auto describe = [](const json& inc, json& out) {
    out["incident"] = inc["id"];
    out["ranking"] = json::array();
    if (!inc["root_cause"].is_null()) {
      for (const auto& c : inc["root_cause"]["candidates"])
        out["ranking"].push_back(
          {{"service", c["service"]}, {"score", c["score"]}});
      out["confidence"] = inc["root_cause"]["confidence_level"];
      out["baseline"] = inc["root_cause"]["nearest_anomalous_ancestor"];
    }
    out["services"] = inc["services"].size();
  };
  json out{{"incidents", count}, {"ranking", json::array()}};
  if (!best.is_null())
    describe(best, out);
  json storm{{"ranking", json::array()}};
  if (!grew.is_null()) {
    describe(grew, storm);
    storm["services_in_window"] = grew_by;
  }
  out["storm"] = std::move(storm);
  std::cout << out.dump() << std::endl;
  nd.stop();
  return 0;
}

} // namespace vigil::eval
