#pragma once

// A real vigild for integration tests: port 0 everywhere, a temp data dir,
// the ready line parsed, an HTTP client with the admin token.

#include <memory>
#include <string>
#include <vector>

#include "runtime/http/client.hpp"
#include "tests/support/process.hpp"
#include "tests/support/support.hpp"

namespace vigil::test {

/// One vigild process.
class vigild {
public:
  /// Starts vigild on `data_dir` with `extra` flags (and a config file with
  /// `config_yaml` when not empty); waits for the ready line.
  vigild(std::string data_dir, std::vector<std::string> extra = {},
         std::string config_yaml = {});

  /// Whether the ready line arrived.
  bool ready() const { return http_port_ != 0; }
  uint16_t http_port() const { return http_port_; }
  uint16_t cluster_port() const { return cluster_port_; }
  const std::string& node_id() const { return node_id_; }
  const std::string& data_dir() const { return data_dir_; }
  /// The admin token vigild wrote into the data dir.
  std::string admin_token() const;
  process& proc() { return *proc_; }

  /// A new client to the HTTP port.
  http::client client() const;
  /// GET with the admin token.
  caf::expected<http::client_response> get(const std::string& target) const;
  /// POST with the given content type (and extra headers).
  caf::expected<http::client_response>
  post(const std::string& target, std::string body,
       const std::string& content_type,
       http::header_list headers = {}) const;

  /// SIGTERM and wait; returns the exit code.
  std::optional<int> stop();

private:
  std::string data_dir_;
  std::unique_ptr<process> proc_;
  uint16_t http_port_ = 0;
  uint16_t cluster_port_ = 0;
  std::string node_id_;
};

/// One line of POST /api/v1/samples: a sample of `service`'s `metric` at
/// `ts_s` from pod `pod`, newline included.
std::string sample_line(const std::string& service, const std::string& metric,
                        double value, int64_t ts_s, const std::string& pod);

/// Extracts the value of `key=` from a ready line.
std::string ready_field(const std::string& line, const std::string& key);

} // namespace vigil::test
