#pragma once

// A local webhook receiver for tests that run real nodes: it checks each
// POST the way a webhook consumer would (JSON object with Vigil's fields)
// and records the event and dedup key of every accepted one.

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace vigil::http {
class server;
} // namespace vigil::http

namespace vigil::test {

class hook_sink {
public:
  hook_sink();
  ~hook_sink();

  /// The URL to configure as a `webhook` receiver.
  std::string url() const;

  /// The config section naming this sink as receiver `hook`.
  std::string config() const;

  /// How many notifications of `event` ("opened", "action", ...) arrived.
  size_t count(const std::string& event) const;

  /// (event, dedup key) of every accepted notification, in arrival order.
  std::vector<std::array<std::string, 2>> seen() const;

  /// Requests refused as malformed, with the reason.
  std::vector<std::string> problems() const;

private:
  mutable std::mutex mtx_;
  std::vector<std::array<std::string, 2>> seen_;
  std::vector<std::string> problems_;
  std::unique_ptr<http::server> server_;
};

} // namespace vigil::test
