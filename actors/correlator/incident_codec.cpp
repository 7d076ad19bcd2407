#include "actors/correlator/incident_codec.hpp"

#include <algorithm>

#include "actors/correlator/summary.hpp"
#include "config/rules.hpp"
#include "messages/errc.hpp"
#include "messages/proto/store.pb.h"
#include "runtime/storage/action_codec.hpp"

namespace vigil::correlator {

std::string encode(const incident& inc) {
  store::incident_record r;
  r.set_id(inc.id);
  r.set_domain(inc.domain);
  r.set_type(inc.type);
  r.set_status(static_cast<uint32_t>(inc.status));
  r.set_severity(static_cast<uint32_t>(inc.severity));
  r.set_opened_ms(inc.opened_ms);
  r.set_detected_ms(inc.detected_ms);
  r.set_last_evidence_ms(inc.last_evidence_ms);
  r.set_last_persisting_ms(inc.last_persisting_ms);
  r.set_resolved_ms(inc.resolved_ms);
  r.set_updated_ms(inc.updated_ms);
  r.set_merged_into(inc.merged_into);
  for (const auto& s : inc.symptoms) {
    auto* p = r.add_symptoms();
    p->set_fingerprint(s.fingerprint);
    p->set_service(s.service);
    p->set_metric(s.metric);
    p->set_kind(static_cast<uint32_t>(s.kind));
    p->set_first_ms(s.first_ms);
    p->set_last_ms(s.last_ms);
    p->set_max_score(s.max_score);
    p->set_events(s.events);
    p->set_recovered(s.recovered);
    p->set_active_since_ms(s.active_since_ms);
    p->set_max_deviation(s.max_deviation);
    p->set_sustained_since_ms(s.sustained_since_ms);
    p->set_ended_ms(s.ended_ms);
    p->set_recovered_ms(s.recovered_ms);
    p->set_earlier_until_ms(s.earlier_until_ms);
    p->set_series(s.series);
    for (const auto& d : s.detectors)
      p->add_detectors(d);
  }
  r.set_dropped_symptoms(inc.dropped_symptoms);
  for (const auto& e : inc.timeline) {
    auto* p = r.add_timeline();
    p->set_ts_ms(e.ts_ms);
    p->set_kind(e.kind);
    p->set_service(e.service);
    p->set_text(e.text);
  }
  r.set_dropped_timeline(inc.dropped_timeline);
  for (const auto& c : inc.root_cause.candidates) {
    auto* p = r.add_candidates();
    p->set_service(c.service);
    p->set_score(c.score);
    for (const auto& e : c.evidence)
      p->add_evidence(e);
    p->set_blast_radius(c.blast_radius);
  }
  r.set_confidence_level(inc.root_cause.confidence_level);
  r.set_confidence(inc.root_cause.confidence);
  r.set_confidence_reason(inc.root_cause.confidence_reason);
  r.set_ranked_at_ms(inc.root_cause.ranked_at_ms);
  r.set_baseline(inc.root_cause.baseline);
  for (const auto& a : inc.actions) {
    storage::stored_action x;
    x.view = a;
    storage::to_record(x, *r.add_actions());
  }
  r.set_summary(inc.summary);
  return r.SerializeAsString();
}

bool decode(std::string_view bytes, incident& inc) {
  store::incident_record r;
  if (!r.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
    return false;
  if (r.id() == 0
      || r.status() > static_cast<uint32_t>(incident_status::resolved)
      || r.severity() < 1 || r.severity() > 5)
    return false;
  inc = incident{};
  inc.id = r.id();
  inc.domain = r.domain();
  inc.type = r.type();
  inc.status = static_cast<incident_status>(r.status());
  inc.severity = static_cast<incident_severity>(r.severity());
  inc.opened_ms = r.opened_ms();
  inc.detected_ms = r.detected_ms();
  inc.last_evidence_ms = r.last_evidence_ms();
  inc.last_persisting_ms = r.last_persisting_ms();
  inc.resolved_ms = r.resolved_ms();
  inc.updated_ms = r.updated_ms();
  inc.merged_into = r.merged_into();
  for (const auto& p : r.symptoms()) {
    if (p.kind() > static_cast<uint32_t>(anomaly_kind::alert))
      return false;
    symptom s;
    s.fingerprint = p.fingerprint();
    s.service = p.service();
    s.metric = p.metric();
    s.kind = static_cast<anomaly_kind>(p.kind());
    s.first_ms = p.first_ms();
    s.last_ms = p.last_ms();
    s.max_score = p.max_score();
    s.events = p.events();
    s.recovered = p.recovered();
    s.active_since_ms = p.active_since_ms();
    s.max_deviation = p.max_deviation();
    s.sustained_since_ms = p.sustained_since_ms();
    s.ended_ms = p.ended_ms();
    s.recovered_ms = p.recovered_ms();
    s.earlier_until_ms = p.earlier_until_ms();
    s.series = p.series();
    s.detectors.assign(p.detectors().begin(), p.detectors().end());
    inc.symptoms.push_back(std::move(s));
  }
  inc.dropped_symptoms = r.dropped_symptoms();
  for (const auto& p : r.timeline())
    inc.timeline.push_back({p.ts_ms(), p.kind(), p.service(), p.text()});
  inc.dropped_timeline = r.dropped_timeline();
  for (const auto& p : r.candidates()) {
    rca_candidate c;
    c.service = p.service();
    c.score = p.score();
    c.evidence.assign(p.evidence().begin(), p.evidence().end());
    c.blast_radius = p.blast_radius();
    inc.root_cause.candidates.push_back(std::move(c));
  }
  inc.root_cause.incident = inc.id;
  inc.root_cause.confidence_level = r.confidence_level().empty()
                                      ? std::string{"unknown"}
                                      : r.confidence_level();
  inc.root_cause.confidence = r.confidence();
  inc.root_cause.confidence_reason = r.confidence_reason();
  inc.root_cause.ranked_at_ms = r.ranked_at_ms();
  inc.root_cause.baseline = r.baseline();
  for (const auto& p : r.actions())
    inc.actions.push_back(storage::from_record(p).view);
  inc.summary = r.summary();
  return true;
}

incident_view to_view(const incident& inc, bool brief) {
  incident_view v;
  v.id = inc.id;
  v.status = to_string(inc.status);
  v.severity = static_cast<uint32_t>(inc.severity);
  v.type = inc.type;
  v.domain = inc.domain;
  v.services = inc.services();
  v.opened_ms = inc.opened_ms;
  v.detected_ms = inc.detected_ms;
  v.updated_ms = std::max(inc.updated_ms, inc.last_evidence_ms);
  v.resolved_ms = inc.closed() ? inc.resolved_ms : 0;
  v.merged_into = inc.merged_into;
  v.root_cause = inc.root_cause;
  // "high_latency in orders-db (+4 services)": the likeliest root cause,
  // else the first service to show a symptom.
  std::string where;
  if (!inc.root_cause.candidates.empty()
      && inc.root_cause.confidence_level != "unknown")
    where = inc.root_cause.candidates.front().service;
  else if (!inc.symptoms.empty())
    where = std::min_element(inc.symptoms.begin(), inc.symptoms.end(),
                             [](const symptom& a, const symptom& b) {
                               return a.first_ms < b.first_ms;
                             })
              ->service;
  v.title = inc.type;
  if (!where.empty()) {
    v.title += " in ";
    v.title += where;
  }
  if (v.services.size() > 1) {
    v.title += " (+";
    v.title += std::to_string(v.services.size() - 1);
    v.title += v.services.size() == 2 ? " service)" : " services)";
  }
  v.dropped_symptoms = inc.dropped_symptoms;
  v.dropped_timeline = inc.dropped_timeline;
  v.actions = inc.actions;
  v.summary = inc.summary.empty() ? template_summary(inc) : inc.summary;
  if (!brief) {
    for (const auto& s : inc.symptoms)
      v.symptoms.push_back({s.service, s.metric, s.series, to_string(s.kind),
                            s.first_ms, s.last_ms, s.max_score, s.events,
                            s.recovered, s.detectors, s.max_deviation,
                            s.sustained_since_ms,
                            s.recovered ? 0 : s.active_since_ms, s.ended_ms,
                            s.recovered ? s.recovered_ms : 0,
                            s.active_since_ms, s.earlier_until_ms});
    v.timeline = inc.timeline;
  }
  return v;
}

std::string encode(const silence_spec& s) {
  store::silence_record r;
  r.set_id(s.id);
  for (const auto& m : s.matchers)
    r.add_matchers(m);
  r.set_starts_ms(s.starts_ms);
  r.set_ends_ms(s.ends_ms);
  r.set_weekdays(s.weekdays);
  r.set_start_minute(s.start_minute);
  r.set_duration_minutes(s.duration_minutes);
  r.set_author(s.author);
  r.set_comment(s.comment);
  r.set_origin(s.origin);
  return r.SerializeAsString();
}

bool decode(std::string_view bytes, silence_spec& s) {
  store::silence_record r;
  if (!r.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
    return false;
  s = silence_spec{};
  s.id = r.id();
  s.matchers.assign(r.matchers().begin(), r.matchers().end());
  s.starts_ms = r.starts_ms();
  s.ends_ms = r.ends_ms();
  s.weekdays = r.weekdays();
  s.start_minute = r.start_minute();
  s.duration_minutes = r.duration_minutes();
  s.author = r.author();
  s.comment = r.comment();
  s.origin = r.origin();
  return !s.id.empty();
}

caf::expected<void> apply(const silence_spec& s, suppression_set& set) {
  std::vector<label_matcher> ms;
  for (size_t i = 0; i < s.matchers.size(); ++i) {
    auto m = label_matcher::parse(s.matchers[i]);
    if (!m)
      return caf::make_error(errc::malformed,
                             "matchers[" + std::to_string(i) + "]: "
                               + rule_error_text(m.error()));
    ms.push_back(std::move(*m));
  }
  if (s.weekdays != 0) {
    if (s.starts_ms != 0 || s.ends_ms != 0)
      return caf::make_error(errc::malformed,
                             "a silence has either startsAt/endsAt or a "
                             "recurrence, not both");
    maintenance_window w;
    w.id = s.id;
    w.matchers = std::move(ms);
    w.weekdays = static_cast<uint8_t>(s.weekdays);
    w.start_minute = s.start_minute;
    w.duration_minutes = s.duration_minutes;
    w.comment = s.comment;
    if (s.weekdays > 0x7f)
      return caf::make_error(errc::malformed, "weekdays: unknown day bits");
    return set.add(std::move(w));
  }
  silence x;
  x.id = s.id;
  x.matchers = std::move(ms);
  x.starts_ms = s.starts_ms;
  x.ends_ms = s.ends_ms;
  x.author = s.author;
  x.comment = s.comment;
  return set.add(std::move(x));
}

} // namespace vigil::correlator
