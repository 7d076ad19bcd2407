#pragma once

// Pending approvals: steps the safety envelope held for a human. Pure
// logic; the playbook engine stores every change in the `approvals` column
// before it announces it, and rebuilds the book from there on start, so a
// pending approval survives a restart. A decision needs an identified
// approver who is not the requester; an approval that is not decided in
// time expires into an escalation, never silently into "denied".

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <caf/expected.hpp>

#include "runtime/storage/action_codec.hpp"

namespace vigil::playbooks {

/// The pending approvals of one node.
class approval_book {
public:
  /// Adds a step waiting for approval (its action's status becomes
  /// pending_approval); `x.expires_ms` must be set.
  void request(storage::stored_action x);

  /// Decides `id`: approved (status "approved") or denied ("denied"), by
  /// `by`, with `comment` as the reason; the entry leaves the book.
  /// Errors: not_found (unknown or already decided), malformed (no
  /// approver named, or the requester approving its own request),
  /// unavailable (expired: `expire` reports it).
  caf::expected<storage::stored_action>
  decide(uint64_t id, bool approve, const std::string& by,
         const std::string& comment, int64_t now_ms);

  /// Removes and returns every entry whose deadline passed by `now_ms`,
  /// each with status "expired".
  std::vector<storage::stored_action> expire(int64_t now_ms);

  /// Puts back an entry read from storage.
  void restore(storage::stored_action x);

  /// Pending entries by action id.
  const std::map<uint64_t, storage::stored_action>& pending() const {
    return pending_;
  }

private:
  std::map<uint64_t, storage::stored_action> pending_;
};

} // namespace vigil::playbooks
