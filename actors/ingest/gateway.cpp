#include "actors/ingest/gateway.hpp"

#include <algorithm>

#include <caf/actor_registry.hpp>
#include <caf/actor_system.hpp>
#include <caf/typed_response_promise.hpp>

#include <spdlog/spdlog.h>

#include "messages/errc.hpp"
#include "runtime/hash.hpp"

namespace vigil::ingest {

uint32_t shard_of(std::string_view service, uint32_t shards) {
  return service_shard(service, shards);
}

caf::atom_value shard_key(uint32_t id) {
  auto text = "s_" + std::to_string(id);
  return caf::atom_from_string(text);
}

token_bucket::token_bucket(uint64_t rate, uint64_t burst)
  : rate_(static_cast<double>(rate)),
    burst_(static_cast<double>(std::max(burst, rate))),
    tokens_(burst_) {
}

bool token_bucket::take(uint64_t n, clock::time_point now) {
  if (rate_ <= 0)
    return true;
  if (last_ != clock::time_point{}) {
    double dt = std::chrono::duration<double>(now - last_).count();
    tokens_ = std::min(burst_, tokens_ + dt * rate_);
  }
  last_ = now;
  if (tokens_ < static_cast<double>(n))
    return false;
  tokens_ -= static_cast<double>(n);
  return true;
}

namespace {

using self_ptr = ingest_actor::stateful_pointer<gateway_state>;

constexpr size_t max_service_name = 256;

// The current shard actor, refreshed from the registry when the cached one
// died (its supervisor republishes every restart).
shard_actor& shard(self_ptr self, uint32_t id) {
  auto& h = self->state.shards[id];
  if (!h) {
    h = caf::actor_cast<shard_actor>(
      self->system().registry().get(shard_key(id)));
    if (h)
      self->monitor(h);
  }
  return h;
}

template <class T>
T resolve(self_ptr self, caf::atom_value key) {
  return caf::actor_cast<T>(self->system().registry().get(key));
}

caf::error rate_limited(self_ptr self, uint64_t n) {
  if (self->state.bucket.take(n, token_bucket::clock::now()))
    return {};
  return caf::make_error(errc::rate_limited,
                         "ingest rate limit of "
                           + std::to_string(self->state.cfg.ingest.rate_limit)
                           + " items/s exceeded",
                         "ingest.rate_limit");
}

// Sends the batches waiting for `o`'s node.
void flush_one(self_ptr self, gateway_state::outgoing& o) {
  auto& st = self->state;
  if (o.items == 0)
    return;
  auto n = o.items;
  st.out_items -= n;
  o.items = 0;
  if (st.forwarded_messages)
    st.forwarded_messages->inc();
  if (st.forwarded_items)
    st.forwarded_items->inc(n);
  auto failed = [self, n](caf::error& err) {
    if (self->state.forward_failed)
      self->state.forward_failed->inc(n);
    spdlog::warn("ingest: {} items forwarded to their shard's owner were "
                 "lost: {}",
                 n, render(err));
  };
  if (!o.samples.empty())
    self
      ->request(o.door, std::chrono::seconds{10}, atom::forward_v,
                std::exchange(o.samples, {}))
      .then([](const ingest_receipt&) {}, failed);
  if (!o.logs.empty())
    self
      ->request(o.door, std::chrono::seconds{10}, atom::forward_v,
                std::exchange(o.logs, {}))
      .then([](const ingest_receipt&) {}, failed);
}

void flush_all(self_ptr self) {
  for (auto& [addr, o] : self->state.out)
    flush_one(self, o);
  // Nodes that left keep no buffer.
  for (auto i = self->state.out.begin(); i != self->state.out.end();)
    i = i->second.items == 0 ? self->state.out.erase(i) : std::next(i);
}

// Admits and routes per-service batches (samples or logs) as one unit:
// those of shards this node owns to the local shards, the others to the
// owning node in batches of up to forward_batch items.
template <class Batch, class Count>
caf::result<ingest_receipt> route_batches(self_ptr self,
                                          std::vector<Batch>& batches,
                                          Count count,
                                          bool local_only = false) {
  auto& st = self->state;
  uint64_t total = 0;
  uint64_t remote_total = 0;
  std::vector<std::pair<uint32_t, uint64_t>> demand;
  std::vector<uint32_t> targets;
  // Per batch: the owning node's membership actor; null = here.
  std::vector<caf::actor> remote(batches.size());
  targets.reserve(batches.size());
  std::shared_ptr<const cluster_view::state> view;
  if (st.cfg.view && !local_only)
    view = st.cfg.view->get();
  for (size_t bi = 0; bi < batches.size(); ++bi) {
    auto& b = batches[bi];
    if (b.service.empty() || b.service.size() > max_service_name)
      return caf::make_error(errc::malformed,
                             "service name must have 1 to "
                               + std::to_string(max_service_name)
                               + " bytes",
                             b.service.substr(0, 64));
    // Control characters never name a service; refusing them keeps keys
    // built from the name (storage, snapshots) unambiguous.
    if (std::any_of(b.service.begin(), b.service.end(), [](char c) {
          return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
        }))
      return caf::make_error(errc::malformed,
                             "service name contains a control character",
                             "service (hex-escaped in logs) of "
                               + std::to_string(b.service.size())
                               + " bytes");
    auto id = shard_of(b.service, st.cfg.shards);
    auto n = count(b);
    total += n;
    targets.push_back(id);
    if (view) {
      if (auto door = view->owner_door(id)) {
        remote[bi] = std::move(door);
        remote_total += n;
        continue;
      }
    }
    if (!shard(self, id))
      return caf::make_error(errc::unavailable,
                             "shard " + std::to_string(id)
                               + " is restarting",
                             "service " + b.service);
    auto i = std::find_if(demand.begin(), demand.end(),
                          [id](auto& d) { return d.first == id; });
    if (i == demand.end())
      demand.emplace_back(id, n);
    else
      i->second += n;
  }
  if (auto err = rate_limited(self, total))
    return err;
  if (remote_total > 0
      && st.out_items + remote_total > st.cfg.ingest.max_queued_samples)
    return caf::make_error(errc::overloaded,
                           "the queue towards the other nodes is full",
                           std::to_string(st.out_items) + " items waiting");
  auto full = st.cfg.load->try_admit(demand);
  if (full == load_meter::node_full)
    return caf::make_error(errc::overloaded,
                           "the node's ingest queue is full",
                           std::to_string(st.cfg.load->total())
                             + " items queued");
  if (full >= 0)
    return caf::make_error(errc::overloaded,
                           "the queue of shard " + std::to_string(full)
                             + " is full",
                           std::to_string(st.cfg.load->of(full))
                             + " items queued");
  for (size_t i = 0; i < batches.size(); ++i) {
    auto n = count(batches[i]);
    if (n == 0) {
      continue;
    }
    if (remote[i]) {
      auto& o = st.out[remote[i].address()];
      o.door = remote[i];
      if constexpr (std::is_same_v<Batch, sample_batch>)
        o.samples.push_back(std::move(batches[i]));
      else
        o.logs.push_back(std::move(batches[i]));
      o.items += n;
      st.out_items += n;
      if (o.items >= st.cfg.forward_batch)
        flush_one(self, o);
      continue;
    }
    self->send(st.shards[targets[i]], atom::ingest_v, std::move(batches[i]));
  }
  if (st.out_items > 0 && !st.flush_pending) {
    st.flush_pending = true;
    self->delayed_send(self, st.cfg.forward_delay, atom::flush_v);
  }
  return ingest_receipt{total};
}

template <class Handle, class Message>
caf::result<ingest_receipt> route_one(self_ptr self, caf::atom_value key,
                                      uint32_t slot, const char* owner,
                                      Message& msg, uint64_t n,
                                      metrics::counter* counter) {
  auto owner_handle = resolve<Handle>(self, key);
  if (!owner_handle)
    return caf::make_error(errc::unavailable,
                           std::string{"the "} + owner + " is restarting",
                           owner);
  if (auto err = rate_limited(self, n))
    return err;
  auto& load = *self->state.cfg.load;
  auto full = load.try_admit({{slot, n}});
  if (full != load_meter::admitted)
    return caf::make_error(errc::overloaded,
                           std::string{"the queue of the "} + owner
                             + " is full",
                           std::to_string(load.of(slot)) + " items queued");
  self->send(owner_handle, atom::ingest_v, std::move(msg));
  if (counter)
    counter->inc(n);
  return ingest_receipt{n};
}

} // namespace

ingest_actor::behavior_type gateway(self_ptr self, gateway_config cfg) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  st.shards.resize(st.cfg.shards);
  st.bucket = token_bucket{st.cfg.ingest.rate_limit, st.cfg.ingest.rate_burst};
  if (st.cfg.metrics) {
    auto& routed = st.cfg.metrics->counters(
      "vigil_ingest_routed_total",
      "Items routed by ingest to their owner, by kind.", {"kind"});
    st.routed_alerts = &routed.with({"alert"});
    st.routed_changes = &routed.with({"change"});
    st.routed_spans = &routed.with({"span"});
    st.routed_edges = &routed.with({"topology_edge"});
    auto& fwd = st.cfg.metrics->counters(
      "vigil_cluster_forwarded_total",
      "Samples and log records ingest forwarded to the node owning their "
      "shard, and the messages that carried them.",
      {"what"});
    st.forwarded_items = &fwd.with({"items"});
    st.forwarded_messages = &fwd.with({"messages"});
    st.forward_failed = &st.cfg.metrics->counter_(
      "vigil_cluster_forward_failed_total",
      "Forwarded items the owning node did not take (lost).");
  }
  self->set_down_handler([self](caf::down_msg& msg) {
    for (auto& h : self->state.shards)
      if (h && h.address() == msg.source)
        h = nullptr;
  });
  return {
    [self](atom::ingest,
           std::vector<sample_batch>& batches) -> caf::result<ingest_receipt> {
      return route_batches(self, batches, [](const sample_batch& b) {
        return static_cast<uint64_t>(b.samples.size());
      });
    },
    [self](atom::ingest,
           std::vector<log_batch>& batches) -> caf::result<ingest_receipt> {
      return route_batches(self, batches, [](const log_batch& b) {
        return static_cast<uint64_t>(b.records.size());
      });
    },
    [self](atom::ingest, span_batch& spans) -> caf::result<ingest_receipt> {
      auto n = spans.spans.size();
      return route_one<rca_actor>(self, self->state.cfg.rca_key,
                                  self->state.cfg.load->rca_slot(),
                                  "rca actor", spans, n,
                                  self->state.routed_spans);
    },
    [self](atom::ingest, alert_batch& alerts) -> caf::result<ingest_receipt> {
      auto n = alerts.alerts.size();
      return route_one<correlator_actor>(
        self, self->state.cfg.correlator_key,
        self->state.cfg.load->correlator_slot(), "correlator", alerts, n,
        self->state.routed_alerts);
    },
    [self](atom::ingest,
           change_batch& changes) -> caf::result<ingest_receipt> {
      auto n = changes.changes.size();
      return route_one<correlator_actor>(
        self, self->state.cfg.correlator_key,
        self->state.cfg.load->correlator_slot(), "correlator", changes, n,
        self->state.routed_changes);
    },
    [self](atom::ingest,
           topology_update& update) -> caf::result<ingest_receipt> {
      auto n = update.edges.size();
      return route_one<rca_actor>(self, self->state.cfg.rca_key,
                                  self->state.cfg.load->rca_slot(),
                                  "rca actor", update, n,
                                  self->state.routed_edges);
    },
    [self](atom::forward,
           std::vector<sample_batch>& batches) -> caf::result<ingest_receipt> {
      return route_batches(
        self, batches,
        [](const sample_batch& b) {
          return static_cast<uint64_t>(b.samples.size());
        },
        true);
    },
    [self](atom::forward,
           std::vector<log_batch>& batches) -> caf::result<ingest_receipt> {
      return route_batches(
        self, batches,
        [](const log_batch& b) {
          return static_cast<uint64_t>(b.records.size());
        },
        true);
    },
    [self](atom::flush) {
      self->state.flush_pending = false;
      flush_all(self);
    },
    [self](atom::route, shard_id id, const shard_actor& handle) {
      if (id.value < self->state.shards.size()) {
        self->state.shards[id.value] = handle;
        if (handle)
          self->monitor(handle);
      }
    },
    [self](atom::list) -> caf::result<std::vector<service_info>> {
      auto rp = self->make_response_promise<std::vector<service_info>>();
      auto acc = std::make_shared<std::vector<service_info>>();
      auto pending = std::make_shared<size_t>(0);
      std::vector<shard_actor> live;
      for (uint32_t i = 0; i < self->state.cfg.shards; ++i)
        if (auto& h = shard(self, i))
          live.push_back(h);
      if (live.empty()) {
        rp.deliver(std::vector<service_info>{});
        return rp;
      }
      *pending = live.size();
      for (auto& h : live) {
        self->request(h, std::chrono::seconds{15}, atom::list_v)
          .then(
            [rp, acc, pending](std::vector<service_info>& xs) mutable {
              for (auto& x : xs)
                acc->push_back(std::move(x));
              if (--*pending == 0)
                rp.deliver(std::move(*acc));
            },
            [rp, acc, pending](caf::error&) mutable {
              if (--*pending == 0)
                rp.deliver(std::move(*acc));
            });
      }
      return rp;
    },
    [self](atom::locate,
           const std::string& service) -> caf::result<detector_actor> {
      auto id = shard_of(service, self->state.cfg.shards);
      auto& h = shard(self, id);
      if (!h)
        return caf::make_error(errc::unavailable,
                               "shard " + std::to_string(id)
                                 + " is restarting");
      return self->delegate(h, atom::locate_v, service);
    },
    [self](atom::snapshot) -> caf::result<uint64_t> {
      auto rp = self->make_response_promise<uint64_t>();
      auto total = std::make_shared<uint64_t>(0);
      auto pending = std::make_shared<size_t>(0);
      std::vector<shard_actor> live;
      for (uint32_t i = 0; i < self->state.cfg.shards; ++i)
        if (auto& h = shard(self, i))
          live.push_back(h);
      if (live.empty()) {
        rp.deliver(uint64_t{0});
        return rp;
      }
      *pending = live.size();
      for (auto& h : live)
        self->request(h, std::chrono::seconds{60}, atom::snapshot_v)
          .then(
            [rp, total, pending](uint64_t n) mutable {
              *total += n;
              if (--*pending == 0)
                rp.deliver(*total);
            },
            [rp, total, pending](caf::error&) mutable {
              if (--*pending == 0)
                rp.deliver(*total);
            });
      return rp;
    },
  };
}

} // namespace vigil::ingest
