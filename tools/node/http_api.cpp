#include "tools/node/http_api.hpp"

#include <algorithm>
#include <cmath>
#include <tuple>

#include <caf/event_based_actor.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "config/options.hpp"
#include "config/rules.hpp"
#include "messages/errc.hpp"
#include "runtime/clock.hpp"
#include "runtime/codec/alertmanager.hpp"
#include "runtime/codec/compression.hpp"
#include "runtime/codec/error.hpp"
#include "runtime/codec/ndjson.hpp"
#include "runtime/codec/otlp.hpp"
#include "runtime/codec/remote_write.hpp"
#include "runtime/secrets.hpp"
#include "tools/node/incident_api.hpp"
#include "tools/node/stats.hpp"
#include "tools/node/node.hpp"

namespace vigil::node {

namespace {

using http::access;
using http::request;
using http::responder;
using http::response;
using http::verb;
using json = nlohmann::json;

constexpr auto ask_timeout = std::chrono::seconds{10};

// -- small helpers -------------------------------------------------------------

// GET /api/v1/stats looks at this many of the newest incidents.
constexpr uint32_t stats_window = 1000;

std::string lower(std::string_view x) {
  std::string out{x};
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return out;
}

// The media type of a Content-Type header, lowercased, without parameters.
std::string media_type(std::string_view header) {
  auto semi = header.find(';');
  auto type = header.substr(0, semi);
  while (!type.empty() && (type.back() == ' ' || type.back() == '\t'))
    type.remove_suffix(1);
  while (!type.empty() && (type.front() == ' ' || type.front() == '\t'))
    type.remove_prefix(1);
  return lower(type);
}

response json_response(unsigned status, const json& body) {
  response r;
  r.status = status;
  r.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
  return r;
}

response accepted(uint64_t n) {
  return json_response(200, json{{"accepted", n}});
}

double seconds(int64_t ms) {
  return static_cast<double>(ms) / 1000.0;
}

json number_or_null(double x) {
  return std::isfinite(x) ? json(x) : json(nullptr);
}

/// Sends one request to an actor from an HTTP I/O thread without blocking
/// it: a short-lived actor makes the request and calls back.
template <class Reply, class Handle, class OnOk, class OnErr, class... Ts>
void ask(caf::actor_system& sys, const Handle& h, OnOk ok, OnErr fail,
         Ts&&... xs) {
  if (!h) {
    fail(caf::make_error(errc::unavailable, "the node is restarting a "
                                            "component",
                         "retry shortly"));
    return;
  }
  // The handle travels as a spawn argument: CAF 0.17 dereferences a null
  // argument tuple for actors spawned without any (UB that UBSan reports).
  sys.spawn(
    [ok = std::move(ok), fail = std::move(fail),
     args = std::make_tuple(std::forward<Ts>(xs)...)](
      caf::event_based_actor* self, const Handle& target) mutable {
      std::apply(
        [&](auto&... a) {
          self->request(target, ask_timeout, std::move(a)...)
            .then([ok](Reply& r) mutable { ok(r); },
                  [fail](caf::error& e) mutable { fail(e); });
        },
        args);
    },
    h);
}

// -- the API -------------------------------------------------------------------

class api {
public:
  explicit api(node& n) : n_(n), reg_(n.metrics()) {
    // Declared with their help texts when the node starts.
    requests_ = &reg_.counters("vigil_ingest_requests_total", "",
                               {"endpoint", "code"});
    rejected_ = &reg_.counters("vigil_ingest_rejected_total", "",
                               {"endpoint", "reason"});
    samples_ = &reg_.counters("vigil_ingest_samples_total", "",
                              {"endpoint"});
    http_requests_ = &reg_.counters(
      "vigil_http_requests_total",
      "HTTP requests answered, by endpoint and status code.",
      {"endpoint", "code"});
    http_rejected_ = &reg_.counters(
      "vigil_http_rejected_total",
      "Non-ingest HTTP requests refused, by endpoint and reason.",
      {"endpoint", "reason"});
    duration_ = &reg_.histograms(
      "vigil_ingest_request_duration_seconds",
      "Time from a complete ingest request to its answer (decode, admit, "
      "route), by endpoint.",
      {"endpoint"}, metrics::latency_buckets());
  }

  static bool is_ingest(std::string_view endpoint) {
    static constexpr std::string_view names[]
      = {"remote_write", "otlp_metrics", "otlp_traces", "otlp_logs",
         "alertmanager", "samples",      "logs",        "changes",
         "topology"};
    return std::find(std::begin(names), std::end(names), endpoint)
           != std::end(names);
  }

  void observe_duration(std::string_view endpoint, int64_t t0) {
    duration_->with({endpoint}).observe(
      static_cast<double>(mono_ns() - t0) / 1e9);
  }

  void count_response(std::string_view endpoint, unsigned status) {
    auto code = std::to_string(status);
    http_requests_->with({endpoint, code}).inc();
    if (is_ingest(endpoint))
      requests_->with({endpoint, code}).inc();
  }

  void count_reject(std::string_view endpoint, std::string_view reason) {
    if (is_ingest(endpoint))
      rejected_->with({endpoint, reason}).inc();
    else
      http_rejected_->with({endpoint, reason}).inc();
  }

  /// The bearer token of a request; empty when there is none.
  static std::string_view bearer_of(const boost::beast::http::fields& headers) {
    auto it = headers.find(boost::beast::http::field::authorization);
    if (it == headers.end())
      return {};
    std::string_view value{it->value().data(), it->value().size()};
    constexpr std::string_view bearer = "Bearer ";
    if (value.size() <= bearer.size()
        || lower(value.substr(0, bearer.size())) != "bearer ")
      return {};
    return value.substr(bearer.size());
  }

  /// The approver a request's token belongs to; nullptr for none.
  const node::approver* approver_of(const boost::beast::http::fields& headers) {
    auto given = bearer_of(headers);
    if (given.empty())
      return nullptr;
    for (const auto& a : n_.approvers())
      if (equal_secrets(given, a.token))
        return &a;
    return nullptr;
  }

  bool authorize(access who, const boost::beast::http::fields& headers) {
    if (who == access::open)
      return true;
    if (who == access::approver && approver_of(headers) != nullptr)
      return true;
    const std::string& token = who == access::ingest ? n_.ingest_token()
                                                     : n_.admin_token();
    if (who == access::ingest && token.empty())
      return true;
    auto given = bearer_of(headers);
    return !given.empty() && equal_secrets(given, token);
  }

  /// Answers with the HTTP form of `err` and counts the rejection.
  void fail(std::string_view endpoint, const caf::error& err,
            responder& respond) {
    unsigned status = 500;
    std::string message;
    std::string where;
    std::string reason;
    if (err.category() == caf::atom("vigil")) {
      auto d = codec::describe(err);
      message = d.message;
      where = d.where;
      auto code = static_cast<errc>(err.code());
      reason = to_string(code);
      switch (code) {
        case errc::malformed:
          status = 400;
          break;
        case errc::too_large:
          status = 413;
          break;
        case errc::unsupported_media_type:
          status = 415;
          break;
        case errc::unauthorized:
          status = 401;
          break;
        case errc::rate_limited:
          status = 429;
          break;
        case errc::overloaded:
        case errc::unavailable:
        case errc::shutting_down:
          status = 503;
          break;
        case errc::not_found:
          status = 404;
          break;
        default:
          status = 500;
      }
    } else {
      // A CAF error: the actor did not answer (timeout, gone).
      message = "the node did not answer in time";
      where = n_.system().render(err);
      reason = "unavailable";
      status = 503;
    }
    if (message.empty())
      message = reason;
    count_reject(endpoint, reason);
    auto r = response::error(status, message, where);
    if (status == 429 || status == 503) {
      auto secs = std::max<int64_t>(
        1, std::chrono::duration_cast<std::chrono::seconds>(
             n_.opts().ingest.retry_after)
             .count());
      r.headers.emplace_back("Retry-After", std::to_string(secs));
    }
    respond(std::move(r));
  }

  codec::decode_options decode_options() const {
    codec::decode_options o;
    o.service_labels = n_.opts().ingest.service_labels;
    o.default_service = n_.opts().ingest.default_service;
    o.max_decoded_bytes = n_.opts().ingest.max_decoded_bytes;
    o.received_ns = wall_ns();
    return o;
  }

  /// Undoes Content-Encoding (gzip, identity) within the decoded-size
  /// bound; `snappy_ok` admits snappy (remote write only).
  caf::expected<std::string> decode_encoding(request& req, bool gzip_ok,
                                             bool snappy_ok,
                                             bool encoding_required) {
    auto enc = lower(req.header("Content-Encoding"));
    auto limit = n_.opts().ingest.max_decoded_bytes;
    if (enc.empty() || enc == "identity") {
      if (encoding_required)
        return codec::unsupported_media_type(
          "remote write bodies must be snappy-compressed",
          "Content-Encoding: snappy is required");
      return std::move(req.body);
    }
    if (enc == "snappy" && snappy_ok)
      return codec::snappy_uncompress(req.body, limit);
    if (enc == "gzip" && gzip_ok)
      return codec::gzip_inflate(req.body, limit);
    std::string legal = snappy_ok ? "snappy" : "gzip or identity";
    return codec::unsupported_media_type("unsupported Content-Encoding '"
                                           + enc + "'",
                                         "accepted: " + legal);
  }

  caf::error require_type(request& req,
                          std::initializer_list<std::string_view> types) {
    auto type = media_type(req.header("Content-Type"));
    for (auto t : types)
      if (type == t)
        return {};
    std::string legal;
    for (auto t : types) {
      if (!legal.empty())
        legal += ", ";
      legal += t;
    }
    return codec::unsupported_media_type(
      "unsupported Content-Type '" + type + "'", "accepted: " + legal);
  }

  /// Hands decoded items to the gateway and answers when it admitted them.
  template <class Payload, class MakeResponse>
  void submit(const std::string& endpoint, Payload payload, uint64_t samples,
              responder respond, MakeResponse make) {
    ask<ingest_receipt>(
      n_.system(), n_.gateway(),
      [this, endpoint, respond, samples,
       make](ingest_receipt& receipt) mutable {
        if (samples > 0)
          samples_->with({endpoint}).inc(samples);
        respond(make(receipt));
      },
      [this, endpoint, respond](const caf::error& err) mutable {
        fail(endpoint, err, respond);
      },
      atom::ingest_v, std::move(payload));
  }

  // -- ingest endpoints ------------------------------------------------------

  void remote_write(request& req, responder respond) {
    if (auto err = require_type(req, {"application/x-protobuf"}))
      return fail("remote_write", err, respond);
    auto body = decode_encoding(req, false, true, true);
    if (!body)
      return fail("remote_write", body.error(), respond);
    codec::decode_stats stats;
    auto batches = codec::decode_remote_write(*body, decode_options(), &stats);
    if (!batches)
      return fail("remote_write", batches.error(), respond);
    // Metadata-only requests carry no samples: accepted, nothing to route.
    if (batches->empty()) {
      response r;
      r.status = 204;
      return respond(std::move(r));
    }
    submit("remote_write", std::move(*batches), stats.samples,
           std::move(respond), [](const ingest_receipt&) {
             response r;
             r.status = 204;
             return r;
           });
  }

  caf::expected<codec::wire_format> otlp_format(request& req) {
    auto type = media_type(req.header("Content-Type"));
    if (type == "application/x-protobuf")
      return codec::wire_format::protobuf;
    if (type == "application/json")
      return codec::wire_format::json;
    return codec::unsupported_media_type(
      "unsupported Content-Type '" + type + "'",
      "accepted: application/x-protobuf, application/json");
  }

  static response otlp_ok(codec::wire_format f) {
    response r;
    r.status = 200;
    r.content_type = f == codec::wire_format::json ? "application/json"
                                                   : "application/x-protobuf";
    r.body = codec::otlp_empty_response(f);
    return r;
  }

  template <class Decode, class Route>
  void otlp(const char* endpoint, request& req, responder respond,
            Decode decode, Route route) {
    auto fmt = otlp_format(req);
    if (!fmt)
      return fail(endpoint, fmt.error(), respond);
    auto body = decode_encoding(req, true, false, false);
    if (!body)
      return fail(endpoint, body.error(), respond);
    codec::decode_stats stats;
    auto decoded = decode(*body, *fmt, decode_options(), &stats);
    if (!decoded)
      return fail(endpoint, decoded.error(), respond);
    route(std::move(*decoded), stats, *fmt, std::move(respond));
  }

  void otlp_metrics(request& req, responder respond) {
    otlp("otlp_metrics", req, std::move(respond),
         [](auto&&... xs) { return codec::decode_otlp_metrics(xs...); },
         [this](std::vector<sample_batch> batches,
                const codec::decode_stats& stats, codec::wire_format f,
                responder respond) {
           if (batches.empty())
             return respond(otlp_ok(f));
           submit("otlp_metrics", std::move(batches), stats.samples,
                  std::move(respond),
                  [f](const ingest_receipt&) { return otlp_ok(f); });
         });
  }

  void otlp_traces(request& req, responder respond) {
    otlp("otlp_traces", req, std::move(respond),
         [](auto&&... xs) { return codec::decode_otlp_traces(xs...); },
         [this](span_batch spans, const codec::decode_stats&,
                codec::wire_format f, responder respond) {
           if (spans.spans.empty())
             return respond(otlp_ok(f));
           submit("otlp_traces", std::move(spans), 0, std::move(respond),
                  [f](const ingest_receipt&) { return otlp_ok(f); });
         });
  }

  void otlp_logs(request& req, responder respond) {
    otlp("otlp_logs", req, std::move(respond),
         [](auto&&... xs) { return codec::decode_otlp_logs(xs...); },
         [this](std::vector<log_batch> batches, const codec::decode_stats&,
                codec::wire_format f, responder respond) {
           if (batches.empty())
             return respond(otlp_ok(f));
           submit("otlp_logs", std::move(batches), 0, std::move(respond),
                  [f](const ingest_receipt&) { return otlp_ok(f); });
         });
  }

  /// Common path of the JSON ingest endpoints.
  template <class Decode>
  void json_ingest(const char* endpoint, request& req, responder respond,
                   std::initializer_list<std::string_view> types,
                   Decode decode) {
    if (auto err = require_type(req, types))
      return fail(endpoint, err, respond);
    auto body = decode_encoding(req, true, false, false);
    if (!body)
      return fail(endpoint, body.error(), respond);
    auto decoded = decode(*body);
    if (!decoded)
      return fail(endpoint, decoded.error(), respond);
    uint64_t samples = 0;
    if constexpr (std::is_same_v<std::decay_t<decltype(*decoded)>,
                                 std::vector<sample_batch>>)
      for (auto& b : *decoded)
        samples += b.samples.size();
    submit(endpoint, std::move(*decoded), samples, std::move(respond),
           [](const ingest_receipt& r) { return accepted(r.accepted); });
  }

  void alertmanager(request& req, responder respond) {
    json_ingest("alertmanager", req, std::move(respond), {"application/json"},
                [this](std::string_view body) {
                  return codec::decode_alertmanager(body, decode_options());
                });
  }

  void samples(request& req, responder respond) {
    json_ingest("samples", req, std::move(respond),
                {"application/x-ndjson", "application/json"},
                [this](std::string_view body) {
                  return codec::decode_samples_ndjson(body, decode_options());
                });
  }

  void logs(request& req, responder respond) {
    auto format = req.query_param("format").value_or("auto");
    if (std::find(log_line_formats.begin(), log_line_formats.end(), format)
        == log_line_formats.end()) {
      std::string legal;
      for (auto f : log_line_formats)
        legal += (legal.empty() ? "" : ", ") + std::string{f};
      return fail("logs",
                  codec::malformed("unknown log format '" + format + "'",
                                   "query parameter format: legal: "
                                     + legal),
                  respond);
    }
    auto service = req.query_param("service").value_or("");
    auto type = std::string{req.header("Content-Type")};
    auto received = wall_ns();
    json_ingest("logs", req, std::move(respond),
                {"text/plain", "application/x-ndjson", "application/json"},
                [service, type, received, format](std::string_view body) {
                  auto r = codec::decode_log_lines(body, type, service,
                                                   received);
                  if (r)
                    for (auto& b : *r)
                      b.line_format = format;
                  return r;
                });
  }

  void changes(request& req, responder respond) {
    auto received = wall_ns();
    json_ingest("changes", req, std::move(respond),
                {"application/json", "application/x-ndjson"},
                [received](std::string_view body) {
                  auto r = codec::decode_changes(body);
                  if (r)
                    r->received_ns = received;
                  return r;
                });
  }

  void topology(request& req, responder respond) {
    auto received = wall_ns();
    json_ingest("topology", req, std::move(respond), {"application/json"},
                [received](std::string_view body) {
                  auto r = codec::decode_topology(body);
                  if (r)
                    r->received_ns = received;
                  return r;
                });
  }

  // -- query endpoints -------------------------------------------------------

  void services(request&, responder respond) {
    ask<std::vector<service_info>>(
      n_.system(), n_.gateway(),
      [respond](std::vector<service_info>& xs) mutable {
        std::sort(xs.begin(), xs.end(),
                  [](auto& a, auto& b) { return a.name < b.name; });
        json list = json::array();
        for (auto& s : xs) {
          std::string warmup = s.series_active == 0 ? "idle"
                               : s.series_warm == s.series_active
                                 ? "warm"
                                 : "warming";
          list.push_back({{"name", s.name},
                          {"shard", s.shard.value},
                          {"node", s.node},
                          {"series", s.series},
                          {"series_active", s.series_active},
                          {"series_warm", s.series_warm},
                          {"warmup", warmup},
                          {"samples", s.samples},
                          {"anomalies", s.anomalies},
                          {"log_records", s.log_lines},
                          {"out_of_order", s.out_of_order},
                          {"last_ts", s.last_ts_ms > 0
                                        ? json(seconds(s.last_ts_ms))
                                        : json(nullptr)},
                          {"restarts", s.restarts},
                          {"restored_from_ts",
                           s.restored_from_ms > 0
                             ? json(seconds(s.restored_from_ms))
                             : json(nullptr)},
                          {"step", s.step_ms > 0 ? json(seconds(s.step_ms))
                                                 : json(nullptr)},
                          {"step_block", s.step_block}});
        }
        respond(json_response(200, json{{"services", list},
                                        {"count", xs.size()}}));
      },
      [this, respond](const caf::error& err) mutable {
        fail("services", err, respond);
      },
      atom::list_v);
  }

  void topology_get(request&, responder respond) {
    auto rca = n_.rca();
    if (!rca)
      return fail("topology_get",
                  caf::make_error(errc::unavailable, "the RCA actor is "
                                                     "restarting"),
                  respond);
    ask<topology_snapshot>(
      n_.system(), rca,
      [respond](topology_snapshot& snap) mutable {
        json edges = json::array();
        for (auto& e : snap.edges)
          edges.push_back({{"caller", e.caller},
                           {"callee", e.callee},
                           {"calls", e.calls},
                           {"errors", e.errors},
                           {"latency_mean_ms", e.latency_mean_ms},
                           {"latency_p95_ms", e.latency_p95_ms},
                           {"last_seen",
                            e.last_seen_ms > 0
                              ? json(static_cast<double>(e.last_seen_ms)
                                     / 1000.0)
                              : json(nullptr)},
                           {"static", e.is_static},
                           {"learned", e.learned}});
        respond(json_response(
          200, json{{"nodes", snap.services}, {"edges", edges}}));
      },
      [this, respond](const caf::error& err) mutable {
        fail("topology_get", err, respond);
      },
      atom::query_v);
  }

  void anomalies(request& req, responder respond) {
    anomaly_query q;
    q.service = req.query_param("service").value_or("");
    if (auto since = req.query_param("since"); since && !since->empty()) {
      char* end = nullptr;
      double s = std::strtod(since->c_str(), &end);
      if (end == since->c_str() || *end != '\0' || !std::isfinite(s))
        return fail("anomalies",
                    codec::malformed("since must be Unix seconds",
                                     "query parameter since: '" + *since
                                       + "'"),
                    respond);
      q.since_ms = static_cast<int64_t>(s * 1000);
    }
    if (auto limit = req.query_param("limit"); limit && !limit->empty()) {
      char* end = nullptr;
      long v = std::strtol(limit->c_str(), &end, 10);
      if (end == limit->c_str() || *end != '\0' || v < 1 || v > 10000)
        return fail("anomalies",
                    codec::malformed("limit must be 1..10000",
                                     "query parameter limit: '" + *limit
                                       + "'"),
                    respond);
      q.limit = static_cast<uint32_t>(v);
    }
    ask<std::vector<anomaly_event>>(
      n_.system(), n_.correlator(),
      [respond](std::vector<anomaly_event>& xs) mutable {
        json list = json::array();
        for (auto& a : xs) {
          json detectors = json::array();
          json votes = json::array();
          for (auto& v : a.votes) {
            if (v.vote)
              detectors.push_back(v.detector);
            votes.push_back({{"detector", v.detector},
                             {"score", number_or_null(v.score)},
                             {"deviation", number_or_null(v.deviation)},
                             {"vote", v.vote}});
          }
          json item{{"id", a.id},
                    {"service", a.service},
                    {"kind", to_string(a.kind)},
                    {"metric", a.metric},
                    {"series", a.series},
                    {"phase", to_string(a.phase)},
                    {"ts", seconds(a.ts_ms)},
                    {"onset_ts", seconds(a.onset_ts_ms)},
                    {"value", number_or_null(a.value)},
                    {"score", number_or_null(a.score)},
                    {"expected", {number_or_null(a.expected_lo),
                                  number_or_null(a.expected_hi)}},
                    {"detectors", detectors},
                    {"votes", votes}};
          if (a.kind == anomaly_kind::predictive) {
            item["limit"] = number_or_null(a.limit);
            item["forecast_ts"] = a.forecast_ts_ms > 0
                                    ? json(seconds(a.forecast_ts_ms))
                                    : json(nullptr);
          } else if (a.kind != anomaly_kind::metric) {
            // Invalid UTF-8 in log lines is replaced when the body is
            // rendered (json_response).
            item["template_id"] = a.template_id;
            item["template"] = a.template_text;
            item["examples"] = a.examples;
          }
          list.push_back(std::move(item));
        }
        respond(json_response(200, json{{"anomalies", list}}));
      },
      [this, respond](const caf::error& err) mutable {
        fail("anomalies", err, respond);
      },
      atom::query_v, std::move(q));
  }

  // -- incidents and silences ------------------------------------------------

  void incidents(request& req, responder respond) {
    incident_query q;
    auto status = req.query_param("status").value_or("open");
    if (status != "open" && status != "all")
      return fail("incidents",
                  codec::malformed("status must be open or all",
                                   "query parameter status: '" + status
                                     + "'"),
                  respond);
    q.open_only = status == "open";
    if (auto limit = req.query_param("limit"); limit && !limit->empty()) {
      char* end = nullptr;
      long v = std::strtol(limit->c_str(), &end, 10);
      if (end == limit->c_str() || *end != '\0' || v < 1 || v > 10000)
        return fail("incidents",
                    codec::malformed("limit must be 1..10000",
                                     "query parameter limit: '" + *limit
                                       + "'"),
                    respond);
      q.limit = static_cast<uint32_t>(v);
    }
    ask<std::vector<incident_view>>(
      n_.system(), n_.correlator(),
      [respond](std::vector<incident_view>& xs) mutable {
        json list = json::array();
        for (auto& x : xs)
          list.push_back(incident_json(x, true));
        respond(json_response(200, json{{"incidents", list}}));
      },
      [this, respond](const caf::error& err) mutable {
        fail("incidents", err, respond);
      },
      atom::query_v, q);
  }

  std::optional<uint64_t> incident_param(request& req, const char* endpoint,
                                         responder& respond) {
    auto text = req.params["id"];
    auto id = parse_incident_id(text);
    if (!id)
      fail(endpoint,
           codec::malformed("not an incident id (INC-000042 or 42)",
                            "path segment '" + text + "'"),
           respond);
    return id;
  }

  void incident(request& req, responder respond) {
    auto id = incident_param(req, "incident", respond);
    if (!id)
      return;
    ask<incident_view>(
      n_.system(), n_.correlator(),
      [respond](incident_view& x) mutable {
        respond(json_response(200, incident_json(x, false)));
      },
      [this, respond](const caf::error& err) mutable {
        fail("incident", err, respond);
      },
      atom::get_v, *id);
  }

  void move_incident(request& req, responder respond, const char* endpoint,
                     std::string to) {
    auto id = incident_param(req, endpoint, respond);
    if (!id)
      return;
    auto cmd = parse_incident_command(req.body, std::move(to));
    if (!cmd)
      return fail(endpoint, codec::malformed(rule_error_text(cmd.error()), "body"),
                  respond);
    cmd->id = *id;
    cmd->now_ms = wall_ms();
    ask<incident_view>(
      n_.system(), n_.correlator(),
      [respond](incident_view& x) mutable {
        respond(json_response(200, incident_json(x, false)));
      },
      [this, respond, endpoint](const caf::error& err) mutable {
        fail(endpoint, err, respond);
      },
      atom::incident_v, std::move(*cmd));
  }

  void ack(request& req, responder respond) {
    move_incident(req, std::move(respond), "incident_ack", "acknowledged");
  }

  void resolve(request& req, responder respond) {
    move_incident(req, std::move(respond), "incident_resolve", "resolved");
  }

  void silences(request&, responder respond) {
    ask<std::vector<silence_spec>>(
      n_.system(), n_.correlator(),
      [respond](std::vector<silence_spec>& xs) mutable {
        json list = json::array();
        for (auto& x : xs)
          list.push_back(silence_json(x));
        respond(json_response(200, json{{"silences", list}}));
      },
      [this, respond](const caf::error& err) mutable {
        fail("silences", err, respond);
      },
      atom::silence_v, atom::get_v);
  }

  void silence_add(request& req, responder respond) {
    auto s = parse_silence(req.body, wall_ms());
    if (!s)
      return fail("silence_add", codec::malformed(rule_error_text(s.error()), "body"),
                  respond);
    ask<silence_spec>(
      n_.system(), n_.correlator(),
      [respond](silence_spec& x) mutable {
        respond(json_response(200, silence_json(x)));
      },
      [this, respond](const caf::error& err) mutable {
        fail("silence_add", err, respond);
      },
      atom::silence_v, atom::put_v, std::move(*s));
  }

  void silence_expire(request& req, responder respond) {
    auto id = req.params["id"];
    ask<bool>(
      n_.system(), n_.correlator(),
      [this, respond, id](bool found) mutable {
        if (!found)
          return fail("silence_expire",
                      caf::make_error(errc::not_found,
                                      "no silence '" + id + "'"),
                      respond);
        respond(json_response(200, json{{"expired", id}}));
      },
      [this, respond](const caf::error& err) mutable {
        fail("silence_expire", err, respond);
      },
      atom::silence_v, id);
  }

  // -- playbooks and audit ----------------------------------------------------

  void playbooks(request&, responder respond) {
    ask<std::vector<playbook_info>>(
      n_.system(), n_.playbooks(),
      [respond](std::vector<playbook_info>& xs) mutable {
        json list = json::array();
        for (auto& x : xs)
          list.push_back({{"name", x.name},
                          {"description", x.description},
                          {"file", x.file},
                          {"version", x.version},
                          {"autonomy", x.autonomy},
                          {"requires_approval", x.requires_approval},
                          {"dry_run", x.dry_run},
                          {"incident_types", x.incident_types},
                          {"services", x.services},
                          {"min_severity", x.min_severity},
                          {"steps", x.steps}});
        respond(json_response(200, json{{"playbooks", list}}));
      },
      [this, respond](const caf::error& err) mutable {
        fail("playbooks", err, respond);
      },
      atom::list_v);
  }

  void playbooks_reload(request&, responder respond) {
    ask<reload_report>(
      n_.system(), n_.playbooks(),
      [respond](reload_report& r) mutable {
        if (!r.ok) {
          respond(json_response(
            422, json{{"error", "the playbooks are invalid; the old set "
                                "stays loaded"},
                      {"errors", r.errors}}));
          return;
        }
        respond(json_response(200, json{{"added", r.added},
                                        {"changed", r.changed},
                                        {"removed", r.removed},
                                        {"unchanged", r.unchanged}}));
      },
      [this, respond](const caf::error& err) mutable {
        fail("playbooks_reload", err, respond);
      },
      atom::reload_v);
  }

  void cluster(request&, responder respond) {
    auto st = n_.cluster().get();
    auto now = wall_ms();
    json nodes = json::array();
    std::vector<uint32_t> owned(st->members.size(), 0);
    for (auto p : st->primary)
      if (p >= 0)
        ++owned[static_cast<size_t>(p)];
    for (size_t i = 0; i < st->members.size(); ++i) {
      const auto& m = st->members[i];
      json j{{"id", m.info.id},
             {"address", m.info.cluster},
             {"http", m.info.http},
             {"state", m.info.state},
             {"self", m.self},
             {"control", static_cast<int32_t>(i) == st->leader},
             {"incarnation", m.info.incarnation / 1000.0},
             {"shards", owned[i]}};
      if (m.self)
        j["last_heartbeat"] = now / 1000.0;
      else if (m.info.heard_ms > 0)
        j["last_heartbeat"] = m.info.heard_ms / 1000.0;
      else
        j["last_heartbeat"] = nullptr;
      nodes.push_back(std::move(j));
    }
    auto name = [&](int32_t idx) -> json {
      if (idx < 0)
        return nullptr;
      return st->members[static_cast<size_t>(idx)].info.id;
    };
    json shards = json::array();
    for (size_t s = 0; s < st->primary.size(); ++s)
      shards.push_back({{"shard", s},
                        {"owner", name(st->primary[s])},
                        {"replica", name(st->replica[s])},
                        {"epoch", st->epoch[s]}});
    auto fence = n_.cluster().fence_reason();
    respond(json_response(
      200, json{{"node", n_.id()},
                {"mode", st->clustered || st->members.size() > 1
                           ? "cluster"
                           : "single-node"},
                {"joined", st->joined},
                {"control_node", name(st->leader)},
                {"control_epoch",
                 st->self_is_leader()
                   ? json(n_.cluster().control_epoch())
                   : json(nullptr)},
                {"replication",
                 st->self_is_leader()
                   ? json{{"written", n_.cluster().written()},
                          {"held", n_.cluster().acked()}}
                   : json(nullptr)},
                {"may_act", fence.empty()},
                {"fence", fence.empty() ? json(nullptr) : json(fence)},
                {"view_version", st->version},
                {"nodes", std::move(nodes)},
                {"shards", std::move(shards)}}));
  }

  void stats(request&, responder respond) {
    // The newest incidents, whole (the timeline holds the responses).
    incident_query q;
    q.open_only = false;
    q.limit = stats_window;
    q.brief = false;
    ask<std::vector<incident_view>>(
      n_.system(), n_.correlator(),
      [respond](std::vector<incident_view>& xs) mutable {
        auto doc = incident_stats(xs);
        doc["window"] = {{"newest_incidents", stats_window},
                         {"considered", xs.size()}};
        respond(json_response(200, doc));
      },
      [this, respond](const caf::error& err) mutable {
        fail("stats", err, respond);
      },
      atom::query_v, q);
  }

  void kill_switch(request& req, responder respond) {
    json j = json::parse(req.body, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("on")
        || !j["on"].is_boolean() || !j.contains("by") || !j["by"].is_string()
        || j["by"].get<std::string>().empty())
      return fail("kill_switch",
                  codec::malformed("expected {\"on\": true|false, "
                                   "\"by\": \"name\"}",
                                   "body"),
                  respond);
    ask<bool>(
      n_.system(), n_.playbooks(),
      [respond](bool on) mutable {
        respond(json_response(200, json{{"kill_switch", on}}));
      },
      [this, respond](const caf::error& err) mutable {
        fail("kill_switch", err, respond);
      },
      atom::configure_v, j["on"].get<bool>(), j["by"].get<std::string>());
  }

  void approvals(request&, responder respond) {
    ask<std::vector<action_view>>(
      n_.system(), n_.playbooks(),
      [respond](std::vector<action_view>& xs) mutable {
        json list = json::array();
        for (auto& x : xs)
          list.push_back(action_json(x));
        respond(json_response(200, json{{"approvals", list}}));
      },
      [this, respond](const caf::error& err) mutable {
        fail("approvals", err, respond);
      },
      atom::approval_v);
  }

  void decide(request& req, responder respond, const char* endpoint,
              bool approve) {
    auto text = req.params["id"];
    auto id = parse_action_id(text);
    if (!id)
      return fail(endpoint,
                  codec::malformed("not an action id (ACT-000042 or 42)",
                                   "path segment '" + text + "'"),
                  respond);
    // With approvers configured, the token says who decides: the admin
    // token identifies nobody, and nobody decides under another's name.
    const node::approver* who = nullptr;
    if (!n_.approvers().empty()) {
      who = approver_of(req.headers);
      if (!who) {
        count_reject(endpoint, "forbidden");
        return respond(response::error(
          403,
          "approvals are decided with an approver's own token "
          "(remediation.approvers); the admin token identifies nobody",
          "Authorization"));
      }
    }
    // An approver need not repeat their name: the token says it.
    std::string body = req.body;
    if (who) {
      auto j = json::parse(body, nullptr, false);
      if (j.is_object() && !j.contains("by")) {
        j["by"] = who->name;
        body = j.dump();
      }
    }
    auto cmd = parse_incident_command(body, "");
    if (!cmd)
      return fail(endpoint,
                  codec::malformed(rule_error_text(cmd.error()), "body"),
                  respond);
    if (who) {
      if (cmd->by != who->name)
        return fail(endpoint,
                    codec::malformed("\"by\" is '" + cmd->by
                                       + "' but the token is " + who->name
                                       + "'s; decide as yourself",
                                     "body"),
                    respond);
      cmd->by = who->name;
    }
    approval_decision d{*id, approve, cmd->by, cmd->comment};
    ask<action_view>(
      n_.system(), n_.playbooks(),
      [respond](action_view& a) mutable {
        respond(json_response(200, action_json(a)));
      },
      [this, respond, endpoint](const caf::error& err) mutable {
        fail(endpoint, err, respond);
      },
      atom::approval_v, std::move(d));
  }

  void approve(request& req, responder respond) {
    decide(req, std::move(respond), "approval_approve", true);
  }

  void deny(request& req, responder respond) {
    decide(req, std::move(respond), "approval_deny", false);
  }

  void audit(request& req, responder respond) {
    // Both parameters are optional whole numbers; limit is 1..10000.
    auto number = [&](const char* name, uint64_t min, uint64_t max,
                      uint64_t fallback) -> std::optional<uint64_t> {
      auto text = req.query_param(name);
      if (!text || text->empty())
        return fallback;
      char* end = nullptr;
      auto v = std::strtoull(text->c_str(), &end, 10);
      if (end == text->c_str() || *end != '\0' || v < min || v > max
          || (*text)[0] == '-') {
        fail("audit",
             codec::malformed(std::string{name} + " must be "
                                + std::to_string(min) + ".."
                                + std::to_string(max),
                              "query parameter " + std::string{name} + ": '"
                                + *text + "'"),
             respond);
        return std::nullopt;
      }
      return v;
    };
    auto since = number("since", 0, UINT64_MAX, 0);
    if (!since)
      return;
    auto limit = number("limit", 1, 10000, 100);
    if (!limit)
      return;
    follow_replicated_audit();
    auto xs = *since == 0 ? n_.audit().tail(*limit)
                          : n_.audit().read(*since, *limit);
    if (!xs)
      return fail("audit", xs.error(), respond);
    json list = json::array();
    for (const auto& e : *xs) {
      json x{{"seq", e.seq},
             {"ts", static_cast<double>(e.ts_ms) / 1000.0},
             {"kind", e.kind},
             {"actor", e.actor},
             {"hash", storage::to_hex(e.hash)}};
      if (e.incident_id != 0)
        x["incident"] = incident_id_text(e.incident_id);
      if (e.action_id != 0)
        x["action"] = action_id_text(e.action_id);
      for (auto [key, value] :
           {std::pair{"playbook", &e.playbook},
            std::pair{"playbook_version", &e.playbook_version},
            std::pair{"step", &e.step}, std::pair{"service", &e.service},
            std::pair{"action_kind", &e.action},
            std::pair{"status", &e.status}, std::pair{"detail", &e.detail}})
        if (!value->empty())
          x[key] = *value;
      list.push_back(std::move(x));
    }
    respond(json_response(200, json{{"records", list}}));
  }

  // On a follower the audit chain grows by replication; read its head
  // again before answering from it.
  void follow_replicated_audit() {
    if (!n_.cluster().leading())
      if (auto err = n_.audit().reload())
        spdlog::warn("reading the replicated audit log: {}", render(err));
  }

  void audit_verify(request&, const responder& respond) {
    follow_replicated_audit();
    auto v = n_.audit().verify();
    json out{{"ok", v.ok}, {"records", v.records}, {"head", v.head}};
    if (!v.ok) {
      out["broken_at"] = v.broken_at;
      out["problem"] = v.problem;
    }
    respond(json_response(200, out));
  }

  // -- health ----------------------------------------------------------------

  void metrics(request&, const responder& respond) {
    response r;
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    r.body = reg_.expose();
    respond(std::move(r));
  }

  void healthz(request&, const responder& respond) {
    response r;
    r.content_type = "text/plain; charset=utf-8";
    r.body = "ok\n";
    respond(std::move(r));
  }

  std::string cluster_state() const {
    auto st = n_.cluster().get();
    if (!st->clustered && st->members.size() == 1)
      return "single-node";
    return st->joined ? "joined" : "joining";
  }

  void readyz(request&, const responder& respond) {
    bool ready = n_.ready() && n_.gateway() && n_.correlator()
                 && n_.cluster().get()->joined;
    respond(json_response(ready ? 200 : 503,
                          json{{"ready", ready},
                               {"node", n_.id()},
                               {"storage", n_.ready() ? "open" : "closed"},
                               {"cluster", cluster_state()}}));
  }

private:
  node& n_;
  metrics::registry& reg_;
  metrics::family<metrics::counter>* requests_;
  metrics::family<metrics::counter>* rejected_;
  metrics::family<metrics::counter>* samples_;
  metrics::family<metrics::counter>* http_requests_;
  metrics::family<metrics::counter>* http_rejected_;
  metrics::family<metrics::histogram>* duration_;
};

} // namespace

http::router http_api::make_router(node& n) {
  auto a = std::make_shared<api>(n);
  http::router r;
  auto big = n.opts().ingest.max_body_bytes;
  auto route = [&](verb m, const char* path, const char* endpoint,
                   access who, uint64_t limit, auto member) {
    r.add(m, path, {endpoint, who, limit},
          [a, member, endpoint](request& req, responder respond) {
            if (api::is_ingest(endpoint)) {
              // Every answer is timed, refusals and early ones included.
              respond = [a, endpoint, t0 = mono_ns(),
                         inner = std::move(respond)](response r) {
                a->observe_duration(endpoint, t0);
                inner(std::move(r));
              };
            }
            ((*a).*member)(req, std::move(respond));
          });
  };
  route(verb::post, "/api/v1/write", "remote_write", access::ingest, big,
        &api::remote_write);
  route(verb::post, "/v1/metrics", "otlp_metrics", access::ingest, big,
        &api::otlp_metrics);
  route(verb::post, "/v1/traces", "otlp_traces", access::ingest, big,
        &api::otlp_traces);
  route(verb::post, "/v1/logs", "otlp_logs", access::ingest, big,
        &api::otlp_logs);
  route(verb::post, "/api/v1/alerts/alertmanager", "alertmanager",
        access::ingest, big, &api::alertmanager);
  route(verb::post, "/api/v1/samples", "samples", access::ingest, big,
        &api::samples);
  route(verb::post, "/api/v1/logs", "logs", access::ingest, big, &api::logs);
  route(verb::post, "/api/v1/changes", "changes", access::ingest, big,
        &api::changes);
  route(verb::post, "/api/v1/topology", "topology", access::ingest, big,
        &api::topology);
  route(verb::get, "/api/v1/services", "services", access::admin, 0,
        &api::services);
  route(verb::get, "/api/v1/anomalies", "anomalies", access::admin, 0,
        &api::anomalies);
  route(verb::get, "/api/v1/topology", "topology_get", access::admin, 0,
        &api::topology_get);
  route(verb::get, "/api/v1/incidents", "incidents", access::admin, 0,
        &api::incidents);
  route(verb::get, "/api/v1/incidents/{id}", "incident", access::admin, 0,
        &api::incident);
  route(verb::post, "/api/v1/incidents/{id}/ack", "incident_ack",
        access::admin, 64 * 1024, &api::ack);
  route(verb::post, "/api/v1/incidents/{id}/resolve", "incident_resolve",
        access::admin, 64 * 1024, &api::resolve);
  route(verb::get, "/api/v1/silences", "silences", access::admin, 0,
        &api::silences);
  route(verb::post, "/api/v1/silences", "silence_add", access::admin,
        256 * 1024, &api::silence_add);
  route(verb::delete_, "/api/v1/silences/{id}", "silence_expire",
        access::admin, 0, &api::silence_expire);
  route(verb::get, "/api/v1/playbooks", "playbooks", access::admin, 0,
        &api::playbooks);
  route(verb::post, "/api/v1/playbooks/reload", "playbooks_reload",
        access::admin, 0, &api::playbooks_reload);
  route(verb::get, "/api/v1/stats", "stats", access::admin, 0, &api::stats);
  route(verb::get, "/api/v1/cluster", "cluster", access::admin, 0,
        &api::cluster);
  route(verb::post, "/api/v1/remediation/kill-switch", "kill_switch",
        access::admin, 4096, &api::kill_switch);
  route(verb::get, "/api/v1/approvals", "approvals", access::admin, 0,
        &api::approvals);
  route(verb::post, "/api/v1/approvals/{id}/approve", "approval_approve",
        access::approver, 64 * 1024, &api::approve);
  route(verb::post, "/api/v1/approvals/{id}/deny", "approval_deny",
        access::approver, 64 * 1024, &api::deny);
  route(verb::get, "/api/v1/audit", "audit", access::admin, 0, &api::audit);
  route(verb::get, "/api/v1/audit/verify", "audit_verify", access::admin, 0,
        &api::audit_verify);
  route(verb::get, "/metrics", "metrics", access::open, 0, &api::metrics);
  route(verb::get, "/healthz", "healthz", access::open, 0, &api::healthz);
  route(verb::get, "/readyz", "readyz", access::open, 0, &api::readyz);
  return r;
}

http::server_hooks http_api::make_hooks(node& n) {
  // The api holds no state beyond references into the node's metrics, so
  // the hooks may use an instance of their own.
  auto a = std::make_shared<api>(n);
  http::server_hooks h;
  h.authorize = [a](access who, const boost::beast::http::fields& headers) {
    return a->authorize(who, headers);
  };
  h.on_response = [a](std::string_view endpoint, unsigned status) {
    a->count_response(endpoint, status);
  };
  h.on_reject = [a](std::string_view endpoint, std::string_view reason) {
    a->count_reject(endpoint, reason);
  };
  return h;
}

} // namespace vigil::node
