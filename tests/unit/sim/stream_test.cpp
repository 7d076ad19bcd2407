// `vigil-sim --case DIR --to URL` posts a case in event-time order: a change
// reaches the node before the samples that follow it, as a deploy hook
// reports a release before its effects show.

#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "runtime/http/router.hpp"
#include "runtime/http/server.hpp"
#include "tests/support/support.hpp"
#include "tools/vigil-sim/lib/stream.hpp"

namespace {

using namespace vigil;
namespace fs = std::filesystem;

void write(const fs::path& p, const std::string& text) {
  std::ofstream out{p, std::ios::binary};
  out << text;
}

// One request the node received: its path and the event times it carried.
struct received {
  std::string path;
  double first = 0;
  double last = 0;
};

TEST(sim_stream, a_change_is_posted_between_the_samples_before_and_after_it) {
  test::temp_dir tmp;
  // Two services sampled every 10 s for five minutes; a deploy at 125 s
  // and a config change at 200 s, both inside one 60 s slice.
  std::string metrics = "ts,service,metric,value\n";
  for (int t = 0; t <= 300; t += 10)
    for (const char* s : {"cart", "orders"})
      metrics += std::to_string(1000 + t) + "," + s + ",cpu_usage,0.5\n";
  write(tmp.path() / "metrics.csv", metrics);
  write(tmp.path() / "changes.jsonl",
        R"({"ts":1125,"service":"cart","kind":"deploy","version":"v2"})"
        "\n"
        R"({"ts":1200.5,"service":"orders","kind":"config","version":"r9"})"
        "\n");
  write(tmp.path() / "case.json", R"({"start_ts":1000,"end_ts":1300})");

  std::mutex mtx;
  std::vector<received> log;
  auto record = [&](http::request& req, http::responder respond) {
    received r;
    r.path = req.path;
    size_t lines = 0;
    std::istringstream in{req.body};
    for (std::string line; std::getline(in, line);) {
      if (line.empty())
        continue;
      auto ts = nlohmann::json::parse(line).at("ts").get<double>();
      r.first = lines == 0 ? ts : std::min(r.first, ts);
      r.last = lines == 0 ? ts : std::max(r.last, ts);
      ++lines;
    }
    {
      std::lock_guard<std::mutex> guard{mtx};
      log.push_back(r);
    }
    http::response res;
    res.body = "{\"accepted\":" + std::to_string(lines) + "}";
    respond(std::move(res));
  };
  http::router router;
  http::route_options ro;
  ro.endpoint = "test";
  ro.who = http::access::open;
  router.add(http::verb::post, "/api/v1/samples", ro, record);
  router.add(http::verb::post, "/api/v1/changes", ro, record);
  http::server_options so;
  so.threads = 1;
  auto srv = http::server::start(so, std::move(router));
  ASSERT_TRUE(srv);

  sim::stream_options opts;
  opts.case_dir = tmp.str();
  opts.url = "http://127.0.0.1:" + std::to_string((*srv)->port());
  opts.quiet = true;
  opts.totals = false;
  ASSERT_EQ(sim::run_stream(opts), 0);

  std::lock_guard<std::mutex> guard{mtx};
  std::vector<double> changes;
  size_t samples = 0;
  for (const auto& r : log)
    if (r.path == "/api/v1/changes")
      changes.push_back(r.first);
  ASSERT_EQ(changes.size(), 2u) << "each change went on its own";
  EXPECT_EQ(changes[0], 1125);
  EXPECT_EQ(changes[1], 1200.5);
  // Every sample request lies wholly before or wholly after each change,
  // in the order of the requests.
  double change_seen = -1;
  for (const auto& r : log) {
    if (r.path == "/api/v1/changes") {
      change_seen = r.first;
      continue;
    }
    ++samples;
    EXPECT_GE(r.first, change_seen)
      << "samples of " << r.first << ".." << r.last
      << " came after the change at " << change_seen;
    for (double c : changes)
      if (c > change_seen)
        EXPECT_LE(r.last, c) << "samples up to " << r.last
                             << " were posted before the change at " << c;
  }
  EXPECT_GE(samples, 3u);
}

} // namespace
