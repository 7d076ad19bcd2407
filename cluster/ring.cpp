#include "cluster/ring.hpp"

#include "runtime/hash.hpp"

namespace vigil::cluster {

placement place(uint32_t shards, const std::vector<std::string>& ids,
                const std::vector<bool>& live) {
  placement out;
  out.primary.assign(shards, -1);
  out.replica.assign(shards, -1);
  std::vector<uint64_t> seeds(ids.size());
  for (size_t i = 0; i < ids.size(); ++i)
    seeds[i] = hash64(ids[i]);
  for (uint32_t s = 0; s < shards; ++s) {
    uint64_t best = 0;
    uint64_t second = 0;
    for (size_t i = 0; i < ids.size(); ++i) {
      if (!live[i])
        continue;
      // Mix the shard into the member's hash (splitmix64 finaliser): cheap,
      // and independent across members.
      uint64_t z = seeds[i] ^ (0x9e3779b97f4a7c15ull * (s + 1));
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
      z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
      z ^= z >> 31;
      auto idx = static_cast<int32_t>(i);
      if (out.primary[s] < 0 || z > best) {
        out.replica[s] = out.primary[s];
        second = best;
        out.primary[s] = idx;
        best = z;
      } else if (out.replica[s] < 0 || z > second) {
        out.replica[s] = idx;
        second = z;
      }
    }
  }
  return out;
}

} // namespace vigil::cluster
