#include "actors/detector/series_table.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "messages/errc.hpp"
#include "messages/proto/store.pb.h"
#include "runtime/clock.hpp"

namespace vigil::detector {

namespace {

// Largest magnitude the detectors judge (squares stay far from overflow).
constexpr double max_judged_value = 1e100;

} // namespace

series_table::series_table(std::string service,
                           std::shared_ptr<const ensemble> ens,
                           detection_options opts)
  : service_(std::move(service)),
    ensemble_(std::move(ens)),
    opts_(std::move(opts)),
    stride_(sizeof(header) + (ensemble_->state_size() + 7) / 8 * 8) {
  index_.resize(16);
}

int64_t series_table::find(uint64_t hash) const {
  auto mask = index_.size() - 1;
  for (auto i = hash & mask;; i = (i + 1) & mask) {
    auto& sl = index_[i];
    if (sl.index_plus_one == 0)
      return -1;
    if (sl.hash == hash)
      return sl.index_plus_one - 1;
  }
}

void series_table::grow_index() {
  std::vector<slot> old(index_.size() * 2);
  old.swap(index_);
  auto mask = index_.size() - 1;
  for (auto& sl : old) {
    if (sl.index_plus_one == 0)
      continue;
    auto i = sl.hash & mask;
    while (index_[i].index_plus_one != 0)
      i = (i + 1) & mask;
    index_[i] = sl;
  }
}

uint32_t series_table::insert(uint64_t hash, std::string_view text) {
  // Keep the index at most half full so probes stay short.
  if ((count_ + 1) * 2 > index_.size())
    grow_index();
  uint32_t index;
  if (!free_.empty()) {
    index = free_.back();
    free_.pop_back();
    texts_[index] = std::string{text};
  } else {
    index = static_cast<uint32_t>(texts_.size());
    slab_.resize(slab_.size() + stride_);
    texts_.emplace_back(text);
  }
  auto& h = at(index);
  std::memset(&h, 0, sizeof(header));
  h.hash = hash;
  h.text_size = static_cast<uint32_t>(text.size());
  h.used = 1;
  ensemble_->init(state_of(index));
  auto mask = index_.size() - 1;
  auto i = hash & mask;
  while (index_[i].index_plus_one != 0)
    i = (i + 1) & mask;
  index_[i] = {hash, index + 1, 0};
  ++count_;
  return index;
}

void series_table::erase(uint32_t index) {
  auto hash = at(index).hash;
  auto mask = index_.size() - 1;
  auto i = hash & mask;
  while (index_[i].index_plus_one != index + 1)
    i = (i + 1) & mask;
  // Backward-shift deletion: move later entries of the probe chain into
  // the hole so lookups never need tombstones.
  for (auto j = (i + 1) & mask;; j = (j + 1) & mask) {
    auto& sl = index_[j];
    if (sl.index_plus_one == 0)
      break;
    auto home = sl.hash & mask;
    // Move sl into i if its home position is not in (i, j].
    bool movable = i <= j ? (home <= i || home > j) : (home <= i && home > j);
    if (movable) {
      index_[i] = sl;
      i = j;
    }
  }
  index_[i] = {0, 0, 0};
  at(index).used = 0;
  texts_[index].clear();
  texts_[index].shrink_to_fit();
  free_.push_back(index);
  --count_;
}

void series_table::clear() {
  slab_.clear();
  texts_.clear();
  free_.clear();
  index_.assign(16, slot{});
  count_ = 0;
  active_ = 0;
}

series_table::header* series_table::find_or_create(const sample& s,
                                                   std::string_view text) {
  auto found = find(s.series);
  if (found >= 0) {
    auto& h = at(static_cast<uint32_t>(found));
    // Two texts with one 64-bit hash: astronomically rare, but never mix
    // their values when the lengths tell them apart.
    if (h.text_size != text.size()) {
      ++stats_.collisions;
      return nullptr;
    }
    return &h;
  }
  if (s.flags & sample_flags::stale) {
    // A staleness marker for a series we never saw ends nothing.
    return nullptr;
  }
  auto index = insert(s.series, text);
  auto& h = at(index);
  if (s.flags & sample_flags::counter)
    h.flags |= series_flags::counter;
  if (s.flags & sample_flags::delta)
    h.flags |= series_flags::delta;
  ++active_;
  return &h;
}

void series_table::ingest(const sample_batch& batch,
                          std::vector<anomaly_event>& out,
                          std::vector<double>* scores) {
  ingest(batch, out, scores, nullptr, 0);
}

void series_table::ingest(const sample_batch& batch,
                          std::vector<anomaly_event>& out,
                          std::vector<double>* scores, const uint8_t* lanes,
                          uint8_t lane) {
  for (size_t k = 0; k < batch.samples.size(); ++k) {
    if (lanes && lanes[k] != lane)
      continue;
    const auto& s = batch.samples[k];
    // Every sample gets exactly one score when asked for: 0 unless judged.
    struct pad {
      std::vector<double>* v;
      size_t n;
      ~pad() {
        if (v && v->size() == n)
          v->push_back(0);
      }
    } guard{scores, scores ? scores->size() : 0};
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
      // The series ended: its anomaly ends with it, a counter's next
      // value starts a new rate and the next block starts afresh.
      e->flags &= ~(series_flags::anomalous | series_flags::has_last);
      e->normal_run = 0;
      e->block_n = 0;
      e->block_sum = 0;
      continue;
    }
    if (e->flags & series_flags::stale) {
      e->flags &= ~series_flags::stale;
      ++active_;
    }
    // NaN, infinities and values whose squares would overflow the
    // detectors' sums are not judged: one of them would poison the series'
    // state for good.
    if (!std::isfinite(s.value) || std::fabs(s.value) > max_judged_value) {
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
      // Two samples at the same instant (e.g. both without a timestamp)
      // make no rate.
      if (s.ts_ms <= prev_ts)
        continue;
      x = delta * 1000.0 / static_cast<double>(s.ts_ms - prev_ts);
      if (!std::isfinite(x)) {
        ++stats_.nan_values;
        continue;
      }
    }
    ++stats_.samples;
    if (block_ > 1) {
      e->block_sum += x;
      if (++e->block_n < block_)
        continue;
      x = e->block_sum / e->block_n;
      e->block_n = 0;
      e->block_sum = 0;
    }
    auto index = static_cast<uint32_t>(
      (reinterpret_cast<std::byte*>(e) - slab_.data()) / stride_);
    auto score = judge(index, batch, s, x, out);
    if (scores)
      scores->push_back(score);
  }
}

void series_table::set_hold(header& e, const ensemble_result& r,
                            double x) {
  e.hold_lo = e.hold_hi = std::numeric_limits<double>::quiet_NaN();
  e.onset_centre = e.onset_half = 0;
  if (std::isnan(r.expected_lo) || std::isnan(r.expected_hi))
    return;
  double centre = 0.5 * (r.expected_lo + r.expected_hi);
  if (std::isfinite(centre) && r.expected_hi > r.expected_lo) {
    e.onset_centre = centre;
    e.onset_half = 0.5 * (r.expected_hi - r.expected_lo);
  }
  hold_beyond(e, r.expected_lo, r.expected_hi, x);
}

void series_table::hold_beyond(header& e, double lo, double hi, double x) {
  // The stretch lasts while the values stay on the onset's side of the
  // band and at least halfway from its centre to the onset value: a blip
  // of a series whose band is nearly empty (mostly zeros) ends with the
  // blip, a shift lasts as long as the shift.
  constexpr double inf = std::numeric_limits<double>::infinity();
  double centre = 0.5 * (lo + hi);
  if (x > hi) {
    e.hold_lo = -inf;
    e.hold_hi = std::max(hi, centre + 0.5 * (x - centre));
  } else if (x < lo) {
    e.hold_lo = std::min(lo, centre - 0.5 * (centre - x));
    e.hold_hi = inf;
  }
}

void series_table::hold_from_onset(header& e, double x) {
  hold_beyond(e, e.onset_centre - e.onset_half, e.onset_centre + e.onset_half,
              x);
}

void series_table::rehold(header& e, const ensemble_result& r, double x) {
  // The stretch starts its run again but keeps the band of its first
  // onset: the ensemble's band has taken the stretch's first values in by
  // now, and a hold set from it would let the run restart each time it
  // resumes until the shift looks normal, never confirmed.
  if (e.onset_half <= 0)
    set_hold(e, r, x);
  else
    hold_from_onset(e, x);
}

double series_table::judge(uint32_t index, const sample_batch& batch,
                           const sample& s, double x,
                           std::vector<anomaly_event>& out) {
  auto r = ensemble_->update(state_of(index), x, s.ts_ms);
  if (observer_)
    observer_(s.series, batch.text(s), s.ts_ms, x, out);
  auto& e = at(index);
  ++e.samples;
  bool in_stretch = e.flags & series_flags::anomalous;
  // A stretch whose onset value still lay inside the ensemble's band
  // (voted on by the detectors that react to a turn, not yet a jump) has
  // no hold yet: its first value beyond the onset's band sets it, or the
  // detectors adapting to the rise would end the stretch while the values
  // are still far from where they were.
  if (in_stretch && r.anomalous && std::isnan(e.hold_lo) && e.onset_half > 0)
    hold_from_onset(e, x);
  // Inside a stretch, the band expected at its onset judges (for at most
  // hold_max): the stretch outlives the detectors' adaptation to a lasting
  // shift, and the way back into that band is recovery, not a new anomaly
  // of the adapted detectors.
  bool banded = in_stretch && opts_.hold_max.count() > 0
                && s.ts_ms - e.onset_ts_ms < opts_.hold_max.count()
                && !std::isnan(e.hold_lo) && !std::isnan(e.hold_hi);
  bool anomalous = banded ? x < e.hold_lo || x > e.hold_hi : r.anomalous;
  if (anomalous) {
    // A stretch not yet confirmed as persisting that resumes after normal
    // samples starts its run again (its onset moves with it): a blip just
    // before a fault must not date the fault.
    if (in_stretch && e.normal_run > 0 && e.run < opts_.confirm_samples) {
      e.run = 0;
      e.onset_ts_ms = s.ts_ms;
      rehold(e, r, x);
    }
    e.normal_run = 0;
    auto score = static_cast<float>(r.score);
    if (banded && e.onset_half > 0) {
      // Judged by the band it broke out of, as its holding is: a lasting
      // shift already widens the adaptive detectors' bands a sample on.
      auto q = std::fabs(x - e.onset_centre) / e.onset_half;
      score = std::max(score, static_cast<float>(1 - 1 / (1 + q * q)));
    }
    if (!in_stretch || e.run == 0)
      e.confirm_score_sum = score;
    else if (e.run < std::max<uint32_t>(opts_.confirm_samples, 1))
      e.confirm_score_sum += score;
    if (!in_stretch) {
      e.flags |= series_flags::anomalous;
      e.onset_ts_ms = s.ts_ms;
      e.last_emit_ts_ms = s.ts_ms;
      set_hold(e, r, x);
      e.run = 1;
      ++stats_.anomalies;
      out.push_back(
        make_event(index, r, anomaly_phase::onset, s.ts_ms, x, batch));
    } else if (++e.run == opts_.confirm_samples
               || s.ts_ms - e.last_emit_ts_ms
                    >= opts_.reemit_interval.count()) {
      // The confirming sample scores the stretch if it scores higher than
      // the mean: where the values settled, a few samples after an onset
      // that caught only the start of the step (and the score the
      // re-announcements keep, since the adaptive detectors take a lasting
      // shift in within minutes).
      if (e.run == opts_.confirm_samples)
        e.confirm_score_sum
          = std::max(e.confirm_score_sum,
                     score * static_cast<float>(opts_.confirm_samples));
      e.last_emit_ts_ms = s.ts_ms;
      ++stats_.anomalies;
      out.push_back(
        make_event(index, r, anomaly_phase::ongoing, s.ts_ms, x, batch));
    }
  } else if (e.flags & series_flags::anomalous) {
    if (++e.normal_run >= opts_.recovery_samples) {
      e.flags &= ~series_flags::anomalous;
      e.normal_run = 0;
      e.last_emit_ts_ms = s.ts_ms;
      out.push_back(
        make_event(index, r, anomaly_phase::recovered, s.ts_ms, x, batch));
    }
  }
  return r.score;
}

anomaly_event series_table::make_event(uint32_t index,
                                       const ensemble_result& r,
                                       anomaly_phase phase, int64_t ts,
                                       double x,
                                       const sample_batch& batch) const {
  auto& e = at(index);
  auto& text = texts_[index];
  anomaly_event ev;
  ev.service = service_;
  ev.metric = std::string{metric_of(text)};
  ev.series = text;
  ev.phase = phase;
  ev.ts_ms = ts;
  ev.onset_ts_ms = e.onset_ts_ms;
  ev.value = x;
  ev.score = r.score;
  if (phase == anomaly_phase::ongoing) {
    // The stretch's confirmation scores it: the mean over its first
    // confirm_samples samples (or its confirming sample's score, if
    // higher), unless this one scores higher.
    auto n = std::clamp<uint32_t>(e.run, 1,
                                  std::max<uint32_t>(opts_.confirm_samples, 1));
    ev.score = std::max(ev.score, static_cast<double>(e.confirm_score_sum) / n);
  }
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

void series_table::set_step(int64_t step_ms, uint32_t block) {
  step_ms_ = step_ms;
  block = std::max<uint32_t>(block, 1);
  if (block == block_)
    return;
  block_ = block;
  // The values judged so far were single samples; from now on they are
  // means, with a smaller spread: the detectors learn afresh. Meant for
  // warm-up (or a table about to be restored), before any series votes.
  for (uint32_t i = 0; i < texts_.size(); ++i) {
    auto& h = at(i);
    h.block_n = 0;
    h.block_sum = 0;
    if (!h.used)
      continue;
    h.samples = 0;
    h.flags &= ~series_flags::anomalous;
    h.normal_run = 0;
    h.run = 0;
    ensemble_->init(state_of(i));
  }
}

int64_t series_table::snapshot_step_ms(std::string_view bytes) {
  store::detector_snapshot snap;
  if (!snap.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
    return 0;
  return snap.step_ms();
}

size_t series_table::expire() {
  if (stats_.last_ts_ms == 0)
    return 0;
  auto horizon = stats_.last_ts_ms - opts_.series_ttl.count();
  size_t dropped = 0;
  for (uint32_t i = 0; i < texts_.size(); ++i) {
    auto& h = at(i);
    if (h.used && h.last_ts_ms < horizon) {
      if (!(h.flags & series_flags::stale))
        --active_;
      erase(i);
      ++dropped;
    }
  }
  stats_.expired += dropped;
  return dropped;
}

size_t series_table::warm() const {
  size_t n = 0;
  for (uint32_t i = 0; i < texts_.size(); ++i) {
    auto& h = at(i);
    if (h.used && !(h.flags & series_flags::stale)
        && h.samples >= opts_.warmup_samples)
      ++n;
  }
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
  snap.set_step_ms(step_ms_);
  snap.mutable_series()->Reserve(static_cast<int>(count_));
  for (uint32_t i = 0; i < texts_.size(); ++i) {
    auto& e = at(i);
    if (!e.used)
      continue;
    auto* s = snap.add_series();
    s->set_hash(e.hash);
    s->set_text(texts_[i]);
    s->set_last_ts_ms(e.last_ts_ms);
    s->set_last_raw(e.last_raw);
    s->set_flags(e.flags);
    s->set_samples(e.samples);
    s->set_detectors(reinterpret_cast<const char*>(state_of(i)),
                     ensemble_->state_size());
    s->set_onset_ts_ms(e.onset_ts_ms);
    s->set_last_emit_ts_ms(e.last_emit_ts_ms);
    s->set_normal_run(e.normal_run);
    s->set_hold_lo(e.hold_lo);
    s->set_hold_hi(e.hold_hi);
    s->set_run(e.run);
    s->set_confirm_score_sum(e.confirm_score_sum);
    s->set_onset_centre(e.onset_centre);
    s->set_onset_half(e.onset_half);
    s->set_block_n(e.block_n);
    s->set_block_sum(e.block_sum);
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
  clear();
  stats_ = {};
  stats_.last_ts_ms = snap.last_ts_ms();
  stats_.samples = snap.samples();
  stats_.anomalies = snap.anomalies();
  stats_.log_lines = snap.log_lines();
  stats_.out_of_order = snap.out_of_order();
  step_ms_ = snap.step_ms();
  for (auto& s : snap.series()) {
    if (find(s.hash()) >= 0)
      continue; // a duplicate in a damaged snapshot
    auto index = insert(s.hash(), s.text());
    auto& e = at(index);
    e.last_ts_ms = s.last_ts_ms();
    e.last_raw = s.last_raw();
    e.flags = s.flags();
    e.samples = s.samples();
    e.onset_ts_ms = s.onset_ts_ms();
    e.last_emit_ts_ms = s.last_emit_ts_ms();
    e.normal_run = s.normal_run();
    // Snapshots from before the hold existed carry no band (0, 0): none.
    bool banded = s.hold_lo() != 0 || s.hold_hi() != 0;
    e.hold_lo = banded ? s.hold_lo() : std::numeric_limits<double>::quiet_NaN();
    e.hold_hi = banded ? s.hold_hi() : std::numeric_limits<double>::quiet_NaN();
    e.run = s.run();
    e.confirm_score_sum = s.confirm_score_sum();
    e.onset_centre = s.onset_centre();
    e.onset_half = s.onset_half();
    // A block under way comes back, unless blocks have become shorter
    // than it since.
    if (s.block_n() < block_) {
      e.block_n = s.block_n();
      e.block_sum = s.block_sum();
    }
    if (same_layout && s.detectors().size() == ensemble_->state_size()) {
      std::memcpy(state_of(index), s.detectors().data(),
                  s.detectors().size());
    } else {
      // Detectors changed since the snapshot: keep the series, relearn.
      e.samples = 0;
      e.flags &= ~series_flags::anomalous;
      ++info.reset;
    }
    if (!(e.flags & series_flags::stale))
      ++active_;
  }
  info.series = count_;
  info.last_ts_ms = stats_.last_ts_ms;
  return info;
}

size_t series_table::memory_bytes() const {
  // The slab and index as allocated, plus each text's heap buffer (beyond
  // the small-string buffer) rounded to malloc's chunks.
  auto chunk = [](size_t n) { return (n + 8 + 15) / 16 * 16; };
  size_t total = slab_.capacity() + index_.capacity() * sizeof(slot)
                 + texts_.capacity() * sizeof(std::string)
                 + free_.capacity() * sizeof(uint32_t);
  for (auto& t : texts_)
    if (t.capacity() > 15)
      total += chunk(t.capacity() + 1);
  return total;
}

} // namespace vigil::detector
