#include "runtime/http/client.hpp"

#include <algorithm>
#include <array>
#include <cstdio>
#include <functional>
#include <limits>
#include <optional>

#include <boost/asio/buffer.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include "messages/errc.hpp"

namespace vigil::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

namespace {

beast::string_view to_beast(std::string_view x) {
  return {x.data(), x.size()};
}

caf::error failure(std::string_view what, beast::error_code ec) {
  if (ec.category()
        == bhttp::make_error_code(bhttp::error::bad_target).category()
      && ec != bhttp::error::end_of_stream
      && ec != bhttp::error::partial_message)
    return caf::make_error(errc::malformed, "http client: " + std::string{what}
                                              + ": " + ec.message());
  return caf::make_error(errc::unavailable, "http client: " + std::string{what}
                                              + ": " + ec.message());
}

// Sets the headers every request carries, then the caller's: Host and
// User-Agent are replaced when given, anything else is added as is.
template <class Message>
void set_headers(Message& req, const std::string& host, uint16_t port,
                 const header_list& headers) {
  req.set(bhttp::field::host, host + ":" + std::to_string(port));
  req.set(bhttp::field::user_agent, "vigil-client");
  for (auto& [name, value] : headers) {
    auto n = to_beast(name);
    if (beast::iequals(n, "host") || beast::iequals(n, "user-agent"))
      req.set(n, value);
    else
      req.insert(n, value);
  }
}

} // namespace

std::string client_response::header(std::string_view name) const {
  auto i = headers.find(to_beast(name));
  if (i == headers.end())
    return {};
  return std::string{i->value()};
}

struct client::impl {
  impl(std::string h, uint16_t p, std::chrono::milliseconds t)
    : host(std::move(h)), port(p), timeout(t) {}

  // Runs the private io_context until the operations started on it are
  // done; the stream's expiry bounds how long that takes.
  void run() {
    ioc.restart();
    ioc.run();
  }

  beast::error_code connect(beast::tcp_stream& stream) {
    beast::error_code ec;
    tcp::resolver resolver{ioc};
    auto results = resolver.resolve(host, std::to_string(port),
                                    tcp::resolver::numeric_service, ec);
    if (ec)
      return ec;
    stream.expires_after(timeout);
    stream.async_connect(
      results, [&](beast::error_code e, const tcp::endpoint&) { ec = e; });
    run();
    ++connects;
    if (!ec)
      stream.socket().set_option(tcp::no_delay{true}, ec);
    return ec;
  }

  beast::error_code ensure_connected() {
    if (stream)
      return {};
    stream.emplace(ioc);
    buffer.clear();
    used = false;
    auto ec = connect(*stream);
    if (ec)
      drop();
    return ec;
  }

  void drop() {
    if (stream) {
      beast::error_code ignored;
      stream->socket().shutdown(tcp::socket::shutdown_both, ignored);
      stream->close();
    }
    stream.reset();
    buffer.clear();
    used = false;
  }

  template <class Buffers>
  beast::error_code write(const Buffers& bytes) {
    beast::error_code ec;
    stream->expires_after(timeout);
    asio::async_write(*stream, bytes,
                      [&](beast::error_code e, size_t) { ec = e; });
    run();
    return ec;
  }

  // Reads one response, interim or final. `got_some` says whether any of it
  // arrived, which tells a stale kept-alive connection from a failure.
  beast::error_code read_one(client_response& out, bool& keep_alive,
                             bool& got_some) {
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(std::numeric_limits<uint64_t>::max());
    parser.header_limit(1u << 20);
    beast::error_code ec;
    stream->expires_after(timeout);
    bhttp::async_read(*stream, buffer, parser,
                      [&](beast::error_code e, size_t) { ec = e; });
    run();
    got_some = got_some || parser.got_some();
    if (ec)
      return ec;
    auto msg = parser.release();
    keep_alive = msg.keep_alive(); // before the fields are moved out
    out.status = msg.result_int();
    out.body = std::move(msg.body());
    out.headers = std::move(static_cast<bhttp::fields&>(msg));
    return {};
  }

  // Reads responses until a final one (skipping 1xx but 101).
  beast::error_code read_final(client_response& out, bool& keep_alive,
                               bool& got_some) {
    for (;;) {
      auto ec = read_one(out, keep_alive, got_some);
      if (ec)
        return ec;
      if (out.status < 100 || out.status >= 200 || out.status == 101)
        return {};
      out.continued = out.continued || out.status == 100;
    }
  }

  // One request/response exchange on the kept-alive connection. `head`
  // writes the header (or the whole request when `rest` is empty); `rest`
  // writes the body after the header.
  caf::expected<client_response>
  exchange(const std::function<beast::error_code()>& head,
           const std::function<beast::error_code()>& rest, bool expect,
           bool& retryable) {
    retryable = false;
    if (auto ec = ensure_connected())
      return failure("connect", ec);
    bool reused = used;
    client_response out;
    bool keep_alive = false;
    bool got_some = false;
    if (auto ec = head()) {
      drop();
      retryable = reused;
      return failure("write", ec);
    }
    if (rest) {
      if (expect) {
        auto ec = read_one(out, keep_alive, got_some);
        if (ec) {
          drop();
          retryable = reused && !got_some && ec != beast::error::timeout;
          return failure("read", ec);
        }
        if (out.status != 100) {
          // A final answer instead of 100 Continue: the body stays unsent,
          // so the connection cannot carry another request.
          drop();
          return out;
        }
        out.continued = true;
      }
      if (auto ec = rest()) {
        // The server may have answered early (e.g. 413) and stopped
        // reading; its answer can still be waiting in our receive buffer.
        bool unused = false;
        if (!read_final(out, keep_alive, unused)) {
          drop();
          return out;
        }
        drop();
        return failure("write", ec);
      }
    }
    if (auto ec = read_final(out, keep_alive, got_some)) {
      drop();
      retryable = reused && !got_some && ec != beast::error::timeout;
      return failure("read", ec);
    }
    used = true;
    if (!keep_alive)
      drop();
    return out;
  }

  std::string host;
  uint16_t port;
  std::chrono::milliseconds timeout;
  asio::io_context ioc;
  std::optional<beast::tcp_stream> stream;
  beast::flat_buffer buffer;
  size_t connects = 0;
  bool used = false; // the current connection has carried a response
};

client::client(std::string host, uint16_t port,
               std::chrono::milliseconds timeout)
  : impl_(std::make_unique<impl>(std::move(host), port, timeout)) {}

client::~client() = default;

client::client(client&&) noexcept = default;

client& client::operator=(client&&) noexcept = default;

caf::expected<client_response> client::send(verb method,
                                            std::string_view target,
                                            std::string body,
                                            const header_list& headers) {
  auto& d = *impl_;
  bhttp::request<bhttp::string_body> req{method, to_beast(target), 11};
  set_headers(req, d.host, d.port, headers);
  req.body() = std::move(body);
  req.prepare_payload();
  bool expect = beast::iequals(req[bhttp::field::expect], "100-continue");
  for (int attempt = 0;; ++attempt) {
    std::optional<bhttp::request_serializer<bhttp::string_body>> sr;
    std::function<beast::error_code()> head;
    std::function<beast::error_code()> rest;
    if (expect) {
      head = [&] {
        sr.emplace(req);
        beast::error_code ec;
        d.stream->expires_after(d.timeout);
        bhttp::async_write_header(*d.stream, *sr,
                                  [&](beast::error_code e, size_t) { ec = e; });
        d.run();
        return ec;
      };
      rest = [&] {
        beast::error_code ec;
        d.stream->expires_after(d.timeout);
        bhttp::async_write(*d.stream, *sr,
                           [&](beast::error_code e, size_t) { ec = e; });
        d.run();
        return ec;
      };
    } else {
      head = [&] {
        beast::error_code ec;
        d.stream->expires_after(d.timeout);
        bhttp::async_write(*d.stream, req,
                           [&](beast::error_code e, size_t) { ec = e; });
        d.run();
        return ec;
      };
    }
    bool retryable = false;
    auto result = d.exchange(head, rest, expect, retryable);
    if (result || !retryable || attempt > 0)
      return result;
  }
}

caf::expected<client_response>
client::send_chunked(verb method, std::string_view target, std::string body,
                     size_t chunk_size, const header_list& headers) {
  auto& d = *impl_;
  if (chunk_size == 0)
    chunk_size = 1;
  bhttp::request<bhttp::empty_body> req{method, to_beast(target), 11};
  set_headers(req, d.host, d.port, headers);
  req.chunked(true);
  bool expect = beast::iequals(req[bhttp::field::expect], "100-continue");
  std::optional<bhttp::request_serializer<bhttp::empty_body>> sr;
  auto head = [&] {
    sr.emplace(req);
    beast::error_code ec;
    d.stream->expires_after(d.timeout);
    bhttp::async_write_header(*d.stream, *sr,
                              [&](beast::error_code e, size_t) { ec = e; });
    d.run();
    return ec;
  };
  auto rest = [&]() -> beast::error_code {
    char size_line[32];
    for (size_t pos = 0; pos < body.size(); pos += chunk_size) {
      auto n = std::min(chunk_size, body.size() - pos);
      auto len = std::snprintf(size_line, sizeof(size_line), "%zx\r\n", n);
      std::array<asio::const_buffer, 3> parts{
        asio::buffer(size_line, static_cast<size_t>(len)),
        asio::buffer(body.data() + pos, n), asio::buffer("\r\n", 2)};
      if (auto ec = d.write(parts))
        return ec;
    }
    return d.write(asio::buffer("0\r\n\r\n", 5));
  };
  bool retryable = false;
  return d.exchange(head, rest, expect, retryable);
}

caf::expected<std::string> client::send_raw(std::string bytes) {
  auto& d = *impl_;
  beast::tcp_stream stream{d.ioc};
  if (auto ec = d.connect(stream))
    return failure("connect", ec);
  auto deadline = std::chrono::steady_clock::now() + d.timeout;
  beast::error_code ec;
  stream.expires_at(deadline);
  asio::async_write(stream, asio::buffer(bytes),
                    [&](beast::error_code e, size_t) { ec = e; });
  d.run();
  // A failed write still leaves whatever the server answered to read.
  std::string received;
  char chunk[16 * 1024];
  for (;;) {
    size_t n = 0;
    stream.expires_at(deadline);
    stream.async_read_some(asio::buffer(chunk),
                           [&](beast::error_code e, size_t k) {
                             ec = e;
                             n = k;
                           });
    d.run();
    received.append(chunk, n);
    if (ec)
      break;
  }
  beast::error_code ignored;
  stream.socket().close(ignored);
  return received;
}

void client::close() {
  impl_->drop();
}

size_t client::connects() const {
  return impl_->connects;
}

} // namespace vigil::http
