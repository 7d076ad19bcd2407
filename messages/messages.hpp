#pragma once

// Convenience: the whole protocol.

#include "messages/anomaly.hpp"
#include "messages/cluster.hpp"
#include "messages/atoms.hpp"
#include "messages/errc.hpp"
#include "messages/incidents.hpp"
#include "messages/interfaces.hpp"
#include "messages/records.hpp"
#include "messages/remediation.hpp"
#include "messages/samples.hpp"
#include "messages/status.hpp"
#include "messages/type_ids.hpp"

namespace caf {
class actor_system_config;
} // namespace caf

namespace vigil {

/// Registers every Vigil message type, handle type and the "vigil" error
/// category with `cfg`. Call once before creating the actor system.
void add_message_types(caf::actor_system_config& cfg);

} // namespace vigil
