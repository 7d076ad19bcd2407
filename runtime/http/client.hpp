#pragma once

// A small synchronous HTTP/1.1 client for tests and the load tool: one
// kept-alive connection, every operation bounded by a timeout. Not for
// talking to the outside world (notifiers use libcurl).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <boost/beast/http/fields.hpp>
#include <caf/expected.hpp>

#include "runtime/http/message.hpp"

namespace vigil::http {

/// A response as the client received it.
struct client_response {
  /// The final status (interim 1xx responses are skipped).
  unsigned status = 0;
  /// The body, de-chunked.
  std::string body;
  /// All response headers.
  boost::beast::http::fields headers;
  /// Whether the server sent 100 Continue before this response.
  bool continued = false;

  /// Returns the value of header `name` (case-insensitive), "" if absent.
  std::string header(std::string_view name) const;
};

/// A blocking client for one server. Not thread-safe: use one per thread.
class client {
public:
  /// Prepares a client for `host`:`port`; connects on first use. Every
  /// connect, write and read must finish within `timeout`.
  client(std::string host, uint16_t port,
         std::chrono::milliseconds timeout = std::chrono::seconds{10});

  ~client();

  client(client&&) noexcept;
  client& operator=(client&&) noexcept;

  /// Sends one request with a Content-Length body and returns the response.
  /// Reuses the kept-alive connection; reconnects and retries once when the
  /// server had closed it while idle. With an `Expect: 100-continue` header
  /// the body goes out only after the server's 100 Continue.
  caf::expected<client_response> send(verb method, std::string_view target,
                                      std::string body = {},
                                      const header_list& headers = {});

  /// Sends one request with `Transfer-Encoding: chunked`, `body` cut into
  /// chunks of `chunk_size` bytes (each written separately), and returns the
  /// response. Not retried.
  caf::expected<client_response>
  send_chunked(verb method, std::string_view target, std::string body,
               size_t chunk_size, const header_list& headers = {});

  /// Opens a fresh connection, writes `bytes` as they are and returns
  /// everything the server sends until it closes or the timeout passes.
  /// Errors only when the connection cannot be opened.
  caf::expected<std::string> send_raw(std::string bytes);

  /// Closes the kept-alive connection, if any.
  void close();

  /// Returns the number of connections opened so far (send_raw's included).
  size_t connects() const;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace vigil::http
