#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "messages/errc.hpp"
#include "tests/support/support.hpp"
#include "tools/vigil-sim/lib/generator.hpp"
#include "tools/vigil-sim/lib/rca_case.hpp"

namespace {

using namespace vigil;
using namespace vigil::sim;
namespace fs = std::filesystem;

void write(const fs::path& p, const std::string& text) {
  std::ofstream out{p, std::ios::binary};
  out << text;
}

// A small hand-written case with every file.
void write_minimal_case(const fs::path& dir) {
  fs::create_directories(dir);
  write(dir / "case.json", R"({"start_ts":1000,"end_ts":2000})");
  write(dir / "metrics.csv", "ts,service,metric,value\n"
                             "900,cart-1a,cpu_usage,0.5\n"
                             "900,orders-db-2b,cpu_usage,1.25\n"
                             "910,cart-1a,latency_p99_ms,NaN\n");
  write(dir / "topology.csv", "caller,callee\ncart-1a,orders-db-2b\n");
  write(
    dir / "traces.jsonl",
    R"({"trace_id":"0123456789abcdef0123456789abcdef","span_id":"0123456789abcdef","parent_span_id":"","service":"cart-1a","start":900.5,"end":900.75,"status":"ok"})"
    "\n"
    R"({"trace_id":"0123456789abcdef0123456789abcdef","span_id":"1123456789abcdef","parent_span_id":"0123456789abcdef","service":"orders-db-2b","start":900.6,"end":900.7,"status":"error"})"
    "\n");
  write(
    dir / "logs.jsonl",
    R"({"ts":950.25,"service":"cart-1a","line":"ERROR timeout after 3000ms calling orders-db-2b"})"
    "\n");
  write(dir / "changes.jsonl",
        R"({"ts":800,"service":"cart-1a","kind":"deploy","version":"v1.2.3"})"
        "\n");
  write(
    dir / "truth.json",
    R"({"root_cause_service":"orders-db-2b","fault":"errors","inject_ts":1500.5})");
}

// Replaces line `number` (1-based) of `path` with `text`.
void replace_line(const fs::path& path, size_t number,
                  const std::string& text) {
  std::ifstream in{path};
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);)
    lines.push_back(line);
  ASSERT_LE(number, lines.size());
  lines[number - 1] = text;
  std::string out;
  for (auto& l : lines)
    out += l + "\n";
  write(path, out);
}

TEST(rca_case, reads_every_file_of_a_case) {
  test::temp_dir tmp;
  write_minimal_case(tmp.path());
  auto c = read_case(tmp.str(), {.with_truth = true});
  ASSERT_TRUE(c) << render(c.error());
  EXPECT_EQ(c->start_ts, 1000);
  EXPECT_EQ(c->end_ts, 2000);
  ASSERT_EQ(c->metrics.size(), 3u);
  EXPECT_EQ(c->services, (std::vector<std::string>{"cart-1a", "orders-db-2b"}));
  EXPECT_EQ(c->metric_names,
            (std::vector<std::string>{"cpu_usage", "latency_p99_ms"}));
  EXPECT_EQ(c->metrics[1].service, 1u);
  EXPECT_EQ(c->metrics[1].value, 1.25);
  EXPECT_EQ(c->metrics[1].line, 3u);
  EXPECT_TRUE(std::isnan(c->metrics[2].value));
  EXPECT_TRUE(c->has_topology);
  ASSERT_EQ(c->edges.size(), 1u);
  EXPECT_EQ(c->edges[0].callee, "orders-db-2b");
  ASSERT_EQ(c->spans.size(), 2u);
  EXPECT_TRUE(c->spans[0].parent_span_id.empty());
  EXPECT_TRUE(c->spans[1].error);
  ASSERT_EQ(c->logs.size(), 1u);
  EXPECT_EQ(c->logs[0].ts, 950.25);
  ASSERT_EQ(c->changes.size(), 1u);
  EXPECT_EQ(c->changes[0].version, "v1.2.3");
  ASSERT_TRUE(c->truth);
  EXPECT_EQ(c->truth->root_cause_service, "orders-db-2b");
  EXPECT_EQ(c->truth->inject_ts, 1500.5);
}

TEST(rca_case, truth_is_read_only_when_asked_for) {
  test::temp_dir tmp;
  write_minimal_case(tmp.path());
  auto c = read_case(tmp.str());
  ASSERT_TRUE(c) << render(c.error());
  EXPECT_FALSE(c->truth);
}

TEST(rca_case, optional_files_may_be_missing) {
  test::temp_dir tmp;
  write_minimal_case(tmp.path());
  for (auto f : {"topology.csv", "traces.jsonl", "logs.jsonl", "changes.jsonl",
                 "truth.json"})
    fs::remove(tmp.path() / f);
  auto c = read_case(tmp.str(), {.with_truth = true});
  ASSERT_TRUE(c) << render(c.error());
  EXPECT_FALSE(c->has_topology);
  EXPECT_TRUE(c->spans.empty());
  EXPECT_FALSE(c->truth);
}

TEST(rca_case, a_missing_metrics_file_is_not_found) {
  test::temp_dir tmp;
  write_minimal_case(tmp.path());
  fs::remove(tmp.path() / "metrics.csv");
  auto c = read_case(tmp.str());
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code(), static_cast<uint8_t>(errc::not_found));
}

struct malformed_line {
  const char* file;
  size_t line;
  const char* text;
  const char* says;
};

class rca_case_rejects : public ::testing::TestWithParam<malformed_line> {};

TEST_P(rca_case_rejects, a_malformed_line_naming_file_and_line) {
  auto& p = GetParam();
  test::temp_dir tmp;
  write_minimal_case(tmp.path());
  replace_line(tmp.path() / p.file, p.line, p.text);
  auto c = read_case(tmp.str(), {.with_truth = true});
  ASSERT_FALSE(c) << p.file << " line " << p.line << " was accepted";
  EXPECT_EQ(c.error().code(), static_cast<uint8_t>(errc::malformed));
  auto text = render(c.error());
  EXPECT_NE(text.find(std::string{p.file} + ":" + std::to_string(p.line)),
            std::string::npos)
    << text;
  EXPECT_NE(text.find(p.says), std::string::npos) << text;
}

INSTANTIATE_TEST_SUITE_P(
  files, rca_case_rejects,
  ::testing::Values(
    malformed_line{"metrics.csv", 3, "900,orders-db-2b,cpu_usage", "4 comma"},
    malformed_line{"metrics.csv", 4, "910,cart-1a,latency_p99_ms,fast",
                   "value 'fast'"},
    malformed_line{"metrics.csv", 2, "yesterday,cart-1a,cpu_usage,1", "ts"},
    malformed_line{"metrics.csv", 1, "time,svc,name,value", "header"},
    malformed_line{"topology.csv", 2, "cart-1a,cart-1a", "same service"},
    malformed_line{"traces.jsonl", 2, "{\"trace_id\":", "not JSON"},
    malformed_line{
      "traces.jsonl", 1,
      R"({"trace_id":"a","span_id":"b","service":"s","start":2,"end":1,"status":"ok"})",
      "end is before start"},
    malformed_line{
      "traces.jsonl", 1,
      R"({"trace_id":"a","span_id":"b","service":"s","start":1,"end":2,"status":"unset"})",
      "status"},
    malformed_line{"logs.jsonl", 1, R"({"ts":"noon","service":"s","line":"x"})",
                   "ts must be a number"},
    malformed_line{"changes.jsonl", 1, R"({"ts":1,"kind":"deploy"})",
                   "service is missing"},
    malformed_line{"case.json", 1, R"({"start_ts":5,"end_ts":4})",
                   "end_ts must be after start_ts"}));

TEST(rca_case, every_generated_case_parses_back) {
  test::temp_dir tmp;
  sim_options opts;
  opts.seed = 42;
  opts.cases = 10;
  opts.services = 14;
  opts.history_s = 20 * 60;
  opts.window_s = 20 * 60;
  for (auto& spec : plan_cases(opts)) {
    auto dir = (tmp.path() / spec.id).string();
    auto stats = generate_case(spec, opts, dir);
    ASSERT_TRUE(stats) << render(stats.error());
    auto c = read_case(dir, {.with_truth = true});
    ASSERT_TRUE(c) << spec.id << ": " << render(c.error());
    EXPECT_EQ(c->metrics.size(), stats->metric_rows) << spec.id;
    EXPECT_EQ(c->spans.size(), stats->spans) << spec.id;
    EXPECT_EQ(c->logs.size(), stats->log_lines) << spec.id;
    EXPECT_EQ(c->changes.size(), stats->changes) << spec.id;
    EXPECT_EQ(c->has_topology, stats->topology_written) << spec.id;
    EXPECT_EQ(c->services.size(), stats->services) << spec.id;
    ASSERT_TRUE(c->truth) << spec.id;
    EXPECT_EQ(c->truth->fault, to_string(spec.fault));
    EXPECT_GT(c->truth->inject_ts, c->start_ts) << spec.id;
    EXPECT_LT(c->truth->inject_ts, c->end_ts) << spec.id;
    EXPECT_TRUE(c->service_index(c->truth->root_cause_service)) << spec.id;
  }
}

} // namespace
