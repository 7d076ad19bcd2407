#include "runtime/storage/action_codec.hpp"

#include "messages/proto/store.pb.h"

namespace vigil::storage {

void to_record(const stored_action& x, vigil::store::action_record& r) {
  const auto& a = x.view;
  r.set_id(a.id);
  r.set_incident(a.incident);
  r.set_playbook(a.playbook);
  r.set_playbook_version(a.playbook_version);
  r.set_step(a.step);
  r.set_action(a.action);
  r.set_service(a.service);
  r.set_status(a.status);
  r.set_reason(a.reason);
  r.set_started_ms(a.started_ms);
  r.set_ended_ms(a.ended_ms);
  r.set_output(a.output);
  r.set_by(a.by);
  r.set_requested_ms(x.requested_ms);
  r.set_expires_ms(x.expires_ms);
  r.set_incident_type(x.incident_type);
  r.set_step_index(x.step_index);
}

stored_action from_record(const vigil::store::action_record& r) {
  stored_action x;
  auto& a = x.view;
  a.id = r.id();
  a.incident = r.incident();
  a.playbook = r.playbook();
  a.playbook_version = r.playbook_version();
  a.step = r.step();
  a.action = r.action();
  a.service = r.service();
  a.status = r.status();
  a.reason = r.reason();
  a.started_ms = r.started_ms();
  a.ended_ms = r.ended_ms();
  a.output = r.output();
  a.by = r.by();
  x.requested_ms = r.requested_ms();
  x.expires_ms = r.expires_ms();
  x.incident_type = r.incident_type();
  x.step_index = r.step_index();
  return x;
}

std::string encode(const stored_action& x) {
  vigil::store::action_record r;
  to_record(x, r);
  return r.SerializeAsString();
}

bool decode(std::string_view bytes, stored_action& x) {
  vigil::store::action_record r;
  if (!r.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))
      || r.id() == 0)
    return false;
  x = from_record(r);
  return true;
}

} // namespace vigil::storage
