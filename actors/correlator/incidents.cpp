#include "actors/correlator/incidents.hpp"

#include <algorithm>
#include <set>

#include "messages/errc.hpp"
#include "config/rules.hpp"

namespace vigil::correlator {

namespace {

std::string fingerprint_of(const anomaly_event& ev) {
  std::string out = ev.service;
  out += '\x1f';
  out += ev.kind == anomaly_kind::metric || ev.kind == anomaly_kind::predictive
           ? ev.series
           : ev.template_id;
  out += '\x1f';
  out += to_string(ev.kind);
  return out;
}

int rank(incident_status s) {
  return static_cast<int>(s);
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
    case incident_severity::warning:
      return "warning";
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
  auto eq = text.find('=');
  if (eq == std::string_view::npos || eq == 0 || eq + 1 == text.size())
    return caf::make_error(errc::malformed,
                           std::string{"classification rule '"}
                             .append(text)
                             .append("' is not METRIC_GLOB=TYPE"));
  return std::pair{std::string{text.substr(0, eq)},
                   std::string{text.substr(eq + 1)}};
}

incident_book::incident_book(incident_options opts) : opts_(std::move(opts)) {
  for (const auto& text : opts_.classification)
    if (auto r = parse_classification(text))
      rules_.push_back(std::move(*r));
}

incident* incident_book::open_in(const std::string& domain, int64_t ts_ms) {
  incident* best = nullptr;
  for (auto& [id, inc] : incidents_) {
    if (inc.closed() || inc.domain != domain)
      continue;
    // Within the window after its newest symptom, or a late symptom that
    // belongs to its time span.
    bool near = ts_ms <= inc.last_evidence_ms + opts_.group_window_ms
                && ts_ms + opts_.group_window_ms >= inc.opened_ms;
    if (near && (!best || inc.last_evidence_ms > best->last_evidence_ms))
      best = &inc;
  }
  return best;
}

fold_result incident_book::fold(const anomaly_event& ev,
                                const std::string& domain) {
  fold_result r;
  auto fp = fingerprint_of(ev);
  if (ev.phase == anomaly_phase::recovered) {
    for (auto& [id, inc] : incidents_) {
      if (inc.closed() || inc.domain != domain)
        continue;
      for (auto& s : inc.symptoms)
        if (s.fingerprint == fp) {
          s.recovered = true;
          r.incident = id;
        }
    }
    return r;
  }
  auto* inc = open_in(domain, ev.ts_ms);
  if (!inc) {
    incident fresh;
    fresh.id = next_id_++;
    fresh.domain = domain;
    fresh.opened_ms = ev.ts_ms;
    fresh.last_evidence_ms = ev.ts_ms;
    inc = &incidents_.emplace(fresh.id, std::move(fresh)).first->second;
    r.opened = true;
  }
  r.incident = inc->id;
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
      s.kind = ev.kind;
      s.first_ms = ev.ts_ms;
      inc->symptoms.push_back(std::move(s));
      it = inc->symptoms.end() - 1;
      r.new_symptom = true;
    }
  }
  if (it != inc->symptoms.end()) {
    it->last_ms = std::max(it->last_ms, ev.ts_ms);
    it->max_score = std::max(it->max_score, ev.score);
    ++it->events;
    it->recovered = false;
  }
  inc->opened_ms = std::min(inc->opened_ms, ev.ts_ms);
  inc->last_evidence_ms = std::max(inc->last_evidence_ms, ev.ts_ms);
  classify(*inc);
  rate(*inc);
  if (r.opened)
    trim();
  return r;
}

void incident_book::classify(incident& inc) const {
  std::map<std::string, uint64_t> votes;
  for (const auto& s : inc.symptoms) {
    std::string type;
    for (const auto& [glob, t] : rules_)
      if (glob_match(glob, s.metric)) {
        type = t;
        break;
      }
    if (type.empty())
      type = s.kind == anomaly_kind::log_error_spike  ? "log_errors"
             : s.kind == anomaly_kind::log_new_template ? "new_log_pattern"
             : s.kind == anomaly_kind::predictive      ? "predicted_exhaustion"
                                                       : "anomaly";
    // A rule's type outweighs the generic ones.
    votes[type] += type == "anomaly" ? 1 : 2;
  }
  auto best = std::max_element(votes.begin(), votes.end(),
                               [](const auto& a, const auto& b) {
                                 return a.second < b.second;
                               });
  inc.type = best == votes.end() ? "anomaly" : best->first;
}

void incident_book::rate(incident& inc) const {
  // Critical: three or more services, or a near-certain error spike or
  // metric anomaly; info: only forecasts and new log patterns; else
  // warning.
  auto services = inc.services().size();
  bool strong = false;
  bool only_soft = true;
  for (const auto& s : inc.symptoms) {
    if ((s.kind == anomaly_kind::metric
         || s.kind == anomaly_kind::log_error_spike)
        && s.max_score >= 0.95)
      strong = true;
    if (s.kind == anomaly_kind::metric
        || s.kind == anomaly_kind::log_error_spike)
      only_soft = false;
  }
  inc.severity = services >= 3 || (strong && services >= 2)
                   ? incident_severity::critical
                 : only_soft ? incident_severity::info
                             : incident_severity::warning;
}

std::vector<uint64_t> incident_book::tick(int64_t now_ms) {
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
      resolved.push_back(id);
    }
  }
  return resolved;
}

caf::expected<void> incident_book::set_status(uint64_t id, incident_status to,
                                              int64_t now_ms) {
  auto it = incidents_.find(id);
  if (it == incidents_.end())
    return caf::make_error(errc::malformed,
                           "no incident " + std::to_string(id));
  auto& inc = it->second;
  if (rank(to) <= rank(inc.status))
    return caf::make_error(errc::malformed,
                           std::string{"incident "} + std::to_string(id)
                             + " is " + to_string(inc.status)
                             + "; it cannot become " + to_string(to));
  inc.status = to;
  if (to == incident_status::resolved)
    inc.resolved_ms = now_ms;
  return {};
}

const incident* incident_book::find(uint64_t id) const {
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

void incident_book::trim() {
  // Oldest closed incidents go first; open ones are never dropped.
  for (auto it = incidents_.begin();
       incidents_.size() > opts_.max_incidents && it != incidents_.end();)
    it = it->second.closed() ? incidents_.erase(it) : std::next(it);
}

} // namespace vigil::correlator
