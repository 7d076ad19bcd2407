#include "actors/correlator/summary.hpp"
#include "messages/labels.hpp"

#include <algorithm>
#include <cstdio>

namespace vigil::correlator {

namespace {

std::string list(const std::vector<std::string>& xs, size_t max) {
  std::string out;
  for (size_t i = 0; i < xs.size() && i < max; ++i) {
    if (i > 0)
      out += ", ";
    out += xs[i];
  }
  if (xs.size() > max)
    out += " and " + std::to_string(xs.size() - max) + " more";
  return out;
}

} // namespace

std::string template_summary(const incident& inc) {
  auto services = inc.services();
  std::string s = incident_label(inc.id) + ": " + inc.type + ", severity "
                  + std::to_string(static_cast<int>(inc.severity)) + " ("
                  + to_string(inc.severity) + "), " + std::to_string(services.size())
                  + (services.size() == 1 ? " service" : " services")
                  + " affected (" + list(services, 5) + ").";
  if (!inc.symptoms.empty()) {
    auto first = std::min_element(inc.symptoms.begin(), inc.symptoms.end(),
                                  [](const symptom& a, const symptom& b) {
                                    return a.first_ms < b.first_ms;
                                  });
    s += " It began with " + (first->metric.empty() ? std::string{"an anomaly"}
                                                     : first->metric)
         + " on " + first->service + ".";
  }
  const auto& rc = inc.root_cause;
  if (!rc.candidates.empty() && rc.confidence_level != "unknown") {
    const auto& top = rc.candidates.front();
    s += " Likely root cause: " + top.service + " (confidence "
         + rc.confidence_level + ")";
    if (!top.evidence.empty()) {
      std::vector<std::string> ev(top.evidence.begin(),
                                  top.evidence.begin()
                                    + std::min<size_t>(2, top.evidence.size()));
      s += ": " + list(ev, 2);
    }
    s += ".";
  } else if (!rc.candidates.empty()) {
    s += " The root cause is not clear yet (" + rc.confidence_reason + ").";
  }
  std::vector<std::string> changes;
  for (const auto& e : inc.timeline)
    if (e.kind == "change")
      changes.push_back(e.text);
  if (!changes.empty())
    s += " Recent changes: " + list(changes, 2) + ".";
  std::vector<std::string> acts;
  for (const auto& a : inc.actions)
    acts.push_back(a.step + " (" + a.action + ") " + a.status);
  if (!acts.empty())
    s += " Vigil: " + list(acts, 4) + ".";
  s += std::string{" Status: "} + to_string(inc.status) + ".";
  if (s.size() > 1024) {
    s.resize(1021);
    // Never end inside a UTF-8 sequence.
    while (!s.empty() && (static_cast<unsigned char>(s.back()) & 0xC0) == 0x80)
      s.pop_back();
    if (!s.empty() && (static_cast<unsigned char>(s.back()) & 0x80))
      s.pop_back();
    s += "...";
  }
  return s;
}

} // namespace vigil::correlator
