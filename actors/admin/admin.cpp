#include "actors/admin/admin.hpp"

namespace vigil::admin {

admin_actor::behavior_type admin(admin_actor::stateful_pointer<admin_state> self,
                                 node_status status) {
  self->state.status = std::move(status);
  return {
    [self](atom::status) { return self->state.status; },
  };
}

} // namespace vigil::admin
