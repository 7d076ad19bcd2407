#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace vigil::cluster {

/// Rendezvous (highest random weight) hashing of shards onto members: each
/// shard goes to the member with the highest hash of (shard, member id), its
/// replica to the second highest. Every node computes the same answer from
/// the same live members, and a member's loss moves only its own shards.
struct placement {
  /// Shard -> index into the member list; -1 when there is none.
  std::vector<int32_t> primary;
  std::vector<int32_t> replica;
};

/// Places `shards` shards on the members in `ids` for which `live` is true.
placement place(uint32_t shards, const std::vector<std::string>& ids,
                const std::vector<bool>& live);

} // namespace vigil::cluster
