#include "tools/vigil-sim/lib/emit.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <string_view>

#include "messages/errc.hpp"

namespace vigil::sim {

namespace {

// -- output
// --------------------------------------------------------------------

/// A buffered file that remembers the first failure and reports it on close.
class file_out {
public:
  explicit file_out(std::string path)
    : path_(std::move(path)), f_(std::fopen(path_.c_str(), "wb")) {
    buf_.reserve(1 << 20);
  }

  ~file_out() {
    if (f_ != nullptr)
      std::fclose(f_);
  }

  file_out(const file_out&) = delete;
  file_out& operator=(const file_out&) = delete;

  void put(std::string_view x) {
    buf_.append(x);
    if (buf_.size() >= (1 << 20))
      flush();
  }

  void put(char c) { buf_.push_back(c); }

  // Appends printf-formatted text (short pieces only).
  template <class... Ts>
  void fmt(const char* format, Ts... xs) {
    char tmp[128];
    auto n = std::snprintf(tmp, sizeof(tmp), format, xs...);
    if (n > 0)
      put(std::string_view{tmp, std::min<size_t>(n, sizeof(tmp) - 1)});
  }

  // Appends `x` as a JSON string literal.
  void json_string(std::string_view x) {
    put('"');
    for (char c : x) {
      switch (c) {
        case '"':
          put("\\\"");
          break;
        case '\\':
          put("\\\\");
          break;
        case '\n':
          put("\\n");
          break;
        case '\t':
          put("\\t");
          break;
        case '\r':
          put("\\r");
          break;
        default:
          if (static_cast<unsigned char>(c) < 0x20)
            fmt("\\u%04x", static_cast<unsigned>(c));
          else
            put(c);
      }
    }
    put('"');
  }

  caf::expected<uint64_t> close() {
    if (f_ == nullptr)
      return caf::make_error(errc::storage_failure, "cannot create file",
                             path_);
    flush();
    bool ok = !failed_ && std::fclose(f_) == 0;
    f_ = nullptr;
    if (!ok)
      return caf::make_error(errc::storage_failure, "cannot write file", path_);
    return bytes_;
  }

private:
  void flush() {
    if (f_ != nullptr && !buf_.empty()
        && std::fwrite(buf_.data(), 1, buf_.size(), f_) != buf_.size())
      failed_ = true;
    bytes_ += buf_.size();
    buf_.clear();
  }

  std::string path_;
  FILE* f_;
  std::string buf_;
  uint64_t bytes_ = 0;
  bool failed_ = false;
};

caf::expected<emit_result> finish(file_out& out, uint64_t rows) {
  auto bytes = out.close();
  if (!bytes)
    return std::move(bytes.error());
  return emit_result{rows, *bytes};
}

const std::string& name_of(const scenario& sc, uint32_t s) {
  return sc.graph.nodes[s].name;
}

template <size_t N>
const char* pick(rng& g, const std::array<const char*, N>& xs) {
  return xs[g.index(N)];
}

} // namespace

// -- metrics
// -------------------------------------------------------------------

caf::expected<emit_result> write_metrics(const scenario& sc,
                                         const std::string& path) {
  file_out out{path};
  rng g{mix64(sc.spec.seed ^ 0x10)};
  auto& time = sc.time;
  auto n = sc.graph.nodes.size();
  std::vector<double> drift(n, 0);
  std::vector<const effect_track*> tracks(n, nullptr);
  for (uint32_t s = 0; s < n; ++s)
    tracks[s] = sc.find_track(s);
  out.put("ts,service,metric,value\n");
  uint64_t rows = 0;
  char ts_text[32];
  for (size_t k = 0; k < time.steps; ++k) {
    double t = time.ts(k);
    std::snprintf(ts_text, sizeof(ts_text), "%" PRId64 ",",
                  static_cast<int64_t>(t));
    for (auto s : sc.by_name) {
      auto& p = sc.profiles[s];
      auto* tr = tracks[s];
      drift[s] = 0.9 * drift[s] + g.normal(0, 0.01);
      double load = sc.load[k] * (1 + drift[s]);
      double rate = (p.rate * load + p.background) * (tr ? tr->rate[k] : 1.0);
      double requests = static_cast<double>(g.poisson(rate * time.step));
      double util = (p.cpu_idle + p.cpu_per_req * rate) / p.cpu_limit;
      double busy = std::max(0.0, util - 0.55) / 0.45;
      // Latency follows load a little everywhere, and steeply once the
      // CPU gets busy.
      double queueing = (1 + 0.25 * (load - 1)) * (1 + 3 * busy * busy);
      util *= 1 + g.normal(0, 0.04);
      if (tr)
        util += tr->cpu_add[k];
      if (tr && tr->cpu[k] > util)
        util = tr->cpu[k] + g.normal(0, 0.015);
      util = std::clamp(util, 0.001, 1.0 + std::abs(g.normal(0, 0.01)));
      // A p99 over few requests is a noisy estimate.
      double sigma = p.lat_noise + 0.5 / std::sqrt(1 + requests);
      double p99 = p.own_p99 * queueing * std::exp(g.normal(0, sigma))
                   + (p.base_p99 - p.own_p99) * std::exp(g.normal(0, sigma / 2))
                   + (tr ? tr->lat[k] : 0.0);
      if (g.chance(0.003))
        p99 *= g.uniform(1.5, 3); // a lone slow request, nothing more
      p99 = std::max(p99, 0.05);
      double err = tr ? 1 - (1 - p.err_base) * (1 - tr->err[k]) : p.err_base;
      double errors
        = err >= 1 ? requests
                   : std::min(requests,
                              static_cast<double>(g.poisson(requests * err)));
      double error_rate = requests > 0 ? errors / requests : 0;
      double mem = p.mem_base * (1 + 0.05 * (load - 1))
                   + (tr ? tr->mem[k] : 0.0) + g.normal(0, 0.003 * p.mem_base);
      if (p.gc_amp > 0)
        mem += p.gc_amp * std::fmod(t + p.gc_phase, p.gc_period) / p.gc_period;
      mem = std::clamp(mem, 0.02 * p.mem_limit, p.mem_limit);
      auto& name = sc.graph.nodes[s].name;
      auto row = [&](const char* metric, const char* format, double v) {
        out.put(ts_text);
        out.put(name);
        out.put(',');
        out.put(metric);
        out.put(',');
        out.fmt(format, v);
        out.put('\n');
        ++rows;
      };
      row("cpu_usage", "%.4g", util * p.cpu_limit);
      if (p.pool_owner) {
        // Busy connections at a scrape are a count of requests in flight:
        // Poisson around the load-driven mean.
        double busy_now = std::min(
          p.pool_max,
          static_cast<double>(g.poisson(p.pool_frac * load * p.pool_max)));
        double frac = busy_now / p.pool_max;
        double fill = tr ? tr->pool[k] : 0.0;
        double in_use = std::round(p.pool_max * (frac + (1 - frac) * fill));
        if (fill >= 0.98)
          in_use = p.pool_max - (g.chance(0.15) ? 1 : 0);
        row("db_connections_in_use", "%.0f",
            std::clamp(in_use, 0.0, p.pool_max));
        row("db_connections_max", "%.0f", p.pool_max);
      }
      row("error_rate", "%.4g", error_rate);
      row("latency_p99_ms", "%.4g", p99);
      row("memory_bytes", "%.0f", std::round(mem / 4096) * 4096);
      row("request_rate", "%.4g", requests / time.step);
    }
  }
  return finish(out, rows);
}

// -- traces
// --------------------------------------------------------------------

namespace {

struct span_out {
  double start = 0;
  double end = 0;
  uint64_t trace_hi = 0;
  uint64_t trace_lo = 0;
  uint64_t id = 0;
  uint64_t parent = 0;
  uint32_t service = 0;
  bool error = false;
};

class trace_builder {
public:
  explicit trace_builder(const scenario& sc)
    : sc_(sc), g_(mix64(sc.spec.seed ^ 0x20)), seen_(sc.graph.edges.size(), 0),
      seen_bucket_(sc.graph.edges.size() * bucket_count(), 0) {}

  void run() {
    auto& graph = sc_.graph;
    auto budget = sc_.span_budget;
    std::vector<uint32_t> entries;
    std::vector<double> weights;
    for (uint32_t s = 0; s < graph.nodes.size(); ++s) {
      bool has_caller = false;
      for (auto ei : graph.in[s])
        has_caller |= !graph.edges[ei].back;
      if (!has_caller) {
        entries.push_back(s);
        weights.push_back(sc_.profiles[s].rate);
      }
    }
    double t_lo = sc_.time.ts(0);
    double t_hi = sc_.time.end_ts - 2;
    auto random_traces = [&](uint64_t until) {
      while (spans_.size() < until && !entries.empty())
        trace(entries[g_.weighted(weights)], g_.uniform(t_lo, t_hi), -1, 0);
    };
    random_traces(budget * 3 / 5);
    // Every edge at least three times, and at least once in every bucket
    // from a quarter of an hour before the window to its end, so the graph
    // can be learned from traces alone and is still fresh when the fault
    // comes. Such traces start at the caller (a job, or a request whose
    // context was not propagated).
    auto buckets = bucket_count();
    for (uint32_t ei = 0; ei < graph.edges.size(); ++ei) {
      for (size_t b = 0; b < buckets; ++b) {
        double lo = std::max(t_lo, coverage_from() + b * bucket_s);
        double hi = std::min(t_hi, lo + bucket_s);
        for (int tries = 0; hi > lo && in_bucket(ei, b) == 0 && tries < 4;
             ++tries)
          trace(graph.edges[ei].caller, g_.uniform(lo, hi), ei, coverage_depth);
      }
      for (int tries = 0; seen_[ei] < 3 && tries < 6; ++tries)
        trace(graph.edges[ei].caller, g_.uniform(t_lo, t_hi), ei,
              coverage_depth);
    }
    random_traces(budget);
  }

  std::vector<span_out>& spans() { return spans_; }

private:
  struct trace_ctx {
    uint64_t hi = 0;
    uint64_t lo = 0;
    size_t spans = 0;
  };

  // Coverage traces start this deep, so they stay small.
  static constexpr int coverage_depth = 7;

  // Width of a coverage bucket, shorter than the usual lifetime of an
  // edge learned from traces.
  static constexpr double bucket_s = 600;

  double coverage_from() const { return sc_.time.start_ts - 900; }

  size_t bucket_count() const {
    return static_cast<size_t>(
      std::ceil((sc_.time.end_ts - coverage_from()) / bucket_s));
  }

  uint8_t in_bucket(uint32_t ei, size_t b) const {
    return seen_bucket_[ei * bucket_count() + b];
  }

  void count(uint32_t ei, double ts) {
    ++seen_[ei];
    if (ts < coverage_from())
      return;
    auto b = static_cast<size_t>((ts - coverage_from()) / bucket_s);
    if (b < bucket_count()) {
      auto& x = seen_bucket_[ei * bucket_count() + b];
      x = static_cast<uint8_t>(std::min(x + 1, 255));
    }
  }

  void trace(uint32_t s, double start, int64_t forced_edge, int depth = 0) {
    trace_ctx ctx{g_.next(), g_.next(), 0};
    visit(ctx, s, start, 0, depth, forced_edge);
  }

  float at(const std::vector<float>& xs, size_t k) const {
    return xs.empty() ? 0.0f : xs[k];
  }

  // Emits the span of `s` starting at `start` and its calls; returns its
  // end time and whether it failed.
  std::pair<double, bool> visit(trace_ctx& ctx, uint32_t s, double start,
                                uint64_t parent, int depth,
                                int64_t forced_edge) {
    auto& graph = sc_.graph;
    auto& p = sc_.profiles[s];
    auto k = sc_.time.at(start);
    auto* tr = sc_.find_track(s);
    ++ctx.spans;
    double own_ms = p.own_p99 / 2.3 * std::exp(g_.normal(0, 0.36));
    float own_lat = tr ? tr->own_lat[k] : 0.0f;
    if (own_lat != 0)
      own_ms = std::max(0.05, own_ms + own_lat * g_.uniform(0.6, 1.0));
    double err_p = p.err_base + (tr ? tr->own_err[k] : 0.0f);
    bool failed = g_.chance(err_p);
    double pre = own_ms * g_.uniform(0.05, 0.3);
    double cursor = start + pre / 1000;
    uint64_t id = g_.next();
    // A request that fails on its own usually fails before calling on.
    bool calls = !(failed && g_.chance(0.6));
    for (auto ei : graph.out[s]) {
      if (!calls)
        break;
      auto& e = graph.edges[ei];
      bool forced = static_cast<int64_t>(ei) == forced_edge;
      if (e.back && !forced)
        continue;
      uint64_t n = 0;
      if (forced) {
        n = 1;
      } else if (depth < 9) {
        n = std::min<uint64_t>(3, g_.poisson(std::min(e.calls_per_request, 2.5)
                                             * std::pow(0.8, depth)));
      }
      auto& ep = sc_.edge_profiles[ei];
      auto* ctr = sc_.find_track(e.callee);
      for (uint64_t i = 0; i < n && ctx.spans < 120; ++i) {
        double net = ctr ? at(ctr->net, k) / 2000.0 : 0.0;
        auto [child_end, child_failed]
          = visit(ctx, e.callee, cursor + net, id, depth + 1, -1);
        count(ei, cursor);
        if (e.async) {
          cursor += 0.0003;
          continue;
        }
        double waited = child_end + net - cursor;
        if (waited * 1000 > ep.timeout_ms) {
          cursor += ep.timeout_ms / 1000;
          failed |= g_.chance(0.85);
        } else {
          cursor += waited;
          failed |= child_failed && g_.chance(ep.err_pass);
        }
      }
    }
    double end = cursor + (own_ms - pre) / 1000;
    span_out sp;
    sp.start = start;
    sp.end = end;
    sp.trace_hi = ctx.hi;
    sp.trace_lo = ctx.lo;
    sp.id = id;
    sp.parent = parent;
    sp.service = s;
    sp.error = failed;
    spans_.push_back(sp);
    return {end, failed};
  }

  const scenario& sc_;
  rng g_;
  std::vector<uint32_t> seen_;
  std::vector<uint8_t> seen_bucket_;
  std::vector<span_out> spans_;
};

} // namespace

caf::expected<emit_result> write_traces(const scenario& sc,
                                        const std::string& path) {
  trace_builder b{sc};
  b.run();
  auto& spans = b.spans();
  std::sort(spans.begin(), spans.end(),
            [](const span_out& a, const span_out& b) {
              if (a.start != b.start)
                return a.start < b.start;
              return a.id < b.id;
            });
  file_out out{path};
  for (auto& sp : spans) {
    out.fmt("{\"trace_id\":\"%016" PRIx64 "%016" PRIx64 "\",", sp.trace_hi,
            sp.trace_lo);
    out.fmt("\"span_id\":\"%016" PRIx64 "\",", sp.id);
    if (sp.parent != 0)
      out.fmt("\"parent_span_id\":\"%016" PRIx64 "\",", sp.parent);
    else
      out.put("\"parent_span_id\":\"\",");
    out.put("\"service\":");
    out.json_string(name_of(sc, sp.service));
    out.fmt(",\"start\":%.6f,\"end\":%.6f,\"status\":\"%s\"}\n", sp.start,
            sp.end, sp.error ? "error" : "ok");
  }
  return finish(out, spans.size());
}

// -- logs
// ----------------------------------------------------------------------

namespace {

struct log_out {
  double ts = 0;
  uint32_t service = 0;
  std::string line;
};

constexpr std::array<const char*, 12> resources{
  "orders",   "items",   "users",    "carts",    "products", "payments",
  "sessions", "tickets", "bookings", "accounts", "invoices", "shipments"};
constexpr std::array<const char*, 8> tables{
  "orders",   "order_items", "users",  "inventory",
  "payments", "sessions",    "events", "accounts"};
constexpr std::array<const char*, 6> exceptions{
  "java.lang.NullPointerException: Cannot invoke \"Object.toString()\" "
  "because \"value\" is null",
  "java.lang.IllegalStateException: unexpected state PENDING",
  "KeyError: 'customer_id'",
  "TypeError: Cannot read properties of undefined (reading 'id')",
  "panic: runtime error: index out of range [3] with length 3",
  "System.InvalidOperationException: Sequence contains no elements"};

class log_builder {
public:
  explicit log_builder(const scenario& sc)
    : sc_(sc), g_(mix64(sc.spec.seed ^ 0x30)) {}

  std::vector<log_out>& run() {
    routine();
    for (auto& ep : sc_.episodes)
      fault_lines(ep);
    caller_lines();
    change_lines();
    spike_lines();
    return lines_;
  }

private:
  // -- formatting ------------------------------------------------------------

  std::string timestamp(double ts) const {
    auto secs = static_cast<time_t>(ts);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buf[40];
    auto ms = static_cast<int>((ts - static_cast<double>(secs)) * 1000);
    std::snprintf(buf, sizeof(buf), "%04d-%02d-%02d %02d:%02d:%02d.%03d",
                  tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                  tm.tm_min, tm.tm_sec, ms);
    return buf;
  }

  void emit(uint32_t s, double ts, const char* level, const std::string& msg) {
    auto& p = sc_.profiles[s];
    auto& node = sc_.graph.nodes[s];
    std::string line;
    bool own_level = msg.rfind("LOG:", 0) == 0 || msg.rfind("ERROR:", 0) == 0
                     || msg.rfind("WARNING:", 0) == 0
                     || msg.rfind("FATAL:", 0) == 0;
    if (node.role == service_role::store && own_level) {
      line = msg; // database lines carry their own level word
    } else if (node.role == service_role::store || p.log_style == 0) {
      line = std::string{level} + " " + msg;
    } else if (p.log_style == 1) {
      std::string lower = level;
      for (auto& c : lower)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      std::string quoted;
      for (char c : msg)
        quoted += c == '"' ? std::string{"\\\""} : std::string(1, c);
      auto stamp = timestamp(ts);
      stamp[10] = 'T';
      line = "ts=" + stamp + "Z level=" + lower + " msg=\"" + quoted + "\"";
    } else {
      char thread[40];
      std::snprintf(thread, sizeof(thread), "http-nio-8080-exec-%d",
                    static_cast<int>(g_.range(1, 24)));
      std::string logger = "c.s." + node.domain + ".RequestHandler";
      std::replace(logger.begin(), logger.end(), '-', '_');
      line = timestamp(ts) + " " + level + " [" + thread + "] " + logger + " : "
             + msg;
    }
    lines_.push_back({std::round(ts * 1000) / 1000, s, std::move(line)});
  }

  std::string num(double x, const char* format = "%.0f") {
    char buf[32];
    std::snprintf(buf, sizeof(buf), format, x);
    return buf;
  }

  std::string callee_of(uint32_t s) {
    auto& out = sc_.graph.out[s];
    if (out.empty())
      return "localhost";
    return sc_.graph.nodes[sc_.graph.edges[out[g_.index(out.size())]].callee]
      .name;
  }

  std::string routine_message(uint32_t s, bool& warn, bool& error) {
    auto& node = sc_.graph.nodes[s];
    auto res = pick(g_, resources);
    auto tbl = pick(g_, tables);
    auto id = num(static_cast<double>(g_.range(1000, 999999)));
    auto ms = num(sc_.profiles[s].base_p99 / 3 * std::exp(g_.normal(0, 0.5)));
    // Benign warnings and errors happen everywhere, all the time.
    if (g_.chance(0.03)) {
      if (g_.chance(0.4))
        error = true;
      else
        warn = true;
      switch (node.store) {
        case store_kind::database:
          return error ? std::string{"ERROR:  duplicate key value violates "
                                     "unique constraint \""}
                           + tbl + "_pkey\""
                       : "WARNING:  checkpoints are occurring too frequently ("
                           + num(g_.range(10, 29)) + " seconds apart)";
        case store_kind::cache:
          return "WARNING overcommit_memory is set to 0! Background save may "
                 "fail under low memory condition.";
        case store_kind::queue:
          return "[Consumer clientId=consumer-" + num(g_.range(1, 9))
                 + "] Offset commit failed on partition " + res + "-"
                 + num(g_.range(0, 11)) + ", retrying";
        case store_kind::search:
          return std::string{"[index-"} + res + "] slow query took["
                 + num(g_.range(1000, 4000)) + "ms]";
        case store_kind::none:
          break;
      }
      switch (g_.index(5)) {
        case 0:
          warn = true;
          error = false;
          return "slow request GET /api/" + std::string{res} + "/" + id
                 + " took " + num(g_.range(800, 2500)) + "ms";
        case 1:
          warn = true;
          error = false;
          return "retrying call to " + callee_of(s) + " (attempt 2/3)";
        case 2:
          return "failed to flush metrics batch: connection reset by peer";
        case 3:
          warn = true;
          error = false;
          return "deprecated config key 'http.max_idle' is ignored";
        default:
          return "request " + id
                 + " failed: validation error: missing field 'quantity'";
      }
    }
    switch (node.store) {
      case store_kind::database:
        switch (g_.index(4)) {
          case 0:
            return "LOG:  duration: " + ms + " ms  statement: SELECT * FROM "
                   + tbl + " WHERE id = $1";
          case 1:
            return "LOG:  checkpoint complete: wrote " + num(g_.range(10, 5000))
                   + " buffers";
          case 2:
            return std::string{"LOG:  automatic vacuum of table \"app.public."}
                   + tbl + "\": index scans: 1";
          default:
            return "LOG:  connection authorized: user=app database=app";
        }
      case store_kind::cache:
        switch (g_.index(3)) {
          case 0:
            return "Accepted connection from 10." + num(g_.range(0, 255)) + "."
                   + num(g_.range(0, 255)) + "." + num(g_.range(1, 254)) + ":"
                   + num(g_.range(30000, 60000));
          case 1:
            return "Background saving started by pid "
                   + num(g_.range(100, 30000));
          default:
            return num(g_.range(10, 10000))
                   + " changes in 300 seconds. Saving...";
        }
      case store_kind::queue:
        switch (g_.index(3)) {
          case 0:
            return std::string{"[GroupCoordinator] Preparing to rebalance "
                               "group "}
                   + res + "-consumers";
          case 1:
            return "Rolled new log segment at offset "
                   + num(g_.range(1000, 99999999)) + " for partition " + res
                   + "-" + num(g_.range(0, 11));
          default:
            return "Deleting segment " + num(g_.range(1000, 9999999))
                   + " from partition " + res + "-" + num(g_.range(0, 11));
        }
      case store_kind::search:
        return std::string{"[index-"} + res + "] refreshed in " + ms + "ms";
      case store_kind::none:
        break;
    }
    switch (g_.index(8)) {
      case 0:
        return "GET /api/" + std::string{res} + "/" + id + " 200 " + ms + "ms";
      case 1:
        return "POST /api/" + std::string{res} + " 201 " + ms + "ms";
      case 2:
        return "processed " + std::string{res} + " id=" + id + " in " + ms
               + "ms";
      case 3:
        return "cache refresh completed: " + num(g_.range(100, 50000))
               + " entries";
      case 4:
        return "scheduled job cleanup-" + std::string{res} + " finished in "
               + num(g_.uniform(0.2, 30), "%.1f") + "s";
      case 5:
        return "health check passed";
      case 6:
        return "published event " + std::string{res} + ".updated id=" + id;
      default:
        return "request " + id + " completed status=200 duration=" + ms + "ms";
    }
  }

  // -- line sources ----------------------------------------------------------

  void routine() {
    auto& time = sc_.time;
    double t0 = time.ts(0);
    double duration = time.end_ts - t0;
    for (uint32_t s = 0; s < sc_.graph.nodes.size(); ++s) {
      auto count = g_.poisson(sc_.profiles[s].log_rate * duration);
      for (uint64_t i = 0; i < count; ++i) {
        bool warn = false;
        bool error = false;
        auto msg = routine_message(s, warn, error);
        auto level = error ? "ERROR" : warn ? "WARN" : "INFO";
        emit(s, g_.uniform(t0, time.end_ts), level, msg);
      }
    }
  }

  // Lines per step at rate `per_s`, spread over the step.
  template <class F>
  void per_step(size_t k, double per_s, F make) {
    auto n = g_.poisson(per_s * sc_.time.step);
    for (uint64_t i = 0; i < n; ++i)
      make(sc_.time.ts(k) + g_.uniform(0, sc_.time.step));
  }

  void fault_lines(const episode& ep) {
    auto& time = sc_.time;
    auto r = ep.root;
    auto& p = sc_.profiles[r];
    auto& node = sc_.graph.nodes[r];
    bool store = node.role == service_role::store;
    bool was_restarting = false;
    for (size_t k = 0; k < time.steps; ++k) {
      double t = time.ts(k);
      auto st = state_at(ep, p, t);
      if (st.strength <= 0) {
        was_restarting = false;
        continue;
      }
      double quiet = ep.subtle ? 0.2 : 1.0;
      switch (ep.kind) {
        case fault_kind::cpu_hog:
          per_step(k, 0.08 * st.strength * quiet, [&](double ts) {
            auto ms
              = num(p.own_p99 * (1 + ep.lat_factor) * g_.uniform(0.8, 2.0));
            if (store) {
              emit(r, ts, "LOG",
                   "LOG:  duration: " + ms
                     + " ms  statement: "
                       "SELECT count(*) FROM "
                     + std::string{pick(g_, tables)});
              return;
            }
            switch (g_.index(3)) {
              case 0:
                emit(r, ts, "WARN",
                     "request processing slow: " + ms + "ms (threshold 500ms)");
                break;
              case 1:
                emit(r, ts, "WARN",
                     "worker pool saturated: " + num(g_.range(20, 600))
                       + " requests queued");
                break;
              default:
                emit(r, ts, "WARN", "event loop blocked for " + ms + "ms");
            }
          });
          break;
        case fault_kind::memory_leak:
          if (st.restarting) {
            if (!was_restarting) {
              double ts = t + g_.uniform(0, time.step / 2);
              emit(r, ts, "ERROR",
                   store ? "OOM command not allowed when used memory > "
                           "'maxmemory'"
                   : g_.chance(0.5)
                     ? "java.lang.OutOfMemoryError: Java heap space"
                     : "fatal error: runtime: out of memory");
              emit(r, ts + ep.restart_s, "INFO",
                   "starting " + node.name + " (pid " + num(g_.range(1, 300))
                     + ")");
            }
            was_restarting = true;
            break;
          }
          was_restarting = false;
          per_step(k, 0.15 * st.pressure * st.pressure * quiet, [&](double ts) {
            double used = (p.mem_base + st.mem_add) / p.mem_limit;
            if (g_.chance(0.5))
              emit(r, ts, "WARN",
                   "GC pause " + num(g_.range(200, 2500)) + "ms, heap "
                     + num(used * 100) + "% used");
            else
              emit(r, ts, "WARN",
                   "high memory usage: "
                     + num((p.mem_base + st.mem_add) / 1048576) + "MB of "
                     + num(p.mem_limit / 1048576) + "MB");
          });
          break;
        case fault_kind::latency:
          per_step(k, 0.004, [&](double ts) {
            emit(r, ts, "WARN",
                 "client closed connection before response was sent");
          });
          break;
        case fault_kind::errors: {
          double rate
            = std::min(1.5, std::max(0.02, st.own_err * p.rate * 0.05)) * quiet;
          per_step(k, rate, [&](double ts) {
            if (store) {
              emit(r, ts, "ERROR",
                   g_.chance(0.5) ? "ERROR:  deadlock detected"
                                  : "FATAL:  sorry, too many clients already");
              return;
            }
            auto res = std::string{pick(g_, resources)};
            if (g_.chance(0.5))
              emit(r, ts, "ERROR",
                   "unhandled exception in handler /api/" + res + ": "
                     + pick(g_, exceptions));
            else
              emit(r, ts, "ERROR",
                   "POST /api/" + res + " 500 Internal Server Error ("
                     + num(p.own_p99 * g_.uniform(0.3, 1.5)) + "ms)");
          });
          break;
        }
        case fault_kind::pool_exhaustion: {
          double sat = std::max(0.0, (st.pool_fill - 0.85) / 0.15);
          double rate
            = sat * std::min(1.5, 0.1 + st.own_err * p.rate * 0.05) * quiet;
          auto max = num(p.pool_max);
          per_step(k, rate, [&](double ts) {
            switch (g_.index(3)) {
              case 0:
                emit(r, ts, "ERROR",
                     "connection pool exhausted (max=" + max + ", in use=" + max
                       + "), waited " + num(ep.pool_wait_ms) + "ms");
                break;
              case 1:
                emit(r, ts, "ERROR",
                     "HikariPool-1 - Connection is not available, request "
                     "timed out after "
                       + num(ep.pool_wait_ms) + "ms.");
                break;
              default:
                emit(r, ts, "WARN",
                     num(g_.range(5, 200))
                       + " threads waiting for a database "
                         "connection");
            }
          });
          break;
        }
      }
    }
  }

  // Callers that suffer say so, naming the callee trouble came through.
  void caller_lines() {
    auto& time = sc_.time;
    for (auto s : sc_.by_name) {
      auto* tr = sc_.find_track(s);
      if (tr == nullptr || tr->via_edge < 0)
        continue;
      auto& edge = sc_.graph.edges[static_cast<size_t>(tr->via_edge)];
      auto& ep = sc_.edge_profiles[static_cast<size_t>(tr->via_edge)];
      auto& callee = sc_.graph.nodes[edge.callee].name;
      auto& p = sc_.profiles[s];
      bool entry = sc_.graph.nodes[s].role == service_role::entry;
      double headroom = ep.timeout_ms - sc_.profiles[edge.callee].base_p99;
      for (size_t k = 0; k < time.steps; ++k) {
        double lat = tr->lat[k] - tr->own_lat[k];
        double err = std::max(0.0f, tr->err[k] - tr->own_err[k]);
        if (lat < 0.5 * p.base_p99 && err < 0.01)
          continue;
        bool timeouts = lat >= 0.8 * headroom;
        double rate = std::min(1.0, err * p.rate * 0.05)
                      + (lat >= 0.5 * p.base_p99 ? 0.02 : 0.0);
        per_step(k, rate, [&](double ts) {
          if (timeouts && g_.chance(0.7)) {
            emit(s, ts, "ERROR",
                 g_.chance(0.6)
                   ? "timeout after " + num(ep.timeout_ms) + "ms calling "
                       + callee
                   : "context deadline exceeded calling " + callee);
          } else if (err >= 0.01 && g_.chance(0.8)) {
            auto res = std::string{pick(g_, resources)};
            switch (g_.index(entry ? 4 : 3)) {
              case 0:
                emit(s, ts, "ERROR",
                     "upstream " + callee
                       + " returned 503 Service Unavailable");
                break;
              case 1:
                emit(s, ts, "ERROR",
                     "request to " + callee
                       + " failed: 500 Internal Server Error");
                break;
              case 2:
                emit(s, ts, "WARN", "circuit breaker '" + callee + "' is OPEN");
                break;
              default:
                emit(s, ts, "ERROR",
                     "GET /api/" + res + " 502 Bad Gateway ("
                       + num(p.base_p99 + lat) + "ms)");
            }
          } else {
            emit(s, ts, "WARN",
                 "slow call to " + callee + ": "
                   + num(sc_.profiles[edge.callee].base_p99
                         + lat * g_.uniform(0.7, 1.2))
                   + "ms");
          }
        });
      }
    }
  }

  void change_lines() {
    for (auto& c : sc_.changes) {
      auto& node = sc_.graph.nodes[c.service];
      if (c.kind == "deploy") {
        emit(c.service, c.ts + g_.uniform(2, 15), "INFO",
             "starting " + node.name + " version " + c.version);
        emit(c.service, c.ts + g_.uniform(15, 30), "INFO",
             "listening on port " + num(g_.range(8000, 9100)));
      } else if (c.kind == "config") {
        emit(c.service, c.ts + g_.uniform(1, 10), "INFO",
             "configuration reloaded (" + c.version + ")");
      }
    }
  }

  void spike_lines() {
    for (auto& sp : sc_.spikes) {
      if (!g_.chance(0.6))
        continue;
      double ts = g_.uniform(sp.start, std::max(sp.start + 1, sp.end));
      switch (sp.what) {
        case benign_spike::type::latency:
          emit(sp.service, ts, "WARN",
               "slow request GET /api/" + std::string{pick(g_, resources)}
                 + " took "
                 + num(sc_.profiles[sp.service].base_p99 * g_.uniform(2, 5))
                 + "ms");
          break;
        case benign_spike::type::errors:
          emit(sp.service, ts, "ERROR",
               "request failed: " + std::string{pick(g_, exceptions)});
          break;
        case benign_spike::type::cpu:
          emit(sp.service, ts, "INFO",
               "scheduled job reindex-" + std::string{pick(g_, resources)}
                 + " started");
          break;
        default:
          break;
      }
    }
  }

  const scenario& sc_;
  rng g_;
  std::vector<log_out> lines_;
};

} // namespace

caf::expected<emit_result> write_logs(const scenario& sc,
                                      const std::string& path) {
  log_builder b{sc};
  auto& lines = b.run();
  // Nothing after the window (a restart line, a deploy's second line).
  lines.erase(
    std::remove_if(lines.begin(), lines.end(),
                   [&](const log_out& l) { return l.ts > sc.time.end_ts; }),
    lines.end());
  // Ties by service name, so equal timestamps do not keep generation order.
  std::stable_sort(lines.begin(), lines.end(),
                   [&](const log_out& a, const log_out& b) {
                     if (a.ts != b.ts)
                       return a.ts < b.ts;
                     return name_of(sc, a.service) < name_of(sc, b.service);
                   });
  file_out out{path};
  for (auto& l : lines) {
    out.fmt("{\"ts\":%.3f,\"service\":", l.ts);
    out.json_string(name_of(sc, l.service));
    out.put(",\"line\":");
    out.json_string(l.line);
    out.put("}\n");
  }
  return finish(out, lines.size());
}

// -- the small files
// -----------------------------------------------------------

caf::expected<emit_result> write_changes(const scenario& sc,
                                         const std::string& path) {
  file_out out{path};
  for (auto& c : sc.changes) {
    out.fmt("{\"ts\":%.3f,\"service\":", c.ts);
    out.json_string(name_of(sc, c.service));
    out.put(",\"kind\":");
    out.json_string(c.kind);
    out.put(",\"version\":");
    out.json_string(c.version);
    out.put("}\n");
  }
  return finish(out, sc.changes.size());
}

caf::expected<emit_result> write_topology(const scenario& sc,
                                          const std::string& path) {
  std::vector<std::pair<std::string, std::string>> edges;
  for (auto& e : sc.graph.edges)
    edges.emplace_back(name_of(sc, e.caller), name_of(sc, e.callee));
  std::sort(edges.begin(), edges.end());
  file_out out{path};
  out.put("caller,callee\n");
  for (auto& [a, b] : edges) {
    out.put(a);
    out.put(',');
    out.put(b);
    out.put('\n');
  }
  return finish(out, edges.size());
}

caf::expected<emit_result> write_window(const scenario& sc,
                                        const std::string& path) {
  file_out out{path};
  out.fmt("{\"start_ts\":%.0f,\"end_ts\":%.0f}\n", sc.time.start_ts,
          sc.time.end_ts);
  return finish(out, 1);
}

caf::expected<emit_result> write_truth(const scenario& sc,
                                       const std::string& path) {
  auto& ep = sc.episodes.front();
  file_out out{path};
  out.put("{\"root_cause_service\":");
  out.json_string(name_of(sc, ep.root));
  out.put(",\"fault\":");
  out.json_string(to_string(ep.kind));
  out.fmt(",\"inject_ts\":%.3f}\n", ep.start);
  return finish(out, 1);
}

} // namespace vigil::sim
