#pragma once

// A loopback HTTP server with one open POST route, for tests that stand in
// for a receiver (webhook, LLM API, runbook endpoint). Header-only: the
// test links the runtime already; the base support library does not.

#include <memory>
#include <stdexcept>
#include <string>

#include "messages/errc.hpp"
#include "runtime/http/router.hpp"
#include "runtime/http/server.hpp"

namespace vigil::test {

/// Starts a one-thread server on 127.0.0.1 (port chosen by the system)
/// answering POST `path` with `fn`; throws when it cannot start.
inline std::unique_ptr<http::server> serve_post(const std::string& path,
                                                http::handler fn) {
  http::router r;
  http::route_options o;
  o.endpoint = "test";
  o.who = http::access::open;
  r.add(http::verb::post, path, o, std::move(fn));
  http::server_options so;
  so.threads = 1;
  auto s = http::server::start(so, std::move(r));
  if (!s)
    throw std::runtime_error("test endpoint " + path + ": "
                             + render(s.error()));
  return std::move(*s);
}

/// "http://127.0.0.1:PORT" + `path` of `s`.
inline std::string url_of(const http::server& s, const std::string& path) {
  return "http://127.0.0.1:" + std::to_string(s.port()) + path;
}

} // namespace vigil::test
