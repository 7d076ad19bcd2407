#include "tools/node/stats.hpp"

#include <algorithm>
#include <map>
#include <string>

namespace vigil::node {

namespace {

using json = nlohmann::json;

struct sample_set {
  std::vector<double> xs;
  json to_json() {
    if (xs.empty())
      return json{{"count", 0}, {"mean_s", nullptr}, {"p50_s", nullptr},
                  {"p90_s", nullptr}, {"max_s", nullptr}};
    std::sort(xs.begin(), xs.end());
    double sum = 0;
    for (auto x : xs)
      sum += x;
    auto at = [&](double q) {
      auto i = static_cast<size_t>(q * static_cast<double>(xs.size() - 1) + 0.5);
      return xs[std::min(i, xs.size() - 1)];
    };
    return json{{"count", xs.size()},
                {"mean_s", sum / static_cast<double>(xs.size())},
                {"p50_s", at(0.5)},
                {"p90_s", at(0.9)},
                {"max_s", xs.back()}};
  }
};

struct triple {
  sample_set mttd, mtta, mttr;
  uint64_t incidents = 0;
  uint64_t open = 0;
  json to_json() {
    return json{{"incidents", incidents},
                {"open", open},
                {"mttd", mttd.to_json()},
                {"mtta", mtta.to_json()},
                {"mttr", mttr.to_json()}};
  }
};

std::string owner(const incident_view& x) {
  const auto& rc = x.root_cause;
  if (!rc.candidates.empty() && rc.confidence_level != "unknown")
    return rc.candidates.front().service;
  if (!x.symptoms.empty())
    return std::min_element(x.symptoms.begin(), x.symptoms.end(),
                            [](const auto& a, const auto& b) {
                              return a.first_ms < b.first_ms;
                            })
      ->service;
  return x.services.empty() ? std::string{"unknown"} : x.services.front();
}

bool starts_with(const std::string& s, std::string_view p) {
  return s.compare(0, p.size(), p) == 0;
}

} // namespace

json incident_stats(const std::vector<incident_view>& xs) {
  triple overall;
  std::map<std::string, triple> services;
  struct book_rate {
    uint64_t runs = 0;
    uint64_t verified = 0;
  };
  std::map<std::string, book_rate> books;
  for (const auto& x : xs) {
    if (x.merged_into != 0)
      continue;
    auto& s = services[owner(x)];
    for (auto* t : {&overall, &s}) {
      ++t->incidents;
      if (x.status != "resolved")
        ++t->open;
    }
    // MTTD: from the first symptom's onset to when the incident was
    // opened (detected_ms; incidents stored without it count as opened
    // at their first symptom). MTTA runs from that moment, MTTR from the
    // first symptom.
    int64_t first = x.opened_ms;
    for (const auto& sym : x.symptoms)
      first = std::min(first, sym.first_ms);
    int64_t detected = x.detected_ms > 0 ? x.detected_ms : x.opened_ms;
    int64_t response = 0;
    for (const auto& e : x.timeline)
      if ((e.kind == "status" && starts_with(e.text, "acknowledged"))
          || (e.kind == "action" && e.text.find("): running")
                                      != std::string::npos)) {
        response = e.ts_ms;
        break;
      }
    for (auto* t : {&overall, &s}) {
      t->mttd.xs.push_back(
        static_cast<double>(std::max<int64_t>(0, detected - first)) / 1000.0);
      if (response > 0)
        t->mtta.xs.push_back(
          static_cast<double>(std::max<int64_t>(0, response - detected))
          / 1000.0);
      if (x.resolved_ms > 0)
        t->mttr.xs.push_back(
          static_cast<double>(std::max<int64_t>(0, x.resolved_ms - x.opened_ms))
          / 1000.0);
    }
    // A run per (incident, playbook); verified when the engine saw the
    // recovery it waited for.
    std::vector<std::string> ran;
    for (const auto& a : x.actions)
      if (a.playbook != "-" && !a.playbook.empty()
          && std::find(ran.begin(), ran.end(), a.playbook) == ran.end())
        ran.push_back(a.playbook);
    for (const auto& b : ran) {
      auto& r = books[b];
      ++r.runs;
      for (const auto& e : x.timeline)
        if (e.text == "recovery verified after playbook " + b) {
          ++r.verified;
          break;
        }
    }
  }
  json by_service = json::object();
  for (auto& [name, t] : services)
    by_service[name] = t.to_json();
  json by_book = json::object();
  for (auto& [name, r] : books)
    by_book[name] = {{"runs", r.runs},
                     {"verified", r.verified},
                     {"success_rate",
                      r.runs == 0 ? json(nullptr)
                                  : json(static_cast<double>(r.verified)
                                         / static_cast<double>(r.runs))}};
  return json{{"overall", overall.to_json()},
              {"services", by_service},
              {"playbooks", by_book},
              {"definitions",
               {{"mttd", "onset of the incident's first symptom to the "
                         "evidence that opened it (detected_at; event "
                         "time)"},
                {"mtta", "detected_at to the first response: an "
                         "acknowledgement or a playbook step started"},
                {"mttr", "onset of the first symptom (opened_at) to "
                         "resolution (event time)"}}}};
}

} // namespace vigil::node
