#include "messages/incidents.hpp"

#include <algorithm>

namespace vigil {

namespace {

// The earlier of two times where 0 means "none".
int64_t earliest(int64_t a, int64_t b) {
  return a == 0 ? b : b == 0 ? a : std::min(a, b);
}

} // namespace

void fold_into(rca_evidence& into, const rca_evidence& more) {
  into.onset_ms = std::min(into.onset_ms, more.onset_ms);
  into.max_score = std::max(into.max_score, more.max_score);
  into.max_deviation = std::max(into.max_deviation, more.max_deviation);
  into.sustained_onset_ms = earliest(into.sustained_onset_ms,
                                     more.sustained_onset_ms);
  into.active_since_ms = earliest(into.active_since_ms, more.active_since_ms);
  into.anomalous_ms = std::max(into.anomalous_ms, more.anomalous_ms);
  into.anomaly_count += more.anomaly_count;
  for (const auto& k : more.kinds)
    if (into.kinds.size() < 16
        && std::find(into.kinds.begin(), into.kinds.end(), k)
             == into.kinds.end())
      into.kinds.push_back(k);
}

} // namespace vigil
