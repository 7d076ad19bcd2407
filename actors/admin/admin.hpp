#pragma once

#include "messages/interfaces.hpp"

namespace vigil::admin {

/// What the admin actor reports about its node.
struct admin_state {
  node_status status;
  static inline const char* name = "vigil.admin";
};

/// The admin console's entry point, published on the node's cluster port.
/// Answers status in this version; the console commands arrive with the
/// remediation issue.
admin_actor::behavior_type admin(admin_actor::stateful_pointer<admin_state> self,
                                 node_status status);

} // namespace vigil::admin
