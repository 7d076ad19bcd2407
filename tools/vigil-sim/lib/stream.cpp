#include "tools/vigil-sim/lib/stream.hpp"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <map>
#include <optional>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "messages/errc.hpp"
#include "runtime/codec/json_support.hpp"
#include "runtime/http/client.hpp"
#include "tools/vigil-sim/lib/rca_case.hpp"

namespace vigil::sim {

namespace {

using clock_type = std::chrono::steady_clock;

std::atomic<bool> interrupted{false};

extern "C" void on_interrupt(int) {
  interrupted.store(true);
}

// -- the target
// ----------------------------------------------------------------

struct target {
  std::string host;
  uint16_t port = 80;
  /// Path prefix in front of the endpoints ("" for a node itself).
  std::string prefix;
};

std::optional<target> parse_url(const std::string& url, std::string& why) {
  std::string_view rest = url;
  if (rest.rfind("http://", 0) == 0) {
    rest.remove_prefix(7);
  } else if (rest.find("://") != std::string_view::npos) {
    why = "only http:// URLs are supported";
    return std::nullopt;
  }
  target t;
  if (!rest.empty() && rest.front() == '[') {
    auto close = rest.find(']');
    if (close == std::string_view::npos) {
      why = "unbalanced '['";
      return std::nullopt;
    }
    t.host = std::string{rest.substr(1, close - 1)};
    rest.remove_prefix(close + 1);
  } else {
    auto stop = rest.find_first_of(":/");
    t.host = std::string{rest.substr(0, stop)};
    rest.remove_prefix(stop == std::string_view::npos ? rest.size() : stop);
  }
  if (t.host.empty()) {
    why = "no host";
    return std::nullopt;
  }
  if (!rest.empty() && rest.front() == ':') {
    rest.remove_prefix(1);
    auto stop = rest.find('/');
    auto port = std::string{rest.substr(0, stop)};
    char* end = nullptr;
    auto v = std::strtoul(port.c_str(), &end, 10);
    if (port.empty() || *end != '\0' || v == 0 || v > 65535) {
      why = "bad port '" + port + "'";
      return std::nullopt;
    }
    t.port = static_cast<uint16_t>(v);
    rest.remove_prefix(stop == std::string_view::npos ? rest.size() : stop);
  }
  t.prefix = std::string{rest};
  while (!t.prefix.empty() && t.prefix.back() == '/')
    t.prefix.pop_back();
  return t;
}

// -- bodies
// --------------------------------------------------------------------

// JSON strings are escaped by the codec's own writer.
using codec::append_json_string;

void append_number(std::string& out, const char* format, double x) {
  char buf[48];
  std::snprintf(buf, sizeof(buf), format, x);
  out += buf;
}

void append_value(std::string& out, double v) {
  if (std::isnan(v))
    out += "\"NaN\"";
  else if (std::isinf(v))
    out += v > 0 ? "\"+Inf\"" : "\"-Inf\"";
  else
    append_number(out, "%.10g", v);
}

std::string unix_nanos(double seconds) {
  // Microsecond precision is what the case files hold.
  auto us = static_cast<int64_t>(std::llround(seconds * 1e6));
  return std::to_string(us) + "000";
}

/// The streams, in the order their buffers flush at a slice end.
enum stream_id : uint8_t { metrics, traces, logs, changes, stream_count };

constexpr const char* stream_file[]
  = {"metrics.csv", "traces.jsonl", "logs.jsonl", "changes.jsonl"};
constexpr const char* stream_name[]
  = {"samples", "spans", "log lines", "changes"};

struct event {
  double ts;
  uint32_t index;
  uint8_t stream;
};

struct stream_totals {
  uint64_t items = 0;
  uint64_t accepted = 0;
  uint64_t requests = 0;
  uint64_t bytes = 0;
};

class streamer {
public:
  streamer(const stream_options& opts, const target& t, rca_case c)
    : opts_(opts), target_(t), case_(std::move(c)),
      client_(t.host, t.port,
              std::chrono::milliseconds{
                static_cast<int64_t>(opts.timeout_s * 1000)}) {
    headers_.emplace_back("User-Agent", "vigil-sim");
    if (!opts.token.empty())
      headers_.emplace_back("Authorization", "Bearer " + opts.token);
  }

  int run() {
    auto started = clock_type::now();
    if (case_.has_topology && !send_topology())
      return finish(started, 1);
    auto events = merged_events();
    if (events.empty()) {
      std::cerr << "vigil-sim: the case holds no events\n";
      return finish(started, 1);
    }
    double first = events.front().ts;
    double last = events.back().ts;
    double slice = opts_.speed > 0 ? opts_.speed : opts_.slice_s;
    double slice_end = first + slice;
    auto wall0 = clock_type::now();
    auto last_progress = wall0;
    for (auto& ev : events) {
      if (interrupted.load()) {
        std::cerr << "vigil-sim: interrupted\n";
        return finish(started, 1);
      }
      while (ev.ts >= slice_end) {
        if (!end_slice(wall0, first, slice_end))
          return finish(started, 1);
        slice_end += slice;
        // Skip quiet stretches in one go.
        if (ev.ts >= slice_end && opts_.speed <= 0)
          slice_end = first + std::floor((ev.ts - first) / slice + 1) * slice;
      }
      // Changes keep their place in event time: what came before one is
      // posted before it, and it before what comes after (a deploy is
      // known before its effects show, as a CD hook reports it).
      if (ev.stream == changes) {
        for (uint8_t s = 0; s < stream_count; ++s)
          if (s != changes && !flush(s))
            return finish(started, 1);
      } else if (!pending_[changes].empty() && !flush(changes)) {
        return finish(started, 1);
      }
      auto& buf = pending_[ev.stream];
      buf.push_back(ev.index);
      if (buf.size() >= opts_.batch && !flush(ev.stream))
        return finish(started, 1);
      if (!opts_.quiet
          && clock_type::now() - last_progress > std::chrono::seconds{5}) {
        last_progress = clock_type::now();
        std::fprintf(
          stderr, "vigil-sim: event time %.0f s of %.0f s (%.0f%%)\n",
          ev.ts - first, last - first,
          last > first ? 100 * (ev.ts - first) / (last - first) : 100.0);
      }
    }
    if (!end_slice(wall0, first, slice_end))
      return finish(started, 1);
    return finish(started, 0);
  }

private:
  std::vector<event> merged_events() const {
    std::vector<event> events;
    events.reserve(case_.metrics.size() + case_.spans.size() + case_.logs.size()
                   + case_.changes.size());
    for (uint32_t i = 0; i < case_.metrics.size(); ++i)
      events.push_back({case_.metrics[i].ts, i, metrics});
    // A span is exported when it ends.
    for (uint32_t i = 0; i < case_.spans.size(); ++i)
      events.push_back({case_.spans[i].end, i, traces});
    for (uint32_t i = 0; i < case_.logs.size(); ++i)
      events.push_back({case_.logs[i].ts, i, logs});
    for (uint32_t i = 0; i < case_.changes.size(); ++i)
      events.push_back({case_.changes[i].ts, i, changes});
    std::sort(events.begin(), events.end(), [](const event& a, const event& b) {
      if (a.ts != b.ts)
        return a.ts < b.ts;
      if (a.stream != b.stream)
        return a.stream < b.stream;
      return a.index < b.index;
    });
    return events;
  }

  // Waits until the slice is due (with --speed) and flushes every stream,
  // oldest first.
  bool end_slice(clock_type::time_point wall0, double first, double slice_end) {
    if (opts_.speed > 0) {
      auto due
        = wall0
          + std::chrono::duration_cast<clock_type::duration>(
            std::chrono::duration<double>((slice_end - first) / opts_.speed));
      while (clock_type::now() < due && !interrupted.load())
        std::this_thread::sleep_for(std::min<clock_type::duration>(
          due - clock_type::now(), std::chrono::milliseconds{100}));
    }
    std::vector<std::pair<double, uint8_t>> order;
    for (uint8_t s = 0; s < stream_count; ++s)
      if (!pending_[s].empty())
        order.emplace_back(ts_of(s, pending_[s].front()), s);
    std::sort(order.begin(), order.end());
    for (auto& [ts, s] : order)
      if (!flush(s))
        return false;
    return true;
  }

  double ts_of(uint8_t s, uint32_t i) const {
    switch (s) {
      case metrics:
        return case_.metrics[i].ts;
      case traces:
        return case_.spans[i].end;
      case logs:
        return case_.logs[i].ts;
      default:
        return case_.changes[i].ts;
    }
  }

  uint32_t line_of(uint8_t s, uint32_t i) const {
    switch (s) {
      case metrics:
        return case_.metrics[i].line;
      case traces:
        return case_.spans[i].line;
      case logs:
        return case_.logs[i].line_no;
      default:
        return case_.changes[i].line;
    }
  }

  std::string samples_body(const std::vector<uint32_t>& xs) const {
    std::string body;
    body.reserve(xs.size() * 90);
    for (auto i : xs) {
      auto& m = case_.metrics[i];
      body += "{\"service\":";
      append_json_string(body, case_.services[m.service]);
      body += ",\"metric\":";
      append_json_string(body, case_.metric_names[m.metric]);
      body += ",\"value\":";
      append_value(body, m.value);
      body += ",\"ts\":";
      append_number(body, "%.3f", m.ts);
      body += "}\n";
    }
    return body;
  }

  std::string logs_body(const std::vector<uint32_t>& xs) const {
    std::string body;
    for (auto i : xs) {
      auto& l = case_.logs[i];
      body += "{\"ts\":";
      append_number(body, "%.3f", l.ts);
      body += ",\"service\":";
      append_json_string(body, l.service);
      body += ",\"line\":";
      append_json_string(body, l.line);
      body += "}\n";
    }
    return body;
  }

  std::string changes_body(const std::vector<uint32_t>& xs) const {
    std::string body;
    for (auto i : xs) {
      auto& c = case_.changes[i];
      body += "{\"service\":";
      append_json_string(body, c.service);
      body += ",\"kind\":";
      append_json_string(body, c.kind);
      if (!c.version.empty()) {
        body += ",\"version\":";
        append_json_string(body, c.version);
      }
      body += ",\"ts\":";
      append_number(body, "%.3f", c.ts);
      body += "}\n";
    }
    return body;
  }

  // OTLP/JSON ExportTraceServiceRequest: one resourceSpans per service.
  std::string traces_body(const std::vector<uint32_t>& xs) const {
    std::map<std::string_view, std::vector<uint32_t>> by_service;
    for (auto i : xs)
      by_service[case_.spans[i].service].push_back(i);
    std::string body = "{\"resourceSpans\":[";
    bool first_rs = true;
    for (auto& [service, idx] : by_service) {
      if (!first_rs)
        body += ',';
      first_rs = false;
      body += "{\"resource\":{\"attributes\":[{\"key\":\"service.name\","
              "\"value\":{\"stringValue\":";
      append_json_string(body, service);
      body += "}}]},\"scopeSpans\":[{\"scope\":{\"name\":\"vigil-sim\"},"
              "\"spans\":[";
      bool first_span = true;
      for (auto i : idx) {
        auto& s = case_.spans[i];
        if (!first_span)
          body += ',';
        first_span = false;
        body += "{\"traceId\":";
        append_json_string(body, s.trace_id);
        body += ",\"spanId\":";
        append_json_string(body, s.span_id);
        if (!s.parent_span_id.empty()) {
          body += ",\"parentSpanId\":";
          append_json_string(body, s.parent_span_id);
        }
        body += ",\"name\":\"request\",\"kind\":2,\"startTimeUnixNano\":\"";
        body += unix_nanos(s.start);
        body += "\",\"endTimeUnixNano\":\"";
        body += unix_nanos(s.end);
        body += "\"";
        if (s.error)
          body += ",\"status\":{\"code\":2}";
        body += '}';
      }
      body += "]}]}";
    }
    body += "]}";
    return body;
  }

  bool send_topology() {
    // Chunks well below the node's limit of 100,000 edges per update.
    constexpr size_t chunk = 50'000;
    for (size_t at = 0; at < case_.edges.size(); at += chunk) {
      std::string body = "{\"edges\":[";
      auto end = std::min(case_.edges.size(), at + chunk);
      for (size_t i = at; i < end; ++i) {
        if (i > at)
          body += ',';
        body += "{\"caller\":";
        append_json_string(body, case_.edges[i].caller);
        body += ",\"callee\":";
        append_json_string(body, case_.edges[i].callee);
        body += '}';
      }
      body += "]}";
      auto first_line = case_.edges[at].line;
      auto last_line = case_.edges[end - 1].line;
      std::string what = "topology.csv lines " + std::to_string(first_line)
                         + "-" + std::to_string(last_line);
      if (!post("/api/v1/topology", "application/json", std::move(body), what,
                nullptr))
        return false;
      topology_edges_ += end - at;
    }
    return true;
  }

  bool flush(uint8_t s) {
    auto& xs = pending_[s];
    if (xs.empty())
      return true;
    std::string body;
    std::string path;
    std::string type;
    switch (s) {
      case metrics:
        body = samples_body(xs);
        path = "/api/v1/samples";
        type = "application/x-ndjson";
        break;
      case traces:
        body = traces_body(xs);
        path = "/v1/traces";
        type = "application/json";
        break;
      case logs:
        body = logs_body(xs);
        path = "/api/v1/logs";
        type = "application/x-ndjson";
        break;
      default:
        body = changes_body(xs);
        path = "/api/v1/changes";
        type = "application/x-ndjson";
        break;
    }
    auto first = line_of(s, xs.front());
    auto last = first;
    for (auto i : xs)
      last = std::max(last, line_of(s, i));
    std::string what = std::string{stream_file[s]} + " lines "
                       + std::to_string(first) + "-" + std::to_string(last);
    auto& t = totals_[s];
    t.bytes += body.size();
    uint64_t accepted = 0;
    bool ok = post(path, type, std::move(body), what, &accepted, s);
    if (ok) {
      t.items += xs.size();
      // OTLP answers carry no count: all spans of an accepted body count.
      t.accepted += s == traces ? xs.size() : accepted;
    }
    xs.clear();
    return ok;
  }

  // Posts one body; retries throttling and dropped connections within
  // bounds. `what` names the rows for error messages; `s` lets a server
  // message that names a body line be mapped back to the case file.
  bool post(const std::string& path, const std::string& type, std::string body,
            const std::string& what, uint64_t* accepted, int s = -1) {
    auto headers = headers_;
    headers.emplace_back("Content-Type", type);
    double backoff = 0.2;
    uint32_t transport_failures = 0;
    for (uint32_t attempt = 0;; ++attempt) {
      auto r
        = client_.send(http::verb::post, target_.prefix + path, body, headers);
      if (s >= 0)
        ++totals_[s].requests;
      if (!r) {
        if (++transport_failures >= 3) {
          std::cerr << "vigil-sim: " << what
                    << ": cannot reach the node: " << vigil::render(r.error())
                    << "\n";
          return false;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds{200});
        continue;
      }
      if (r->status >= 200 && r->status < 300) {
        if (accepted != nullptr) {
          auto doc = nlohmann::json::parse(r->body, nullptr, false);
          if (!doc.is_discarded() && doc.is_object() && doc.contains("accepted")
              && doc["accepted"].is_number())
            *accepted = doc["accepted"].get<uint64_t>();
        }
        return true;
      }
      if ((r->status == 429 || r->status == 503) && attempt < opts_.max_retries
          && !interrupted.load()) {
        ++throttled_;
        double wait = backoff;
        auto header = r->header("Retry-After");
        char* end = nullptr;
        double v = std::strtod(header.c_str(), &end);
        if (!header.empty() && end != header.c_str() && std::isfinite(v)
            && v >= 0)
          wait = v;
        wait = std::min(wait, opts_.max_retry_wait);
        backoff = std::min(backoff * 2, opts_.max_retry_wait);
        std::this_thread::sleep_for(std::chrono::duration<double>(wait));
        continue;
      }
      std::cerr << "vigil-sim: " << locate(what, r->body, s)
                << ": the node answered " << r->status << ": "
                << r->body.substr(0, 500) << "\n";
      return false;
    }
  }

  // Narrows "file lines a-b" to "file:N" when the node's message names
  // line K of the body (NDJSON bodies hold one item per line).
  std::string locate(const std::string& what, const std::string& answer,
                     int s) const {
    if (s < 0 || s == traces)
      return what;
    // The node's 400 body is {"error":..,"detail":"line K[...]"}.
    auto doc = nlohmann::json::parse(answer, nullptr, false);
    if (doc.is_discarded() || !doc.is_object() || !doc.contains("detail")
        || !doc["detail"].is_string())
      return what;
    auto detail = doc["detail"].get<std::string>();
    unsigned long k = 0;
    for (auto at = detail.find("line "); at != std::string::npos;
         at = detail.find("line ", at + 1)) {
      if (at + 5 < detail.size()
          && std::isdigit(static_cast<unsigned char>(detail[at + 5]))) {
        k = std::strtoul(detail.c_str() + at + 5, nullptr, 10);
        break;
      }
    }
    auto& xs = pending_[static_cast<size_t>(s)];
    if (k == 0 || k > xs.size())
      return what;
    return std::string{stream_file[s]} + ":"
           + std::to_string(line_of(static_cast<uint8_t>(s), xs[k - 1]));
  }

  int finish(clock_type::time_point started, int rc) {
    if (!opts_.totals)
      return rc;
    double secs
      = std::chrono::duration<double>(clock_type::now() - started).count();
    std::printf("vigil-sim: streamed %s to http://%s:%u%s in %.1f s%s\n",
                case_.dir.c_str(), target_.host.c_str(), target_.port,
                target_.prefix.c_str(), secs,
                rc == 0 ? "" : " (stopped early)");
    if (case_.has_topology)
      std::printf("  topology   %" PRIu64 " edges\n", topology_edges_);
    for (uint8_t s = 0; s < stream_count; ++s) {
      auto& t = totals_[s];
      std::printf("  %-10s sent %" PRIu64 "  accepted %" PRIu64
                  "  requests %" PRIu64 "  %.1f MB\n",
                  stream_name[s], t.items, t.accepted, t.requests,
                  static_cast<double>(t.bytes) / 1e6);
    }
    if (throttled_ > 0)
      std::printf("  throttled  %" PRIu64 " answers (429/503) retried\n",
                  throttled_);
    std::fflush(stdout);
    return rc;
  }

  const stream_options& opts_;
  target target_;
  rca_case case_;
  http::client client_;
  http::header_list headers_;
  std::vector<uint32_t> pending_[stream_count];
  stream_totals totals_[stream_count];
  uint64_t topology_edges_ = 0;
  uint64_t throttled_ = 0;
};

} // namespace

int run_stream(const stream_options& opts) {
  std::string why;
  auto t = parse_url(opts.url, why);
  if (!t) {
    std::cerr << "vigil-sim: --to '" << opts.url << "': " << why << "\n";
    return 2;
  }
  auto c = read_case(opts.case_dir);
  if (!c) {
    std::cerr << "vigil-sim: " << vigil::render(c.error()) << "\n";
    return 1;
  }
  std::signal(SIGINT, on_interrupt);
  std::signal(SIGTERM, on_interrupt);
  streamer s{opts, *t, std::move(*c)};
  return s.run();
}

} // namespace vigil::sim
