#include "actors/correlator/incidents.hpp"
#include "messages/labels.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>
#include <tuple>

#include "config/rules.hpp"
#include "messages/errc.hpp"

namespace vigil::correlator {

namespace {

std::string fingerprint_of(const anomaly_event& ev) {
  std::string out = ev.service;
  out += '\x1f';
  out += ev.kind == anomaly_kind::log_new_template
             || ev.kind == anomaly_kind::log_error_spike
           ? ev.template_id
           : ev.series;
  out += '\x1f';
  out += to_string(ev.kind);
  return out;
}

int rank(incident_status s) {
  return static_cast<int>(s);
}

std::string score_text(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", x);
  return buf;
}

// What a new symptom looks like on the timeline.
timeline_entry symptom_entry(const anomaly_event& ev, bool again) {
  timeline_entry e;
  e.ts_ms = ev.ts_ms;
  e.service = ev.service;
  std::string what;
  switch (ev.kind) {
    case anomaly_kind::log_new_template:
      e.kind = "log_event";
      what = "new log pattern: " + ev.template_text;
      break;
    case anomaly_kind::log_error_spike:
      e.kind = "log_event";
      what = ev.template_text.empty()
               ? std::string{"error log spike"}
               : "error log spike: " + ev.template_text;
      break;
    case anomaly_kind::alert:
      e.kind = "alert";
      what = "alert " + ev.metric + " firing";
      break;
    case anomaly_kind::predictive:
      e.kind = "metric_anomaly";
      what = ev.series + " trends towards its limit";
      break;
    case anomaly_kind::metric: {
      e.kind = "metric_anomaly";
      what = ev.series;
      what += " anomalous (value ";
      what += score_text(ev.value);
      what += ", expected ";
      what += score_text(ev.expected_lo);
      what += "..";
      what += score_text(ev.expected_hi);
      what += ")";
      break;
    }
  }
  if (again)
    what += " again";
  what += ", score ";
  what += score_text(ev.score);
  e.text = std::move(what);
  return e;
}

timeline_entry change_entry(const change_event& c) {
  timeline_entry e;
  e.ts_ms = c.ts_ms;
  e.kind = "change";
  e.service = c.service;
  e.text = c.kind;
  e.text += " of ";
  e.text += c.service;
  if (!c.version.empty()) {
    e.text += " to ";
    e.text += c.version;
  }
  if (!c.author.empty()) {
    e.text += " by ";
    e.text += c.author;
  }
  if (!c.description.empty()) {
    e.text += ": ";
    e.text += c.description;
  }
  return e;
}

bool near(const incident& a, int64_t from_ms, int64_t to_ms,
          int64_t window_ms) {
  return from_ms <= a.last_evidence_ms + window_ms
         && a.opened_ms <= to_ms + window_ms;
}

/// Evidence that lasts: an anomaly its detector re-announced, an alert, a
/// log error spike, a forecast. A lone onset may be a blip.
bool persisting(const anomaly_event& ev) {
  return ev.phase == anomaly_phase::ongoing || ev.kind == anomaly_kind::alert
         || ev.kind == anomaly_kind::log_error_spike
         || ev.kind == anomaly_kind::predictive;
}

/// When the anomaly behind `ev` began: a re-announcement dates back to
/// the onset of its stretch.
int64_t start_of(const anomaly_event& ev) {
  return ev.phase == anomaly_phase::ongoing && ev.onset_ts_ms > 0
           ? std::min(ev.onset_ts_ms, ev.ts_ms)
           : ev.ts_ms;
}

} // namespace

const char* to_string(incident_status x) {
  switch (x) {
    case incident_status::open:
      return "open";
    case incident_status::acknowledged:
      return "acknowledged";
    case incident_status::mitigated:
      return "mitigated";
    case incident_status::resolved:
      return "resolved";
  }
  return "unknown";
}

const char* to_string(incident_severity x) {
  switch (x) {
    case incident_severity::info:
      return "info";
    case incident_severity::low:
      return "low";
    case incident_severity::warning:
      return "warning";
    case incident_severity::high:
      return "high";
    case incident_severity::critical:
      return "critical";
  }
  return "unknown";
}

std::vector<std::string> incident::services() const {
  std::set<std::string> xs;
  for (const auto& s : symptoms)
    xs.insert(s.service);
  return {xs.begin(), xs.end()};
}

caf::expected<std::pair<std::string, std::string>>
parse_classification(std::string_view text) {
  auto r = parse_classification_rule(text);
  if (!r)
    return caf::make_error(errc::malformed, rule_error_text(r.error()));
  return std::pair{std::move(r->glob), std::move(r->type)};
}

incident_book::incident_book(incident_options opts) : opts_(std::move(opts)) {
  for (const auto& text : opts_.classification)
    if (auto r = parse_classification(text))
      rules_.push_back(std::move(*r));
}

bool incident_book::adjacent(const std::string& a,
                             const std::string& b) const {
  // A service without known neighbours has every service for one: it
  // groups by time alone, by the rules neighbours follow.
  auto it = neighbours_.find(a);
  if (it == neighbours_.end() || it->second.empty())
    return true;
  auto direct = [&](const std::vector<std::string>& xs) {
    return std::find(xs.begin(), xs.end(), b) != xs.end();
  };
  if (direct(it->second))
    return true;
  if (opts_.adjacency_hops < 2)
    return false;
  // Two hops: a fault may pass a service that stays quiet.
  return std::any_of(it->second.begin(), it->second.end(),
                     [&](const std::string& n) {
                       auto jt = neighbours_.find(n);
                       return jt != neighbours_.end() && direct(jt->second);
                     });
}

bool incident_book::still_anomalous(const symptom& s, int64_t ts_ms) const {
  // Log events announce no recovery: recent lines count.
  if (s.kind == anomaly_kind::log_new_template
      || s.kind == anomaly_kind::log_error_spike)
    return s.last_ms + opts_.group_window_ms >= ts_ms;
  return !s.recovered;
}

bool incident_book::linked(const incident& inc, const std::string& service,
                           int64_t ts_ms) const {
  // A neighbour counts while its symptom is recent: by default one that
  // began recently (the front of a spreading fault), else one still firing;
  // with link_by_persisting only once that symptom persisted. The service
  // itself counts while it is in the incident, or with
  // rejoin_while_anomalous only while it is still anomalous there.
  return std::any_of(inc.symptoms.begin(), inc.symptoms.end(),
                     [&](const symptom& s) {
                       auto recent = opts_.link_by_onset ? s.first_ms
                                                         : s.last_ms;
                       bool anchors = !opts_.link_by_persisting
                                      || s.sustained_since_ms > 0
                                      || s.kind != anomaly_kind::metric;
                       if (s.service == service)
                         return !opts_.rejoin_while_anomalous
                                || still_anomalous(s, ts_ms);
                       return anchors
                              && recent + opts_.group_window_ms >= ts_ms
                              && adjacent(service, s.service);
                     });
}

incident* incident_book::holding(const std::string& fp,
                                 const std::string& domain, int64_t ts_ms) {
  // The open incident this symptom persisted in and is still anomalous
  // in: its re-announcements are the same symptom, not a new one for
  // whichever incident is taking evidence now. With persisting_only, a
  // blip that joined an incident does not hold its own confirmation
  // there (that is new evidence, grouped as such).
  for (auto& [id, inc] : incidents_) {
    if (inc.closed() || inc.domain != domain)
      continue;
    for (const auto& s : inc.symptoms)
      if (s.fingerprint == fp && still_anomalous(s, ts_ms)
          && (!opts_.persisting_only || s.sustained_since_ms > 0
              || s.kind != anomaly_kind::metric))
        return &inc;
  }
  return nullptr;
}

incident* incident_book::open_in(const std::string& domain, int64_t ts_ms,
                                 const std::string& service) {
  if (corroborated_)
    return target_ != 0 ? find(target_) : nullptr;
  incident* best = nullptr;
  for (auto& [id, inc] : incidents_) {
    if (inc.closed() || inc.domain != domain)
      continue;
    if (opts_.max_span_ms > 0 && ts_ms > inc.opened_ms + opts_.max_span_ms)
      continue;
    if (opts_.adjacency && !linked(inc, service, ts_ms))
      continue;
    // Within the window after its newest symptom (persisting one, when
    // only those count), or a late symptom that belongs to its time span.
    auto newest = opts_.persisting_only && inc.last_persisting_ms > 0
                    ? inc.last_persisting_ms
                    : inc.last_evidence_ms;
    if (ts_ms <= newest + opts_.group_window_ms
        && inc.opened_ms <= ts_ms + opts_.group_window_ms
        && (!best || inc.last_evidence_ms > best->last_evidence_ms))
      best = &inc;
  }
  return best;
}

bool incident_book::flapping(const std::string& fp, int64_t ts_ms) {
  if (opts_.flap_max_opens == 0)
    return false;
  auto it = opens_.find(fp);
  if (it == opens_.end())
    return false;
  auto& times = it->second;
  while (!times.empty() && times.front() + opts_.flap_window_ms < ts_ms)
    times.pop_front();
  if (times.empty()) {
    opens_.erase(it);
    return false;
  }
  return times.size() >= opts_.flap_max_opens;
}

void incident_book::note(incident& inc, timeline_entry e) {
  inc.updated_ms = std::max(inc.updated_ms, e.ts_ms);
  if (inc.timeline.size() >= opts_.max_timeline) {
    ++inc.dropped_timeline;
    return;
  }
  // Mostly appended in order; a late entry goes where it belongs.
  auto pos = std::upper_bound(inc.timeline.begin(), inc.timeline.end(),
                              e.ts_ms, [](int64_t t, const timeline_entry& x) {
                                return t < x.ts_ms;
                              });
  inc.timeline.insert(pos, std::move(e));
}

fold_result incident_book::fold(const anomaly_event& ev,
                                const std::string& domain, bool suppressed) {
  bool outer = !releasing_ && !corroborated_;
  if (outer && !settling_.empty() && ev.phase != anomaly_phase::recovered)
    release_settling(ev.ts_ms, nullptr);
  auto r = fold_one(ev, domain, suppressed);
  // An incident that opened or took a new service may be where held
  // anomalies belong: they join it now rather than when they settle.
  if (outer && !settling_.empty() && (r.opened || r.new_service))
    release_settling(ev.ts_ms, &domain);
  return r;
}

int64_t incident_book::settles_at(const anomaly_event& ev) const {
  if (opts_.restart_settle_ms <= 0 || ev.kind != anomaly_kind::metric)
    return 0;
  auto it = last_restart_.find(ev.service);
  if (it == last_restart_.end())
    return 0;
  auto onset = start_of(ev);
  auto at = it->second;
  if (onset < at - opts_.restart_grace_ms
      || onset > at + opts_.restart_window_ms
      || ev.ts_ms >= at + opts_.restart_settle_ms)
    return 0;
  return at + opts_.restart_settle_ms;
}

void incident_book::release_settling(int64_t now_ms,
                                     const std::string* joining) {
  // Called for every anomaly while any is held: look before moving.
  bool any = std::any_of(settling_.begin(), settling_.end(),
                         [&](const settling& h) {
                           return h.due_ms <= now_ms
                                  || (joining && h.domain == *joining);
                         });
  if (!any)
    return;
  std::vector<settling> go;
  std::vector<settling> stay;
  for (auto& h : settling_) {
    bool due = h.due_ms <= now_ms;
    bool joins = !due && joining && h.domain == *joining
                 && (holding(h.fingerprint, h.domain, h.ev.ts_ms)
                     || open_in(h.domain, h.ev.ts_ms, h.ev.service));
    (due || joins ? go : stay).push_back(std::move(h));
  }
  settling_ = std::move(stay);
  releasing_ = true;
  for (auto& h : go) {
    auto r = fold_one(h.ev, h.domain, false);
    // Opened once the restart settled: known then, not at the evidence.
    if (auto* inc = r.opened ? find(r.incident) : nullptr)
      inc->detected_ms = std::max(inc->detected_ms, h.due_ms);
  }
  releasing_ = false;
}

fold_result incident_book::fold_one(const anomaly_event& ev,
                                    const std::string& domain,
                                    bool suppressed) {
  fold_result r;
  auto fp = fingerprint_of(ev);
  if (ev.phase == anomaly_phase::recovered) {
    for (auto& [id, inc] : incidents_) {
      if (inc.closed())
        continue;
      for (auto& s : inc.symptoms)
        if (s.fingerprint == fp && !s.recovered) {
          s.recovered = true;
          s.recovered_ms = ev.ts_ms;
          if (s.active_since_ms > 0)
            s.ended_ms += std::max<int64_t>(ev.ts_ms - s.active_since_ms, 0);
          // How long it was anomalous is ranking evidence.
          rank_dirty_.push_back(id);
          r.incident = id;
          timeline_entry e;
          e.ts_ms = ev.ts_ms;
          e.kind = ev.kind == anomaly_kind::alert ? "alert"
                                                   : "metric_anomaly";
          e.service = ev.service;
          e.text = (ev.kind == anomaly_kind::alert ? ev.metric : s.series)
                   + (ev.kind == anomaly_kind::alert ? " resolved"
                                                     : " recovered");
          note(inc, std::move(e));
          dirty_.push_back(id);
        }
    }
    // A restart's effect that passed while it settled opens nothing.
    std::erase_if(settling_,
                  [&](const settling& h) { return h.fingerprint == fp; });
    return r;
  }
  auto* inc = corroborated_ ? nullptr : holding(fp, domain, ev.ts_ms);
  if (!inc)
    inc = open_in(domain, ev.ts_ms, ev.service);
  if (ev.score < opts_.min_score
      && (!inc
          || std::none_of(inc->symptoms.begin(), inc->symptoms.end(),
                          [&](const symptom& s) {
                            return s.service == ev.service;
                          }))) {
    r.weak = true;
    return r;
  }
  bool lasting = persisting(ev);
  if (!inc && opts_.persisting_only && !lasting && !corroborated_) {
    // A blip joins an open incident, never opens one.
    r.blip = true;
    return r;
  }
  if (!inc) {
    if (suppressed) {
      r.suppressed = true;
      return r;
    }
    if (flapping(fp, ev.ts_ms)) {
      r.damped = true;
      return r;
    }
    if (!releasing_ && !corroborated_) {
      if (auto due = settles_at(ev); due > 0) {
        auto held = std::find_if(settling_.begin(), settling_.end(),
                                 [&](const settling& h) {
                                   return h.fingerprint == fp;
                                 });
        if (held != settling_.end()) {
          held->domain = domain;
          held->ev = ev;
          held->due_ms = due;
        } else {
          if (settling_.size() >= std::max<size_t>(opts_.max_settling, 1)) {
            // Full: the oldest is folded in as it is.
            auto oldest = std::move(settling_.front());
            settling_.erase(settling_.begin());
            releasing_ = true;
            fold_one(oldest.ev, oldest.domain, false);
            releasing_ = false;
          }
          settling_.push_back({fp, domain, ev, due});
        }
        r.settling = true;
        return r;
      }
    }
    if (!corroborated_ && !opts_.persisting_only
        && opts_.open_min_services > 1
        && ev.kind != anomaly_kind::alert
        && ev.phase == anomaly_phase::onset) {
      auto& q = pending_[domain];
      while (!q.empty() && q.front().ts_ms + opts_.open_wait_ms < ev.ts_ms)
        q.pop_front();
      q.push_back(ev);
      if (q.size() > 1000)
        q.pop_front();
      // With adjacency, only neighbours of this service corroborate it.
      auto counts = [&](const anomaly_event& x) {
        return !opts_.adjacency || x.service == ev.service
               || adjacent(ev.service, x.service);
      };
      std::set<std::string_view> services;
      for (const auto& x : q)
        if (counts(x))
          services.insert(x.service);
      if (services.size() < opts_.open_min_services) {
        r.pending = true;
        return r;
      }
      // Corroborated: open with what corroborates, in event-time order;
      // the rest keeps waiting.
      std::deque<anomaly_event> held;
      std::deque<anomaly_event> rest;
      for (auto& x : q)
        (counts(x) ? held : rest).push_back(std::move(x));
      if (rest.empty())
        pending_.erase(domain);
      else
        q = std::move(rest);
      std::stable_sort(held.begin(), held.end(),
                       [](const anomaly_event& a, const anomaly_event& b) {
                         return a.ts_ms < b.ts_ms;
                       });
      corroborated_ = true;
      target_ = 0;
      fold_result out;
      for (const auto& x : held) {
        auto one = fold(x, domain, false);
        if (target_ == 0)
          target_ = one.incident;
        if (one.opened) {
          out.opened = true;
          out.incident = one.incident;
        }
        out.new_symptom = out.new_symptom || one.new_symptom;
        out.new_service = out.new_service || one.new_service;
        if (out.incident == 0)
          out.incident = one.incident;
      }
      corroborated_ = false;
      if (auto* opened = find(target_))
        out.incident = merge_linked(*opened, ev.ts_ms);
      target_ = 0;
      return out;
    }
    incident fresh;
    fresh.id = next_id_fn_ ? next_id_fn_() : next_id_++;
    fresh.domain = domain;
    fresh.opened_ms = start_of(ev);
    fresh.detected_ms = ev.ts_ms;
    fresh.last_evidence_ms = ev.ts_ms;
    fresh.updated_ms = ev.ts_ms;
    inc = &incidents_.emplace(fresh.id, std::move(fresh)).first->second;
    r.opened = true;
    ++opened_total_;
    if (opts_.flap_max_opens > 0)
      opens_[fp].push_back(ev.ts_ms);
    timeline_entry e;
    e.ts_ms = ev.ts_ms;
    e.kind = "status";
    e.service = ev.service;
    e.text = "opened";
    note(*inc, std::move(e));
  }
  r.incident = inc->id;
  bool known_service
    = std::any_of(inc->symptoms.begin(), inc->symptoms.end(),
                  [&](const symptom& s) { return s.service == ev.service; });
  auto it = std::find_if(inc->symptoms.begin(), inc->symptoms.end(),
                         [&](const symptom& s) { return s.fingerprint == fp; });
  if (it == inc->symptoms.end()) {
    if (inc->symptoms.size() >= opts_.max_symptoms) {
      ++inc->dropped_symptoms;
    } else {
      symptom s;
      s.fingerprint = fp;
      s.service = ev.service;
      s.metric = ev.metric;
      s.series = ev.kind == anomaly_kind::log_new_template
                     || ev.kind == anomaly_kind::log_error_spike
                   ? ev.template_text
                   : ev.series;
      s.kind = ev.kind;
      s.first_ms = start_of(ev);
      inc->symptoms.push_back(std::move(s));
      it = inc->symptoms.end() - 1;
      r.new_symptom = true;
      note(*inc, symptom_entry(ev, false));
    }
  } else if (it->recovered) {
    note(*inc, symptom_entry(ev, true));
  }
  if (it != inc->symptoms.end()) {
    it->last_ms = std::max(it->last_ms, ev.ts_ms);
    it->first_ms = std::min(it->first_ms, start_of(ev));
    if (ev.score >= it->max_score || it->detectors.empty()) {
      it->detectors.clear();
      for (const auto& v : ev.votes)
        if (v.vote)
          it->detectors.push_back(v.detector);
    }
    it->max_score = std::max(it->max_score, ev.score);
    for (const auto& v : ev.votes)
      if (std::isfinite(v.deviation))
        it->max_deviation = std::max(it->max_deviation, std::abs(v.deviation));
    ++it->events;
    if (it->recovered && it->recovered_ms > 0)
      it->earlier_until_ms = it->recovered_ms;
    if (it->recovered || it->active_since_ms == 0)
      it->active_since_ms = ev.onset_ts_ms > 0 ? std::min(ev.onset_ts_ms,
                                                          ev.ts_ms)
                                               : ev.ts_ms;
    it->recovered = false;
    if (ev.phase == anomaly_phase::ongoing && it->sustained_since_ms == 0)
      it->sustained_since_ms = ev.onset_ts_ms > 0 ? ev.onset_ts_ms
                                                  : it->active_since_ms;
    // Every event changes what the ranking reads: at least how long the
    // incident's services have been anomalous.
    if (rank_dirty_.empty() || rank_dirty_.back() != inc->id)
      rank_dirty_.push_back(inc->id);
  }
  if (!known_service && it != inc->symptoms.end()) {
    r.new_service = true;
    rank_dirty_.push_back(inc->id);
    // Changes of the newcomer shortly before it joined go on the timeline.
    for (const auto& [d, c] : changes_)
      if (c.service == ev.service
          && c.ts_ms >= ev.ts_ms - opts_.change_lookback_ms
          && c.ts_ms <= ev.ts_ms) {
        bool noted = std::any_of(
          inc->timeline.begin(), inc->timeline.end(),
          [&](const timeline_entry& e) {
            return e.kind == "change" && e.ts_ms == c.ts_ms
                   && e.service == c.service;
          });
        if (!noted)
          note(*inc, change_entry(c));
      }
  }
  inc->opened_ms = std::min(inc->opened_ms, start_of(ev));
  // Evidence that would have opened the incident by itself, stamped
  // earlier than what did, arrived late (detector shards run apart): in
  // event time the incident was known from its moment.
  if (!r.opened && !suppressed && !releasing_ && ev.score >= opts_.min_score
      && (lasting || !opts_.persisting_only) && inc->detected_ms > ev.ts_ms
      && settles_at(ev) == 0)
    inc->detected_ms = ev.ts_ms;
  inc->last_evidence_ms = std::max(inc->last_evidence_ms, ev.ts_ms);
  if (lasting)
    inc->last_persisting_ms = std::max(inc->last_persisting_ms, ev.ts_ms);
  inc->updated_ms = std::max(inc->updated_ms, ev.ts_ms);
  if (r.new_symptom || r.opened) {
    classify(*inc);
    rate(*inc);
  }
  dirty_.push_back(inc->id);
  if (r.new_service && !corroborated_)
    r.incident = merge_linked(*inc, ev.ts_ms);
  if (r.opened)
    trim();
  return r;
}

bool incident_book::opened_together(const incident& a,
                                    const incident& b) const {
  if (!opts_.link_by_onset)
    return true;
  auto gap = a.opened_ms > b.opened_ms ? a.opened_ms - b.opened_ms
                                       : b.opened_ms - a.opened_ms;
  return gap <= opts_.group_window_ms;
}

bool incident_book::touches(const incident& a, const incident& b,
                            int64_t ts_ms) const {
  auto mine = b.services();
  return std::any_of(mine.begin(), mine.end(), [&](const std::string& s) {
    return linked(a, s, ts_ms);
  });
}

uint64_t incident_book::merge_linked(incident& inc, int64_t ts_ms) {
  // Symptoms of one fault can arrive out of order and start a second
  // incident next to the first; once a service of one is a neighbour of a
  // recent symptom of the other, they are one incident.
  if (!opts_.adjacency)
    return inc.id;
  incident* keep = &inc;
  for (auto& [id, other] : incidents_) {
    if (&other == keep || other.closed() || other.domain != keep->domain
        || !near(other, keep->opened_ms, keep->last_evidence_ms,
                 opts_.group_window_ms))
      continue;
    if (!opened_together(other, *keep))
      continue;
    if (!touches(other, *keep, ts_ms))
      continue;
    incident* older = other.id < keep->id ? &other : keep;
    incident* newer = older == keep ? &other : keep;
    absorb(*older, *newer);
    keep = older;
  }
  return keep->id;
}

void incident_book::add_change(const change_event& c,
                               const std::string& domain) {
  changes_.emplace_back(domain, c);
  while (changes_.size() > 10'000)
    changes_.pop_front();
  if (opts_.restart_settle_ms > 0 && starts_process(c.kind)) {
    auto& at = last_restart_[c.service];
    at = std::max(at, c.ts_ms);
  }
  for (auto& [id, inc] : incidents_) {
    if (inc.closed())
      continue;
    bool member = std::any_of(inc.symptoms.begin(), inc.symptoms.end(),
                              [&](const symptom& s) {
                                return s.service == c.service;
                              });
    if (!member && inc.domain != domain)
      continue;
    // Only changes near the incident: shortly before it up to its end.
    if (c.ts_ms + opts_.change_lookback_ms < inc.opened_ms
        || c.ts_ms > inc.last_evidence_ms + opts_.group_window_ms)
      continue;
    note(inc, change_entry(c));
    dirty_.push_back(id);
    rank_dirty_.push_back(id);
  }
}

std::vector<change_event>
incident_book::changes_of(const std::vector<std::string>& services,
                          int64_t from_ms, int64_t to_ms) const {
  std::vector<change_event> out;
  for (const auto& [d, c] : changes_)
    if (c.ts_ms >= from_ms && c.ts_ms <= to_ms
        && std::find(services.begin(), services.end(), c.service)
             != services.end())
      out.push_back(c);
  return out;
}

void incident_book::absorb(incident& into, incident& from) {
  for (auto& s : from.symptoms) {
    auto it = std::find_if(into.symptoms.begin(), into.symptoms.end(),
                           [&](const symptom& x) {
                             return x.fingerprint == s.fingerprint;
                           });
    if (it == into.symptoms.end()) {
      if (into.symptoms.size() >= opts_.max_symptoms)
        ++into.dropped_symptoms;
      else
        into.symptoms.push_back(s);
      continue;
    }
    it->first_ms = std::min(it->first_ms, s.first_ms);
    it->last_ms = std::max(it->last_ms, s.last_ms);
    it->max_score = std::max(it->max_score, s.max_score);
    it->events += s.events;
    it->max_deviation = std::max(it->max_deviation, s.max_deviation);
    if (s.sustained_since_ms > 0)
      it->sustained_since_ms = it->sustained_since_ms == 0
                                 ? s.sustained_since_ms
                                 : std::min(it->sustained_since_ms,
                                            s.sustained_since_ms);
    it->ended_ms = std::max(it->ended_ms, s.ended_ms);
    // One side recovered before the other's stretch began: the earlier
    // stretches end with that recovery.
    int64_t earlier = std::max(it->earlier_until_ms, s.earlier_until_ms);
    if (it->recovered && !s.recovered && it->recovered_ms > 0
        && s.active_since_ms >= it->recovered_ms)
      earlier = std::max(earlier, it->recovered_ms);
    else if (s.recovered && !it->recovered && s.recovered_ms > 0
             && it->active_since_ms >= s.recovered_ms)
      earlier = std::max(earlier, s.recovered_ms);
    it->earlier_until_ms = earlier;
    it->recovered_ms = std::max(it->recovered_ms, s.recovered_ms);
    if (!s.recovered)
      it->active_since_ms = it->recovered ? s.active_since_ms
                                          : std::min(it->active_since_ms,
                                                     s.active_since_ms);
    it->recovered = it->recovered && s.recovered;
  }
  into.dropped_symptoms += from.dropped_symptoms;
  for (auto& e : from.timeline) {
    if (e.kind == "status" || e.kind == "root_cause")
      continue;
    // A change both heard of is one entry.
    if (e.kind == "change"
        && std::any_of(into.timeline.begin(), into.timeline.end(),
                       [&](const timeline_entry& x) {
                         return x.kind == e.kind && x.ts_ms == e.ts_ms
                                && x.service == e.service && x.text == e.text;
                       }))
      continue;
    note(into, e);
  }
  into.opened_ms = std::min(into.opened_ms, from.opened_ms);
  if (from.detected_ms > 0)
    into.detected_ms = into.detected_ms > 0
                         ? std::min(into.detected_ms, from.detected_ms)
                         : from.detected_ms;
  into.last_evidence_ms = std::max(into.last_evidence_ms,
                                   from.last_evidence_ms);
  timeline_entry e;
  e.ts_ms = std::max(into.last_evidence_ms, from.last_evidence_ms);
  e.kind = "status";
  e.text = "merged INC-" + std::to_string(from.id) + " in";
  note(into, e);
  e.text = "merged into INC-" + std::to_string(into.id);
  note(from, e);
  // A person's acknowledgement of either carries over.
  if (rank(from.status) > rank(into.status)
      && from.status != incident_status::resolved)
    into.status = from.status;
  from.status = incident_status::resolved;
  from.resolved_ms = e.ts_ms;
  from.merged_into = into.id;
  classify(into);
  rate(into);
  dirty_.push_back(into.id);
  dirty_.push_back(from.id);
  rank_dirty_.push_back(into.id);
}

remap_result incident_book::merge_same_domain() {
  remap_result out;
  out.moved = std::move(moved_);
  moved_.clear();
  for (auto a = incidents_.begin(); a != incidents_.end(); ++a) {
    if (a->second.closed())
      continue;
    for (auto b = std::next(a); b != incidents_.end(); ++b) {
      auto& x = a->second;
      auto& y = b->second;
      if (y.closed() || y.domain != x.domain
          || !near(x, y.opened_ms, y.last_evidence_ms, opts_.group_window_ms))
        continue;
      // With adjacency a shared domain is not enough (in a large estate
      // most services share one): the two must touch, as in merge_linked.
      if (opts_.adjacency
          && (!opened_together(x, y) || !touches(x, y, y.last_evidence_ms)))
        continue;
      absorb(x, y);
      out.merged.emplace_back(y.id, x.id);
    }
  }
  return out;
}

uint64_t incident_book::adopt(incident inc) {
  if (!inc.closed())
    for (auto& [id, mine] : incidents_)
      if (!mine.closed() && mine.domain == inc.domain
          && near(mine, inc.opened_ms, inc.last_evidence_ms,
                  opts_.group_window_ms)) {
        auto& kept = incidents_[inc.id] = std::move(inc);
        absorb(mine, kept);
        return mine.id;
      }
  auto id = inc.id;
  dirty_.push_back(id);
  rank_dirty_.push_back(id);
  incidents_[id] = std::move(inc);
  return id;
}

void incident_book::restore(incident inc) {
  next_id_ = std::max(next_id_, inc.id + 1);
  auto id = inc.id;
  // One stored before its first ranking (the node, or the cluster's
  // previous control node, stopped in between) is ranked now.
  if (inc.merged_into == 0 && inc.root_cause.candidates.empty()
      && inc.status != incident_status::resolved)
    rank_dirty_.push_back(id);
  incidents_[id] = std::move(inc);
}

bool incident_book::release(uint64_t id) {
  return incidents_.erase(id) > 0;
}

bool incident_book::set_root_cause(uint64_t id, rca_result r) {
  auto* inc = find(id);
  if (!inc || inc->merged_into != 0)
    return false;
  auto top = [](const rca_result& x) {
    return x.candidates.empty() ? std::string{} : x.candidates.front().service;
  };
  if (top(r) != top(inc->root_cause) && !r.candidates.empty()) {
    timeline_entry e;
    e.ts_ms = std::max(r.ranked_at_ms, inc->last_evidence_ms);
    e.kind = "root_cause";
    e.service = top(r);
    e.text = "root cause candidate " + top(r) + " (confidence "
             + r.confidence_level + ", score "
             + score_text(r.candidates.front().score) + ")";
    note(*inc, std::move(e));
  }
  inc->root_cause = std::move(r);
  classify(*inc);
  dirty_.push_back(id);
  return true;
}

void incident_book::classify(incident& inc) const {
  // With a root cause the incident is typed by what went wrong there (a
  // pool exhausted in the database), not by what its many callers show
  // (latency): its own symptoms vote first, everyone's only when none of
  // them matches a rule.
  const auto& rc = inc.root_cause;
  std::string cause;
  if (!rc.candidates.empty()
      && (rc.confidence_level == "medium" || rc.confidence_level == "high"))
    cause = rc.candidates.front().service;
  std::map<std::string, uint64_t> votes;
  for (int pass = cause.empty() ? 1 : 0; pass < 2; ++pass) {
    votes.clear();
    bool specific = false;
    for (const auto& s : inc.symptoms) {
      if (pass == 0 && s.service != cause)
        continue;
      std::string type;
      for (const auto& [glob, t] : rules_)
        if (glob_match(glob, s.metric)) {
          type = t;
          specific = true;
          break;
        }
      if (type.empty())
        type = s.kind == anomaly_kind::log_error_spike    ? "log_errors"
               : s.kind == anomaly_kind::log_new_template ? "new_log_pattern"
               : s.kind == anomaly_kind::predictive ? "predicted_exhaustion"
               : s.kind == anomaly_kind::alert      ? "alert"
                                                    : "anomaly";
      // A rule's type outweighs the generic ones.
      bool generic = type == "anomaly" || type == "alert"
                     || type == "new_log_pattern";
      votes[type] += generic ? 1 : 2;
    }
    if (pass == 0 && specific)
      break;
  }
  auto best = std::max_element(votes.begin(), votes.end(),
                               [](const auto& a, const auto& b) {
                                 return a.second < b.second;
                               });
  inc.type = best == votes.end() ? "anomaly" : best->first;
}

void incident_book::rate(incident& inc) const {
  // 5: three or more services, or two with a near-certain anomaly;
  // 4: two services, or one near-certain anomaly; 2: only forecasts and new
  // log patterns; else 3. Critical alerts count as near-certain.
  auto services = inc.services().size();
  bool strong = false;
  bool only_soft = true;
  for (const auto& s : inc.symptoms) {
    bool hard = s.kind == anomaly_kind::metric
                || s.kind == anomaly_kind::log_error_spike
                || s.kind == anomaly_kind::alert;
    if (hard && s.max_score >= 0.95)
      strong = true;
    if (hard)
      only_soft = false;
  }
  inc.severity = services >= 3 || (strong && services >= 2)
                   ? incident_severity::critical
                 : services >= 2 || strong ? incident_severity::high
                 : only_soft               ? incident_severity::low
                                           : incident_severity::warning;
}

std::vector<uint64_t> incident_book::tick(int64_t now_ms) {
  if (!settling_.empty())
    release_settling(now_ms, nullptr);
  // A restart that settled holds nothing back any more.
  std::erase_if(last_restart_, [&](const auto& x) {
    return x.second + opts_.restart_settle_ms < now_ms;
  });
  std::vector<uint64_t> resolved;
  for (auto& [id, inc] : incidents_) {
    if (inc.closed() || inc.symptoms.empty())
      continue;
    bool all_recovered
      = std::all_of(inc.symptoms.begin(), inc.symptoms.end(),
                    [](const symptom& s) { return s.recovered; });
    if (all_recovered
        && now_ms - inc.last_evidence_ms >= opts_.resolve_after_ms) {
      inc.status = incident_status::resolved;
      inc.resolved_ms = now_ms;
      timeline_entry e;
      e.ts_ms = now_ms;
      e.kind = "status";
      e.text = "resolved: every symptom recovered and stayed quiet";
      note(inc, std::move(e));
      dirty_.push_back(id);
      resolved.push_back(id);
    }
  }
  return resolved;
}

bool incident_book::record_action(const action_view& a, int64_t ts_ms) {
  auto it = incidents_.find(a.incident);
  if (it == incidents_.end())
    return false;
  auto& inc = it->second;
  auto known = std::find_if(inc.actions.begin(), inc.actions.end(),
                            [&](const action_view& x) { return x.id == a.id; });
  bool changed = known == inc.actions.end() || known->status != a.status;
  if (known == inc.actions.end())
    inc.actions.push_back(a);
  else
    *known = a;
  if (changed) {
    timeline_entry e;
    e.ts_ms = ts_ms;
    e.kind = "action";
    e.service = a.service;
    e.text = action_label(a.id) + " " + a.playbook + "/" + a.step + " ("
             + a.action + "): " + a.status;
    if (!a.reason.empty()) {
      e.text += " - ";
      e.text += a.reason;
    }
    note(inc, std::move(e));
  }
  dirty_.push_back(inc.id);
  return true;
}

bool incident_book::set_summary(uint64_t id, std::string text) {
  auto it = incidents_.find(id);
  if (it == incidents_.end())
    return false;
  it->second.summary = std::move(text);
  dirty_.push_back(id);
  return true;
}

bool incident_book::add_note(const incident_note& n) {
  auto it = incidents_.find(n.incident);
  if (it == incidents_.end())
    return false;
  note(it->second, {n.ts_ms, n.kind, n.service, n.text});
  dirty_.push_back(n.incident);
  return true;
}

caf::expected<void> incident_book::set_status(uint64_t id, incident_status to,
                                              int64_t now_ms,
                                              const std::string& by,
                                              const std::string& comment) {
  auto it = incidents_.find(id);
  if (it == incidents_.end())
    return caf::make_error(errc::not_found,
                           "no incident INC-" + std::to_string(id));
  auto& inc = it->second;
  if (rank(to) <= rank(inc.status))
    return caf::make_error(errc::malformed,
                           std::string{"incident INC-"} + std::to_string(id)
                             + " is " + to_string(inc.status)
                             + "; it cannot become " + to_string(to));
  inc.status = to;
  if (to == incident_status::resolved)
    inc.resolved_ms = now_ms;
  timeline_entry e;
  e.ts_ms = now_ms;
  e.kind = "status";
  e.text = to_string(to);
  if (!by.empty()) {
    e.text += " by ";
    e.text += by;
  }
  if (!comment.empty()) {
    e.text += ": ";
    e.text += comment;
  }
  note(inc, std::move(e));
  dirty_.push_back(id);
  return {};
}

const incident* incident_book::find(uint64_t id) const {
  auto it = incidents_.find(id);
  return it == incidents_.end() ? nullptr : &it->second;
}

incident* incident_book::find(uint64_t id) {
  auto it = incidents_.find(id);
  return it == incidents_.end() ? nullptr : &it->second;
}

std::vector<const incident*> incident_book::list(bool open_only) const {
  std::vector<const incident*> out;
  for (auto it = incidents_.rbegin(); it != incidents_.rend(); ++it)
    if (!open_only || !it->second.closed())
      out.push_back(&it->second);
  return out;
}

size_t incident_book::open_count() const {
  return static_cast<size_t>(
    std::count_if(incidents_.begin(), incidents_.end(),
                  [](const auto& kv) { return !kv.second.closed(); }));
}

namespace {

std::vector<uint64_t> take_unique(std::vector<uint64_t>& xs) {
  std::vector<uint64_t> out;
  out.swap(xs);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

} // namespace

std::vector<uint64_t> incident_book::take_rank_dirty() {
  return take_unique(rank_dirty_);
}

std::vector<uint64_t> incident_book::take_dirty() {
  return take_unique(dirty_);
}

std::vector<uint64_t> incident_book::take_removed() {
  return take_unique(removed_);
}

void incident_book::trim() {
  // Oldest closed incidents go first; open ones are never dropped.
  for (auto it = incidents_.begin();
       incidents_.size() > opts_.max_incidents && it != incidents_.end();)
    if (it->second.closed()) {
      removed_.push_back(it->first);
      it = incidents_.erase(it);
    } else {
      ++it;
    }
}

std::vector<rca_evidence>
evidence_of(const std::vector<symptom>& symptoms,
            const std::vector<std::string>& traffic_metrics,
            const std::vector<std::string>& load_metrics,
            int64_t load_slack_ms) {
  auto matches = [](const std::vector<std::string>& globs,
                    const symptom& s) {
    return s.kind == anomaly_kind::metric
           && std::any_of(globs.begin(), globs.end(),
                          [&](const std::string& g) {
                            return glob_match(g, s.metric);
                          });
  };
  // Onsets of request volume per service: utilisation that moved with
  // one of them is load. A symptom that came back has two onsets, each
  // judged by itself.
  std::multimap<std::string_view, int64_t> volume;
  if (!load_metrics.empty())
    for (const auto& s : symptoms)
      if (matches(traffic_metrics, s)) {
        volume.emplace(s.service, s.first_ms);
        if (s.active_since_ms > s.first_ms)
          volume.emplace(s.service, s.active_since_ms);
      }
  auto load = [&](const symptom& s, int64_t onset_ms) {
    if (volume.empty() || !matches(load_metrics, s))
      return false;
    auto [from, to] = volume.equal_range(s.service);
    return std::any_of(from, to, [&](const auto& v) {
      auto gap = v.second > onset_ms ? v.second - onset_ms
                                     : onset_ms - v.second;
      return gap <= load_slack_ms;
    });
  };
  std::map<std::string, rca_evidence> by_service;
  for (const auto& s : symptoms) {
    // Log symptoms are moments (a new template, a burst of errors): no
    // detector announces their recovery, they are never "still going on".
    bool moment = s.kind == anomaly_kind::log_new_template
                  || s.kind == anomaly_kind::log_error_spike;
    bool active = !moment && !s.recovered && s.active_since_ms > 0;
    rca_evidence one;
    one.service = s.service;
    one.onset_ms = s.first_ms;
    one.max_score = s.max_score;
    one.anomaly_count = s.events;
    one.kinds = {s.kind == anomaly_kind::metric ? s.metric
                                                : to_string(s.kind)};
    one.max_deviation = s.max_deviation;
    one.sustained_onset_ms = s.sustained_since_ms;
    one.active_since_ms = active ? s.active_since_ms : 0;
    // A series that recovered and went bad again is two spans: its earlier
    // stretches up to the recovery before its latest onset, and the latest.
    // (One span from its first onset on would make a restart's passing
    // blip, which came back minutes later with a fault, look like a symptom
    // that began with the restart and never ended, or, once recovered, one
    // that began with it and lasted throughout.)
    int64_t until = moment        ? std::max(s.last_ms, s.first_ms)
                    : s.recovered ? s.recovered_ms
                                  : 0;
    if (!moment && s.earlier_until_ms > s.first_ms
        && s.active_since_ms >= s.earlier_until_ms)
      one.spans = {{s.first_ms, s.earlier_until_ms},
                   {s.active_since_ms, until}};
    else
      one.spans = {{s.first_ms, until}};
    bool traffic = matches(traffic_metrics, s);
    for (auto& span : one.spans)
      span.traffic = traffic || load(s, span.from_ms);
    one.anomalous_ms = moment ? std::max<int64_t>(s.last_ms - s.first_ms, 0)
                       : s.ended_ms
                           + (active ? std::max<int64_t>(
                                         s.last_ms - s.active_since_ms, 0)
                                     : 0);
    auto [it, fresh] = by_service.try_emplace(s.service, one);
    if (!fresh)
      fold_into(it->second, one);
  }
  std::vector<rca_evidence> out;
  out.reserve(by_service.size());
  for (auto& [name, e] : by_service)
    out.push_back(std::move(e));
  return out;
}

} // namespace vigil::correlator
