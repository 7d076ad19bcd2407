#include "actors/correlator/anomaly_log.hpp"

#include <spdlog/spdlog.h>

#include "messages/proto/store.pb.h"

namespace vigil::correlator {

std::string encode(const anomaly_event& ev) {
  store::anomaly_record r;
  r.set_id(ev.id);
  r.set_service(ev.service);
  r.set_metric(ev.metric);
  r.set_series(ev.series);
  r.set_phase(static_cast<uint32_t>(ev.phase));
  r.set_ts_ms(ev.ts_ms);
  r.set_onset_ts_ms(ev.onset_ts_ms);
  r.set_value(ev.value);
  r.set_score(ev.score);
  r.set_expected_lo(ev.expected_lo);
  r.set_expected_hi(ev.expected_hi);
  for (auto& v : ev.votes) {
    auto* pv = r.add_votes();
    pv->set_detector(v.detector);
    pv->set_score(v.score);
    pv->set_deviation(v.deviation);
    pv->set_vote(v.vote);
  }
  r.set_received_ns(ev.received_ns);
  r.set_detected_ns(ev.detected_ns);
  r.set_kind(static_cast<uint32_t>(ev.kind));
  r.set_template_id(ev.template_id);
  r.set_template_text(ev.template_text);
  for (auto& line : ev.examples)
    r.add_examples(line);
  r.set_limit(ev.limit);
  r.set_forecast_ts_ms(ev.forecast_ts_ms);
  return r.SerializeAsString();
}

bool decode(std::string_view bytes, anomaly_event& ev) {
  store::anomaly_record r;
  if (!r.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
    return false;
  ev.id = r.id();
  ev.service = r.service();
  ev.metric = r.metric();
  ev.series = r.series();
  auto phase = r.phase();
  if (phase < 1 || phase > 3)
    return false;
  ev.phase = static_cast<anomaly_phase>(phase);
  ev.ts_ms = r.ts_ms();
  ev.onset_ts_ms = r.onset_ts_ms();
  ev.value = r.value();
  ev.score = r.score();
  ev.expected_lo = r.expected_lo();
  ev.expected_hi = r.expected_hi();
  ev.votes.clear();
  for (auto& v : r.votes())
    ev.votes.push_back({v.detector(), v.score(), v.deviation(), v.vote()});
  ev.received_ns = r.received_ns();
  ev.detected_ns = r.detected_ns();
  if (r.kind() > static_cast<uint32_t>(anomaly_kind::predictive))
    return false;
  ev.kind = static_cast<anomaly_kind>(r.kind());
  ev.template_id = r.template_id();
  ev.template_text = r.template_text();
  ev.examples.assign(r.examples().begin(), r.examples().end());
  ev.limit = r.limit();
  ev.forecast_ts_ms = r.forecast_ts_ms();
  return true;
}

anomaly_log::anomaly_log(size_t capacity,
                         std::shared_ptr<storage::store> store)
  : capacity_(capacity), store_(std::move(store)) {
}

caf::error anomaly_log::load() {
  if (!store_)
    return {};
  std::vector<anomaly_event> newest_first;
  size_t unreadable = 0;
  auto err = store_->scan(
    storage::column::anomalies, "",
    [&](std::string_view key, std::string_view value) {
      anomaly_event ev;
      if (decode(value, ev)) {
        ev.id = storage::from_big_endian_key(key);
        newest_first.push_back(std::move(ev));
      } else {
        ++unreadable;
      }
      return newest_first.size() < capacity_;
    },
    true);
  if (err)
    return err;
  if (unreadable > 0)
    spdlog::warn("skipped {} unreadable anomaly records", unreadable);
  events_.clear();
  for (auto i = newest_first.rbegin(); i != newest_first.rend(); ++i)
    events_.push_back(std::move(*i));
  if (!events_.empty())
    next_id_ = events_.back().id + 1;
  return {};
}

uint64_t anomaly_log::add(anomaly_event ev) {
  ev.id = next_id_++;
  if (store_) {
    if (auto err = store_->put(storage::column::anomalies,
                               storage::big_endian_key(ev.id), encode(ev)))
      spdlog::error("cannot persist anomaly {}: {}", ev.id,
                    caf::to_string(err));
    // Forget what fell out of the window, in bulk now and then.
    if (++since_trim_ >= 1024 && ev.id > capacity_) {
      since_trim_ = 0;
      if (auto err = store_->erase_range(
            storage::column::anomalies, storage::big_endian_key(0),
            storage::big_endian_key(ev.id - capacity_ + 1)))
        spdlog::error("cannot trim anomalies: {}", caf::to_string(err));
    }
  }
  auto id = ev.id;
  events_.push_back(std::move(ev));
  while (events_.size() > capacity_)
    events_.pop_front();
  return id;
}

std::vector<anomaly_event> anomaly_log::query(const anomaly_query& q) const {
  std::vector<anomaly_event> out;
  for (auto i = events_.rbegin(); i != events_.rend() && out.size() < q.limit;
       ++i) {
    if (!q.service.empty() && i->service != q.service)
      continue;
    if (i->ts_ms < q.since_ms)
      continue;
    out.push_back(*i);
  }
  return out;
}

} // namespace vigil::correlator
