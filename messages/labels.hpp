#pragma once

// How incidents and actions are named to people (API, timeline,
// notifications, console): INC-000042, ACT-000007. One place, so every
// surface shows the same name.

#include <cstdint>
#include <string>

namespace vigil {

/// "INC-000042".
std::string incident_label(uint64_t id);

/// "ACT-000007".
std::string action_label(uint64_t id);

} // namespace vigil
