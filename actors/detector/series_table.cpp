#include "actors/detector/series_table.hpp"

#include <cmath>
#include <cstring>

#include "messages/errc.hpp"
#include "messages/proto/store.pb.h"
#include "runtime/clock.hpp"

namespace vigil::detector {

series_table::series_table(std::string service,
                           std::shared_ptr<const ensemble> ens,
                           detection_options opts)
  : service_(std::move(service)),
    ensemble_(std::move(ens)),
    opts_(std::move(opts)) {
}

series_table::entry* series_table::find_or_create(const sample& s,
                                                  std::string_view text) {
  auto i = map_.find(s.series);
  if (i != map_.end()) {
    // Two texts with one 64-bit hash: astronomically rare, but never mix
    // their values.
    if (i->second.text != text) {
      ++stats_.collisions;
      return nullptr;
    }
    return &i->second;
  }
  if (s.flags & sample_flags::stale) {
    // A staleness marker for a series we never saw ends nothing.
    return nullptr;
  }
  entry e;
  e.text = std::string{text};
  if (s.flags & sample_flags::counter)
    e.flags |= series_flags::counter;
  if (s.flags & sample_flags::delta)
    e.flags |= series_flags::delta;
  e.state.reset(new std::byte[ensemble_->state_size()]);
  ensemble_->init(e.state.get());
  ++active_;
  return &map_.emplace(s.series, std::move(e)).first->second;
}

void series_table::ingest(const sample_batch& batch,
                          std::vector<anomaly_event>& out) {
  for (auto& s : batch.samples) {
    auto* e = find_or_create(s, batch.text(s));
    if (s.flags & sample_flags::stale)
      ++stats_.stale_markers;
    if (e == nullptr)
      continue;
    if (e->last_ts_ms != 0 && s.ts_ms <= e->last_ts_ms) {
      ++stats_.out_of_order;
      continue;
    }
    auto prev_ts = e->last_ts_ms;
    e->last_ts_ms = s.ts_ms;
    if (s.ts_ms > stats_.last_ts_ms)
      stats_.last_ts_ms = s.ts_ms;
    if (s.flags & sample_flags::stale) {
      if (!(e->flags & series_flags::stale)) {
        e->flags |= series_flags::stale;
        --active_;
      }
      // The series ended: its anomaly ends with it, and a counter's next
      // value starts a new rate.
      e->flags &= ~(series_flags::anomalous | series_flags::has_last);
      e->normal_run = 0;
      continue;
    }
    if (e->flags & series_flags::stale) {
      e->flags &= ~series_flags::stale;
      ++active_;
    }
    if (std::isnan(s.value)) {
      ++stats_.nan_values;
      continue;
    }
    double x = s.value;
    if (e->flags & series_flags::counter) {
      bool had = e->flags & series_flags::has_last;
      double prev = e->last_raw;
      e->last_raw = s.value;
      e->flags |= series_flags::has_last;
      if (!had)
        continue;
      // Per-second rate; a counter that went down was reset and counts from
      // zero again.
      double delta = s.value >= prev ? s.value - prev : s.value;
      x = delta * 1000.0 / static_cast<double>(s.ts_ms - prev_ts);
    }
    judge(*e, batch, s, x, out);
  }
}

void series_table::judge(entry& e, const sample_batch& batch, const sample& s,
                         double x, std::vector<anomaly_event>& out) {
  auto r = ensemble_->update(e.state.get(), x);
  ++e.samples;
  ++stats_.samples;
  if (r.anomalous) {
    e.normal_run = 0;
    if (!(e.flags & series_flags::anomalous)) {
      e.flags |= series_flags::anomalous;
      e.onset_ts_ms = s.ts_ms;
      e.last_emit_ts_ms = s.ts_ms;
      ++stats_.anomalies;
      out.push_back(make_event(e, r, anomaly_phase::onset, s.ts_ms, x, batch));
    } else if (s.ts_ms - e.last_emit_ts_ms >= opts_.reemit_interval.count()) {
      e.last_emit_ts_ms = s.ts_ms;
      ++stats_.anomalies;
      out.push_back(
        make_event(e, r, anomaly_phase::ongoing, s.ts_ms, x, batch));
    }
  } else if (e.flags & series_flags::anomalous) {
    if (++e.normal_run >= opts_.recovery_samples) {
      e.flags &= ~series_flags::anomalous;
      e.normal_run = 0;
      e.last_emit_ts_ms = s.ts_ms;
      out.push_back(
        make_event(e, r, anomaly_phase::recovered, s.ts_ms, x, batch));
    }
  }
}

anomaly_event series_table::make_event(const entry& e,
                                       const ensemble_result& r,
                                       anomaly_phase phase, int64_t ts,
                                       double x,
                                       const sample_batch& batch) const {
  anomaly_event ev;
  ev.service = service_;
  ev.metric = std::string{metric_of(e.text)};
  ev.series = e.text;
  ev.phase = phase;
  ev.ts_ms = ts;
  ev.onset_ts_ms = e.onset_ts_ms;
  ev.value = x;
  ev.score = r.score;
  ev.expected_lo = r.expected_lo;
  ev.expected_hi = r.expected_hi;
  auto& kinds = ensemble_->detectors();
  for (size_t i = 0; i < kinds.size(); ++i) {
    auto& v = r.verdicts[i];
    if (v.warm)
      ev.votes.push_back(
        {std::string{kinds[i]->name()}, v.score, v.deviation, v.vote});
  }
  ev.received_ns = batch.received_ns;
  ev.detected_ns = wall_ns();
  return ev;
}

size_t series_table::expire() {
  if (stats_.last_ts_ms == 0)
    return 0;
  auto horizon = stats_.last_ts_ms - opts_.series_ttl.count();
  size_t dropped = 0;
  for (auto i = map_.begin(); i != map_.end();) {
    if (i->second.last_ts_ms < horizon) {
      if (!(i->second.flags & series_flags::stale))
        --active_;
      i = map_.erase(i);
      ++dropped;
    } else {
      ++i;
    }
  }
  stats_.expired += dropped;
  return dropped;
}

size_t series_table::warm() const {
  size_t n = 0;
  for (auto& [_, e] : map_)
    if (!(e.flags & series_flags::stale) && e.samples >= opts_.warmup_samples)
      ++n;
  return n;
}

std::string series_table::snapshot(int64_t taken_at_ms) const {
  store::detector_snapshot snap;
  snap.set_service(service_);
  snap.set_layout(ensemble_->layout());
  snap.set_taken_at_ms(taken_at_ms);
  snap.set_last_ts_ms(stats_.last_ts_ms);
  snap.set_samples(stats_.samples);
  snap.set_anomalies(stats_.anomalies);
  snap.set_log_lines(stats_.log_lines);
  snap.set_out_of_order(stats_.out_of_order);
  snap.mutable_series()->Reserve(static_cast<int>(map_.size()));
  for (auto& [hash, e] : map_) {
    auto* s = snap.add_series();
    s->set_hash(hash);
    s->set_text(e.text);
    s->set_last_ts_ms(e.last_ts_ms);
    s->set_last_raw(e.last_raw);
    s->set_flags(e.flags);
    s->set_samples(e.samples);
    s->set_detectors(reinterpret_cast<const char*>(e.state.get()),
                     ensemble_->state_size());
    s->set_onset_ts_ms(e.onset_ts_ms);
    s->set_last_emit_ts_ms(e.last_emit_ts_ms);
    s->set_normal_run(e.normal_run);
  }
  return snap.SerializeAsString();
}

caf::expected<restore_info> series_table::restore(std::string_view bytes) {
  store::detector_snapshot snap;
  if (!snap.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
    return caf::make_error(errc::storage_failure,
                           "unreadable detector snapshot", service_);
  restore_info info;
  bool same_layout = snap.layout() == ensemble_->layout();
  map_.clear();
  active_ = 0;
  stats_ = {};
  stats_.last_ts_ms = snap.last_ts_ms();
  stats_.samples = snap.samples();
  stats_.anomalies = snap.anomalies();
  stats_.log_lines = snap.log_lines();
  stats_.out_of_order = snap.out_of_order();
  for (auto& s : snap.series()) {
    entry e;
    e.text = s.text();
    e.last_ts_ms = s.last_ts_ms();
    e.last_raw = s.last_raw();
    e.flags = s.flags();
    e.samples = s.samples();
    e.onset_ts_ms = s.onset_ts_ms();
    e.last_emit_ts_ms = s.last_emit_ts_ms();
    e.normal_run = s.normal_run();
    e.state.reset(new std::byte[ensemble_->state_size()]);
    if (same_layout && s.detectors().size() == ensemble_->state_size()) {
      std::memcpy(e.state.get(), s.detectors().data(), s.detectors().size());
    } else {
      // Detectors changed since the snapshot: keep the series, relearn.
      ensemble_->init(e.state.get());
      e.samples = 0;
      e.flags &= ~series_flags::anomalous;
      ++info.reset;
    }
    if (!(e.flags & series_flags::stale))
      ++active_;
    map_.emplace(s.hash(), std::move(e));
  }
  info.series = map_.size();
  info.last_ts_ms = stats_.last_ts_ms;
  return info;
}

size_t series_table::memory_bytes() const {
  // Node of the hash map, the text's heap buffer (beyond the small-string
  // buffer) and the state block, each rounded to malloc's 16-byte chunks
  // plus its 8-byte header.
  auto chunk = [](size_t n) { return (n + 8 + 15) / 16 * 16; };
  size_t node = chunk(sizeof(std::pair<const uint64_t, entry>) + 8);
  size_t per_state = chunk(ensemble_->state_size());
  size_t total = map_.bucket_count() * sizeof(void*);
  for (auto& [_, e] : map_) {
    total += node + per_state;
    if (e.text.capacity() > 15)
      total += chunk(e.text.capacity() + 1);
  }
  return total;
}

} // namespace vigil::detector
