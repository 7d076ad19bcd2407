#pragma once

// MTTD, MTTA and MTTR per service and overall, and playbook success rates,
// computed from incidents as the correlator stores them (event time, so a
// replay gives the same numbers as live traffic):
//   MTTD  first anomaly of the incident -> incident opened
//   MTTA  opened -> first response: a person's acknowledgement or the first
//         playbook step Vigil ran
//   MTTR  opened -> resolved
// An incident counts for the service ranked first as its root cause (with
// a known confidence), else for its first service.

#include <vector>

#include <nlohmann/json.hpp>

#include "messages/incidents.hpp"

namespace vigil::node {

/// The `GET /api/v1/stats` document for `xs` (whole incident views).
nlohmann::json incident_stats(const std::vector<incident_view>& xs);

} // namespace vigil::node
