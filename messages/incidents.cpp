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
  for (const auto& s : more.spans) {
    if (into.spans.size() < rca_evidence::max_spans) {
      into.spans.push_back(s);
      continue;
    }
    // Full: widen the last span over it (never claims "not anomalous").
    auto& last = into.spans.back();
    last.traffic = last.traffic && s.traffic;
    last.from_ms = std::min(last.from_ms, s.from_ms);
    last.until_ms = last.until_ms == 0 || s.until_ms == 0
                      ? 0
                      : std::max(last.until_ms, s.until_ms);
  }
  into.anomaly_count += more.anomaly_count;
  for (const auto& k : more.kinds)
    if (into.kinds.size() < 16
        && std::find(into.kinds.begin(), into.kinds.end(), k)
             == into.kinds.end())
      into.kinds.push_back(k);
}

namespace {

bool covered(const rca_evidence& e, int64_t t_ms, int64_t slack_ms,
             bool with_traffic) {
  if (e.spans.empty())
    return true;
  return std::any_of(e.spans.begin(), e.spans.end(), [&](const auto& s) {
    return (with_traffic || !s.traffic) && s.from_ms <= t_ms + slack_ms
           && (s.until_ms == 0 || s.until_ms + slack_ms >= t_ms);
  });
}

} // namespace

bool anomalous_at(const rca_evidence& e, int64_t t_ms, int64_t slack_ms) {
  return covered(e, t_ms, slack_ms, true);
}

bool failing_at(const rca_evidence& e, int64_t t_ms, int64_t slack_ms) {
  return covered(e, t_ms, slack_ms, false);
}

} // namespace vigil
