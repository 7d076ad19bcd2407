// vigil-load: bounded ingest load on loopback (CONTRACT §5). Sends one
// sample per series per round, in batches, over keep-alive connections, to
// vigild's or Prometheus's remote-write receiver (or vigild's NDJSON
// samples endpoint), and reports accepted samples per second and the
// acknowledgement latency. Usage: vigil-load --help.
//
// Exit codes: 0 the run completed and something was accepted; 1 nothing was
// accepted, the target could not be reached or connections kept failing;
// 2 bad flags.

#include <arpa/inet.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <nlohmann/json.hpp>

#include "messages/errc.hpp"
#include "runtime/clock.hpp"
#include "runtime/http/client.hpp"
#include "tools/vigil-load/histogram.hpp"
#include "tools/vigil-load/workload.hpp"

namespace vigil::load {

namespace {

using json = nlohmann::json;

constexpr const char* usage_text = R"(usage: vigil-load --target URL --series N [options]

Sends one sample per series per round, in batches of --batch samples, over
--connections keep-alive connections, and prints the accepted samples/s and
the acknowledgement latency. Request bodies are built and compressed before
the timed phase; per send only values and timestamps are patched in.

target and workload
  --target URL          http://HOST:PORT[/PATH]; PATH defaults to
                        /api/v1/write (remote_write) or /api/v1/samples
  --format F            remote_write (protobuf + snappy, default) | samples
                        (NDJSON)
  --series N            distinct series (1 .. 10000000; default 10000)
  --services K          services the series spread over, label "service"
                        (default 100, or --series when smaller)
  --batch N             samples per request (1 .. 100000; default 1000)
  --grouping G          mixed (default: each request spans many services,
                        like Prometheus's sharded queue) | by-service
  --seed S              random seed (default 1)
  --anomaly-rate P      probability that a sample is a spike (default 0)
  --anomaly-factor F    spike size as a factor (default 10)
  --anomaly-after R     rounds before the first spike (default 40)
  --state FILE          continue the series values of an earlier run with
                        the same workload from FILE, and leave them there
                        (counters keep rising across runs instead of
                        resetting)

pacing and bounds
  --rate R              samples/s, open loop; 0 = as fast as accepted
                        (default 0)
  --duration S          measured seconds (default 30, at most 3600)
  --warmup S            seconds sent before measuring (default 0, <= 3600)
  --warmup-rounds N     also wait until N rounds (every series N times) are
                        done before measuring (default 0)
  --warmup-timeout S    give up waiting for --warmup-rounds after S seconds
                        (default 600, <= 3600)
  --connections C       concurrent connections, one thread each (1 .. 256;
                        default 4)
  --timeout S           per-exchange connect/write/read timeout (default 30)
  --max-retry-wait S    cap on honoured Retry-After (default 5)
  --max-retries N       retries of one throttled batch (default 100)
  --max-requests N      stop after N requests (default 0 = time-bound only)

output and access
  --json                print one JSON object instead of text
  --quiet               no progress lines on stderr
  --progress S          seconds between progress lines (default 5)
  --watch-pid PID       report CPU seconds and RSS of that (server) process
                        over the measured window, from /proc
  --scrape URL          GET URL (e.g. the server's /metrics) when the
                        measurement starts and ends ...
  --scrape-out PREFIX   ... into PREFIX.start and PREFIX.end
  --token T             send Authorization: Bearer T
  --header 'K: V'       extra header (repeatable)
  --allow-remote        allow a target that is not loopback
  --help
)";

// -- flags ---------------------------------------------------------------------

struct cli {
  std::string target;
  workload_options work;
  double rate = 0;
  double duration = 30;
  double warmup = 0;
  uint64_t warmup_rounds = 0;
  double warmup_timeout = 600;
  uint32_t connections = 4;
  double timeout = 30;
  double max_retry_wait = 5;
  uint32_t max_retries = 100;
  uint64_t max_requests = 0;
  bool json = false;
  bool quiet = false;
  double progress = 5;
  bool allow_remote = false;
  http::header_list headers;
  bool help = false;
  int64_t watch_pid = 0;
  std::string scrape_url;
  std::string scrape_out;
  std::string state;
};

struct usage_error {
  std::string message;
};

double parse_double(std::string_view flag, const std::string& x, double lo,
                    double hi) {
  char* end = nullptr;
  double v = std::strtod(x.c_str(), &end);
  if (x.empty() || end != x.c_str() + x.size() || !std::isfinite(v) || v < lo
      || v > hi)
    throw usage_error{std::string{flag} + ": '" + x + "' is not a number in ["
                      + std::to_string(lo) + ", " + std::to_string(hi) + "]"};
  return v;
}

uint64_t parse_uint(std::string_view flag, const std::string& x, uint64_t lo,
                    uint64_t hi) {
  uint64_t v = 0;
  auto res = std::from_chars(x.data(), x.data() + x.size(), v);
  if (x.empty() || res.ec != std::errc{} || res.ptr != x.data() + x.size()
      || v < lo || v > hi)
    throw usage_error{std::string{flag} + ": '" + x
                      + "' is not an integer in [" + std::to_string(lo) + ", "
                      + std::to_string(hi) + "]"};
  return v;
}

cli parse_cli(int argc, char** argv) {
  cli c;
  bool have_target = false;
  bool have_services = false;
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    std::string value;
    if (auto eq = flag.find('='); flag.rfind("--", 0) == 0
                                  && eq != std::string::npos) {
      value = flag.substr(eq + 1);
      flag = flag.substr(0, eq);
    } else if (flag == "--help" || flag == "-h") {
      c.help = true;
      return c;
    } else if (flag == "--json" || flag == "--quiet"
               || flag == "--allow-remote") {
      (flag == "--json"    ? c.json
       : flag == "--quiet" ? c.quiet
                           : c.allow_remote)
        = true;
      continue;
    } else {
      if (i + 1 >= argc)
        throw usage_error{flag + " needs a value"};
      value = argv[++i];
    }
    auto& w = c.work;
    if (flag == "--target") {
      c.target = value;
      have_target = true;
    } else if (flag == "--format") {
      if (value == "remote_write")
        w.format = wire_format::remote_write;
      else if (value == "samples")
        w.format = wire_format::samples;
      else
        throw usage_error{"--format: '" + value
                          + "'; legal: remote_write, samples"};
    } else if (flag == "--series") {
      w.series = parse_uint(flag, value, 1, 10'000'000);
    } else if (flag == "--services") {
      w.services = static_cast<uint32_t>(parse_uint(flag, value, 1, 65536));
      have_services = true;
    } else if (flag == "--batch") {
      w.batch = static_cast<uint32_t>(parse_uint(flag, value, 1, 100'000));
    } else if (flag == "--grouping") {
      if (value == "mixed")
        w.order = grouping::mixed;
      else if (value == "by-service")
        w.order = grouping::by_service;
      else
        throw usage_error{"--grouping: '" + value
                          + "'; legal: mixed, by-service"};
    } else if (flag == "--seed") {
      w.seed = parse_uint(flag, value, 0, UINT64_MAX);
    } else if (flag == "--anomaly-rate") {
      w.anomaly_rate = parse_double(flag, value, 0, 1);
    } else if (flag == "--anomaly-factor") {
      w.anomaly_factor = parse_double(flag, value, 0, 1e6);
    } else if (flag == "--anomaly-after") {
      w.anomaly_after = parse_uint(flag, value, 0, 1'000'000);
    } else if (flag == "--rate") {
      c.rate = parse_double(flag, value, 0, 1e9);
    } else if (flag == "--duration") {
      c.duration = parse_double(flag, value, 0.1, 3600);
    } else if (flag == "--warmup") {
      c.warmup = parse_double(flag, value, 0, 3600);
    } else if (flag == "--warmup-rounds") {
      c.warmup_rounds = parse_uint(flag, value, 0, 1'000'000);
    } else if (flag == "--warmup-timeout") {
      c.warmup_timeout = parse_double(flag, value, 1, 3600);
    } else if (flag == "--connections") {
      c.connections = static_cast<uint32_t>(parse_uint(flag, value, 1, 256));
    } else if (flag == "--timeout") {
      c.timeout = parse_double(flag, value, 0.01, 600);
    } else if (flag == "--max-retry-wait") {
      c.max_retry_wait = parse_double(flag, value, 0, 600);
    } else if (flag == "--max-retries") {
      c.max_retries = static_cast<uint32_t>(parse_uint(flag, value, 0,
                                                       1'000'000));
    } else if (flag == "--max-requests") {
      c.max_requests = parse_uint(flag, value, 0, UINT64_MAX);
    } else if (flag == "--progress") {
      c.progress = parse_double(flag, value, 0, 3600);
    } else if (flag == "--watch-pid") {
      c.watch_pid = static_cast<int64_t>(parse_uint(flag, value, 1,
                                                    INT32_MAX));
    } else if (flag == "--state") {
      c.state = value;
    } else if (flag == "--scrape") {
      c.scrape_url = value;
    } else if (flag == "--scrape-out") {
      c.scrape_out = value;
    } else if (flag == "--token") {
      c.headers.emplace_back("Authorization", "Bearer " + value);
    } else if (flag == "--header") {
      auto colon = value.find(':');
      if (colon == std::string::npos || colon == 0)
        throw usage_error{"--header: '" + value + "' is not 'Name: value'"};
      auto v = value.substr(colon + 1);
      v.erase(0, v.find_first_not_of(" \t"));
      if (v.find_first_of("\r\n") != std::string::npos)
        throw usage_error{"--header: values cannot hold CR or LF"};
      c.headers.emplace_back(value.substr(0, colon), v);
    } else {
      throw usage_error{"unknown flag " + flag};
    }
  }
  if (!have_target)
    throw usage_error{"--target is required"};
  if (c.scrape_url.empty() != c.scrape_out.empty())
    throw usage_error{"--scrape and --scrape-out go together"};
  if (!have_services)
    c.work.services = static_cast<uint32_t>(
      std::min<uint64_t>(c.work.services, c.work.series));
  if (c.work.services > c.work.series)
    throw usage_error{"--services (" + std::to_string(c.work.services)
                      + ") cannot exceed --series ("
                      + std::to_string(c.work.series) + ")"};
  return c;
}

// -- the target ----------------------------------------------------------------

struct target_url {
  std::string host; // without brackets
  uint16_t port = 80;
  std::string path;
  std::string text; // as printed
};

target_url parse_target(const std::string& url, wire_format f) {
  std::string_view rest = url;
  if (rest.rfind("https://", 0) == 0)
    throw usage_error{"--target: https is not supported (loopback tool)"};
  if (rest.rfind("http://", 0) == 0)
    rest.remove_prefix(7);
  else if (rest.find("://") != std::string_view::npos)
    throw usage_error{"--target: only http:// URLs are supported"};
  target_url t;
  if (!rest.empty() && rest.front() == '[') {
    auto close = rest.find(']');
    if (close == std::string_view::npos)
      throw usage_error{"--target: unbalanced '[' in '" + url + "'"};
    t.host = std::string{rest.substr(1, close - 1)};
    rest.remove_prefix(close + 1);
  } else {
    auto stop = rest.find_first_of(":/");
    t.host = std::string{rest.substr(0, stop)};
    rest.remove_prefix(stop == std::string_view::npos ? rest.size() : stop);
  }
  if (t.host.empty())
    throw usage_error{"--target: no host in '" + url + "'"};
  if (!rest.empty() && rest.front() == ':') {
    rest.remove_prefix(1);
    auto stop = rest.find('/');
    auto port = std::string{rest.substr(0, stop)};
    t.port = static_cast<uint16_t>(parse_uint("--target port", port, 1,
                                              65535));
    rest.remove_prefix(stop == std::string_view::npos ? rest.size() : stop);
  }
  t.path = std::string{rest};
  if (t.path.empty() || t.path == "/")
    t.path = f == wire_format::remote_write ? "/api/v1/write"
                                            : "/api/v1/samples";
  auto host = t.host.find(':') != std::string::npos ? "[" + t.host + "]"
                                                    : t.host;
  t.text = "http://" + host + ":" + std::to_string(t.port) + t.path;
  return t;
}

// 127.0.0.0/8, ::1, ::ffff:127.0.0.0/104 and the name "localhost".
bool is_loopback(const std::string& host) {
  std::string lower = host;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  if (lower == "localhost" || lower == "localhost.")
    return true;
  in_addr v4{};
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1)
    return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  if (inet_pton(AF_INET6, host.c_str(), &v6) == 1) {
    if (IN6_IS_ADDR_LOOPBACK(&v6))
      return true;
    return IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127;
  }
  return false;
}

// Opens and closes one TCP connection within `timeout`; "" when it worked.
std::string probe(const target_url& t, std::chrono::milliseconds timeout) {
  namespace asio = boost::asio;
  using tcp = asio::ip::tcp;
  asio::io_context ioc;
  boost::system::error_code ec;
  tcp::resolver resolver{ioc};
  auto endpoints = resolver.resolve(t.host, std::to_string(t.port),
                                    tcp::resolver::numeric_service, ec);
  if (ec)
    return "cannot resolve " + t.host + ": " + ec.message();
  tcp::socket sock{ioc};
  bool done = false;
  asio::async_connect(sock, endpoints,
                      [&](const boost::system::error_code& e,
                          const tcp::endpoint&) {
                        ec = e;
                        done = true;
                      });
  ioc.run_for(timeout);
  if (!done)
    return "connecting to " + t.text + " timed out";
  if (ec)
    return "cannot connect to " + t.text + ": " + ec.message();
  return {};
}

// -- the run -------------------------------------------------------------------

std::atomic<bool> interrupted{false};

extern "C" void on_signal(int) {
  interrupted.store(true);
}

/// What one phase (warm-up or measurement) of one thread saw.
struct phase_stats {
  uint64_t requests = 0;         // batches started
  uint64_t accepted_requests = 0;
  uint64_t samples_sent = 0;     // samples in the batches started
  uint64_t samples_accepted = 0;
  uint64_t exchanges = 0;        // HTTP exchanges, retries included
  uint64_t throttled = 0;        // 429 and 503 answers
  uint64_t rejected = 0;         // other non-2xx answers (not retried)
  uint64_t transport_errors = 0; // connect, write or read failures
  uint64_t abandoned = 0;        // batches given up (deadline or retries)
  uint64_t bytes = 0;            // body bytes written
  uint64_t spikes = 0;
  uint64_t late = 0;             // open loop: started > 5 ms after due
  std::map<unsigned, uint64_t> status;
  latency_histogram ack;       // accepted exchanges: send to response
  latency_histogram scheduled; // open loop: due time to acceptance
  int64_t last_done_ns = 0;

  void merge(const phase_stats& o) {
    requests += o.requests;
    accepted_requests += o.accepted_requests;
    samples_sent += o.samples_sent;
    samples_accepted += o.samples_accepted;
    exchanges += o.exchanges;
    throttled += o.throttled;
    rejected += o.rejected;
    transport_errors += o.transport_errors;
    abandoned += o.abandoned;
    bytes += o.bytes;
    spikes += o.spikes;
    late += o.late;
    for (auto& [code, n] : o.status)
      status[code] += n;
    ack.merge(o.ack);
    scheduled.merge(o.scheduled);
    last_done_ns = std::max(last_done_ns, o.last_done_ns);
  }
};

struct slot_state {
  std::mutex mtx; // held while the slot's request is rendered and in flight
  int64_t last_ts_ms = 0;
  uint64_t sends = 0;
};

struct run_state {
  const cli& opts;
  workload& work;
  target_url url;
  http::header_list headers;
  int64_t start_ns = 0;
  int64_t hard_end_ns = 0;
  uint64_t max_tickets = 0;
  std::atomic<int64_t> measure_ns{INT64_MAX};
  std::atomic<int64_t> end_ns{INT64_MAX};
  std::atomic<uint64_t> next_ticket{0};
  std::atomic<uint64_t> done_tickets{0};
  std::atomic<uint64_t> live_accepted{0}; // samples, for progress lines
  std::atomic<uint64_t> live_throttled{0};
  std::atomic<uint64_t> live_errors{0};
  std::atomic<uint32_t> running{0};
  std::atomic<bool> fatal{false};
  std::mutex msg_mtx;
  std::string fatal_message;
  std::string first_rejection; // status and body of the first refusal
  std::unique_ptr<slot_state[]> slots;

  run_state(const cli& o, workload& w) : opts(o), work(w) {}

  bool stopping() const { return interrupted.load() || fatal.load(); }

  void fail(std::string why) {
    std::lock_guard<std::mutex> guard{msg_mtx};
    if (fatal_message.empty())
      fatal_message = std::move(why);
    fatal.store(true);
  }

  void note_rejection(unsigned status, const std::string& body) {
    std::lock_guard<std::mutex> guard{msg_mtx};
    if (first_rejection.empty())
      first_rejection = std::to_string(status) + " "
                        + body.substr(0, 300);
  }

  // Samples sent by all tickets before `t`: ticket t is due when the
  // schedule has sent that many at the configured rate.
  double samples_before(uint64_t t) const {
    auto per_round = work.requests_per_round();
    auto n = opts.work.series;
    auto round = t / per_round;
    auto in_round = std::min<uint64_t>((t % per_round) * opts.work.batch, n);
    return static_cast<double>(round) * static_cast<double>(n)
           + static_cast<double>(in_round);
  }

  int64_t deadline() const {
    return std::min(end_ns.load(), hard_end_ns);
  }
};

// Sleeps until `until_ns` (monotonic) in short steps so a stop is noticed;
// returns false when the run stopped or the deadline passed first.
bool sleep_until(run_state& run, int64_t until_ns, int64_t deadline_ns) {
  for (int i = 0; i < 1'000'000; ++i) {
    auto now = mono_ns();
    if (now >= until_ns)
      return true;
    if (run.stopping() || now >= deadline_ns)
      return false;
    auto step = std::min<int64_t>(until_ns - now, 50'000'000);
    std::this_thread::sleep_for(std::chrono::nanoseconds{step});
  }
  return false;
}

// Seconds of a Retry-After header (delta-seconds form); nullopt otherwise.
std::optional<double> retry_after(const http::client_response& r) {
  auto v = r.header("Retry-After");
  if (v.empty())
    return std::nullopt;
  char* end = nullptr;
  double s = std::strtod(v.c_str(), &end);
  if (end == v.c_str() || !std::isfinite(s) || s < 0)
    return std::nullopt; // an HTTP date: use our own backoff
  return s;
}

void worker(run_state& run, size_t id, phase_stats& warm, phase_stats& meas) {
  const auto& o = run.opts;
  http::client client{run.url.host, run.url.port,
                      std::chrono::milliseconds{
                        static_cast<int64_t>(o.timeout * 1000)}};
  rng gen{o.work.seed ^ (0x9e3779b97f4a7c15ull * (id + 1))};
  std::string body;
  const auto per_round = run.work.requests_per_round();
  uint32_t consecutive_failures = 0;
  for (uint64_t iteration = 0; iteration < run.max_tickets; ++iteration) {
    if (run.stopping() || mono_ns() >= run.deadline())
      break;
    auto ticket = run.next_ticket.fetch_add(1);
    if (ticket >= run.max_tickets)
      break;
    auto slot = static_cast<size_t>(ticket % per_round);
    int64_t due = 0;
    if (o.rate > 0) {
      due = run.start_ns
            + static_cast<int64_t>(run.samples_before(ticket) / o.rate * 1e9);
      if (!sleep_until(run, due, run.deadline()))
        break;
    }
    auto& sl = run.slots[slot];
    std::lock_guard<std::mutex> guard{sl.mtx};
    // The timestamp is taken under the slot's lock, and the request stays
    // under it until answered: a slot's timestamps reach the server in
    // increasing order, as Prometheus demands per series.
    auto ts = std::max(sl.last_ts_ms + 1, wall_ms());
    auto started = mono_ns();
    auto& ps = started >= run.measure_ns.load() ? meas : warm;
    if (o.rate > 0 && started - due > 5'000'000)
      ++ps.late;
    auto samples = run.work.samples_in(slot);
    ps.spikes += run.work.render(slot, ts, sl.last_ts_ms, sl.sends, gen, body);
    sl.last_ts_ms = ts;
    ++sl.sends;
    ++ps.requests;
    ps.samples_sent += samples;
    double backoff = 0.05;
    for (uint32_t attempt = 0;; ++attempt) {
      if (attempt > o.max_retries) {
        ++ps.abandoned;
        break;
      }
      auto t0 = mono_ns();
      auto r = client.send(http::verb::post, run.url.path, body, run.headers);
      auto t1 = mono_ns();
      ++ps.exchanges;
      ps.bytes += body.size();
      if (!r) {
        ++ps.transport_errors;
        run.live_errors.fetch_add(1, std::memory_order_relaxed);
        if (++consecutive_failures >= 3) {
          run.fail("connection to " + run.url.text + " failed 3 times in a "
                   "row: " + vigil::render(r.error()));
          ++ps.abandoned;
          break;
        }
        // The client reconnects on the next send; give the server a moment.
        if (!sleep_until(run, mono_ns() + 100'000'000, run.deadline())) {
          ++ps.abandoned;
          break;
        }
        continue;
      }
      consecutive_failures = 0;
      ++ps.status[r->status];
      if (r->status >= 200 && r->status < 300) {
        ++ps.accepted_requests;
        ps.samples_accepted += samples;
        ps.ack.record(t1 - t0);
        if (o.rate > 0)
          ps.scheduled.record(t1 - due);
        run.live_accepted.fetch_add(samples, std::memory_order_relaxed);
        break;
      }
      if (r->status == 429 || r->status == 503) {
        ++ps.throttled;
        run.live_throttled.fetch_add(1, std::memory_order_relaxed);
        double wait = retry_after(*r).value_or(backoff);
        wait = std::min(wait, o.max_retry_wait);
        backoff = std::min(backoff * 2, o.max_retry_wait);
        auto until = mono_ns() + static_cast<int64_t>(wait * 1e9);
        if (!sleep_until(run, until, run.deadline())) {
          ++ps.abandoned;
          break;
        }
        continue;
      }
      ++ps.rejected;
      run.note_rejection(r->status, r->body);
      break;
    }
    ps.last_done_ns = mono_ns();
    run.done_tickets.fetch_add(1, std::memory_order_relaxed);
  }
  run.running.fetch_sub(1);
}

/// CPU time and memory of a process, from /proc.
struct proc_sample {
  bool ok = false;
  double cpu_seconds = 0; // user + system
  uint64_t rss_kb = 0;
  uint64_t hwm_kb = 0; // peak RSS
};

proc_sample read_proc(int64_t pid) {
  proc_sample out;
  if (pid <= 0)
    return out;
  auto dir = "/proc/" + std::to_string(pid);
  std::FILE* f = std::fopen((dir + "/stat").c_str(), "r");
  if (f == nullptr)
    return out;
  char buf[4096];
  auto n = std::fread(buf, 1, sizeof(buf) - 1, f);
  std::fclose(f);
  buf[n] = '\0';
  // The command name may hold spaces and parentheses: fields count from
  // the last ')'. utime and stime are fields 14 and 15.
  auto* p = std::strrchr(buf, ')');
  if (p == nullptr)
    return out;
  unsigned long long utime = 0, stime = 0;
  if (std::sscanf(p + 2,
                  "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
                  &utime, &stime)
      != 2)
    return out;
  out.cpu_seconds = static_cast<double>(utime + stime)
                    / static_cast<double>(sysconf(_SC_CLK_TCK));
  f = std::fopen((dir + "/status").c_str(), "r");
  if (f == nullptr)
    return out;
  char line[256];
  for (int i = 0; i < 200 && std::fgets(line, sizeof(line), f); ++i) {
    unsigned long long kb = 0;
    if (std::sscanf(line, "VmRSS: %llu kB", &kb) == 1)
      out.rss_kb = kb;
    else if (std::sscanf(line, "VmHWM: %llu kB", &kb) == 1)
      out.hwm_kb = kb;
  }
  std::fclose(f);
  out.ok = true;
  return out;
}

// GETs `url` into `file`; returns "" or what went wrong.
std::string scrape(const target_url& url, const std::string& file,
                   std::chrono::milliseconds timeout) {
  http::client c{url.host, url.port, timeout};
  auto r = c.send(http::verb::get, url.path);
  if (!r)
    return "scrape of " + url.text + " failed: " + vigil::render(r.error());
  if (r->status != 200)
    return "scrape of " + url.text + " answered " + std::to_string(r->status);
  std::FILE* f = std::fopen(file.c_str(), "w");
  if (f == nullptr)
    return "cannot write " + file;
  std::fwrite(r->body.data(), 1, r->body.size(), f);
  std::fclose(f);
  return {};
}

double cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec)
         + static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec)
             / 1e6;
}

double ms(uint64_t ns) {
  return static_cast<double>(ns) / 1e6;
}

json latency_json(const latency_histogram& h) {
  return json{{"count", h.count()},
              {"mean", ms(static_cast<uint64_t>(h.mean()))},
              {"p50", ms(h.quantile(0.50))},
              {"p90", ms(h.quantile(0.90))},
              {"p99", ms(h.quantile(0.99))},
              {"p999", ms(h.quantile(0.999))},
              {"max", ms(h.max())}};
}

std::string latency_line(const latency_histogram& h) {
  char buf[256];
  std::snprintf(buf, sizeof(buf),
                "p50 %.2f  p90 %.2f  p99 %.2f  p99.9 %.2f  max %.2f ms",
                ms(h.quantile(0.5)), ms(h.quantile(0.9)),
                ms(h.quantile(0.99)), ms(h.quantile(0.999)), ms(h.max()));
  return buf;
}

std::string with_commas(uint64_t n) {
  auto digits = std::to_string(n);
  std::string out;
  out.reserve(digits.size() + digits.size() / 3);
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0)
      out += ',';
    out += digits[i];
  }
  return out;
}

int run_tool(const cli& o) {
  auto url = parse_target(o.target, o.work.format);
  if (!o.allow_remote && !is_loopback(url.host)) {
    std::cerr << "vigil-load: refusing non-loopback target " << url.host
              << " (127.0.0.0/8, ::1, localhost); pass --allow-remote to "
                 "load another machine\n";
    return 2;
  }
  auto timeout = std::chrono::milliseconds{
    static_cast<int64_t>(o.timeout * 1000)};
  std::optional<target_url> scrape_url;
  if (!o.scrape_url.empty()) {
    scrape_url = parse_target(o.scrape_url, o.work.format);
    if (!o.allow_remote && !is_loopback(scrape_url->host)) {
      std::cerr << "vigil-load: refusing non-loopback --scrape target\n";
      return 2;
    }
  }
  if (o.watch_pid > 0 && !read_proc(o.watch_pid).ok) {
    std::cerr << "vigil-load: --watch-pid " << o.watch_pid
              << ": no such process\n";
    return 2;
  }
  if (auto err = probe(url, timeout); !err.empty()) {
    std::cerr << "vigil-load: " << err << "\n";
    return 1;
  }
  auto say = [&](const std::string& line) {
    if (!o.quiet)
      std::cerr << line << std::endl;
  };
  auto t_build = mono_ns();
  auto built = workload::make(o.work);
  if (!built) {
    std::cerr << "vigil-load: " << vigil::render(built.error()) << "\n";
    return 1;
  }
  auto& work = **built;
  double build_s = (mono_ns() - t_build) / 1e9;
  if (!o.state.empty()) {
    auto loaded = work.load_state(o.state);
    if (!loaded) {
      std::cerr << "vigil-load: " << vigil::render(loaded.error()) << "\n";
      return 2;
    }
    if (*loaded)
      say("vigil-load: continuing the values in " + o.state);
  }
  {
    char buf[512];
    std::snprintf(buf, sizeof(buf),
                  "vigil-load: %zu requests/round pre-built in %.2f s: %.1f MB "
                  "raw, %.1f MB on the wire (%.1f B/sample), series text "
                  "%.0f B",
                  work.requests_per_round(), build_s, work.raw_bytes() / 1e6,
                  work.wire_bytes() / 1e6,
                  static_cast<double>(work.wire_bytes())
                    / static_cast<double>(o.work.series),
                  work.mean_series_text());
    say(buf);
    if (work.reference_first_compressed() > 0) {
      std::snprintf(buf, sizeof(buf),
                    "vigil-load: libsnappy makes %.1f B/sample of the first "
                    "request (ours: values and timestamps kept patchable)",
                    static_cast<double>(work.reference_first_compressed())
                      / work.samples_in(0));
      say(buf);
    }
  }
  run_state run{o, work};
  run.url = url;
  run.headers = work.headers();
  run.headers.emplace_back("User-Agent", "vigil-load/" VIGIL_VERSION);
  for (auto& h : o.headers)
    run.headers.push_back(h);
  run.slots.reset(new slot_state[work.requests_per_round()]);
  run.max_tickets = o.max_requests > 0 ? o.max_requests : uint64_t{1} << 40;
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  run.start_ns = mono_ns();
  auto wait_rounds = o.warmup_rounds > 0;
  run.hard_end_ns
    = run.start_ns
      + static_cast<int64_t>(
        (o.warmup + (wait_rounds ? o.warmup_timeout : 0) + o.duration) * 1e9);
  double cpu_at_measure = 0;
  bool warmup_incomplete = false;
  proc_sample server_at_measure;
  std::string scrape_error;
  auto begin_measuring = [&](int64_t now) {
    // Snapshots first, then the window opens: both are a few ms.
    if (scrape_url)
      scrape_error = scrape(*scrape_url, o.scrape_out + ".start", timeout);
    server_at_measure = read_proc(o.watch_pid);
    now = mono_ns();
    cpu_at_measure = cpu_seconds();
    run.measure_ns.store(now);
    run.end_ns.store(now + static_cast<int64_t>(o.duration * 1e9));
  };
  if (o.warmup <= 0 && !wait_rounds) {
    begin_measuring(run.start_ns);
    run.start_ns = run.measure_ns.load();
  }
  std::vector<phase_stats> warm(o.connections), meas(o.connections);
  std::vector<std::thread> threads;
  run.running.store(o.connections);
  for (uint32_t i = 0; i < o.connections; ++i)
    threads.emplace_back(worker, std::ref(run), i, std::ref(warm[i]),
                         std::ref(meas[i]));
  // The control loop: starts the measurement after the warm-up, prints
  // progress, and ends when the workers have. Bounded by the hard end plus
  // the time in-flight exchanges may still take.
  auto last_progress = run.start_ns;
  uint64_t last_accepted = 0;
  auto give_up_ns = run.hard_end_ns + static_cast<int64_t>(o.timeout * 1e9)
                    + 5'000'000'000;
  while (run.running.load() > 0 && mono_ns() < give_up_ns) {
    std::this_thread::sleep_for(std::chrono::milliseconds{20});
    auto now = mono_ns();
    if (run.measure_ns.load() == INT64_MAX) {
      auto warm_time = now >= run.start_ns + static_cast<int64_t>(
                                               o.warmup * 1e9);
      auto rounds = run.done_tickets.load() / work.requests_per_round();
      if (warm_time && rounds >= o.warmup_rounds) {
        begin_measuring(now);
        char buf[128];
        std::snprintf(buf, sizeof(buf),
                      "vigil-load: warm-up done after %.1f s (%" PRIu64
                      " rounds); measuring %.0f s",
                      (now - run.start_ns) / 1e9, rounds, o.duration);
        say(buf);
      } else if (warm_time
                 && now >= run.start_ns + static_cast<int64_t>(
                                            (o.warmup + o.warmup_timeout)
                                            * 1e9)) {
        warmup_incomplete = true;
        begin_measuring(now);
        say("vigil-load: warning: --warmup-rounds not reached within "
            "--warmup-timeout; measuring anyway");
      }
    }
    if (o.progress > 0 && !o.quiet
        && now - last_progress >= static_cast<int64_t>(o.progress * 1e9)) {
      auto acc = run.live_accepted.load();
      char buf[256];
      std::snprintf(buf, sizeof(buf),
                    "  %6.1f s  %10.0f samples/s accepted  throttled %" PRIu64
                    "  errors %" PRIu64 "  %s",
                    (now - run.start_ns) / 1e9,
                    static_cast<double>(acc - last_accepted)
                      / ((now - last_progress) / 1e9),
                    run.live_throttled.load(), run.live_errors.load(),
                    run.measure_ns.load() == INT64_MAX ? "(warm-up)" : "");
      say(buf);
      last_progress = now;
      last_accepted = acc;
    }
  }
  if (run.running.load() > 0) {
    // Only a server that stops answering without closing gets here; the
    // per-exchange timeout bounds that, so this is a last resort.
    std::cerr << "vigil-load: workers did not finish; exiting\n";
    std::_Exit(1);
  }
  for (auto& t : threads)
    t.join();
  auto stopped_ns = mono_ns();
  double cpu_total = cpu_seconds();
  auto server_at_end = read_proc(o.watch_pid);
  if (!o.state.empty())
    if (auto err = work.save_state(o.state))
      std::cerr << "vigil-load: warning: " << vigil::render(err) << "\n";
  if (scrape_url && run.measure_ns.load() != INT64_MAX) {
    auto err = scrape(*scrape_url, o.scrape_out + ".end", timeout);
    if (scrape_error.empty())
      scrape_error = err;
  }
  if (!scrape_error.empty())
    std::cerr << "vigil-load: warning: " << scrape_error << "\n";
  double server_cpu = server_at_measure.ok && server_at_end.ok
                        ? server_at_end.cpu_seconds
                            - server_at_measure.cpu_seconds
                        : 0;
  phase_stats w, m;
  for (auto& x : warm)
    w.merge(x);
  for (auto& x : meas)
    m.merge(x);
  auto measure_ns = run.measure_ns.load();
  bool measured = measure_ns != INT64_MAX;
  double window = 0;
  if (measured) {
    auto until = std::max(m.last_done_ns,
                          std::min(run.end_ns.load(), stopped_ns));
    window = std::max(1e-9, (until - measure_ns) / 1e9);
  }
  double sps = measured ? m.samples_accepted / window : 0;
  double cpu_measured = measured ? cpu_total - cpu_at_measure : 0;
  int rc = 0;
  if (run.fatal.load() || m.samples_accepted == 0)
    rc = 1;
  if (o.json) {
    json status = json::object();
    for (auto& [code, n] : m.status)
      status[std::to_string(code)] = n;
    json out{
      {"target", url.text},
      {"format", o.work.format == wire_format::remote_write ? "remote_write"
                                                             : "samples"},
      {"series", o.work.series},
      {"services", o.work.services},
      {"batch", o.work.batch},
      {"grouping", o.work.order == grouping::mixed ? "mixed" : "by-service"},
      {"connections", o.connections},
      {"rate_target", o.rate},
      {"requests_per_round", work.requests_per_round()},
      {"wire_bytes_per_sample", static_cast<double>(work.wire_bytes())
                                  / static_cast<double>(o.work.series)},
      {"raw_bytes_per_sample", static_cast<double>(work.raw_bytes())
                                 / static_cast<double>(o.work.series)},
      {"series_text_bytes", work.mean_series_text()},
      {"build_seconds", build_s},
      {"warmup_seconds", measured ? (measure_ns - run.start_ns) / 1e9 : 0},
      {"warmup_incomplete", warmup_incomplete},
      {"warmup_samples_accepted", w.samples_accepted},
      {"duration", window},
      {"samples_sent", m.samples_sent},
      {"samples_accepted", m.samples_accepted},
      {"samples_per_second", sps},
      {"requests", m.requests},
      {"requests_accepted", m.accepted_requests},
      {"requests_per_second", measured ? m.accepted_requests / window : 0},
      {"exchanges", m.exchanges},
      {"throttled", m.throttled},
      {"rejected", m.rejected},
      {"transport_errors", m.transport_errors},
      {"abandoned", m.abandoned},
      {"late", m.late},
      {"spikes", m.spikes},
      {"bytes_per_second", measured ? m.bytes / window : 0},
      {"status", status},
      {"ack_latency_ms", latency_json(m.ack)},
      {"client_cpu_seconds", cpu_measured},
      {"client_cpu_seconds_total", cpu_total},
      {"interrupted", interrupted.load()},
      {"error", run.fatal_message},
      {"first_rejection", run.first_rejection},
    };
    if (o.rate > 0)
      out["scheduled_latency_ms"] = latency_json(m.scheduled);
    if (server_at_end.ok)
      out["server"] = json{
        {"pid", o.watch_pid},
        {"cpu_seconds", server_cpu},
        {"cpu_seconds_per_million_samples",
         m.samples_accepted > 0 ? server_cpu / (m.samples_accepted / 1e6)
                                : 0.0},
        {"cores_used", window > 0 ? server_cpu / window : 0.0},
        {"rss_mb_start", server_at_measure.rss_kb / 1024.0},
        {"rss_mb_end", server_at_end.rss_kb / 1024.0},
        {"rss_mb_peak", server_at_end.hwm_kb / 1024.0}};
    std::cout << out.dump(2) << std::endl;
  } else {
    std::cout << "vigil-load " << url.text << "  "
              << (o.work.format == wire_format::remote_write ? "remote_write"
                                                             : "samples")
              << "  series " << with_commas(o.work.series) << " / "
              << o.work.services << " services  batch " << o.work.batch
              << "  connections " << o.connections << "  rate "
              << (o.rate > 0 ? with_commas(static_cast<uint64_t>(o.rate))
                                 + "/s"
                             : std::string{"max"})
              << "\n";
    char buf[512];
    std::snprintf(buf, sizeof(buf),
                  "  measured %.1f s (after %.1f s warm-up, %s samples)\n",
                  window,
                  measured ? (measure_ns - run.start_ns) / 1e9 : 0.0,
                  with_commas(w.samples_accepted).c_str());
    std::cout << buf;
    std::snprintf(buf, sizeof(buf),
                  "  samples    sent %s  accepted %s  %.0f samples/s\n",
                  with_commas(m.samples_sent).c_str(),
                  with_commas(m.samples_accepted).c_str(), sps);
    std::cout << buf;
    std::snprintf(buf, sizeof(buf),
                  "  requests   %s accepted (%.1f/s)  throttled %s  rejected "
                  "%s  transport errors %s  abandoned %s\n",
                  with_commas(m.accepted_requests).c_str(),
                  measured ? m.accepted_requests / window : 0.0,
                  with_commas(m.throttled).c_str(),
                  with_commas(m.rejected).c_str(),
                  with_commas(m.transport_errors).c_str(),
                  with_commas(m.abandoned).c_str());
    std::cout << buf;
    std::cout << "  ack        " << latency_line(m.ack) << "\n";
    if (o.rate > 0) {
      std::cout << "  scheduled  " << latency_line(m.scheduled)
                << "  (from the open-loop due time)\n";
      if (m.late > 0)
        std::cout << "  late       " << with_commas(m.late)
                  << " requests started > 5 ms after their due time\n";
    }
    std::cout << "  status    ";
    for (auto& [code, n] : m.status)
      std::cout << " " << code << ": " << with_commas(n);
    std::cout << "\n";
    if (m.spikes > 0)
      std::cout << "  spikes     " << with_commas(m.spikes) << " injected\n";
    std::snprintf(buf, sizeof(buf),
                  "  wire       %.1f MB/s  client cpu %.1f s (%.2f s per M "
                  "samples)\n",
                  measured ? m.bytes / window / 1e6 : 0.0, cpu_measured,
                  m.samples_accepted > 0
                    ? cpu_measured / (m.samples_accepted / 1e6)
                    : 0.0);
    std::cout << buf;
    if (server_at_end.ok) {
      std::snprintf(buf, sizeof(buf),
                    "  server     pid %lld: cpu %.1f s (%.2f cores, %.2f s "
                    "per M samples)  rss %.0f MB (peak %.0f MB)\n",
                    static_cast<long long>(o.watch_pid), server_cpu,
                    window > 0 ? server_cpu / window : 0.0,
                    m.samples_accepted > 0
                      ? server_cpu / (m.samples_accepted / 1e6)
                      : 0.0,
                    server_at_end.rss_kb / 1024.0,
                    server_at_end.hwm_kb / 1024.0);
      std::cout << buf;
    }
    if (!run.first_rejection.empty())
      std::cout << "  first rejection: " << run.first_rejection << "\n";
    if (!run.fatal_message.empty())
      std::cout << "  error: " << run.fatal_message << "\n";
    if (interrupted.load())
      std::cout << "  (interrupted)\n";
  }
  if (rc != 0 && !o.json && m.samples_accepted == 0)
    std::cerr << "vigil-load: nothing was accepted\n";
  return rc;
}

} // namespace

} // namespace vigil::load

int main(int argc, char** argv) {
  vigil::load::cli opts;
  try {
    opts = vigil::load::parse_cli(argc, argv);
  } catch (const vigil::load::usage_error& e) {
    std::cerr << "vigil-load: " << e.message << "\n"
              << "run 'vigil-load --help' for usage\n";
    return 2;
  }
  if (opts.help) {
    std::cout << vigil::load::usage_text;
    return 0;
  }
  try {
    return vigil::load::run_tool(opts);
  } catch (const vigil::load::usage_error& e) {
    std::cerr << "vigil-load: " << e.message << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "vigil-load: fatal: " << e.what() << "\n";
    return 1;
  }
}
