#pragma once

// Runs the real Prometheus-stack programs of Debian 12 (Prometheus 2.42,
// Alertmanager 0.25, node-exporter 1.5) against a vigild under test: config
// files generated into a temp dir, free loopback ports, readiness polled with
// a deadline, SIGTERM with a SIGKILL fallback, stderr kept in a file for the
// failure report. Nothing here talks to anything but 127.0.0.1.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tests/support/process.hpp"

namespace vigil::test {

/// Where Debian's prometheus package installs the server.
inline constexpr const char* prometheus_binary = "/usr/bin/prometheus";

/// Where Debian's prometheus-alertmanager package installs Alertmanager.
inline constexpr const char* alertmanager_binary
  = "/usr/bin/prometheus-alertmanager";

/// Where Debian's prometheus-node-exporter package installs the exporter.
inline constexpr const char* node_exporter_binary
  = "/usr/bin/prometheus-node-exporter";

/// Whether `path` names an executable file.
bool executable(const std::string& path);

/// Returns a TCP port on 127.0.0.1 that was free a moment ago (bound to port
/// 0, then closed). Another process may take it before the caller binds it;
/// `launch` retries with a fresh port when that happens.
uint16_t free_port();

/// A label matcher `name="value"` for `metric_sum`.
using label_match = std::pair<std::string, std::string>;

/// Sums every sample of metric `name` in the Prometheus text exposition
/// `text` whose label set includes all of `labels`; nothing when no sample
/// matches.
std::optional<double> metric_sum(const std::string& text,
                                 const std::string& name,
                                 const std::vector<label_match>& labels = {});

/// GETs `target` from 127.0.0.1:`port` (2 s timeout); the body when the
/// answer is 200, nothing otherwise.
std::optional<std::string> http_get(uint16_t port, const std::string& target);

/// POSTs `body` as `content_type` to 127.0.0.1:`port`; the status code, or 0
/// when no answer came.
unsigned http_post(uint16_t port, const std::string& target, std::string body,
                   const std::string& content_type);

/// How to run one peer program: its argv for a given listen port (which may
/// write config files first) and the path that answers 200 once it serves.
struct peer_spec {
  /// A short name for logs and messages ("prometheus").
  std::string name;
  /// Builds the full argv (binary first) for listening on `port`.
  std::function<std::vector<std::string>(uint16_t port)> argv;
  /// The readiness path, polled until it answers 200.
  std::string ready_path = "/-/ready";
};

/// One running peer program on 127.0.0.1:`port()`.
class peer {
public:
  /// Takes over a started process.
  peer(std::string name, uint16_t port, std::unique_ptr<process> proc,
       std::string log_path);
  ~peer();
  peer(const peer&) = delete;
  peer& operator=(const peer&) = delete;

  /// The name from its spec.
  const std::string& name() const { return name_; }
  /// The port it listens on.
  uint16_t port() const { return port_; }
  /// `127.0.0.1:port`.
  std::string address() const;
  /// GETs `target` from it; see `http_get`.
  std::optional<std::string> get(const std::string& target) const;
  /// GETs its /metrics (empty when unanswered).
  std::string metrics() const;
  /// Everything it wrote to stderr (its log) so far.
  std::string log() const;

  /// Kills it at once (SIGKILL) and reaps it, as a crash would.
  void kill();
  /// SIGTERM, then waits up to `deadline` for it to exit, then SIGKILL.
  /// Returns whether it exited by itself with status 0.
  bool stop(std::chrono::milliseconds deadline = std::chrono::seconds{15});

private:
  std::string name_;
  uint16_t port_;
  std::unique_ptr<process> proc_;
  std::string log_path_;
  bool stopped_ = false;
};

/// Starts `spec` with its stderr in `dir`/<name>.log and polls its readiness
/// path until 200 or `deadline`. When the program exits before it is ready
/// (a port taken since `free_port` chose it), retries with a new port, up to
/// three attempts. The program is killed by the kernel if the test process
/// dies first (util-linux `setpriv --pdeathsig`, when installed). On failure
/// returns nullptr and puts the reason, with the program's log, into `why`.
std::unique_ptr<peer> launch(const peer_spec& spec,
                             const std::filesystem::path& dir,
                             std::chrono::milliseconds deadline,
                             std::string& why);

/// One scrape job of a Prometheus config.
struct scrape_job {
  /// The `job_name`, which vigild takes as the service.
  std::string name;
  /// The target's port on 127.0.0.1; 0 = Prometheus itself.
  uint16_t port = 0;
};

/// What a Prometheus under test does.
struct prometheus_options {
  /// Scrape jobs. Default: none.
  std::vector<scrape_job> jobs;
  /// Scrape and rule evaluation interval. Default: 1s.
  std::string interval = "1s";
  /// The `remote_write` URL; empty = no remote write. Default: empty.
  std::string remote_write_url;
  /// `queue_config.batch_send_deadline`. Default: 1s.
  std::string batch_send_deadline = "1s";
  /// `queue_config.max_samples_per_send`. Default: 500.
  int max_samples_per_send = 500;
  /// `metadata_config.send_interval`. Default: 2s.
  std::string metadata_send_interval = "2s";
  /// Alertmanager port to send alerts to; 0 = none. Default: 0.
  uint16_t alertmanager_port = 0;
  /// The body of a rules file (`groups: ...`); empty = none. Default: empty.
  std::string rules_yaml;
};

/// The Prometheus config file for `opts` when listening on `self_port`, with
/// the rules (if any) in `rules_path`.
std::string prometheus_config(const prometheus_options& opts,
                              uint16_t self_port,
                              const std::string& rules_path);

/// A spec that runs Prometheus with `opts`, its config and TSDB in `dir`.
peer_spec prometheus_spec(prometheus_options opts,
                          const std::filesystem::path& dir);

/// What an Alertmanager under test does.
struct alertmanager_options {
  /// The webhook receiver's URL (`send_resolved: true`).
  std::string webhook_url;
  /// `route.group_wait`. Default: 1s.
  std::string group_wait = "1s";
  /// `route.group_interval`. Default: 1s.
  std::string group_interval = "1s";
  /// `route.repeat_interval`. Default: 1h.
  std::string repeat_interval = "1h";
};

/// The Alertmanager config file for `opts`.
std::string alertmanager_config(const alertmanager_options& opts);

/// A spec that runs Alertmanager with `opts` (gossip off), its config and
/// storage in `dir`.
peer_spec alertmanager_spec(alertmanager_options opts,
                            const std::filesystem::path& dir);

/// A spec that runs node-exporter with a small, fast set of collectors.
peer_spec node_exporter_spec();

} // namespace vigil::test
