#pragma once

// The stored form of a playbook step (proto action_record): inside an
// incident record and as a pending approval. Shared by the correlator and
// the playbook engine, which must not include each other.

#include <cstdint>
#include <string>
#include <string_view>

#include "messages/remediation.hpp"

namespace vigil::store {
class action_record;
} // namespace vigil::store

namespace vigil::storage {

/// An action as stored, with the approval deadlines (0 when not pending).
struct stored_action {
  action_view view;
  int64_t requested_ms = 0;
  int64_t expires_ms = 0;
  /// For a pending approval: the incident's type and the step's index in
  /// its playbook, so the run can go on after a restart.
  std::string incident_type;
  uint64_t step_index = 0;
};

/// Fills a proto action_record.
void to_record(const stored_action& x, vigil::store::action_record& r);

/// Reads a proto action_record.
stored_action from_record(const vigil::store::action_record& r);

/// Serializes `x` as an action_record.
std::string encode(const stored_action& x);

/// Parses an action_record; false when the bytes are not one or name no
/// action id.
bool decode(std::string_view bytes, stored_action& x);

} // namespace vigil::storage
