#pragma once

// The asynchronous HTTP/1.1 server (Boost.Beast): one io_context, N threads,
// a strand per connection. It reads a request's header first and refuses
// (404, 405, 401, 413) before reading any body; it knows nothing about
// Vigil's endpoints, the node registers routes and handlers.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <boost/beast/http/fields.hpp>
#include <caf/expected.hpp>

#include "runtime/http/message.hpp"
#include "runtime/http/router.hpp"

namespace vigil::http {

/// Where the server listens and the limits it enforces per connection.
struct server_options {
  /// Address to listen on (IP or host name). Default: "127.0.0.1".
  std::string host = "127.0.0.1";
  /// Port to listen on; 0 = any free port (see server::port()). Default: 0.
  uint16_t port = 0;
  /// I/O threads; 0 = one per core. Default: 0.
  uint32_t threads = 0;
  /// Open connections at most; a connection beyond it gets 503 with
  /// Retry-After: 1 and is closed. Default: 1024.
  uint32_t max_connections = 1024;
  /// A request's header and body must arrive within this time, counted from
  /// its first byte (from the accept for a connection's first request).
  /// Default: 30s.
  std::chrono::milliseconds read_timeout{30000};
  /// A kept-alive connection with no request for this long is closed.
  /// Default: 120s.
  std::chrono::milliseconds idle_timeout{120000};
  /// A response must be written within this time. Default: 30s.
  std::chrono::milliseconds write_timeout{30000};
  /// Largest request line + header block; larger gets 431 and a close.
  /// Default: 64 KiB.
  uint32_t max_header_bytes = 64 * 1024;
};

/// Callbacks that connect the server to the node (tokens, metrics). Each may
/// be empty and each is called from I/O threads concurrently, so it must be
/// thread-safe and quick. Exceptions thrown by a hook are logged and treated
/// as "deny" (authorize) or ignored (the others).
struct server_hooks {
  /// Returns true if the request may proceed for the route's access level
  /// (checks Authorization etc.). Called before the body is read. Empty:
  /// everything may proceed.
  std::function<bool(access, const boost::beast::http::fields&)> authorize;
  /// Called once per response written completely: the route's endpoint
  /// label ("unknown" when no route matched) and the status.
  std::function<void(std::string_view endpoint, unsigned status)> on_response;
  /// Called for every request the SERVER rejects itself, with a reason:
  /// "too_large", "unauthorized", "not_found", "method_not_allowed",
  /// "bad_request" (malformed HTTP, header too large), "timeout",
  /// "too_many_connections", "shutting_down".
  std::function<void(std::string_view endpoint, std::string_view reason)>
    on_reject;
};

/// A running HTTP server. Create with `start`; stop with `stop_accepting`
/// and `stop` (or let the destructor stop it without draining).
class server {
public:
  /// Shared state of the server, its connections and pending responders.
  struct core;

  /// Binds, starts `threads` I/O threads and accepts. Error (errc
  /// invalid_config when the host does not resolve, unavailable when the
  /// address cannot be bound) with a message naming the address.
  [[nodiscard]] static caf::expected<std::unique_ptr<server>>
  start(server_options options, router routes, server_hooks hooks = {});

  /// Stops without draining (`stop({})`) if `stop` was not called.
  ~server();

  server(const server&) = delete;
  server& operator=(const server&) = delete;

  /// Returns the bound address, e.g. "127.0.0.1".
  std::string host() const;

  /// Returns the bound port (the chosen one when the options said 0).
  uint16_t port() const;

  /// Graceful stop, step 1: closes the listening socket. Requests already
  /// being served finish and their responses close the connection; new
  /// requests on kept-alive connections get 503 + Connection: close (reason
  /// shutting_down). Idempotent.
  void stop_accepting();

  /// Graceful stop, step 2: stops accepting, waits up to `drain` for requests
  /// in flight to be answered and written, then closes every connection and
  /// joins the I/O threads. Responders called later are ignored. Idempotent;
  /// must not be called from a handler (it joins the I/O threads).
  void stop(std::chrono::milliseconds drain = {});

  /// Returns the number of open connections (not counting those being
  /// refused for exceeding max_connections).
  size_t connections() const;

  /// Returns the number of requests whose header has been read but whose
  /// response is not yet completely written.
  size_t in_flight() const;

private:
  explicit server(std::shared_ptr<core> state);

  std::shared_ptr<core> core_;
  std::vector<std::thread> threads_;
  std::mutex stop_mutex_;
  bool stopped_ = false;
};

} // namespace vigil::http
