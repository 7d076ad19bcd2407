#include "runtime/cluster_view.hpp"

#include <thread>

namespace vigil {

cluster_view::cluster_view(std::string self_id, uint32_t shards,
                           bool joining)
  : lease_until_(joining
                   ? clock::time_point::min().time_since_epoch().count()
                   : clock::time_point::max().time_since_epoch().count()),
    leading_(!joining) {
  auto st = std::make_shared<state>();
  member m;
  m.info.id = std::move(self_id);
  m.info.state = joining ? "joining" : "up";
  m.self = true;
  st->members.push_back(std::move(m));
  st->self = 0;
  st->leader = joining ? state::none : 0;
  st->joined = !joining;
  st->clustered = joining;
  st->primary.assign(shards, joining ? state::none : 0);
  st->replica.assign(shards, state::none);
  st->epoch.assign(shards, 1);
  state_ = std::move(st);
}

std::string cluster_view::fence_reason() const {
  auto st = get();
  if (!st->self_is_leader())
    return st->leader == state::none
             ? "this node has not joined the cluster yet"
             : "this node is not the control node (that is "
                 + st->members[static_cast<size_t>(st->leader)].info.id + ")";
  auto until = clock::time_point{
    clock::duration{lease_until_.load(std::memory_order_acquire)}};
  if (clock::now() >= until)
    return "this node has not heard from a majority of the cluster within "
           "its lease; it may have been cut off or paused, so it does not act";
  return {};
}

std::string cluster_view::fence_reason(uint64_t epoch) const {
  if (auto why = fence_reason(); !why.empty())
    return why;
  auto now = control_epoch();
  if (now != epoch)
    return "the step belongs to control epoch " + std::to_string(epoch)
           + ", this node is in epoch " + std::to_string(now);
  return {};
}

bool cluster_view::wait_held(uint64_t seq,
                             std::chrono::milliseconds timeout) const {
  auto until = clock::now() + timeout;
  while (!holds(seq)) {
    if (clock::now() >= until)
      return false;
    std::this_thread::sleep_for(std::chrono::milliseconds{2});
  }
  return true;
}

} // namespace vigil
