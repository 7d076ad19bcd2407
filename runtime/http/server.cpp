#include "runtime/http/server.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <exception>
#include <limits>
#include <optional>
#include <system_error>
#include <unordered_map>
#include <utility>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <spdlog/spdlog.h>

#include "messages/errc.hpp"

namespace vigil::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using steady = std::chrono::steady_clock;

namespace {

constexpr std::string_view unknown_endpoint = "unknown";

// After a response that ends the connection the server half-closes and reads
// (and drops) what the client still sends for at most this long, so that
// unread request bytes do not turn the close into a RST that destroys the
// response before the client has read it.
constexpr std::chrono::milliseconds max_linger{1000};
constexpr size_t max_linger_bytes = 16u << 20;

// Room the idle wait and the linger read ask for per read.
constexpr size_t read_chunk = size_t{16} * 1024;

std::string endpoint_text(const tcp::endpoint& ep) {
  auto addr = ep.address().to_string();
  if (ep.address().is_v6())
    addr = "[" + addr + "]";
  return addr + ":" + std::to_string(ep.port());
}

bool is_token_char(char c) {
  if (c >= 'a' && c <= 'z')
    return true;
  if (c >= 'A' && c <= 'Z')
    return true;
  if (c >= '0' && c <= '9')
    return true;
  return std::string_view{"!#$%&'*+-.^_`|~"}.find(c) != std::string_view::npos;
}

// Headers a handler may add: a valid name that the server does not control
// itself, and a value that cannot split the header block.
bool acceptable_extra_header(std::string_view name, std::string_view value) {
  if (name.empty() || !std::all_of(name.begin(), name.end(), is_token_char))
    return false;
  for (auto reserved : {"content-length", "transfer-encoding", "connection"})
    if (beast::iequals(beast::string_view{name.data(), name.size()}, reserved))
      return false;
  return value.find_first_of(std::string_view{"\r\n\0", 3})
         == std::string_view::npos;
}

// Keeps details in error bodies short; the cut may split a UTF-8 sequence,
// which the JSON escaper turns into U+FFFD.
std::string clip(std::string_view x, size_t max = 256) {
  if (x.size() <= max)
    return std::string{x};
  return std::string{x.substr(0, max)} + "...";
}

std::string_view to_std(beast::string_view x) {
  return {x.data(), x.size()};
}

} // namespace

namespace detail {
class connection;
} // namespace detail

// -- core ---------------------------------------------------------------------

// Everything the I/O threads, the connections and pending responders share.
// Connections hold it by shared_ptr, so the io_context outlives every socket
// even when a responder keeps a connection alive after the server is gone.
struct server::core : std::enable_shared_from_this<server::core> {
  core(server_options o, router r, server_hooks h)
    : opts(std::move(o)), routes(std::move(r)), hooks(std::move(h)),
      guard(ioc.get_executor()), accept_strand(asio::make_strand(ioc)),
      acceptor(accept_strand), accept_retry(accept_strand) {}

  void do_accept();
  void on_accept(beast::error_code ec, tcp::socket socket);

  /// Calls on_reject, never throwing.
  void reject(std::string_view endpoint, std::string_view reason) noexcept;

  /// Calls on_response, never throwing.
  void responded(std::string_view endpoint, unsigned status) noexcept;

  /// Calls authorize; a throwing hook denies.
  bool authorize(access who, const bhttp::fields& headers) noexcept;

  /// Counts one request in flight as finished and wakes a draining stop().
  void request_done() {
    if (in_flight.fetch_sub(1) == 1) {
      // Taking the lock orders this against stop()'s predicate check, so the
      // wake-up cannot fall between its check and its wait.
      { std::lock_guard<std::mutex> guard{mtx}; }
      idle_cv.notify_all();
    }
  }

  const server_options opts;
  const router routes;
  const server_hooks hooks;
  asio::io_context ioc;
  asio::executor_work_guard<asio::io_context::executor_type> guard;
  asio::strand<asio::io_context::executor_type> accept_strand;
  tcp::acceptor acceptor;          // used on accept_strand only
  asio::steady_timer accept_retry; // used on accept_strand only
  tcp::endpoint bound;
  std::atomic<bool> accepting{true};
  std::atomic<size_t> open{0};     // connections counted against the limit
  std::atomic<size_t> refusing{0}; // connections being answered 503
  std::atomic<size_t> in_flight{0};
  uint64_t next_id = 0; // accept_strand only

  std::mutex mtx; // guards `stopped` and `live`; idle_cv waits on it
  std::condition_variable idle_cv;
  bool stopped = false; // no response may be posted any more
  std::unordered_map<uint64_t, std::weak_ptr<detail::connection>> live;
};

void server::core::reject(std::string_view endpoint,
                          std::string_view reason) noexcept {
  if (!hooks.on_reject)
    return;
  try {
    hooks.on_reject(endpoint, reason);
  } catch (const std::exception& e) {
    spdlog::error("http: on_reject hook threw: {}", e.what());
  } catch (...) {
    spdlog::error("http: on_reject hook threw");
  }
}

void server::core::responded(std::string_view endpoint,
                             unsigned status) noexcept {
  if (!hooks.on_response)
    return;
  try {
    hooks.on_response(endpoint, status);
  } catch (const std::exception& e) {
    spdlog::error("http: on_response hook threw: {}", e.what());
  } catch (...) {
    spdlog::error("http: on_response hook threw");
  }
}

bool server::core::authorize(access who,
                             const bhttp::fields& headers) noexcept {
  if (!hooks.authorize)
    return true;
  try {
    return hooks.authorize(who, headers);
  } catch (const std::exception& e) {
    spdlog::error("http: authorize hook threw: {}", e.what());
  } catch (...) {
    spdlog::error("http: authorize hook threw");
  }
  return false;
}

// -- connection ---------------------------------------------------------------

namespace detail {

class reply_slot;

// One accepted socket. Every member is touched on the connection's strand
// only, except `core_` and the executor (immutable) and post_response (which
// takes the core's lock). Owned by whoever waits on it: a pending I/O
// operation, a posted call, or a responder held by a handler.
class connection : public std::enable_shared_from_this<connection> {
public:
  connection(std::shared_ptr<server::core> core, tcp::socket socket,
             uint64_t id, bool counted, std::string remote)
    : core_(std::move(core)), stream_(std::move(socket)), id_(id),
      counted_(counted), remote_(std::move(remote)) {}

  ~connection() {
    {
      std::lock_guard<std::mutex> guard{core_->mtx};
      core_->live.erase(id_);
    }
    // Normally close() did this; an exception escaping a completion handler
    // is the one way to get here without it.
    if (request_active_)
      core_->request_done();
    release();
  }

  /// Begins serving; runs on the strand.
  void start() {
    if (!counted_) {
      core_->reject(unknown_endpoint, "too_many_connections");
      response r = response::error(503, "too many connections",
                                   "the server is at its connection limit");
      r.headers.emplace_back("Retry-After", "1");
      write_response(std::move(r), true);
      return;
    }
    deadline_ = steady::now() + core_->opts.read_timeout;
    read_header();
  }

  /// Closes the connection from any thread.
  void shut() {
    asio::post(stream_.get_executor(),
               [self = shared_from_this()] { self->close(); });
  }

  /// Hands a handler's response to the strand; any thread. Dropped once the
  /// server has stopped.
  void post_response(uint64_t seq, response r) {
    std::lock_guard<std::mutex> guard{core_->mtx};
    if (core_->stopped) {
      spdlog::debug("http: response for {} after stop dropped", remote_);
      return;
    }
    asio::post(stream_.get_executor(),
               [self = shared_from_this(), seq, r = std::move(r)]() mutable {
                 self->on_handler_response(seq, std::move(r));
               });
  }

  /// Starts serving on the connection's strand; any thread.
  void launch() {
    asio::post(stream_.get_executor(),
               [self = shared_from_this()] { self->start(); });
  }

private:
  enum class phase { idle, header, body, handling, writing, lingering, closed };

  // -- reading ----------------------------------------------------------------

  // Waits for the first byte of the next request on a kept-alive connection;
  // only then does the read_timeout clock start.
  void wait_idle() {
    phase_ = phase::idle;
    stream_.expires_after(core_->opts.idle_timeout);
    stream_.async_read_some(
      buffer_.prepare(read_chunk),
      [self = shared_from_this()](beast::error_code ec, size_t n) {
        self->on_idle(ec, n);
      });
  }

  void on_idle(beast::error_code ec, size_t n) {
    if (phase_ == phase::closed)
      return;
    if (ec) {
      // Idle expiry or the client hanging up between requests: both normal.
      close();
      return;
    }
    buffer_.commit(n);
    deadline_ = steady::now() + core_->opts.read_timeout;
    read_header();
  }

  void read_header() {
    phase_ = phase::header;
    version_ = 11;
    keep_alive_ = false;
    endpoint_ = unknown_endpoint;
    parser_.emplace();
    parser_->header_limit(core_->opts.max_header_bytes);
    // No limit until the route is known. Beast 1.74 compares a Content-Length
    // against an *empty* optional as "too large", so use the maximum instead.
    parser_->body_limit(std::numeric_limits<uint64_t>::max());
    stream_.expires_at(deadline_);
    bhttp::async_read_header(
      stream_, buffer_, *parser_,
      [self = shared_from_this()](beast::error_code ec, size_t) {
        self->on_header(ec);
      });
  }

  void on_header(beast::error_code ec) {
    if (phase_ == phase::closed)
      return;
    if (ec) {
      on_read_error(ec);
      return;
    }
    begin_request();
    try {
      route_request();
    } catch (const std::exception& e) {
      spdlog::error("http: failed to route a request from {}: {}", remote_,
                    e.what());
      write_response(response::error(500, "internal", "request routing failed"),
                     true);
    }
  }

  // Everything the server decides from the header alone, before any body.
  void route_request() {
    auto& head = parser_->get();
    version_ = head.version(); // Beast accepts only 10 and 11
    keep_alive_ = parser_->keep_alive();
    auto req = std::make_shared<request>();
    req->method = head.method();
    req->target = std::string{to_std(head.target())};
    req->remote = remote_;
    std::string_view target = req->target;
    // Absolute-form ("http://host/path") is legal from proxies; serve its
    // path like the origin-form.
    for (std::string_view scheme : {"http://", "https://"}) {
      if (target.size() > scheme.size()
          && beast::iequals(to_beast(target.substr(0, scheme.size())),
                            to_beast(scheme))) {
        auto slash = target.find('/', scheme.size());
        target = slash == std::string_view::npos ? std::string_view{"/"}
                                                 : target.substr(slash);
      }
    }
    if (target.empty() || target.front() != '/') {
      refuse(400, "bad request", "the request target must be a path",
             "bad_request", {}, true);
      return;
    }
    auto qmark = target.find('?');
    auto raw_path = target.substr(0, qmark);
    if (qmark != std::string_view::npos)
      req->query = parse_query(target.substr(qmark + 1));
    req->path = percent_decode(raw_path);
    auto method_text = std::string{to_std(head.method_string())};
    auto match = core_->routes.match(req->method, raw_path);
    if (match.result == route_match::kind::found)
      endpoint_ = match.options->endpoint;
    if (!core_->accepting.load()) {
      refuse(503, "shutting down", "the server is shutting down",
             "shutting_down", {}, true);
      return;
    }
    if (match.result == route_match::kind::not_found) {
      refuse(404, "not found", method_text + " " + clip(req->path),
             "not_found");
      return;
    }
    if (match.result == route_match::kind::method_not_allowed) {
      std::string allow;
      for (auto v : match.allowed) {
        if (!allow.empty())
          allow += ", ";
        allow += to_std(bhttp::to_string(v));
      }
      refuse(405, "method not allowed",
             method_text + " " + clip(req->path) + " (allowed: " + allow + ")",
             "method_not_allowed", {{"Allow", allow}});
      return;
    }
    auto& opts = *match.options;
    if (!core_->authorize(opts.who, head)) {
      refuse(401, "unauthorized", "this endpoint requires a valid bearer token",
             "unauthorized", {{"WWW-Authenticate", "Bearer"}});
      return;
    }
    if (auto n = parser_->content_length(); n && *n > opts.max_body_bytes) {
      refuse(413, "too large",
             "body of " + std::to_string(*n) + " bytes exceeds the limit of "
               + std::to_string(opts.max_body_bytes),
             "too_large", {}, true);
      return;
    }
    parser_->body_limit(opts.max_body_bytes);
    max_body_ = opts.max_body_bytes;
    req->params = std::move(match.params);
    current_ = std::move(req);
    handler_ = match.fn;
    if (parser_->is_done()) {
      dispatch();
      return;
    }
    if (version_ >= 11
        && beast::iequals(head[bhttp::field::expect], "100-continue")) {
      // The checks above passed: tell the client to go ahead with the body.
      phase_ = phase::body;
      continue_.emplace(bhttp::status::continue_, 11);
      stream_.expires_at(deadline_);
      bhttp::async_write(
        stream_, *continue_,
        [self = shared_from_this()](beast::error_code ec, size_t) {
          if (self->phase_ == phase::closed)
            return;
          if (ec) {
            self->close();
            return;
          }
          self->read_body();
        });
      return;
    }
    read_body();
  }

  void read_body() {
    phase_ = phase::body;
    stream_.expires_at(deadline_);
    bhttp::async_read(stream_, buffer_, *parser_,
                      [self = shared_from_this()](
                        beast::error_code ec, size_t) { self->on_body(ec); });
  }

  void on_body(beast::error_code ec) {
    if (phase_ == phase::closed)
      return;
    if (ec) {
      on_read_error(ec);
      return;
    }
    dispatch();
  }

  void on_read_error(beast::error_code ec) {
    if (ec == beast::error::timeout) {
      core_->reject(endpoint_, "timeout");
      spdlog::debug("http: request from {} timed out", remote_);
      close();
      return;
    }
    if (ec == bhttp::error::header_limit) {
      refuse(431, "header too large",
             "the request header exceeds "
               + std::to_string(core_->opts.max_header_bytes) + " bytes",
             "bad_request", {}, true);
      return;
    }
    if (ec == bhttp::error::body_limit) {
      refuse(413, "too large",
             "body exceeds the limit of " + std::to_string(max_body_)
               + " bytes",
             "too_large", {}, true);
      return;
    }
    if (ec == bhttp::error::end_of_stream || ec == bhttp::error::partial_message
        || ec.category()
             != bhttp::make_error_code(bhttp::error::bad_target).category()) {
      // The client went away (or the socket failed): nobody to answer.
      spdlog::debug("http: connection from {} ended: {}", remote_,
                    ec.message());
      close();
      return;
    }
    refuse(400, "bad request", ec.message(), "bad_request", {}, true);
  }

  // -- handling ---------------------------------------------------------------

  void dispatch();

  void on_handler_response(uint64_t seq, response r) {
    if (phase_ != phase::handling || seq != seq_) {
      // The connection closed (stop, or an error) while the handler ran.
      spdlog::debug("http: response for {} dropped, connection gone", remote_);
      return;
    }
    if (r.status < 200 || r.status > 999) {
      spdlog::error("http: handler for {} answered invalid status {}",
                    endpoint_, r.status);
      r = response::error(500, "internal",
                          "the handler answered an invalid "
                          "status");
    }
    write_response(std::move(r), false);
  }

  // -- writing ----------------------------------------------------------------

  // Answers with a JSON error the server decided itself. A response sent
  // before the body was read must close: the unread body would otherwise be
  // taken for the next request.
  void refuse(unsigned status, std::string_view error, std::string detail,
              std::string_view reason, header_list extra = {},
              bool close_after = false) {
    core_->reject(endpoint_, reason);
    spdlog::debug("http: {} {} for {} ({})", status, reason, remote_, detail);
    auto r = response::error(status, error, detail);
    r.headers = std::move(extra);
    bool body_unread = parser_ && !parser_->is_done();
    write_response(std::move(r), close_after || body_unread);
  }

  void write_response(response r, bool close_after) {
    phase_ = phase::writing;
    parser_.reset();
    auto& res = out_.emplace();
    res.version(version_);
    res.result(r.status);
    res.set(bhttp::field::server, "vigil");
    if (r.status != 204 && r.status != 304) {
      if (!r.content_type.empty())
        res.set(bhttp::field::content_type, r.content_type);
      res.body() = std::move(r.body);
    }
    for (auto& [name, value] : r.headers) {
      if (acceptable_extra_header(name, value))
        res.insert(name, value);
      else
        spdlog::warn("http: handler for {} set header '{}' which the server "
                     "does not send",
                     endpoint_, clip(name, 64));
    }
    keep_after_ = !close_after && keep_alive_ && core_->accepting.load();
    res.keep_alive(keep_after_);
    res.prepare_payload();
    status_ = r.status;
    stream_.expires_after(core_->opts.write_timeout);
    bhttp::async_write(
      stream_, res, [self = shared_from_this()](beast::error_code ec, size_t) {
        self->on_write(ec);
      });
  }

  void on_write(beast::error_code ec) {
    out_.reset();
    if (phase_ == phase::closed)
      return;
    if (request_active_)
      end_request();
    if (ec) {
      close();
      return;
    }
    core_->responded(endpoint_, status_);
    if (!keep_after_) {
      linger();
      return;
    }
    // A pipelined request may already be buffered: its clock starts now.
    if (buffer_.size() > 0) {
      deadline_ = steady::now() + core_->opts.read_timeout;
      read_header();
    } else {
      wait_idle();
    }
  }

  // -- closing ----------------------------------------------------------------

  void linger() {
    phase_ = phase::lingering;
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    if (ec) {
      close();
      return;
    }
    linger_deadline_
      = steady::now() + std::min(max_linger, core_->opts.read_timeout);
    linger_read();
  }

  void linger_read() {
    stream_.expires_at(linger_deadline_);
    // Reads into prepared but never committed space: the bytes are dropped.
    stream_.async_read_some(
      buffer_.prepare(read_chunk),
      [self = shared_from_this()](beast::error_code ec, size_t n) {
        if (self->phase_ == phase::closed)
          return;
        self->lingered_ += n;
        if (ec || self->lingered_ > max_linger_bytes) {
          self->close();
          return;
        }
        self->linger_read();
      });
  }

  void close() {
    if (phase_ == phase::closed)
      return;
    phase_ = phase::closed;
    if (request_active_)
      end_request();
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.close();
    release();
  }

  // Gives back this connection's place in the connection count, once.
  void release() {
    if (released_)
      return;
    released_ = true;
    if (counted_)
      core_->open.fetch_sub(1);
    else
      core_->refusing.fetch_sub(1);
  }

  void begin_request() {
    request_active_ = true;
    core_->in_flight.fetch_add(1);
  }

  void end_request() {
    request_active_ = false;
    core_->request_done();
  }

  static beast::string_view to_beast(std::string_view x) {
    return {x.data(), x.size()};
  }

  // Declared first so it is destroyed last: the socket needs the io_context.
  std::shared_ptr<server::core> core_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::optional<bhttp::response<bhttp::empty_body>> continue_;
  std::optional<bhttp::response<bhttp::string_body>> out_;
  std::shared_ptr<request> current_;
  const handler* handler_ = nullptr;
  const uint64_t id_;
  const bool counted_;
  const std::string remote_;
  std::string endpoint_{unknown_endpoint};
  phase phase_ = phase::header;
  steady::time_point deadline_;
  steady::time_point linger_deadline_;
  size_t lingered_ = 0;
  uint64_t max_body_ = 0;
  uint64_t seq_ = 0;
  unsigned version_ = 11;
  unsigned status_ = 0;
  bool keep_alive_ = false;
  bool keep_after_ = false;
  bool request_active_ = false;
  bool released_ = false;
};

// The state behind one request's responder: answers exactly once, and
// answers 500 if every copy of the responder is dropped unanswered.
class reply_slot {
public:
  reply_slot(std::shared_ptr<connection> conn, uint64_t seq,
             std::shared_ptr<request> req, std::string endpoint)
    : conn_(std::move(conn)), seq_(seq), req_(std::move(req)),
      endpoint_(std::move(endpoint)) {}

  ~reply_slot() {
    if (done_.load())
      return;
    spdlog::error("http: handler for {} dropped its responder without "
                  "answering",
                  endpoint_);
    conn_->post_response(
      seq_, response::error(500, "internal", "the handler did not answer"));
  }

  reply_slot(const reply_slot&) = delete;
  reply_slot& operator=(const reply_slot&) = delete;

  void deliver(response r) {
    if (done_.exchange(true)) {
      spdlog::debug("http: handler for {} answered twice; later answer "
                    "ignored",
                    endpoint_);
      return;
    }
    conn_->post_response(seq_, std::move(r));
  }

  // Answers 500 unless the handler already answered (then does nothing).
  void fail(std::string_view detail) {
    if (!done_.exchange(true))
      conn_->post_response(seq_, response::error(500, "internal", detail));
  }

private:
  std::shared_ptr<connection> conn_;
  uint64_t seq_;
  std::shared_ptr<request> req_; // keeps the handler's request& valid
  std::string endpoint_;
  std::atomic<bool> done_{false};
};

void connection::dispatch() {
  phase_ = phase::handling;
  auto msg = parser_->release();
  parser_.reset();
  current_->body = std::move(msg.body());
  current_->headers = std::move(static_cast<bhttp::fields&>(msg));
  auto req = std::move(current_);
  auto slot
    = std::make_shared<reply_slot>(shared_from_this(), ++seq_, req, endpoint_);
  responder respond{[slot](response r) { slot->deliver(std::move(r)); }};
  try {
    (*handler_)(*req, std::move(respond));
  } catch (const std::exception& e) {
    spdlog::error("http: handler for {} ({} {}) threw: {}", endpoint_,
                  to_std(bhttp::to_string(req->method)), clip(req->path),
                  e.what());
    slot->fail("the handler failed; see the server log");
  } catch (...) {
    spdlog::error("http: handler for {} threw a non-exception", endpoint_);
    slot->fail("the handler failed; see the server log");
  }
}

} // namespace detail

// -- accepting ----------------------------------------------------------------

void server::core::do_accept() {
  // A raw `this` is safe: the server owns the core until its threads, which
  // run this handler, are joined.
  acceptor.async_accept(asio::make_strand(ioc),
                        [this](beast::error_code ec, tcp::socket socket) {
                          on_accept(ec, std::move(socket));
                        });
}

void server::core::on_accept(beast::error_code ec, tcp::socket socket) {
  if (ec == asio::error::operation_aborted || !acceptor.is_open())
    return;
  if (ec) {
    // Typically out of file descriptors: pause instead of spinning on the
    // same error.
    spdlog::warn("http: accept failed: {}", ec.message());
    accept_retry.expires_after(std::chrono::milliseconds{100});
    accept_retry.async_wait([this](beast::error_code ec) {
      if (!ec && acceptor.is_open())
        do_accept();
    });
    return;
  }
  do_accept();
  if (!accepting.load())
    return; // the socket closes on destruction
  beast::error_code ignored;
  socket.set_option(tcp::no_delay{true}, ignored);
  auto peer = socket.remote_endpoint(ignored);
  bool counted = open.load() < opts.max_connections;
  if (counted) {
    open.fetch_add(1);
  } else if (refusing.load()
             >= std::max<size_t>(opts.max_connections, size_t{16})) {
    // Even the 503 answers are at their limit: drop without a word.
    reject(unknown_endpoint, "too_many_connections");
    return;
  } else {
    refusing.fetch_add(1);
  }
  auto id = next_id++;
  auto conn = std::make_shared<detail::connection>(
    shared_from_this(), std::move(socket), id, counted, endpoint_text(peer));
  {
    std::lock_guard<std::mutex> guard{mtx};
    if (stopped)
      return; // destroyed right here; its destructor gives back the count
    live.emplace(id, conn);
  }
  conn->launch();
}

// -- server -------------------------------------------------------------------

caf::expected<std::unique_ptr<server>>
server::start(server_options options, router routes, server_hooks hooks) {
  auto where = options.host + ":" + std::to_string(options.port);
  if (options.host.find(':') != std::string::npos)
    where = "[" + options.host + "]:" + std::to_string(options.port);
  auto threads = options.threads;
  if (threads == 0)
    threads = std::max(1u, std::thread::hardware_concurrency());
  auto c = std::make_shared<core>(std::move(options), std::move(routes),
                                  std::move(hooks));
  beast::error_code ec;
  std::vector<tcp::endpoint> candidates;
  if (auto addr = asio::ip::make_address(c->opts.host, ec); !ec) {
    candidates.emplace_back(addr, c->opts.port);
  } else {
    tcp::resolver resolver{c->ioc};
    auto results = resolver.resolve(
      c->opts.host, std::to_string(c->opts.port),
      tcp::resolver::passive | tcp::resolver::numeric_service, ec);
    if (ec)
      return caf::make_error(errc::invalid_config,
                             "cannot resolve HTTP address " + where + ": "
                               + ec.message());
    for (auto& entry : results)
      candidates.push_back(entry.endpoint());
  }
  beast::error_code last = asio::error::host_not_found;
  for (auto& ep : candidates) {
    c->acceptor.open(ep.protocol(), ec);
    if (ec) {
      last = ec;
      continue;
    }
    c->acceptor.set_option(asio::socket_base::reuse_address{true}, ec);
    c->acceptor.bind(ep, ec);
    if (!ec)
      c->acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (!ec)
      c->bound = c->acceptor.local_endpoint(ec);
    if (!ec)
      break;
    last = ec;
    beast::error_code ignored;
    c->acceptor.close(ignored);
  }
  if (!c->acceptor.is_open())
    return caf::make_error(errc::unavailable, "cannot listen on HTTP address "
                                                + where + ": "
                                                + last.message());
  c->do_accept();
  std::unique_ptr<server> result{new server(std::move(c))};
  try {
    result->threads_.reserve(threads);
    for (uint32_t i = 0; i < threads; ++i)
      result->threads_.emplace_back([c = result->core_.get()] {
        // Handlers catch their own exceptions; this keeps a thread serving
        // should one slip through anyway.
        for (;;) {
          try {
            c->ioc.run();
            return;
          } catch (const std::exception& e) {
            spdlog::error("http: I/O thread caught: {}", e.what());
          } catch (...) {
            spdlog::error("http: I/O thread caught a non-exception");
          }
        }
      });
  } catch (const std::system_error& e) {
    // stop() (via the destructor) joins the threads that did start.
    return caf::make_error(errc::unavailable, "cannot start HTTP threads: "
                                                + std::string{e.what()});
  }
  spdlog::debug("http: listening on {} with {} threads",
                endpoint_text(result->core_->bound), threads);
  return result;
}

server::server(std::shared_ptr<core> state) : core_(std::move(state)) {}

server::~server() {
  stop({});
}

std::string server::host() const {
  return core_->bound.address().to_string();
}

uint16_t server::port() const {
  return core_->bound.port();
}

void server::stop_accepting() {
  if (!core_->accepting.exchange(false))
    return;
  asio::post(core_->accept_strand, [c = core_.get()] {
    beast::error_code ignored;
    c->acceptor.close(ignored);
    c->accept_retry.cancel();
  });
}

void server::stop(std::chrono::milliseconds drain) {
  std::lock_guard<std::mutex> once{stop_mutex_};
  if (stopped_)
    return;
  stopped_ = true;
  stop_accepting();
  std::vector<std::shared_ptr<detail::connection>> open;
  {
    std::unique_lock<std::mutex> guard{core_->mtx};
    core_->idle_cv.wait_for(guard, drain,
                            [this] { return core_->in_flight.load() == 0; });
    // From here on responders post nothing, so once the connections are
    // closed the io_context runs out of work and the threads return.
    core_->stopped = true;
    for (auto& entry : core_->live)
      if (auto conn = entry.second.lock())
        open.push_back(std::move(conn));
  }
  // Outside the lock: dropping a reference may destroy a connection, whose
  // destructor takes the lock.
  for (auto& conn : open)
    conn->shut();
  open.clear();
  core_->guard.reset();
  for (auto& t : threads_)
    t.join();
  threads_.clear();
}

size_t server::connections() const {
  return core_->open.load();
}

size_t server::in_flight() const {
  return core_->in_flight.load();
}

} // namespace vigil::http
