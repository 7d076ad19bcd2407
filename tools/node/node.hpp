#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <caf/actor_system.hpp>
#include <caf/expected.hpp>

#include "config/options.hpp"
#include "messages/interfaces.hpp"
#include "runtime/cluster_view.hpp"
#include "runtime/load_meter.hpp"
#include "runtime/metrics/board.hpp"
#include "runtime/metrics/registry.hpp"
#include "runtime/storage/store.hpp"
#include "runtime/storage/audit_log.hpp"

namespace vigil::http {
class server;
} // namespace vigil::http

namespace vigil::cluster {
class repl_queue;
} // namespace vigil::cluster

namespace vigil::node {

/// One running Vigil node: storage, the supervision tree of actors, the
/// admin actor on the cluster port and the HTTP front door. vigild, the
/// evaluation tools and the tests all assemble a node through this class.
class node {
public:
  /// Starts a node. Errors name what failed (data dir in use, port taken).
  static caf::expected<std::unique_ptr<node>> start(options opts);

  /// Stops the node if it still runs.
  ~node();

  node(const node&) = delete;
  node& operator=(const node&) = delete;

  /// Graceful stop: refuse new requests, let in-flight ones finish, stop the
  /// actors (detectors snapshot), flush and close storage. Idempotent.
  void stop();

  /// Whether the root supervisor gave up (an escalation reached the top);
  /// the process should then exit non-zero.
  bool failed() const { return failed_.load(); }

  /// Applies the reloadable parts of `opts` (log level); returns a
  /// description of what changed and what needs a restart.
  std::string reload(const options& opts);

  /// `vigild ready node=ID http=HOST:PORT cluster=HOST:PORT`.
  std::string ready_line() const;

  const std::string& id() const { return id_; }
  const std::string& http_host() const { return http_host_; }
  uint16_t http_port() const { return http_port_; }
  uint16_t cluster_port() const { return cluster_port_; }
  const std::string& admin_token() const { return admin_token_; }
  /// A person who may decide approvals (remediation.approvers).
  struct approver {
    std::string name;
    std::string token;
  };
  const std::vector<approver>& approvers() const { return approvers_; }
  /// Empty when ingest is open.
  const std::string& ingest_token() const { return ingest_token_; }
  const options& opts() const { return opts_; }
  caf::actor_system& system() { return *sys_; }
  metrics::registry& metrics() { return *metrics_; }
  storage::store& store() { return *store_; }

  /// The current ingest gateway (found through the actor registry, so it is
  /// the live incarnation); null while it restarts.
  ingest_actor gateway() const;
  /// The current correlator; null while it restarts.
  correlator_actor correlator() const;
  /// The current RCA actor (the service graph); null while it restarts.
  rca_actor rca() const;
  /// The current playbook engine; null while it restarts.
  playbook_actor playbooks() const;
  /// The audit log (thread-safe).
  storage::audit_log& audit() { return *audit_; }

  /// Reloads the playbooks (SIGHUP, the console); waits for the engine.
  caf::expected<reload_report> reload_playbooks();

  /// Whether the node accepts work (storage open, actors up, not stopping).
  bool ready() const { return ready_.load(); }

  /// Members, shard owners, the control node (thread-safe).
  const cluster_view& cluster() const { return *view_; }

private:
  node() = default;
  caf::error init();
  caf::error start_http();
  /// Runs the control-plane actors here (this node became the control
  /// node), or stops them and relays their input to the control node.
  void start_control();
  void stop_control();
  /// Takes a new control epoch (stored, replicated) before the control
  /// actors start.
  void take_control_epoch();
  /// The control node's actor registered under `key` (locally when this
  /// node is it); null when unreachable.
  caf::actor control_actor(caf::atom_value key) const;

  options opts_;
  std::string id_;
  std::string admin_token_;
  std::string ingest_token_;
  std::vector<approver> approvers_;
  std::string http_host_;
  uint16_t http_port_ = 0;
  uint16_t cluster_port_ = 0;
  std::shared_ptr<metrics::registry> metrics_;
  std::shared_ptr<metrics::board> series_board_;
  std::shared_ptr<load_meter> load_;
  std::shared_ptr<storage::store> store_;
  std::shared_ptr<storage::audit_log> audit_;
  /// Set at stop: executors abort running programs and retry waits.
  std::shared_ptr<std::atomic<bool>> stopping_
    = std::make_shared<std::atomic<bool>>(false);
  std::unique_ptr<caf::actor_system_config> cfg_;
  std::unique_ptr<caf::actor_system> sys_;
  caf::actor root_;
  caf::actor watcher_;
  caf::actor admin_;
  /// The membership actor, published on the cluster port.
  caf::actor member_;
  std::shared_ptr<cluster_view> view_;
  std::shared_ptr<cluster::repl_queue> repl_;
  std::shared_ptr<cluster::repl_queue> snaps_;
  /// The control-plane subtree (correlator, RCA, playbooks, notifier,
  /// summarizer) while this node is the control node, else the forwarder.
  std::mutex role_mtx_;
  std::function<caf::actor()> spawn_control_;
  caf::actor control_;
  caf::actor forwarder_;
  caf::actor control_watcher_;
  std::shared_ptr<std::atomic<uint64_t>> control_gen_
    = std::make_shared<std::atomic<uint64_t>>(0);
  std::unique_ptr<http::server> http_;
  std::atomic<bool> ready_{false};
  std::atomic<bool> failed_{false};
  std::atomic<bool> stopped_{false};
};

/// The registry keys of the node's well-known actors.
namespace keys {
inline const caf::atom_value correlator = caf::atom("correlator");
inline const caf::atom_value rca = caf::atom("rca");
inline const caf::atom_value ingest = caf::atom("ingest");
inline const caf::atom_value admin = caf::atom("admin");
inline const caf::atom_value playbook = caf::atom("playbook");
inline const caf::atom_value notifier = caf::atom("notifier");
inline const caf::atom_value summarizer = caf::atom("summarizer");
} // namespace keys

} // namespace vigil::node
