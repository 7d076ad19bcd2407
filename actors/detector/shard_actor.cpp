#include "actors/detector/shard_actor.hpp"

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/exit_reason.hpp>
#include <caf/typed_response_promise.hpp>
#include <spdlog/spdlog.h>

#include "messages/errc.hpp"
#include "messages/proto/store.pb.h"
#include "runtime/clock.hpp"

namespace vigil::detector {

std::string service_key(shard_id shard, std::string_view service) {
  std::string key(4, '\0');
  for (int i = 3; i >= 0; --i) {
    key[i] = static_cast<char>(shard.value & 0xff);
    shard.value >>= 8;
  }
  key.append(service);
  return key;
}

namespace {

using self_ptr = shard_impl::stateful_pointer<shard_state>;

bool is_normal(const caf::error& reason) {
  return !reason || reason == caf::exit_reason::normal
         || reason == caf::exit_reason::user_shutdown;
}

void spawn_detector(self_ptr self, const std::string& service,
                    shard_state::service_entry& e) {
  auto& cfg = self->state.cfg;
  detector_config dc;
  dc.service = service;
  dc.shard = cfg.id;
  dc.node = cfg.node;
  dc.detection = cfg.detection;
  dc.ens = cfg.ens;
  dc.store = cfg.store;
  dc.metrics = cfg.det_metrics;
  dc.active_series = e.active_series;
  dc.sink_key = cfg.sink_key;
  dc.restarts = e.restarts;
  auto handle = self->spawn(detector, std::move(dc));
  e.handle = caf::actor_cast<detector_actor>(handle);
  e.restarting = false;
  ++e.generation;
  // Whatever was in flight went down with the previous incarnation; its
  // error reply releases it, and the new one may take the next batch now.
  e.samples_in_flight = 0;
  e.logs_in_flight = 0;
  self->monitor(e.handle);
  self->state.by_addr[e.handle.address()] = service;
  (*self->state.live)[e.handle.address()] = caf::actor_cast<caf::actor>(
    e.handle);
}

shard_state::service_entry& entry_for(self_ptr self,
                                      const std::string& service) {
  auto& st = self->state;
  auto i = st.services.find(service);
  if (i != st.services.end())
    return i->second;
  shard_state::service_entry fresh;
  fresh.budget = restart_budget{st.cfg.policy};
  auto& e = st.services.emplace(service, std::move(fresh)).first->second;
  e.active_series = st.cfg.series_board
                      ? st.cfg.series_board->get(service)
                      : std::make_shared<std::atomic<int64_t>>(0);
  return e;
}

// Registers a service first seen now, so a restarted node brings its
// detector back before new data arrives.
void remember(self_ptr self, const std::string& service) {
  auto& cfg = self->state.cfg;
  if (!cfg.store)
    return;
  store::service_record rec;
  rec.set_name(service);
  rec.set_shard(cfg.id.value);
  rec.set_first_seen_ms(wall_ms());
  if (auto err = cfg.store->put(storage::column::services,
                                service_key(cfg.id, service),
                                rec.SerializeAsString()))
    spdlog::error("shard {}: cannot record service {}: {}", cfg.id.value,
                  service, self->system().render(err));
}

void drop(self_ptr self, uint64_t items) {
  if (self->state.cfg.load)
    self->state.cfg.load->release(self->state.cfg.id.value, items);
  if (self->state.dropped_total)
    self->state.dropped_total->inc(items);
}

void flush(self_ptr self, const std::string& service);

// Sends `batch` to the service's detector. The reply (or the error CAF
// sends for a request the detector never processed because it died)
// releases the admitted items either way, then lets the next batch go.
template <class Batch>
void send_batch(self_ptr self, const std::string& service,
                shard_state::service_entry& e, Batch batch) {
  constexpr bool logs = std::is_same_v<Batch, log_batch>;
  uint64_t items;
  if constexpr (logs) {
    items = batch.records.size();
    e.logs_in_flight = e.generation;
  } else {
    items = batch.samples.size();
    e.samples_in_flight = e.generation;
    if (self->state.batch_samples)
      self->state.batch_samples->observe(static_cast<double>(items));
  }
  auto generation = e.generation;
  auto done = [self, service, items, generation] {
    auto& st = self->state;
    if (st.cfg.load)
      st.cfg.load->release(st.cfg.id.value, items);
    auto i = st.services.find(service);
    if (i == st.services.end())
      return;
    auto& flight = logs ? i->second.logs_in_flight
                        : i->second.samples_in_flight;
    if (flight == generation)
      flight = 0;
    flush(self, service);
  };
  self->request(e.handle, caf::infinite, atom::ingest_v, std::move(batch))
    .then([done](uint64_t) { done(); }, [done](caf::error&) { done(); });
}

void flush(self_ptr self, const std::string& service) {
  auto i = self->state.services.find(service);
  if (i == self->state.services.end())
    return;
  auto& e = i->second;
  if (e.restarting || !e.handle)
    return;
  if (e.samples_in_flight == 0 && !e.pending.samples.empty()) {
    auto batch = std::move(e.pending);
    e.pending = sample_batch{};
    e.pending.service = service;
    send_batch(self, service, e, std::move(batch));
  }
  if (e.logs_in_flight == 0 && !e.pending_logs.records.empty()) {
    auto batch = std::move(e.pending_logs);
    e.pending_logs = log_batch{};
    e.pending_logs.service = service;
    send_batch(self, service, e, std::move(batch));
  }
}

template <class Batch>
void deliver(self_ptr self, Batch&& batch, uint64_t items) {
  auto& st = self->state;
  if (st.stopping) {
    drop(self, items);
    return;
  }
  std::string service = batch.service;
  bool fresh = st.services.find(service) == st.services.end();
  auto& e = entry_for(self, service);
  if (fresh) {
    remember(self, service);
    spawn_detector(self, service, e);
  }
  // Merge into what waits for the detector, within bounds.
  uint64_t waiting;
  if constexpr (std::is_same_v<std::decay_t<Batch>, log_batch>)
    waiting = e.pending_logs.records.size();
  else
    waiting = e.pending.samples.size();
  if (waiting + items > st.cfg.max_buffered_samples) {
    drop(self, items);
    return;
  }
  if constexpr (std::is_same_v<std::decay_t<Batch>, log_batch>) {
    if (e.pending_logs.records.empty()) {
      e.pending_logs = std::forward<Batch>(batch);
    } else {
      for (auto& r : batch.records)
        e.pending_logs.records.push_back(std::move(r));
    }
  } else {
    append(e.pending, batch);
  }
  flush(self, service);
}

void stop_when_idle(self_ptr self) {
  if (self->state.by_addr.empty())
    self->quit(self->state.stop_reason);
}

void begin_stop(self_ptr self, caf::error reason) {
  auto& st = self->state;
  if (st.stopping)
    return;
  st.stopping = true;
  st.stop_reason = std::move(reason);
  for (auto& [name, e] : st.services) {
    drop(self, e.pending.samples.size() + e.pending_logs.records.size());
    e.pending = sample_batch{};
    e.pending_logs = log_batch{};
    if (e.handle)
      self->send_exit(e.handle, caf::exit_reason::user_shutdown);
  }
  // Detectors that do not stop in time are killed.
  self->delayed_send(self, st.cfg.shutdown_timeout, atom::restart_v,
                     std::string{}, uint64_t{0});
  stop_when_idle(self);
}

} // namespace

shard_impl::behavior_type shard(self_ptr self, shard_config cfg) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  if (st.cfg.metrics) {
    st.restarts_total
      = &st.cfg.metrics
           ->counters("vigil_actor_restarts_total",
                      "Actors restarted by their supervisor, by actor kind.",
                      {"actor"})
           .with({"detector"});
    st.batch_samples
      = &st.cfg.metrics
           ->histograms("vigil_detector_batch_samples",
                        "Samples per batch a shard hands to a detector "
                        "(batches grow under load).",
                        {}, {1, 10, 100, 1000, 10000, 100000})
           .with({});
    st.dropped_total = &st.cfg.metrics->counter_(
      "vigil_samples_dropped_total",
      "Admitted samples and log records dropped because too many waited for "
      "one detector (e.g. while it restarted) or the node was stopping.");
  }
  self->set_down_handler([self](caf::down_msg& msg) {
    auto& st = self->state;
    auto i = st.by_addr.find(msg.source);
    if (i == st.by_addr.end())
      return;
    auto service = i->second;
    st.by_addr.erase(i);
    st.live->erase(msg.source);
    auto& e = st.services[service];
    e.handle = nullptr;
    if (st.stopping) {
      stop_when_idle(self);
      return;
    }
    if (is_normal(msg.reason)) {
      // A detector only stops normally when told to; treat it as gone.
      st.services.erase(service);
      return;
    }
    // Its contribution to the gauges died with it; the next incarnation
    // republishes from its snapshot.
    e.active_series->store(0, std::memory_order_relaxed);
    auto delay = e.budget.on_crash(self->clock().now());
    if (!delay) {
      spdlog::error("shard {}: detector of {} exceeded {} restarts in {} "
                    "ms ({}); escalating",
                    st.cfg.id.value, service, st.cfg.policy.max_restarts,
                    st.cfg.policy.period.count(),
                    self->system().render(msg.reason));
      begin_stop(self, caf::make_error(errc::restart_budget_exhausted,
                                       "detector " + service));
      return;
    }
    ++e.restarts;
    e.restarting = true;
    if (st.restarts_total)
      st.restarts_total->inc();
    spdlog::warn("shard {}: detector of {} crashed ({}); restarting in {} ms",
                 st.cfg.id.value, service, self->system().render(msg.reason),
                 delay->count());
    self->delayed_send(self, *delay, atom::restart_v, service, e.generation);
  });
  self->set_exit_handler(
    [self](caf::exit_msg& msg) { begin_stop(self, msg.reason); });
  // A shard killed outright takes its detectors along (they snapshot as
  // they stop), so a restarted shard never races an orphan for a service.
  st.live = std::make_shared<std::unordered_map<caf::actor_addr, caf::actor>>();
  self->attach_functor([live = st.live] {
    for (auto& [_, d] : *live)
      caf::anon_send_exit(d, caf::exit_reason::user_shutdown);
  });
  // Bring back every service this shard had before the last stop or crash
  // (a node joining a cluster owns nothing yet: its shards restore when
  // they come to it).
  if (st.cfg.store && st.cfg.restore_at_start) {
    auto prefix = service_key(st.cfg.id, "");
    std::vector<std::string> known;
    auto err = st.cfg.store->scan(storage::column::services, prefix,
                                  [&](std::string_view key, std::string_view) {
                                    known.emplace_back(key.substr(4));
                                    return true;
                                  });
    if (err)
      spdlog::error("shard {}: cannot list known services: {}",
                    st.cfg.id.value, self->system().render(err));
    for (auto& service : known)
      spawn_detector(self, service, entry_for(self, service));
  }
  return {
    [self](atom::ingest, sample_batch& batch) {
      auto n = batch.samples.size();
      deliver(self, std::move(batch), n);
    },
    [self](atom::ingest, log_batch& batch) {
      auto n = batch.records.size();
      deliver(self, std::move(batch), n);
    },
    [self](atom::list) -> caf::result<std::vector<service_info>> {
      auto& st = self->state;
      auto rp = self->make_response_promise<std::vector<service_info>>();
      auto acc = std::make_shared<std::vector<service_info>>();
      auto pending = std::make_shared<size_t>(0);
      for (auto& [name, e] : st.services) {
        if (!e.handle) {
          // Restarting: report what the shard knows.
          service_info info;
          info.name = name;
          info.shard = st.cfg.id;
          info.node = st.cfg.node;
          info.restarts = e.restarts;
          acc->push_back(std::move(info));
          continue;
        }
        ++*pending;
      }
      if (*pending == 0) {
        rp.deliver(std::move(*acc));
        return rp;
      }
      auto finish = [rp, acc, pending]() mutable {
        if (--*pending == 0)
          rp.deliver(std::move(*acc));
      };
      for (auto& [name, e] : st.services) {
        if (!e.handle)
          continue;
        auto restarts = e.restarts;
        auto service = name;
        auto shard = st.cfg.id;
        auto node = st.cfg.node;
        self->request(e.handle, std::chrono::seconds{10}, atom::status_v)
          .then(
            [acc, finish](service_info& info) mutable {
              acc->push_back(std::move(info));
              finish();
            },
            [acc, finish, service, shard, node,
             restarts](caf::error&) mutable {
              service_info info;
              info.name = service;
              info.shard = shard;
              info.node = node;
              info.restarts = restarts;
              acc->push_back(std::move(info));
              finish();
            });
      }
      return rp;
    },
    [self](atom::locate,
           const std::string& service) -> caf::result<detector_actor> {
      auto i = self->state.services.find(service);
      if (i == self->state.services.end() || !i->second.handle)
        return caf::make_error(errc::not_found, "no detector for " + service);
      return i->second.handle;
    },
    [self](atom::snapshot) -> caf::result<uint64_t> {
      auto rp = self->make_response_promise<uint64_t>();
      auto total = std::make_shared<uint64_t>(0);
      auto pending = std::make_shared<size_t>(0);
      for (auto& [_, e] : self->state.services)
        if (e.handle)
          ++*pending;
      if (*pending == 0) {
        rp.deliver(uint64_t{0});
        return rp;
      }
      for (auto& [_, e] : self->state.services) {
        if (!e.handle)
          continue;
        self->request(e.handle, std::chrono::seconds{30}, atom::snapshot_v)
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
      }
      return rp;
    },
    [self](atom::reload) {
      auto& st = self->state;
      if (st.stopping)
        return;
      // Forget the detectors before they go, so their down messages find
      // nothing to restart; killed, they write no state over the store's.
      for (auto& [name, e] : st.services) {
        if (e.active_series)
          e.active_series->store(0, std::memory_order_relaxed);
        if (e.handle)
          self->send_exit(e.handle, caf::exit_reason::kill);
      }
      st.by_addr.clear();
      st.live->clear();
      st.services.clear();
    },
    [self](atom::restart, const std::string& service, uint64_t generation) {
      auto& st = self->state;
      if (st.stopping) {
        // The stop timeout: kill whatever still runs.
        if (service.empty())
          for (auto& [_, e] : st.services)
            if (e.handle)
              self->send_exit(e.handle, caf::exit_reason::kill);
        return;
      }
      auto i = st.services.find(service);
      if (i == st.services.end() || !i->second.restarting
          || i->second.generation != generation)
        return;
      auto& e = i->second;
      spawn_detector(self, service, e);
      flush(self, service);
    },
  };
}

} // namespace vigil::detector
