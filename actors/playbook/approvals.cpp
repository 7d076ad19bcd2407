#include "actors/playbook/approvals.hpp"

#include "messages/errc.hpp"

namespace vigil::playbooks {

void approval_book::request(storage::stored_action x) {
  x.view.status = "pending_approval";
  auto id = x.view.id;
  pending_[id] = std::move(x);
}

void approval_book::restore(storage::stored_action x) {
  auto id = x.view.id;
  pending_[id] = std::move(x);
}

caf::expected<storage::stored_action>
approval_book::decide(uint64_t id, bool approve, const std::string& by,
                      const std::string& comment, int64_t now_ms) {
  auto it = pending_.find(id);
  if (it == pending_.end())
    return caf::make_error(errc::not_found,
                           "no pending approval " + std::to_string(id));
  if (by.empty())
    return caf::make_error(errc::malformed,
                           "an approval names who decides (\"by\")");
  // The requester is whoever asked: the engine ("vigil") or a person.
  const auto& requester = it->second.view.by;
  if (by == requester || by == "vigil")
    return caf::make_error(errc::malformed,
                           "'" + by
                             + "' requested this action and cannot decide "
                               "it");
  if (it->second.expires_ms <= now_ms)
    return caf::make_error(errc::unavailable,
                           "the approval expired; it was escalated");
  auto x = std::move(it->second);
  pending_.erase(it);
  x.view.status = approve ? "approved" : "denied";
  x.view.by = by;
  x.view.reason = comment.empty()
                    ? std::string{approve ? "approved by " : "denied by "} + by
                    : comment;
  return x;
}

std::vector<storage::stored_action> approval_book::expire(int64_t now_ms) {
  std::vector<storage::stored_action> out;
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (it->second.expires_ms <= now_ms) {
      auto x = std::move(it->second);
      x.view.status = "expired";
      x.view.reason = "nobody decided before the deadline";
      x.view.ended_ms = now_ms;
      out.push_back(std::move(x));
      it = pending_.erase(it);
    } else {
      ++it;
    }
  }
  return out;
}

} // namespace vigil::playbooks
