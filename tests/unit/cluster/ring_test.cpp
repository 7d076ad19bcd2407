// Rendezvous placement of shards on members, and the cluster view's
// replication and lease bookkeeping.

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "cluster/member.hpp"
#include "cluster/ring.hpp"
#include "runtime/cluster_view.hpp"

using namespace vigil;

namespace {

std::vector<std::string> ids(int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i)
    out.push_back("node-" + std::to_string(i));
  return out;
}

TEST(ring, every_shard_has_a_live_primary_and_a_different_replica) {
  auto members = ids(3);
  auto p = cluster::place(256, members, {true, true, true});
  std::map<int, int> load;
  for (uint32_t s = 0; s < 256; ++s) {
    ASSERT_GE(p.primary[s], 0);
    ASSERT_GE(p.replica[s], 0);
    EXPECT_NE(p.primary[s], p.replica[s]);
    ++load[p.primary[s]];
  }
  // Roughly even: no member holds more than half or less than a sixth.
  for (auto& [m, n] : load) {
    EXPECT_GT(n, 256 / 6) << m;
    EXPECT_LT(n, 256 / 2) << m;
  }
}

TEST(ring, losing_a_member_moves_only_its_shards_to_their_replicas) {
  auto members = ids(4);
  auto all = cluster::place(256, members, {true, true, true, true});
  auto without = cluster::place(256, members, {true, false, true, true});
  for (uint32_t s = 0; s < 256; ++s) {
    if (all.primary[s] != 1)
      EXPECT_EQ(without.primary[s], all.primary[s]) << s;
    else
      EXPECT_EQ(without.primary[s], all.replica[s]) << s;
    EXPECT_NE(without.primary[s], 1);
  }
}

TEST(ring, the_same_members_give_the_same_placement_in_any_order) {
  auto a = ids(3);
  std::vector<std::string> b{a[2], a[0], a[1]};
  auto pa = cluster::place(64, a, {true, true, true});
  auto pb = cluster::place(64, b, {true, true, true});
  for (uint32_t s = 0; s < 64; ++s)
    EXPECT_EQ(a[static_cast<size_t>(pa.primary[s])],
              b[static_cast<size_t>(pb.primary[s])]);
}

TEST(ring, nobody_live_means_no_owner) {
  auto p = cluster::place(8, ids(2), {false, false});
  for (uint32_t s = 0; s < 8; ++s) {
    EXPECT_EQ(p.primary[s], -1);
    EXPECT_EQ(p.replica[s], -1);
  }
}

TEST(cluster_view, a_single_node_owns_everything_and_may_act) {
  cluster_view v{"solo", 16};
  auto st = v.get();
  EXPECT_TRUE(st->self_is_leader());
  EXPECT_EQ(st->owned(), 16u);
  EXPECT_TRUE(v.may_act());
  EXPECT_TRUE(v.holds(v.note_written())) << "alone: nothing to wait for";
}

TEST(cluster_view, a_joining_node_owns_nothing_and_may_not_act) {
  cluster_view v{"new", 16, true};
  EXPECT_EQ(v.get()->owned(), 0u);
  EXPECT_FALSE(v.may_act());
  EXPECT_NE(v.fence_reason().find("not joined"), std::string::npos);
}

TEST(cluster_view, the_lease_fences_a_control_node_that_lost_touch) {
  cluster_view v{"a", 4};
  v.set_lease_until(cluster_view::clock::now() - std::chrono::seconds{1});
  EXPECT_FALSE(v.may_act());
  EXPECT_NE(v.fence_reason().find("majority"), std::string::npos);
  v.set_lease_until(cluster_view::clock::now() + std::chrono::seconds{5});
  EXPECT_TRUE(v.may_act());
}

TEST(cluster_view, a_write_is_held_once_a_member_confirmed_it) {
  cluster_view v{"a", 4};
  v.set_alone(false);
  auto first = v.note_written();
  auto second = v.note_written();
  EXPECT_FALSE(v.holds(first));
  v.note_acked(first);
  EXPECT_TRUE(v.holds(first));
  EXPECT_FALSE(v.holds(second));
  v.note_acked(first - 1); // late, older confirmations change nothing
  EXPECT_FALSE(v.holds(second));
  EXPECT_FALSE(v.wait_held(second, std::chrono::milliseconds{20}));
  v.note_acked(second);
  EXPECT_TRUE(v.wait_held(second, std::chrono::milliseconds{20}));
}

TEST(snapshot_keys, name_their_service) {
  EXPECT_EQ(cluster::snapshot_service("checkout"), "checkout");
  EXPECT_EQ(cluster::snapshot_service(std::string{"checkout\x1f" "logs"}),
            "checkout");
}

TEST(token_proof, differs_by_token_and_does_not_contain_it) {
  auto a = cluster::token_proof("secret-one");
  EXPECT_EQ(a, cluster::token_proof("secret-one"));
  EXPECT_NE(a, cluster::token_proof("secret-two"));
  EXPECT_EQ(a.find("secret"), std::string::npos);
  EXPECT_EQ(a.size(), 64u);
}

} // namespace
