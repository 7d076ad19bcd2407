#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace vigil::cluster {

/// Which node owns which shard. A single node owns every shard; the cluster
/// issue replaces the assignment with rendezvous hashing over live members.
class shard_map {
public:
  shard_map(uint32_t shards, std::string self)
    : owners_(shards, self), self_(std::move(self)) {
  }
  /// The owner of shard `id`.
  const std::string& owner(uint32_t id) const { return owners_[id]; }
  /// Shards this node owns.
  uint32_t owned() const {
    uint32_t n = 0;
    for (auto& o : owners_)
      n += o == self_ ? 1 : 0;
    return n;
  }
  uint32_t size() const { return static_cast<uint32_t>(owners_.size()); }

private:
  std::vector<std::string> owners_;
  std::string self_;
};

} // namespace vigil::cluster
