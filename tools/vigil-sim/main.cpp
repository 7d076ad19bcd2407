// vigil-sim: the fault simulator (CONTRACT §5).
//
//   vigil-sim --out DIR --cases N [--seed S] [--services N] [--faults LIST]
//   vigil-sim --case DIR --to URL [--speed X] [--token-file F]
//
// The first form writes N case directories in the RCA case format; the
// second streams one case to a node's ingest endpoints. Exit codes: 0 done,
// 1 a case could not be written or streamed, 2 bad flags.

#include <atomic>
#include <charconv>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "messages/errc.hpp"
#include "tools/vigil-sim/lib/generator.hpp"
#include "tools/vigil-sim/lib/stream.hpp"

namespace vigil::sim {

namespace {

constexpr const char* usage_text = R"(usage:
  vigil-sim --out DIR --cases N [--seed S] [--services N] [--faults LIST]
  vigil-sim --case DIR --to URL [--speed X] [--token-file F]

generate cases (one directory DIR/case-NNNN per case, RCA case format)
  --out DIR             where the case directories go (created)
  --cases N             number of cases (1 .. 100000)
  --seed S              seed of every random choice (default 1); the same
                        seed gives byte-identical cases
  --services N          services per case (3 .. 20000); default: drawn per
                        case, 60% 10-60, 30% 60-500, 10% 500-5000
  --faults LIST         comma list of cpu_hog, memory_leak, latency, errors,
                        pool_exhaustion (default: all), spread evenly
  --step S              metric step in seconds (1 .. 300, default 10; at
                        least 15 from 100 services, 20 from 500, 30 from
                        1000)
  --history S           history before the window in seconds (default:
                        drawn 45-60 min; 30-40 min from 500 services, 22
                        min from 1000)
  --window S            case window in seconds (default: drawn 20-30 min;
                        20 min from 1000 services)
  --topology-share P    share of cases with a topology.csv (default 0.3)
  --jobs J              cases generated in parallel (1 .. 64, default 1)
  --quiet               no line per case

stream one case to a node
  --case DIR            the case directory
  --to URL              http://HOST:PORT of the node
  --speed X             event seconds per wall second (default 0 = as fast
                        as the node accepts)
  --token-file F        send the ingest token in F as a bearer token
  --batch N             items per request (1 .. 100000, default 2000)
  --timeout S           per-request timeout in seconds (default 30)
  --max-retries N       retries of a throttled request (default 30)
  --quiet               no progress lines

  --help
)";

struct usage_error {
  std::string message;
};

double parse_double(const std::string& flag, const std::string& x, double lo,
                    double hi) {
  char* end = nullptr;
  double v = std::strtod(x.c_str(), &end);
  if (x.empty() || end != x.c_str() + x.size() || !std::isfinite(v) || v < lo
      || v > hi) {
    std::ostringstream msg;
    msg << flag << ": '" << x << "' is not a number in [" << lo << ", " << hi
        << "]";
    throw usage_error{msg.str()};
  }
  return v;
}

uint64_t parse_uint(const std::string& flag, const std::string& x, uint64_t lo,
                    uint64_t hi) {
  uint64_t v = 0;
  auto res = std::from_chars(x.data(), x.data() + x.size(), v);
  if (x.empty() || res.ec != std::errc{} || res.ptr != x.data() + x.size()
      || v < lo || v > hi)
    throw usage_error{flag + ": '" + x + "' is not an integer in ["
                      + std::to_string(lo) + ", " + std::to_string(hi) + "]"};
  return v;
}

std::vector<fault_kind> parse_faults(const std::string& list) {
  std::vector<fault_kind> out;
  std::string legal;
  for (auto f : all_faults())
    legal += (legal.empty() ? "" : ", ") + std::string{to_string(f)};
  size_t at = 0;
  while (at <= list.size()) {
    auto comma = list.find(',', at);
    auto name = list.substr(at, comma == std::string::npos ? std::string::npos
                                                           : comma - at);
    auto f = parse_fault(name);
    if (!f)
      throw usage_error{"--faults: unknown fault '" + name
                        + "'; legal: " + legal};
    if (std::find(out.begin(), out.end(), *f) == out.end())
      out.push_back(*f);
    if (comma == std::string::npos)
      break;
    at = comma + 1;
  }
  return out;
}

struct cli {
  bool help = false;
  bool quiet = false;
  // generate
  std::string out;
  bool have_cases = false;
  sim_options sim;
  uint32_t jobs = 1;
  // stream
  stream_options stream;
  std::string token_file;
};

cli parse_cli(int argc, char** argv) {
  cli c;
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    std::string value;
    if (flag == "--help" || flag == "-h") {
      c.help = true;
      return c;
    }
    if (flag == "--quiet") {
      c.quiet = true;
      continue;
    }
    if (auto eq = flag.find('=');
        flag.rfind("--", 0) == 0 && eq != std::string::npos) {
      value = flag.substr(eq + 1);
      flag = flag.substr(0, eq);
    } else {
      if (flag.rfind("--", 0) != 0)
        throw usage_error{"unexpected argument '" + flag + "'"};
      if (i + 1 >= argc)
        throw usage_error{flag + " needs a value"};
      value = argv[++i];
    }
    if (flag == "--out") {
      c.out = value;
    } else if (flag == "--cases") {
      c.sim.cases = static_cast<uint32_t>(parse_uint(flag, value, 1, 100000));
      c.have_cases = true;
    } else if (flag == "--seed") {
      c.sim.seed = parse_uint(flag, value, 0, UINT64_MAX);
    } else if (flag == "--services") {
      c.sim.services = static_cast<uint32_t>(parse_uint(flag, value, 3, 20000));
    } else if (flag == "--faults") {
      c.sim.faults = parse_faults(value);
    } else if (flag == "--step") {
      c.sim.step_s = parse_double(flag, value, 1, 300);
    } else if (flag == "--history") {
      c.sim.history_s = parse_double(flag, value, 60, 86400);
    } else if (flag == "--window") {
      c.sim.window_s = parse_double(flag, value, 60, 86400);
    } else if (flag == "--topology-share") {
      c.sim.topology_share = parse_double(flag, value, 0, 1);
    } else if (flag == "--jobs") {
      c.jobs = static_cast<uint32_t>(parse_uint(flag, value, 1, 64));
    } else if (flag == "--case") {
      c.stream.case_dir = value;
    } else if (flag == "--to") {
      c.stream.url = value;
    } else if (flag == "--speed") {
      c.stream.speed = parse_double(flag, value, 0, 1e9);
    } else if (flag == "--token-file") {
      c.token_file = value;
    } else if (flag == "--batch") {
      c.stream.batch
        = static_cast<uint32_t>(parse_uint(flag, value, 1, 100000));
    } else if (flag == "--timeout") {
      c.stream.timeout_s = parse_double(flag, value, 0.1, 3600);
    } else if (flag == "--max-retries") {
      c.stream.max_retries
        = static_cast<uint32_t>(parse_uint(flag, value, 0, 100000));
    } else {
      throw usage_error{"unknown flag " + flag};
    }
  }
  bool generate = !c.out.empty() || c.have_cases;
  bool stream = !c.stream.case_dir.empty() || !c.stream.url.empty();
  if (generate && stream)
    throw usage_error{"--out/--cases (generate) and --case/--to (stream) "
                      "do not mix"};
  if (!generate && !stream)
    throw usage_error{"give --out DIR --cases N, or --case DIR --to URL"};
  if (generate && (c.out.empty() || !c.have_cases))
    throw usage_error{"generating needs both --out DIR and --cases N"};
  if (stream && (c.stream.case_dir.empty() || c.stream.url.empty()))
    throw usage_error{"streaming needs both --case DIR and --to URL"};
  c.stream.quiet = c.quiet;
  return c;
}

std::string megabytes(uint64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f MB", static_cast<double>(bytes) / 1e6);
  return buf;
}

// -- generate
// ------------------------------------------------------------------

int run_generate(const cli& c) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(c.out, ec);
  if (ec) {
    std::cerr << "vigil-sim: cannot create " << c.out << ": " << ec.message()
              << "\n";
    return 1;
  }
  auto plan = plan_cases(c.sim);
  struct outcome {
    caf::expected<case_stats> stats{caf::error{}};
    double seconds = 0;
    bool done = false;
  };
  std::vector<outcome> results(plan.size());
  std::mutex mtx;
  std::condition_variable cv;
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  auto worker = [&] {
    for (;;) {
      auto i = next.fetch_add(1);
      if (i >= plan.size() || failed.load())
        return;
      auto t0 = std::chrono::steady_clock::now();
      auto dir = (fs::path{c.out} / plan[i].id).string();
      auto stats = generate_case(plan[i], c.sim, dir);
      auto secs
        = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
            .count();
      std::lock_guard<std::mutex> guard{mtx};
      if (!stats)
        failed.store(true);
      results[i].stats = std::move(stats);
      results[i].seconds = secs;
      results[i].done = true;
      cv.notify_all();
    }
  };
  auto t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  auto jobs = std::min<size_t>(c.jobs, plan.size());
  for (size_t j = 0; j < jobs; ++j)
    threads.emplace_back(worker);
  // Print in case order, as results arrive.
  uint64_t total_bytes = 0;
  int rc = 0;
  for (size_t i = 0; i < plan.size(); ++i) {
    std::unique_lock<std::mutex> lock{mtx};
    cv.wait(lock, [&] { return results[i].done || failed.load(); });
    if (!results[i].done)
      break;
    auto& r = results[i];
    if (!r.stats) {
      std::cerr << "vigil-sim: " << plan[i].id << ": "
                << vigil::render(r.stats.error()) << "\n";
      rc = 1;
      break;
    }
    auto& s = *r.stats;
    total_bytes += s.bytes;
    if (!c.quiet) {
      char line[256];
      std::snprintf(line, sizeof(line),
                    "%s  services %5u  edges %5u  step %2.0fs  topology %-3s  "
                    "metrics %8llu  spans %6llu  logs %6llu  changes %3llu  "
                    "%8s  %.2f s",
                    plan[i].id.c_str(), s.services, s.edges, s.step_s,
                    s.topology_written ? "yes" : "no",
                    static_cast<unsigned long long>(s.metric_rows),
                    static_cast<unsigned long long>(s.spans),
                    static_cast<unsigned long long>(s.log_lines),
                    static_cast<unsigned long long>(s.changes),
                    megabytes(s.bytes).c_str(), r.seconds);
      std::cout << line << std::endl;
    }
  }
  for (auto& t : threads)
    t.join();
  if (rc != 0)
    return rc;
  auto secs
    = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
        .count();
  std::map<std::string, size_t> kinds;
  for (auto& p : plan)
    ++kinds[to_string(p.fault)];
  std::cout << "vigil-sim: " << plan.size() << " cases in " << c.out << ", "
            << megabytes(total_bytes) << " in ";
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f s", secs);
  std::cout << buf << " (faults:";
  for (auto& [k, n] : kinds)
    std::cout << " " << k << " " << n;
  std::cout << ")" << std::endl;
  return 0;
}

// -- stream
// --------------------------------------------------------------------

int run_stream_cli(cli& c) {
  if (!c.token_file.empty()) {
    std::ifstream in{c.token_file};
    if (!in) {
      std::cerr << "vigil-sim: cannot read --token-file " << c.token_file
                << "\n";
      return 2;
    }
    std::string token;
    std::getline(in, token);
    while (
      !token.empty()
      && (token.back() == '\r' || token.back() == ' ' || token.back() == '\t'))
      token.pop_back();
    if (token.empty()) {
      std::cerr << "vigil-sim: --token-file " << c.token_file << " is empty\n";
      return 2;
    }
    c.stream.token = token;
  }
  return run_stream(c.stream);
}

} // namespace

} // namespace vigil::sim

int main(int argc, char** argv) {
  vigil::sim::cli c;
  try {
    c = vigil::sim::parse_cli(argc, argv);
  } catch (const vigil::sim::usage_error& e) {
    std::cerr << "vigil-sim: " << e.message << "\n"
              << "run 'vigil-sim --help' for usage\n";
    return 2;
  }
  if (c.help) {
    std::cout << vigil::sim::usage_text;
    return 0;
  }
  try {
    if (!c.out.empty())
      return vigil::sim::run_generate(c);
    return vigil::sim::run_stream_cli(c);
  } catch (const std::exception& e) {
    std::cerr << "vigil-sim: fatal: " << e.what() << "\n";
    return 1;
  }
}
