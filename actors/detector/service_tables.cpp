#include "actors/detector/service_tables.hpp"

#include <algorithm>
#include <cstring>

#include "messages/errc.hpp"

namespace vigil::detector {

namespace {

constexpr std::string_view envelope_magic = "vigil.tables.1";

void put_u32(std::string& out, uint32_t x) {
  char b[4];
  std::memcpy(b, &x, 4);
  out.append(b, 4);
}

bool get_u32(std::string_view& in, uint32_t& x) {
  if (in.size() < 4)
    return false;
  std::memcpy(&x, in.data(), 4);
  in.remove_prefix(4);
  return true;
}

bool get_bytes(std::string_view& in, std::string_view& x) {
  uint32_t n = 0;
  if (!get_u32(in, n) || in.size() < n)
    return false;
  x = in.substr(0, n);
  in.remove_prefix(n);
  return true;
}

} // namespace

caf::expected<std::vector<std::shared_ptr<const ensemble>>>
make_rule_ensembles(const detection_options& opts) {
  std::vector<std::shared_ptr<const ensemble>> out;
  for (auto& text : opts.rules) {
    auto r = parse_detector_rule(text);
    if (!r)
      return std::move(r.error());
    auto o = opts;
    o.detectors = r->detectors;
    o.min_votes
      = r->min_votes > 0
          ? r->min_votes
          : std::min<uint32_t>(opts.min_votes,
                               static_cast<uint32_t>(r->detectors.size()));
    auto ens = ensemble::make(o);
    if (!ens)
      return std::move(ens.error());
    out.push_back(std::move(*ens));
  }
  return out;
}

service_tables::service_tables(
  std::string service, std::shared_ptr<const ensemble> ens,
  std::vector<std::shared_ptr<const ensemble>> rule_ensembles,
  const detection_options& opts)
  : reference_step_(opts.reference_step),
    // Decided before any series can be warm: a single series has then
    // been judged at most warmup_samples - 1 times.
    estimator_(std::clamp<uint32_t>(opts.warmup_samples, 2, 17) - 1) {
  // Rules that do not parse never get here (the config loader and
  // make_rule_ensembles refuse them); skip defensively.
  for (size_t i = 0;
       i < opts.rules.size() && i < rule_ensembles.size() && i < 255; ++i) {
    auto r = parse_detector_rule(opts.rules[i]);
    if (!r)
      continue;
    rules_.push_back(std::move(*r));
    keys_.push_back(opts.rules[i]);
    tables_.push_back(
      std::make_unique<series_table>(service, rule_ensembles[i], opts));
  }
  keys_.emplace_back();
  tables_.push_back(
    std::make_unique<series_table>(std::move(service), std::move(ens), opts));
}

size_t service_tables::table_for(std::string_view metric) const {
  for (size_t i = 0; i < rules_.size(); ++i)
    if (glob_match(rules_[i].glob, metric))
      return i;
  return rules_.size();
}

void service_tables::observe_step(const sample_batch& batch) {
  for (const auto& s : batch.samples) {
    if (s.flags & sample_flags::stale)
      continue;
    auto it = last_seen_.find(s.series);
    if (it == last_seen_.end()) {
      // Bounded: series that come and go (one sample each) start the map
      // over rather than grow it while no gap is seen.
      if (last_seen_.size() >= max_step_series)
        last_seen_.clear();
      last_seen_.emplace(s.series, s.ts_ms);
    } else if (s.ts_ms > it->second) {
      estimator_.add(s.ts_ms - it->second);
      it->second = s.ts_ms;
    }
    if (estimator_.ready())
      break;
  }
  if (estimator_.ready())
    apply_step(estimator_.step_ms());
}

void service_tables::apply_step(int64_t step_ms) {
  step_ms_ = step_ms;
  last_seen_ = {};
  auto block = detector::step_block(reference_step_, step_ms);
  for (auto& t : tables_)
    t->set_step(step_ms, block);
}

void service_tables::ingest(const sample_batch& batch,
                            std::vector<anomaly_event>& out) {
  if (step_ms_ == 0)
    observe_step(batch);
  if (rules_.empty()) {
    tables_.back()->ingest(batch, out);
    return;
  }
  lanes_.resize(batch.samples.size());
  std::vector<bool> used(tables_.size(), false);
  for (size_t k = 0; k < batch.samples.size(); ++k) {
    const auto& s = batch.samples[k];
    auto it = route_.find(s.series);
    if (it == route_.end())
      it = route_
             .emplace(s.series,
                      static_cast<uint8_t>(table_for(metric_of(batch.text(s)))))
             .first;
    lanes_[k] = it->second;
    used[it->second] = true;
  }
  for (size_t t = 0; t < tables_.size(); ++t)
    if (used[t])
      tables_[t]->ingest(batch, out, nullptr, lanes_.data(),
                         static_cast<uint8_t>(t));
  if (observer_ && !observed_.empty()) {
    // The texts point into `batch`, alive until we return.
    std::stable_sort(
      observed_.begin(), observed_.end(),
      [](const observed& a, const observed& b) { return a.ts_ms < b.ts_ms; });
    for (auto& o : observed_)
      observer_(o.series, o.text, o.ts_ms, o.x, out);
    observed_.clear();
  }
}

void service_tables::set_observer(series_table::observer f) {
  observer_ = std::move(f);
  if (rules_.empty() || !observer_) {
    tables_.back()->set_observer(observer_);
    return;
  }
  for (auto& t : tables_)
    t->set_observer([this](uint64_t series, std::string_view text, int64_t ts,
                           double x, std::vector<anomaly_event>&) {
      observed_.push_back({series, text, ts, x});
    });
}

size_t service_tables::expire() {
  size_t n = 0;
  for (auto& t : tables_)
    n += t->expire();
  // The route cache only needs the series that still live.
  if (route_.size() > 2 * series() + 1024)
    route_.clear();
  return n;
}

size_t service_tables::series() const {
  size_t n = 0;
  for (auto& t : tables_)
    n += t->series();
  return n;
}

size_t service_tables::active() const {
  size_t n = 0;
  for (auto& t : tables_)
    n += t->active();
  return n;
}

size_t service_tables::warm() const {
  size_t n = 0;
  for (auto& t : tables_)
    n += t->warm();
  return n;
}

table_stats service_tables::totals() const {
  table_stats sum;
  for (auto& t : tables_) {
    const auto& s = t->stats();
    sum.samples += s.samples;
    sum.anomalies += s.anomalies;
    sum.out_of_order += s.out_of_order;
    sum.stale_markers += s.stale_markers;
    sum.nan_values += s.nan_values;
    sum.collisions += s.collisions;
    sum.expired += s.expired;
    sum.log_lines += s.log_lines;
    sum.last_ts_ms = std::max(sum.last_ts_ms, s.last_ts_ms);
  }
  return sum;
}

std::string service_tables::snapshot(int64_t taken_at_ms) const {
  if (rules_.empty())
    return tables_.back()->snapshot(taken_at_ms);
  std::string out{envelope_magic};
  put_u32(out, static_cast<uint32_t>(tables_.size()));
  for (size_t i = 0; i < tables_.size(); ++i) {
    auto bytes = tables_[i]->snapshot(taken_at_ms);
    put_u32(out, static_cast<uint32_t>(keys_[i].size()));
    out += keys_[i];
    put_u32(out, static_cast<uint32_t>(bytes.size()));
    out += bytes;
  }
  return out;
}

caf::expected<restore_info> service_tables::restore(std::string_view bytes) {
  // The step the snapshot's state was learnt at comes back with it (the
  // block size from today's reference step); a snapshot without one
  // learns it again.
  auto adopt_step = [this](std::string_view table) {
    if (auto step = series_table::snapshot_step_ms(table); step > 0)
      apply_step(step);
  };
  if (!bytes.starts_with(envelope_magic)) {
    adopt_step(bytes);
    return tables_.back()->restore(bytes);
  }
  bytes.remove_prefix(envelope_magic.size());
  {
    // Every table of a service carries the same step; the first says it.
    auto peek = bytes;
    uint32_t n = 0;
    std::string_view key;
    std::string_view body;
    if (get_u32(peek, n) && n > 0 && get_bytes(peek, key)
        && get_bytes(peek, body))
      adopt_step(body);
  }
  uint32_t count = 0;
  if (!get_u32(bytes, count))
    return caf::make_error(errc::storage_failure,
                           "truncated detector snapshot envelope");
  restore_info total;
  for (uint32_t i = 0; i < count; ++i) {
    std::string_view key;
    std::string_view body;
    if (!get_bytes(bytes, key) || !get_bytes(bytes, body))
      return caf::make_error(errc::storage_failure,
                             "truncated detector snapshot envelope");
    auto at = std::find(keys_.begin(), keys_.end(), key);
    if (at == keys_.end())
      continue; // the rule is gone: its series relearn elsewhere
    auto info = tables_[static_cast<size_t>(at - keys_.begin())]->restore(body);
    if (!info)
      return info;
    total.series += info->series;
    total.reset += info->reset;
    total.last_ts_ms = std::max(total.last_ts_ms, info->last_ts_ms);
  }
  route_.clear();
  return total;
}

size_t service_tables::memory_bytes() const {
  size_t n = (route_.size() + last_seen_.size()) * 32 + lanes_.capacity();
  for (auto& t : tables_)
    n += t->memory_bytes();
  return n;
}

} // namespace vigil::detector
