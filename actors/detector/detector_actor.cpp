#include "actors/detector/detector_actor.hpp"

#include <random>

#include <caf/actor_registry.hpp>
#include <caf/actor_system.hpp>
#include <caf/exit_reason.hpp>
#include <spdlog/spdlog.h>

#include "messages/errc.hpp"
#include "runtime/clock.hpp"

namespace vigil::detector {

detector_metrics::detector_metrics(metrics::registry& reg)
  : samples(reg.counter_("vigil_detector_samples_total",
                         "Values judged by the detectors.")),
    anomalies(reg.counter_("vigil_anomalies_total",
                           "Anomaly events emitted (onset and ongoing).")),
    undelivered(reg.counter_("vigil_anomalies_undelivered_total",
                             "Anomaly events dropped because no sink was "
                             "running.")),
    out_of_order(reg.counter_("vigil_samples_out_of_order_total",
                              "Samples at or before their series' newest "
                              "timestamp, dropped.")),
    log_lines(reg.counter_("vigil_log_records_total",
                           "Log records taken by detectors.")),
    anomaly_latency(
      reg
        .histograms("vigil_anomaly_latency_seconds",
                    "Wall time from a sample's arrival to the anomaly it "
                    "triggered.",
                    {}, metrics::latency_buckets())
        .with({})),
    snapshot_seconds(reg
                       .histograms("vigil_snapshot_duration_seconds",
                                   "Time to write one detector snapshot.",
                                   {}, metrics::latency_buckets())
                       .with({})),
    snapshot_bytes(reg.counter_("vigil_snapshot_bytes_total",
                                "Bytes of detector snapshots written.")),
    snapshot_failures(reg.counter_("vigil_snapshot_failures_total",
                                   "Detector snapshots that failed to "
                                   "write.")) {
}

caf::expected<std::optional<std::string>>
load_snapshot(storage::store& store, const std::string& service) {
  return store.get(storage::column::snapshots, service);
}

std::string log_snapshot_key(const std::string& service) {
  // The unit separator cannot occur in a service name taken from HTTP.
  return service + "\x1f" "logs";
}

namespace {

using self_ptr = detector_impl::stateful_pointer<detector_state>;

uint64_t write_snapshot(self_ptr self) {
  auto& st = self->state;
  if (!st.cfg.store)
    return 0;
  auto t0 = mono_ns();
  st.table->expire();
  auto bytes = st.table->snapshot(wall_ms());
  if (auto err = st.cfg.store->put(storage::column::snapshots,
                                   st.cfg.service, bytes)) {
    if (st.cfg.metrics)
      st.cfg.metrics->snapshot_failures.inc();
    spdlog::error("detector {}: snapshot failed: {}", st.cfg.service,
                  self->system().render(err));
    return 0;
  }
  if (st.logs->stats().lines > 0) {
    auto log_bytes = st.logs->snapshot();
    if (auto err = st.cfg.store->put(storage::column::snapshots,
                                     log_snapshot_key(st.cfg.service),
                                     log_bytes)) {
      if (st.cfg.metrics)
        st.cfg.metrics->snapshot_failures.inc();
      spdlog::error("detector {}: log snapshot failed: {}", st.cfg.service,
                    self->system().render(err));
      return 0;
    }
    bytes += log_bytes;
  }
  st.dirty = false;
  if (st.cfg.metrics) {
    st.cfg.metrics->snapshot_bytes.inc(bytes.size());
    st.cfg.metrics->snapshot_seconds.observe(
      static_cast<double>(mono_ns() - t0) / 1e9);
  }
  return bytes.size();
}

void publish_active(self_ptr self) {
  if (self->state.cfg.active_series)
    self->state.cfg.active_series->store(
      static_cast<int64_t>(self->state.table->active()),
      std::memory_order_relaxed);
}

void deliver(self_ptr self) {
  auto& st = self->state;
  if (st.scratch.empty())
    return;
  auto sink = caf::actor_cast<anomaly_sink_actor>(
    self->system().registry().get(st.cfg.sink_key));
  auto now = wall_ns();
  for (auto& ev : st.scratch) {
    if (st.cfg.metrics) {
      if (ev.phase != anomaly_phase::recovered) {
        st.cfg.metrics->anomalies.inc();
        if (ev.received_ns > 0)
          st.cfg.metrics->anomaly_latency.observe(
            static_cast<double>(now - ev.received_ns) / 1e9);
      }
      if (!sink)
        st.cfg.metrics->undelivered.inc();
    }
    if (sink)
      self->send(sink, atom::anomaly_v, std::move(ev));
  }
  st.scratch.clear();
}

} // namespace

detector_impl::behavior_type detector(self_ptr self, detector_config cfg) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  auto rule_ensembles = make_rule_ensembles(st.cfg.detection);
  if (!rule_ensembles) {
    // The config loader checks every rule; reaching this is a bug.
    spdlog::error("detector {}: detection.rules ignored: {}", st.cfg.service,
                  self->system().render(rule_ensembles.error()));
    auto no_rules = st.cfg.detection;
    no_rules.rules.clear();
    st.table = std::make_unique<service_tables>(
      st.cfg.service, st.cfg.ens,
      std::vector<std::shared_ptr<const ensemble>>{}, no_rules);
  } else {
    st.table = std::make_unique<service_tables>(
      st.cfg.service, st.cfg.ens, std::move(*rule_ensembles),
      st.cfg.detection);
  }
  if (!st.cfg.detection.iforest.features.empty()) {
    st.vector = std::make_unique<service_vector>(st.cfg.service,
                                                 st.cfg.detection.iforest);
    st.table->set_observer([v = st.vector.get()](uint64_t series,
                                                 std::string_view text,
                                                 int64_t ts, double x,
                                                 std::vector<anomaly_event>&
                                                   out) {
      v->observe(series, text, ts, x, out);
    });
  }
  st.precursors = std::make_unique<precursor_tracker>(
    st.cfg.service, st.cfg.detection.precursors);
  st.logs = std::make_unique<log_state>(
    st.cfg.service, log_options_from(st.cfg.detection.logs));
  if (st.cfg.store) {
    auto logs = st.cfg.store->get(storage::column::snapshots,
                                  log_snapshot_key(st.cfg.service));
    if (!logs) {
      spdlog::error("detector {}: cannot read log snapshot: {}",
                    st.cfg.service, self->system().render(logs.error()));
    } else if (*logs && !st.logs->restore(**logs)) {
      // A damaged log state only costs the templates' history: start cold.
      spdlog::error("detector {}: discarding unreadable log snapshot",
                    st.cfg.service);
    }
  }
  if (st.cfg.store) {
    auto snap = load_snapshot(*st.cfg.store, st.cfg.service);
    if (!snap) {
      // Unreadable storage is not a reason to stop detecting: start cold.
      spdlog::error("detector {}: cannot read snapshot: {}", st.cfg.service,
                    self->system().render(snap.error()));
    } else if (*snap) {
      auto info = st.table->restore(**snap);
      if (!info) {
        spdlog::error("detector {}: discarding snapshot: {}", st.cfg.service,
                      self->system().render(info.error()));
      } else {
        st.restored_from_ms = info->last_ts_ms;
        spdlog::debug("detector {}: restored {} series ({} reset)",
                      st.cfg.service, info->series, info->reset);
      }
    }
  }
  publish_active(self);
  // Snapshot on a stop request, whoever sends it; exit_reason::kill cannot
  // be trapped and loses what the last periodic snapshot did not keep.
  self->set_exit_handler([self](caf::exit_msg& msg) {
    if (self->state.dirty)
      write_snapshot(self);
    self->quit(msg.reason);
  });
  // Spread the first snapshot over the interval so detectors started
  // together do not all write at once.
  auto interval = st.cfg.detection.snapshot_interval;
  std::minstd_rand jitter{static_cast<uint32_t>(self->id())};
  auto first = duration{interval.count() / 2
                        + static_cast<int64_t>(jitter() % (interval.count() / 2
                                                             + 1))};
  self->delayed_send(self, first, atom::tick_v);
  return {
    [self](atom::ingest, const sample_batch& batch) -> uint64_t {
      auto& st = self->state;
      auto before = st.table->totals();
      st.table->ingest(batch, st.scratch);
      auto before_predictive = st.scratch.size();
      st.precursors->ingest(batch, st.scratch);
      st.table->stats().anomalies += st.scratch.size() - before_predictive;
      st.dirty = true;
      if (st.cfg.metrics) {
        auto after = st.table->totals();
        st.cfg.metrics->samples.inc(after.samples - before.samples);
        st.cfg.metrics->out_of_order.inc(after.out_of_order
                                         - before.out_of_order);
      }
      deliver(self);
      publish_active(self);
      return batch.samples.size();
    },
    [self](atom::ingest, const log_batch& batch) -> uint64_t {
      // Parse, mine and judge every line; anomalies go out with the batch.
      auto& st = self->state;
      auto first = st.scratch.size();
      // The gateway refuses unknown names; anything else reads as auto.
      auto format = log_format_from(batch.line_format)
                      .value_or(st.logs->options().format);
      if (format == log_format::auto_detect)
        format = st.logs->options().format;
      for (auto& rec : batch.records)
        st.logs->ingest(rec, format, st.scratch);
      for (auto i = first; i < st.scratch.size(); ++i)
        st.scratch[i].received_ns = batch.received_ns;
      auto& stats = st.table->stats();
      stats.log_lines += batch.records.size();
      stats.anomalies += st.scratch.size() - first;
      st.dirty = true;
      if (st.cfg.metrics)
        st.cfg.metrics->log_lines.inc(batch.records.size());
      deliver(self);
      return batch.records.size();
    },
    [self](atom::status) -> service_info {
      auto& st = self->state;
      service_info info;
      info.name = st.cfg.service;
      info.shard = st.cfg.shard;
      info.node = st.cfg.node;
      info.series = st.table->series();
      info.series_active = st.table->active();
      info.series_warm = st.table->warm();
      auto stats = st.table->totals();
      info.samples = stats.samples;
      info.anomalies = stats.anomalies;
      info.log_lines = stats.log_lines;
      info.out_of_order = stats.out_of_order;
      info.last_ts_ms = stats.last_ts_ms;
      info.restarts = st.cfg.restarts;
      info.restored_from_ms = st.restored_from_ms;
      info.step_ms = st.table->step_ms();
      info.step_block = st.table->step_block();
      return info;
    },
    [self](atom::snapshot) -> uint64_t { return write_snapshot(self); },
    [self](atom::tick) {
      auto& st = self->state;
      if (st.dirty)
        write_snapshot(self);
      publish_active(self);
      self->delayed_send(self, st.cfg.detection.snapshot_interval,
                         atom::tick_v);
    },
  };
}

} // namespace vigil::detector
