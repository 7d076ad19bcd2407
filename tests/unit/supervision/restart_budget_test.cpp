#include <gtest/gtest.h>

#include "runtime/supervision/restart_budget.hpp"

using namespace std::chrono_literals;
using vigil::restart_budget;

namespace {

vigil::restart_policy policy() {
  return {3, vigil::duration{10s}, vigil::duration{100ms},
          vigil::duration{1s}};
}

TEST(restart_budget, backs_off_exponentially_up_to_the_cap) {
  restart_budget b{{10, vigil::duration{60s}, vigil::duration{100ms},
                    vigil::duration{1s}}};
  restart_budget::time_point t{};
  EXPECT_EQ(*b.on_crash(t), 100ms);
  EXPECT_EQ(*b.on_crash(t + 1s), 200ms);
  EXPECT_EQ(*b.on_crash(t + 2s), 400ms);
  EXPECT_EQ(*b.on_crash(t + 3s), 800ms);
  EXPECT_EQ(*b.on_crash(t + 4s), 1s);
  EXPECT_EQ(*b.on_crash(t + 5s), 1s);
}

TEST(restart_budget, escalates_when_more_crashes_than_allowed_fall_in_the_window) {
  restart_budget b{policy()};
  restart_budget::time_point t{};
  EXPECT_TRUE(b.on_crash(t));
  EXPECT_TRUE(b.on_crash(t + 1s));
  EXPECT_TRUE(b.on_crash(t + 2s));
  EXPECT_FALSE(b.on_crash(t + 3s));
}

TEST(restart_budget, forgets_crashes_older_than_the_period) {
  restart_budget b{policy()};
  restart_budget::time_point t{};
  EXPECT_TRUE(b.on_crash(t));
  EXPECT_TRUE(b.on_crash(t + 1s));
  EXPECT_TRUE(b.on_crash(t + 2s));
  // The first two crashes are now outside the 10 s window.
  EXPECT_EQ(b.recent(t + 11500ms), 1u);
  auto delay = b.on_crash(t + 11500ms);
  ASSERT_TRUE(delay);
  EXPECT_EQ(*delay, 200ms);
}

} // namespace
