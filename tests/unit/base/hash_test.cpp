#include <gtest/gtest.h>

#include <set>
#include <string>

#include "runtime/hash.hpp"

namespace {

TEST(hash, is_fixed_across_builds) {
  // Shard placement and snapshots depend on these exact values; a change of
  // the function is a change of the cluster wire format.
  EXPECT_EQ(vigil::hash64(""), 16935330393535514277ull);
  EXPECT_EQ(vigil::hash64("checkout"), 16223767316993063601ull);
  EXPECT_EQ(vigil::hash64("up{job=\"node\"}"), 15427932187726591711ull);
  EXPECT_NE(vigil::hash64("checkout"), vigil::hash64("checkouT"));
  auto a = vigil::hash64("orders-db");
  EXPECT_EQ(a, vigil::hash64(std::string{"orders-"} + "db"));
}

TEST(hash, has_no_collisions_on_a_million_similar_keys) {
  std::set<uint64_t> seen;
  for (int i = 0; i < 1000000; ++i) {
    auto key = "node_cpu_seconds_total{cpu=\"" + std::to_string(i % 64)
               + "\",instance=\"10.0." + std::to_string(i / 64) + "\"}";
    seen.insert(vigil::hash64(key));
  }
  EXPECT_EQ(seen.size(), 1000000u);
}

TEST(hash, spreads_services_evenly_over_shards) {
  constexpr int shards = 256;
  int counts[shards] = {};
  for (int i = 0; i < 256000; ++i)
    ++counts[vigil::hash64("svc-" + std::to_string(i)) % shards];
  for (int c : counts) {
    EXPECT_GT(c, 800);
    EXPECT_LT(c, 1200);
  }
}

} // namespace
