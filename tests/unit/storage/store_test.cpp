#include <gtest/gtest.h>

#include <caf/error.hpp>

#include "messages/errc.hpp"
#include "runtime/storage/store.hpp"
#include "tests/support/support.hpp"

using vigil::storage::column;
using vigil::storage::store;

namespace {

std::unique_ptr<store> open_or_fail(const std::string& dir) {
  auto s = store::open(dir);
  if (!s) {
    ADD_FAILURE() << "open failed";
    return nullptr;
  }
  return std::move(*s);
}

TEST(store, reads_back_what_it_wrote_per_column) {
  vigil::test::temp_dir dir;
  auto s = open_or_fail(dir.str());
  ASSERT_TRUE(s);
  ASSERT_FALSE(s->put(column::services, "checkout", "a"));
  ASSERT_FALSE(s->put(column::snapshots, "checkout", "b"));
  auto a = s->get(column::services, "checkout");
  auto b = s->get(column::snapshots, "checkout");
  ASSERT_TRUE(a && *a);
  ASSERT_TRUE(b && *b);
  EXPECT_EQ(**a, "a");
  EXPECT_EQ(**b, "b");
  auto missing = s->get(column::meta, "checkout");
  ASSERT_TRUE(missing);
  EXPECT_FALSE(*missing);
}

TEST(store, keeps_data_across_reopen) {
  vigil::test::temp_dir dir;
  {
    auto s = open_or_fail(dir.str());
    ASSERT_FALSE(s->put(column::anomalies, vigil::storage::big_endian_key(7),
                        "seven", true));
  }
  auto s = open_or_fail(dir.str());
  auto v = s->get(column::anomalies, vigil::storage::big_endian_key(7));
  ASSERT_TRUE(v && *v);
  EXPECT_EQ(**v, "seven");
}

TEST(store, refuses_a_data_dir_held_by_another_store) {
  vigil::test::temp_dir dir;
  auto first = open_or_fail(dir.str());
  auto second = store::open(dir.str());
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error(), vigil::errc::storage_failure);
}

TEST(store, scans_a_prefix_in_both_directions) {
  vigil::test::temp_dir dir;
  auto s = open_or_fail(dir.str());
  for (auto k : {"a/1", "a/2", "a/3", "b/1", "0"})
    ASSERT_FALSE(s->put(column::meta, k, k));
  std::vector<std::string> fwd, rev;
  ASSERT_FALSE(s->scan(column::meta, "a/", [&](auto k, auto) {
    fwd.emplace_back(k);
    return true;
  }));
  ASSERT_FALSE(s->scan(
    column::meta, "a/",
    [&](auto k, auto) {
      rev.emplace_back(k);
      return true;
    },
    true));
  EXPECT_EQ(fwd, (std::vector<std::string>{"a/1", "a/2", "a/3"}));
  EXPECT_EQ(rev, (std::vector<std::string>{"a/3", "a/2", "a/1"}));
}

TEST(store, reverse_scan_of_everything_starts_at_the_newest_numeric_key) {
  vigil::test::temp_dir dir;
  auto s = open_or_fail(dir.str());
  for (uint64_t i : {1u, 300u, 70000u, 2u})
    ASSERT_FALSE(s->put(column::anomalies, vigil::storage::big_endian_key(i),
                        std::to_string(i)));
  std::vector<uint64_t> seen;
  ASSERT_FALSE(s->scan(
    column::anomalies, "",
    [&](auto k, auto) {
      seen.push_back(vigil::storage::from_big_endian_key(k));
      return seen.size() < 3;
    },
    true));
  EXPECT_EQ(seen, (std::vector<uint64_t>{70000, 300, 2}));
}

TEST(store, applies_a_batch_atomically_and_erases_ranges) {
  vigil::test::temp_dir dir;
  auto s = open_or_fail(dir.str());
  vigil::storage::write_batch b;
  for (uint64_t i = 0; i < 10; ++i)
    b.put(column::anomalies, vigil::storage::big_endian_key(i), "x");
  b.erase(column::anomalies, vigil::storage::big_endian_key(3));
  ASSERT_FALSE(s->write(b));
  ASSERT_FALSE(s->erase_range(column::anomalies,
                              vigil::storage::big_endian_key(0),
                              vigil::storage::big_endian_key(5)));
  std::vector<uint64_t> left;
  ASSERT_FALSE(s->scan(column::anomalies, "", [&](auto k, auto) {
    left.push_back(vigil::storage::from_big_endian_key(k));
    return true;
  }));
  EXPECT_EQ(left, (std::vector<uint64_t>{5, 6, 7, 8, 9}));
}

} // namespace
