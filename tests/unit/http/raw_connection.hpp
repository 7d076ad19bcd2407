#pragma once

// A raw TCP connection for tests that must control the bytes on the wire:
// partial requests, pipelining, 100-continue. Every read has a deadline and a
// timed-out read leaves the connection usable.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include <boost/asio/buffer.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>

namespace vigil::http::test {

/// A blocking TCP connection to a local server with bounded reads.
class raw_connection {
public:
  using tcp = boost::asio::ip::tcp;
  using steady = std::chrono::steady_clock;

  /// Connects to 127.0.0.1:`port`; see connected().
  explicit raw_connection(uint16_t port) : socket_(ioc_) {
    boost::system::error_code ec;
    socket_.connect(
      tcp::endpoint{boost::asio::ip::make_address("127.0.0.1"), port}, ec);
    connected_ = !ec;
    if (connected_)
      socket_.set_option(tcp::no_delay{true}, ec);
  }

  /// Returns whether the connection was established.
  bool connected() const { return connected_; }

  /// Returns whether the server closed its side (a read saw EOF or an error).
  bool closed() const { return closed_; }

  /// Writes all of `bytes`; false when the connection failed.
  bool write(std::string_view bytes) {
    boost::system::error_code ec;
    boost::asio::write(socket_, boost::asio::buffer(bytes.data(), bytes.size()),
                       ec);
    return !ec;
  }

  /// Reads until `needle` has arrived; returns the data up to and including
  /// it (later bytes stay pending), or nullopt on close or timeout.
  std::optional<std::string> read_until(std::string_view needle,
                                        std::chrono::milliseconds timeout) {
    auto deadline = steady::now() + timeout;
    for (;;) {
      if (auto pos = pending_.find(needle); pos != std::string::npos) {
        auto result = pending_.substr(0, pos + needle.size());
        pending_.erase(0, pos + needle.size());
        return result;
      }
      if (closed_ || !read_some(deadline))
        return std::nullopt;
    }
  }

  /// Reads one response with a Content-Length body (or none); returns it
  /// whole, or nullopt on close or timeout.
  std::optional<std::string> read_response(std::chrono::milliseconds timeout) {
    auto deadline = steady::now() + timeout;
    auto head = read_until("\r\n\r\n", timeout);
    if (!head)
      return std::nullopt;
    size_t length = 0;
    auto lower = *head;
    for (auto& c : lower)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (auto pos = lower.find("\r\ncontent-length:"); pos != std::string::npos)
      length = std::stoul(lower.substr(pos + 17));
    while (pending_.size() < length)
      if (closed_ || !read_some(deadline))
        return std::nullopt;
    auto result = *head + pending_.substr(0, length);
    pending_.erase(0, length);
    return result;
  }

  /// Reads until the server closes or `timeout` passes; returns what
  /// arrived (pending data included) and whether the server closed.
  std::pair<std::string, bool>
  read_until_close(std::chrono::milliseconds timeout) {
    auto deadline = steady::now() + timeout;
    while (!closed_ && read_some(deadline)) {
      // keep reading
    }
    return {std::exchange(pending_, {}), closed_};
  }

  /// Closes the connection.
  void close() {
    boost::system::error_code ec;
    socket_.close(ec);
  }

private:
  // One read bounded by `deadline`; false on timeout or close.
  bool read_some(steady::time_point deadline) {
    char chunk[16 * 1024];
    bool done = false;
    boost::system::error_code ec;
    size_t n = 0;
    socket_.async_read_some(boost::asio::buffer(chunk),
                            [&](boost::system::error_code e, size_t k) {
                              done = true;
                              ec = e;
                              n = k;
                            });
    ioc_.restart();
    ioc_.run_until(deadline);
    if (!done) {
      // Timed out: cancel and let the aborted handler run before `chunk`
      // goes out of scope.
      socket_.cancel(ec);
      ioc_.restart();
      ioc_.run();
      pending_.append(chunk, n);
      return false;
    }
    pending_.append(chunk, n);
    if (ec) {
      closed_ = true;
      return false;
    }
    return true;
  }

  boost::asio::io_context ioc_;
  tcp::socket socket_;
  std::string pending_;
  bool connected_ = false;
  bool closed_ = false;
};

} // namespace vigil::http::test
