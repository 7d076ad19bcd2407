#include "tools/node/node.hpp"

#include <filesystem>
#include <mutex>
#include <optional>
#include <thread>

#include <caf/actor_registry.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/exit_reason.hpp>
#include <caf/scoped_actor.hpp>
#include <curl/curl.h>
#include <spdlog/spdlog.h>

#include "actors/admin/admin.hpp"
#include "actors/correlator/correlator.hpp"
#include "actors/detector/shard_actor.hpp"
#include "actors/executor/executor.hpp"
#include "actors/ingest/gateway.hpp"
#include "actors/llm/client.hpp"
#include "actors/llm/summarizer.hpp"
#include "actors/notifier/notifier.hpp"
#include "actors/playbook/engine.hpp"
#include "actors/rca/rca.hpp"
#include "actors/supervisor/supervisor.hpp"
#include "cluster/bootstrap.hpp"
#include "cluster/identity.hpp"
#include "cluster/member.hpp"
#include "config/playbook.hpp"
#include "config/rules.hpp"
#include "messages/errc.hpp"
#include "messages/messages.hpp"
#include "runtime/clock.hpp"
#include "runtime/http/server.hpp"
#include "runtime/logging.hpp"
#include "runtime/secrets.hpp"
#include "tools/node/http_api.hpp"

namespace vigil::node {

namespace {

uint32_t threads_or_cores(uint32_t configured) {
  if (configured > 0)
    return configured;
  auto n = std::thread::hardware_concurrency();
  return n == 0 ? 2 : n;
}

// Declares the metric names the contract promises even before anything
// increments them, so dashboards find them on a fresh node.
void declare_contract_metrics(metrics::registry& reg) {
  reg.counters("vigil_ingest_samples_total",
               "Samples accepted by ingest, by endpoint.", {"endpoint"});
  reg.counters("vigil_ingest_requests_total",
               "Ingest requests answered, by endpoint and status code.",
               {"endpoint", "code"});
  reg.counters("vigil_ingest_rejected_total",
               "Ingest requests refused, by endpoint and reason.",
               {"endpoint", "reason"});
  reg.counter_("vigil_anomalies_total",
               "Anomaly events emitted (onset and ongoing).");
  reg.gauge_("vigil_incidents_open",
             "Incidents not yet resolved (fed by the correlator).");
  reg.counter_("vigil_incidents_total", "Incidents opened.");
  reg.counters("vigil_actions_total",
               "Remediation actions, by action and status.",
               {"action", "status"});
  reg.counters("vigil_notifications_total",
               "Notifications, by receiver and status.",
               {"receiver", "status"});
  reg.counters("vigil_actor_restarts_total",
               "Actors restarted by their supervisor, by actor kind.",
               {"actor"});
}

} // namespace

caf::expected<std::unique_ptr<node>> node::start(options opts) {
  std::unique_ptr<node> n{new node};
  n->opts_ = std::move(opts);
  if (auto err = n->init()) {
    n->stop();
    return err;
  }
  return n;
}

caf::error node::init() {
  auto& o = opts_;
  std::error_code ec;
  std::filesystem::create_directories(o.node.data_dir, ec);
  if (ec)
    return caf::make_error(errc::storage_failure,
                           "cannot create data dir " + o.node.data_dir,
                           ec.message());
  auto id = cluster::node_id(o.node.id, o.node.data_dir);
  if (!id)
    return id.error();
  id_ = *id;
  // Tokens: configured, from a file, or generated on first start.
  if (!o.security.admin_token.empty()) {
    admin_token_ = o.security.admin_token;
  } else {
    auto path = o.security.admin_token_file.empty()
                  ? (std::filesystem::path{o.node.data_dir} / "admin.token")
                      .string()
                  : o.security.admin_token_file;
    auto token = o.security.admin_token_file.empty()
                   ? load_or_create_token(path)
                   : read_token_file(path);
    if (!token)
      return token.error();
    admin_token_ = *token;
  }
  if (!o.security.ingest_token.empty()) {
    ingest_token_ = o.security.ingest_token;
  } else if (!o.security.ingest_token_file.empty()) {
    auto token = read_token_file(o.security.ingest_token_file);
    if (!token)
      return token.error();
    ingest_token_ = *token;
  }
  // The people who may decide approvals, each known by a token of their
  // own; a token that names two people, or the admin token, identifies
  // nobody and stops the start.
  for (const auto& text : o.remediation.approvers) {
    auto rule = parse_approver(text);
    if (!rule)
      return rule.error();
    auto token = read_token_file(rule->token_file);
    if (!token)
      return caf::make_error(errc::invalid_config,
                             "remediation.approvers: the token of "
                               + rule->name + ": " + render(token.error()));
    if (equal_secrets(*token, admin_token_))
      return caf::make_error(errc::invalid_config,
                             "remediation.approvers: " + rule->name
                               + "'s token is the admin token; approvers "
                                 "need tokens of their own");
    for (const auto& other : approvers_)
      if (other.name == rule->name || equal_secrets(other.token, *token))
        return caf::make_error(errc::invalid_config,
                               "remediation.approvers: " + rule->name + " and "
                                 + other.name
                                 + " share a name or a token; each person "
                                   "needs their own");
    approvers_.push_back({rule->name, *token});
  }
  // libcurl's global state, once per process, before any thread uses it.
  static std::once_flag curl_once;
  std::call_once(curl_once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  auto store = storage::store::open(o.node.data_dir);
  if (!store)
    return store.error();
  store_ = std::move(*store);
  auto audit = storage::audit_log::open(*store_);
  if (!audit)
    return audit.error();
  audit_ = std::move(*audit);
  // The playbooks: a directory that exists must hold a valid set (a node
  // never starts with half of it); a missing one means no automation yet.
  std::vector<playbook> books;
  if (std::filesystem::exists(o.node.playbooks_dir)) {
    auto loaded = load_playbooks(o.node.playbooks_dir);
    if (!loaded.ok())
      return caf::make_error(errc::invalid_config,
                             "the playbooks in " + o.node.playbooks_dir
                               + " are invalid:\n" + loaded.message());
    books = std::move(loaded.playbooks);
  } else {
    spdlog::warn("no playbooks directory {}: incidents will only be "
                 "escalated",
                 o.node.playbooks_dir);
  }
  metrics_ = std::make_shared<metrics::registry>();
  declare_contract_metrics(*metrics_);
  series_board_ = std::make_shared<metrics::board>();
  load_ = std::make_shared<load_meter>(o.cluster.shards,
                                       o.ingest.max_queued_samples,
                                       o.ingest.max_queued_samples_per_shard);
  auto ens = detector::ensemble::make(o.detection);
  if (!ens)
    return ens.error();
  // The actor system: Vigil's own config stays in YAML; only CAF's keys are
  // set here, and argv is never handed to CAF.
  cfg_ = std::make_unique<caf::actor_system_config>();
  add_message_types(*cfg_);
  cluster::tls_files tls{o.cluster.tls_certificate, o.cluster.tls_key,
                         o.cluster.tls_ca};
  if (auto err = cluster::check_tls(tls))
    return err;
  cluster::configure_middleman(*cfg_, VIGIL_VERSION,
                               o.cluster.heartbeat_interval,
                               o.cluster.down_after, tls);
  cfg_->set("scheduler.max-threads",
            static_cast<size_t>(threads_or_cores(o.node.worker_threads)));
  // CAF's default, work stealing, has idle threads poll (spin, then sleep
  // 50 us) for work: measured 0.17 cores per idle node against 0.007 with
  // the shared queue, at the same peak ingest (docs/benchmarks.md).
  cfg_->set("scheduler.policy", o.node.scheduler == "work_stealing"
                                  ? caf::atom("stealing")
                                  : caf::atom("sharing"));
  cfg_->set("logger.console-verbosity", caf::atom("quiet"));
  cfg_->set("logger.file-verbosity", caf::atom("quiet"));
  sys_ = std::make_unique<caf::actor_system>(*cfg_);
  // The supervision tree: root -> {correlator, rca, shards -> shard i,
  // ingest, admin}. Children find each other through the actor registry,
  // which every (re)start updates.
  auto policy = restart_policy::from(o.node.supervision);
  auto metrics = metrics_;
  auto det_metrics = std::make_shared<detector::detector_metrics>(*metrics_);
  supervisor::supervisor_options shards;
  shards.name = "shards";
  shards.policy = policy;
  shards.shutdown_timeout = o.node.shutdown_timeout;
  shards.metrics = metrics;
  for (uint32_t i = 0; i < o.cluster.shards; ++i) {
    detector::shard_config sc;
    sc.id = shard_id{i};
    sc.node = id_;
    sc.detection = o.detection;
    sc.ens = *ens;
    sc.policy = policy;
    sc.shutdown_timeout = o.node.shutdown_timeout;
    // Admission already bounds what a shard holds; the per-service bound
    // only matters if a detector restarts for long.
    sc.max_buffered_samples = o.ingest.max_queued_samples_per_shard;
    sc.store = store_;
    sc.metrics = metrics;
    sc.det_metrics = det_metrics;
    sc.load = load_;
    sc.series_board = series_board_;
    sc.sink_key = keys::correlator;
    sc.restore_at_start = o.cluster.join.empty();
    shards.children.push_back(
      {"shard-" + std::to_string(i), "shard", ingest::shard_key(i),
       [sc](caf::local_actor* self) {
         return caf::actor_cast<caf::actor>(self->spawn(detector::shard, sc));
       }});
  }
  correlator::correlator_config cc;
  cc.detection = o.detection;
  cc.correlation = o.correlation;
  cc.suppression = o.suppression;
  cc.rca = o.rca;
  cc.store = store_;
  cc.metrics = metrics;
  cc.load = load_;
  cc.rca_key = keys::rca;
  cc.playbook_key = keys::playbook;
  cc.default_service = o.ingest.default_service;
  rca::rca_config rc;
  rc.metrics = metrics;
  rc.load = load_;
  rc.graph.edge_ttl_ms = o.topology.edge_ttl.count();
  rc.graph.max_services = o.topology.max_services;
  rc.graph.max_edges = o.topology.max_edges;
  rc.ranker.change_lookback_ms = o.rca.change_lookback.count();
  rc.ranker.max_candidates = o.rca.max_candidates;
  rc.ranker.persisting_only = o.rca.persisting_only;
  for (const auto& text : o.topology.edges)
    if (auto e = parse_edge_rule(text))
      rc.static_edges.push_back({e->first, e->second});
  rc.correlator_key = keys::correlator;
  rc.store = store_;
  ingest::gateway_config gc;
  gc.ingest = o.ingest;
  gc.shards = o.cluster.shards;
  gc.load = load_;
  gc.metrics = metrics;
  gc.correlator_key = keys::correlator;
  gc.rca_key = keys::rca;
  playbooks::engine_config pc;
  pc.remediation = o.remediation;
  pc.dir = o.node.playbooks_dir;
  pc.initial = std::move(books);
  pc.store = store_;
  pc.audit = audit_;
  pc.metrics = metrics;
  pc.correlator_key = keys::correlator;
  pc.notifier_key = keys::notifier;
  auto receivers = notifier::make_receivers(o.notifiers);
  if (!receivers)
    return receivers.error();
  notifier::notifier_config nc;
  nc.opts = o.notifiers;
  nc.receivers = std::move(*receivers);
  nc.store = store_;
  nc.metrics = metrics;
  nc.node = id_;
  std::optional<llm::summarizer_config> sc;
  if (!o.llm.provider.empty()) {
    auto key = llm::api_key(o.llm);
    if (!key)
      return key.error();
    sc.emplace();
    sc->opts = o.llm;
    sc->key = std::move(*key);
    sc->correlator_key = keys::correlator;
    sc->rca_key = keys::rca;
    sc->metrics = metrics;
    pc.summarizer_key = keys::summarizer;
  }
  bool clustered = !o.cluster.join.empty();
  view_ = std::make_shared<cluster_view>(id_, o.cluster.shards, clustered);
  gc.view = view_;
  gc.forward_batch = o.cluster.forward_batch;
  gc.forward_delay = o.cluster.forward_delay;
  {
    // Only the control node holding its lease acts and notifies (a node
    // started without seeds may be joined by others later), and its
    // durable records go to every member.
    auto view = view_;
    pc.fence = [view] { return view->fence_reason(); };
    pc.epoch = [view] { return view->control_epoch(); };
    // Executors ask again before every attempt, against the step's epoch.
    pc.spawn_executor = [stop = stopping_, view](caf::local_actor* self,
                                                 action_job job,
                                                 playbook_actor engine) {
      return executor::spawn(self, std::move(job), std::move(engine), stop,
                             [view](uint64_t epoch) {
                               return view->fence_reason(epoch);
                             });
    };
    pc.in_charge = [view] { return view->leading(); };
    pc.held = [view] {
      return view->wait_held(view->written(), std::chrono::seconds{2});
    };
    nc.written = [view] { return view->written(); };
    nc.held = [view](uint64_t seq) { return view->holds(seq); };
    nc.may_deliver = [view] { return view->may_act(); };
    repl_ = std::make_shared<cluster::repl_queue>();
    snaps_ = std::make_shared<cluster::repl_queue>();
    cluster::replicate_writes(*store_, view_, repl_, snaps_);
  }
  // The control plane: one subtree, on the control node only (every node
  // in a single-node cluster).
  supervisor::supervisor_options control;
  control.name = "control";
  control.policy = policy;
  control.shutdown_timeout = o.node.shutdown_timeout;
  control.metrics = metrics;
  auto& tree = control;
  tree.children.push_back(
    {"correlator", "correlator", keys::correlator,
     [cc](caf::local_actor* self) {
       return caf::actor_cast<caf::actor>(
         self->spawn(correlator::correlator, cc));
     }});
  tree.children.push_back({"rca", "rca", keys::rca,
                           [rc](caf::local_actor* self) {
                             return caf::actor_cast<caf::actor>(
                               self->spawn(rca::rca, rc));
                           }});
  tree.children.push_back({"playbook", "playbook", keys::playbook,
                           [pc](caf::local_actor* self) {
                             return caf::actor_cast<caf::actor>(
                               self->spawn(playbooks::engine, pc));
                           }});
  if (sc)
    // Detached: a model call blocks.
    tree.children.push_back({"summarizer", "summarizer", keys::summarizer,
                             [sc = *sc](caf::local_actor* self) {
                               return caf::actor_cast<caf::actor>(
                                 self->spawn<caf::detached>(llm::summarizer,
                                                            sc));
                             }});
  // Detached: deliveries block on HTTP.
  tree.children.push_back({"notifier", "notifier", keys::notifier,
                           [nc](caf::local_actor* self) {
                             return caf::actor_cast<caf::actor>(
                               self->spawn<caf::detached>(notifier::notifier,
                                                          nc));
                           }});
  spawn_control_ = [this, control] {
    return sys_->spawn(supervisor::supervisor_actor, control);
  };
  supervisor::supervisor_options data;
  data.name = "node";
  data.policy = policy;
  data.shutdown_timeout = o.node.shutdown_timeout;
  data.metrics = metrics;
  data.children.push_back({"shards", "supervisor", std::nullopt,
                           [shards](caf::local_actor* self) {
                             return self->spawn(supervisor::supervisor_actor,
                                                shards);
                           }});
  data.children.push_back({"ingest", "ingest", keys::ingest,
                           [gc](caf::local_actor* self) {
                             return caf::actor_cast<caf::actor>(
                               self->spawn(ingest::gateway, gc));
                           }});
  root_ = sys_->spawn(supervisor::supervisor_actor, std::move(data));
  // Watch the root: if it gives up, the node has failed.
  auto* failed = &failed_;
  auto* ready = &ready_;
  auto* stopped = &stopped_;
  auto root = root_;
  // Held by the node: CAF destroys an actor nobody references.
  // The root travels as a spawn argument: CAF 0.17 dereferences a null
  // argument tuple for actors spawned without any.
  watcher_ = sys_->spawn(
    [failed, ready, stopped](caf::event_based_actor* self,
                             const decltype(root)& watched) {
    self->monitor(watched);
    self->set_down_handler([=](caf::down_msg& msg) {
      if (!stopped->load()) {
        spdlog::critical("the node's supervision tree stopped: {}",
                         self->system().render(msg.reason));
        failed->store(true);
        ready->store(false);
      }
      self->quit();
    });
    return caf::behavior{[](int) {}};
  },
    root);
  // Supervisors start their children asynchronously; the node is ready
  // only when every well-known actor is published.
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds{30};
  auto all_up = [&] {
    auto& reg = sys_->registry();
    if (!reg.get(keys::ingest))
      return false;
    for (uint32_t i = 0; i < o.cluster.shards; ++i)
      if (!reg.get(ingest::shard_key(i)))
        return false;
    return true;
  };
  while (!all_up()) {
    if (failed_ || std::chrono::steady_clock::now() > until)
      return caf::make_error(errc::internal,
                             "the actors did not start within 30 s");
    std::this_thread::sleep_for(std::chrono::milliseconds{5});
  }
  if (auto err = start_http())
    return err;
  // The admin actor, published on the cluster port for the console and
  // other nodes.
  node_status status;
  status.node = id_;
  status.version = VIGIL_VERSION;
  status.http = http_host_ + ":" + std::to_string(http_port_);
  status.started_at_ms = wall_ms();
  status.ready = true;
  admin::admin_config ac;
  ac.status = status;
  // The console's commands go to this node's own admin API on loopback.
  ac.api_host = http_host_ == "0.0.0.0" ? "127.0.0.1"
                : http_host_ == "::"    ? "::1"
                                        : http_host_;
  ac.api_port = http_port_;
  ac.token = admin_token_;
  admin_ = caf::actor_cast<caf::actor>(
    sys_->spawn<caf::detached>(admin::admin, std::move(ac)));
  // The membership actor is the door on the cluster port: other nodes and
  // the console talk to it; console commands go on to the admin actor.
  cluster::member_config mc;
  mc.self.id = id_;
  mc.self.http = status.http;
  mc.self.version = VIGIL_VERSION;
  mc.self.incarnation = wall_ms();
  mc.seeds = o.cluster.join;
  mc.opts = o.cluster;
  mc.view = view_;
  mc.store = store_;
  mc.queue = repl_;
  mc.snapshots = snaps_;
  mc.on_gain = [this](uint32_t shard) {
    if (auto h = caf::actor_cast<shard_actor>(
          sys_->registry().get(ingest::shard_key(shard))))
      caf::anon_send(h, atom::reload_v);
  };
  mc.on_handoff = [this](uint32_t shard) {
    if (auto h = caf::actor_cast<shard_actor>(
          sys_->registry().get(ingest::shard_key(shard))))
      caf::anon_send(h, atom::snapshot_v);
  };
  mc.load = load_;
  mc.metrics = metrics_;
  mc.admin = admin_;
  mc.ingest_key = keys::ingest;
  mc.correlator_key = keys::correlator;
  mc.rca_key = keys::rca;
  mc.proof = cluster::token_proof(admin_token_);
  mc.tls = !o.cluster.tls_certificate.empty();
  mc.on_role = [this](bool lead) {
    if (lead)
      start_control();
    else
      stop_control();
  };
  member_ = sys_->spawn(cluster::member, std::move(mc));
  auto port = cluster::publish_entry(*sys_, member_, o.node.cluster.host,
                                     o.node.cluster.port,
                                     !o.cluster.tls_certificate.empty());
  if (!port)
    return port.error();
  cluster_port_ = *port;
  // Membership starts once the node knows its own cluster address.
  caf::anon_send(member_, atom::configure_v,
                 o.node.cluster.host + ":" + std::to_string(cluster_port_));
  // Ready when joined and the control plane answers (here or remotely).
  until = std::chrono::steady_clock::now() + std::chrono::seconds{30};
  auto control_up = [&] {
    if (!view_->get()->joined)
      return false;
    if (!view_->leading())
      return view_->get()->leader_door() != nullptr;
    auto& reg = sys_->registry();
    return reg.get(keys::correlator) && reg.get(keys::rca)
           && reg.get(keys::playbook) && reg.get(keys::notifier);
  };
  while (!control_up()) {
    if (auto why = view_->refusal(); !why.empty())
      return caf::make_error(errc::invalid_config,
                             "the cluster refused this node: " + why);
    if (failed_ || std::chrono::steady_clock::now() > until)
      return caf::make_error(
        errc::unavailable,
        clustered ? "could not join the cluster through "
                      + std::to_string(o.cluster.join.size())
                      + " seed(s) within 30 s"
                  : std::string{"the control actors did not start within "
                                "30 s"});
    std::this_thread::sleep_for(std::chrono::milliseconds{5});
  }
  auto board = series_board_;
  metrics_->computed_gauge("vigil_series_active",
                           "Series with live detector state on this node.", {},
                           [board](const auto& emit) {
                             emit({}, static_cast<double>(board->sum()));
                           });
  metrics_->computed_gauge("vigil_services_active",
                           "Services with a detector on this node.", {},
                           [board](const auto& emit) {
                             emit({}, static_cast<double>(board->size()));
                           });
  auto load = load_;
  metrics_->computed_gauge("vigil_ingest_queued_items",
                           "Items admitted by ingest and not yet taken by a "
                           "detector.",
                           {}, [load](const auto& emit) {
                             emit({}, static_cast<double>(load->total()));
                           });
  ready_ = true;
  return {};
}

caf::error node::start_http() {
  auto routes = http_api::make_router(*this);
  http::server_options so;
  so.host = opts_.node.http.host;
  so.port = opts_.node.http.port;
  so.threads = threads_or_cores(opts_.node.http_threads);
  so.max_connections = opts_.ingest.max_connections;
  so.read_timeout = opts_.ingest.read_timeout;
  so.idle_timeout = opts_.ingest.idle_timeout;
  auto server = http::server::start(so, std::move(routes),
                                    http_api::make_hooks(*this));
  if (!server)
    return server.error();
  http_ = std::move(*server);
  http_host_ = http_->host();
  http_port_ = http_->port();
  return {};
}

void node::start_control() {
  std::lock_guard<std::mutex> guard{role_mtx_};
  if (stopped_ || control_)
    return;
  if (forwarder_) {
    // CAF's registry never overwrites a key: make room for the control
    // actors' own entries.
    auto& reg = sys_->registry();
    auto ptr = caf::actor_cast<caf::strong_actor_ptr>(forwarder_);
    for (auto key : {keys::correlator, keys::rca})
      if (reg.get(key) == ptr)
        reg.erase(key);
    caf::anon_send_exit(forwarder_, caf::exit_reason::user_shutdown);
    forwarder_ = nullptr;
  }
  // The audit chain may have grown by replication while this node followed.
  if (audit_)
    if (auto err = audit_->reload())
      spdlog::error("reading the replicated audit log failed: {}",
                    render(err));
  take_control_epoch();
  control_ = spawn_control_();
  // If the control subtree gives up while it is current, the node failed.
  auto gen = ++*control_gen_;
  auto current = control_gen_;
  auto* failed = &failed_;
  auto* ready = &ready_;
  auto* stopped = &stopped_;
  if (control_watcher_)
    caf::anon_send_exit(control_watcher_, caf::exit_reason::user_shutdown);
  // Held by the node: CAF destroys an actor nobody references.
  control_watcher_ = sys_->spawn(
    [failed, ready, stopped, gen, current](caf::event_based_actor* self,
                                           const caf::actor& watched) {
      self->monitor(watched);
      self->set_down_handler([=](caf::down_msg& msg) {
        if (!stopped->load() && current->load() == gen) {
          spdlog::critical("the node's control actors stopped: {}",
                           self->system().render(msg.reason));
          failed->store(true);
          ready->store(false);
        }
        self->quit();
      });
      return caf::behavior{[](int) {}};
    },
    control_);
}

void node::take_control_epoch() {
  // Larger than every epoch in the replicated store (so than every earlier
  // control node's whose epoch reached this node) and than the wall clock
  // in ms (so two nodes that take over from the same stored value, one of
  // them cut off before its write replicated, still differ). Written
  // durably before any control actor runs: it is replicated ahead of every
  // record of the new control node.
  constexpr std::string_view key = "control.epoch";
  uint64_t last = 0;
  if (auto v = store_->get(storage::column::meta, key); v && *v)
    last = std::strtoull((*v)->c_str(), nullptr, 10);
  auto epoch = std::max<uint64_t>(last + 1, static_cast<uint64_t>(wall_ms()));
  if (auto err = store_->put(storage::column::meta, key,
                             std::to_string(epoch), true))
    // Not fatal: the epoch still orders this node's actions locally, and
    // the executors' checks use what the view says.
    spdlog::error("cannot store the control epoch: {}", render(err));
  view_->set_control_epoch(epoch);
  spdlog::info("control epoch {}", epoch);
}

void node::stop_control() {
  std::lock_guard<std::mutex> guard{role_mtx_};
  if (stopped_)
    return;
  // Executors still running a step of the ended epoch stop retrying.
  view_->set_control_epoch(0);
  if (control_) {
    ++*control_gen_;
    caf::anon_send_exit(control_, caf::exit_reason::user_shutdown);
    control_ = nullptr;
  }
  if (!forwarder_) {
    forwarder_ = sys_->spawn(cluster::forwarder, view_, load_, metrics_);
    // CAF's registry never overwrites a key, so the stopping control
    // actors' entries go first (their supervisor erases an entry only while
    // it still names the child, so it leaves the forwarder's alone).
    auto ptr = caf::actor_cast<caf::strong_actor_ptr>(forwarder_);
    for (auto key : {keys::correlator, keys::rca}) {
      sys_->registry().erase(key);
      sys_->registry().put(key, ptr);
    }
  }
}

caf::actor node::control_actor(caf::atom_value key) const {
  if (view_->leading())
    return caf::actor_cast<caf::actor>(sys_->registry().get(key));
  auto door = view_->get()->leader_door();
  if (!door)
    return {};
  caf::scoped_actor self{*sys_};
  caf::actor out;
  self->request(door, std::chrono::seconds{3}, atom::locate_v, key)
    .receive([&](caf::actor& h) { out = std::move(h); },
             [&](caf::error&) {});
  return out;
}

ingest_actor node::gateway() const {
  return caf::actor_cast<ingest_actor>(sys_->registry().get(keys::ingest));
}

correlator_actor node::correlator() const {
  return caf::actor_cast<correlator_actor>(control_actor(keys::correlator));
}

rca_actor node::rca() const {
  return caf::actor_cast<rca_actor>(control_actor(keys::rca));
}

playbook_actor node::playbooks() const {
  return caf::actor_cast<playbook_actor>(control_actor(keys::playbook));
}

caf::expected<reload_report> node::reload_playbooks() {
  auto engine = playbooks();
  if (!engine)
    return caf::make_error(errc::unavailable,
                           "the playbook engine is restarting");
  caf::scoped_actor self{*sys_};
  caf::expected<reload_report> out{reload_report{}};
  self->request(engine, std::chrono::seconds{30}, atom::reload_v)
    .receive([&](reload_report& r) { out = std::move(r); },
             [&](caf::error& err) { out = std::move(err); });
  return out;
}

std::string node::ready_line() const {
  return "vigild ready node=" + id_ + " http=" + http_host_ + ":"
         + std::to_string(http_port_) + " cluster=" + opts_.node.cluster.host
         + ":" + std::to_string(cluster_port_);
}

std::string node::reload(const options& next) {
  std::string report;
  if (next.node.log_level != opts_.node.log_level) {
    set_log_level(next.node.log_level);
    report += "node.log_level: " + opts_.node.log_level + " -> "
              + next.node.log_level + "; ";
    opts_.node.log_level = next.node.log_level;
  }
  auto rest = next;
  rest.node.log_level = opts_.node.log_level;
  if (!(rest == opts_))
    report += "other changes need a restart; ";
  if (auto r = reload_playbooks(); !r)
    report += "playbooks not reloaded: " + render(r.error()) + "; ";
  else if (!r->ok)
    report += "playbooks refused (" + std::to_string(r->errors.size())
              + " errors), the old set stays; ";
  else
    report += "playbooks: " + std::to_string(r->added.size()) + " added, "
              + std::to_string(r->changed.size()) + " changed, "
              + std::to_string(r->removed.size()) + " removed; ";
  if (report.empty())
    report = "nothing changed";
  return report;
}

void node::stop() {
  if (stopped_.exchange(true))
    return;
  ready_ = false;
  stopping_->store(true);
  auto timeout = opts_.node.shutdown_timeout;
  // 0. Leave the cluster, so the others move this node's shards now.
  if (sys_ && member_ && view_ && view_->get()->members.size() > 1) {
    caf::scoped_actor self{*sys_};
    self->request(member_, std::chrono::seconds{1}, atom::leave_v)
      .receive([](bool) {}, [](caf::error&) {});
  }
  // 1. Stop intake and let requests in flight be answered.
  if (http_) {
    http_->stop_accepting();
    http_->stop(timeout / 2);
  }
  // 2. Stop the actors; detectors snapshot as they go.
  if (sys_) {
    // Ingest and the detectors first (their last anomalies reach the
    // correlator), then the control plane (which persists as it stops).
    auto stop_tree = [&](caf::actor& tree) {
      if (!tree)
        return;
      caf::scoped_actor self{*sys_};
      self->monitor(tree);
      self->send_exit(tree, caf::exit_reason::user_shutdown);
      bool done = false;
      self->receive_while([&] { return !done; })(
        [&](caf::down_msg&) { done = true; },
        caf::after(timeout + std::chrono::seconds{5}) >>
          [&] {
            spdlog::error("actors did not stop within {} ms; killing them",
                          timeout.count());
            self->send_exit(tree, caf::exit_reason::kill);
            done = true;
          });
      tree = nullptr;
    };
    stop_tree(root_);
    caf::actor control;
    {
      std::lock_guard<std::mutex> guard{role_mtx_};
      control = std::move(control_);
      control_ = nullptr;
    }
    stop_tree(control);
    if (watcher_) {
      caf::anon_send_exit(watcher_, caf::exit_reason::user_shutdown);
      watcher_ = nullptr;
    }
    if (admin_) {
      caf::anon_send_exit(admin_, caf::exit_reason::user_shutdown);
      admin_ = nullptr;
    }
    {
      std::lock_guard<std::mutex> guard{role_mtx_};
      for (auto* h : {&member_, &forwarder_, &control_watcher_})
        if (*h) {
          caf::anon_send_exit(*h, caf::exit_reason::user_shutdown);
          *h = nullptr;
        }
    }
    // The system waits for every actor at destruction; one that hangs must
    // not hang the process, so wait a bounded time ourselves first.
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (sys_->registry().running() > 0
           && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds{10});
    if (sys_->registry().running() > 0) {
      spdlog::error("{} actors still running after {} ms; not waiting for "
                    "them",
                    sys_->registry().running(), timeout.count());
      sys_->await_actors_before_shutdown(false);
    }
    sys_.reset();
  }
  http_.reset();
  // 3. Storage last: every snapshot is written by now.
  audit_.reset();
  if (store_) {
    if (auto err = store_->flush())
      spdlog::error("flushing storage failed: {}", caf::to_string(err));
    store_.reset();
  }
}

node::~node() {
  stop();
}

} // namespace vigil::node
