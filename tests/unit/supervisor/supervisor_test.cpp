#include <gtest/gtest.h>

#include <caf/actor_registry.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/exit_reason.hpp>
#include <caf/scoped_actor.hpp>

#include "actors/supervisor/supervisor.hpp"
#include "messages/errc.hpp"
#include "tests/support/caf_test.hpp"

using namespace std::chrono_literals;
using namespace vigil::supervisor;

namespace {

// Spawned with an argument: CAF 0.17 dereferences a null argument tuple for
// actors spawned without any (UB that UBSan reports).
caf::behavior idle_child(caf::event_based_actor*, const std::string& /*who*/) {
  return {[](int x) { return x; }};
}

struct supervisor_test : ::testing::Test {
  vigil::test::deterministic_system ds;
  std::shared_ptr<vigil::metrics::registry> metrics
    = std::make_shared<vigil::metrics::registry>();
  int starts_a = 0;
  int starts_b = 0;

  supervisor_options make_options(uint32_t max_restarts = 3) {
    supervisor_options opts;
    opts.name = "test";
    opts.policy = {max_restarts, vigil::duration{10s},
                   vigil::duration{100ms}, vigil::duration{1s}};
    opts.metrics = metrics;
    opts.shutdown_timeout = vigil::duration{2s};
    opts.children.push_back(
      {"a", "worker", caf::atom("child_a"), [this](caf::local_actor* self) {
         ++starts_a;
         return self->spawn(idle_child, std::string{"a"});
       }});
    opts.children.push_back(
      {"b", "worker", caf::atom("child_b"), [this](caf::local_actor* self) {
         ++starts_b;
         return self->spawn(idle_child, std::string{"b"});
       }});
    return opts;
  }

  caf::actor child(const char* key) {
    return caf::actor_cast<caf::actor>(
      ds.sys().registry().get(caf::atom_from_string(key)));
  }

  uint64_t restarts() {
    return metrics
      ->counters("vigil_actor_restarts_total", "", {"actor"})
      .with({"worker"})
      .value();
  }
};

TEST_F(supervisor_test, starts_children_in_order_and_publishes_them) {
  auto sup = ds.sys().spawn(supervisor_actor, make_options());
  ds.run();
  EXPECT_EQ(starts_a, 1);
  EXPECT_EQ(starts_b, 1);
  EXPECT_TRUE(child("child_a"));
  EXPECT_TRUE(child("child_b"));
  caf::anon_send_exit(sup, caf::exit_reason::user_shutdown);
  ds.run();
}

TEST_F(supervisor_test, restarts_a_crashed_child_after_the_backoff_only) {
  auto sup = ds.sys().spawn(supervisor_actor, make_options());
  ds.run();
  auto first = child("child_a");
  caf::anon_send_exit(first, caf::exit_reason::kill);
  ds.run();
  // Dead and not yet restarted: peers find nothing rather than a corpse.
  EXPECT_FALSE(child("child_a"));
  EXPECT_EQ(starts_a, 1);
  ds.advance(50ms);
  EXPECT_EQ(starts_a, 1);
  ds.advance(60ms);
  EXPECT_EQ(starts_a, 2);
  auto second = child("child_a");
  ASSERT_TRUE(second);
  EXPECT_NE(second, first);
  // The sibling never noticed.
  EXPECT_EQ(starts_b, 1);
  EXPECT_EQ(restarts(), 1u);
  caf::anon_send_exit(sup, caf::exit_reason::user_shutdown);
  ds.run();
}

TEST_F(supervisor_test, escalates_when_the_restart_budget_is_spent) {
  auto sup = ds.sys().spawn(supervisor_actor, make_options(2));
  caf::error sup_exit;
  bool sup_down = false;
  auto watcher = ds.sys().spawn(
    [&](caf::event_based_actor* self, const caf::actor& watched) {
    self->monitor(watched);
    self->set_down_handler([&](caf::down_msg& msg) {
      sup_down = true;
      sup_exit = msg.reason;
    });
    return caf::behavior{[](int) {}};
  },
    caf::actor_cast<caf::actor>(sup));
  ds.run();
  for (int i = 0; i < 3; ++i) {
    auto a = child("child_a");
    ASSERT_TRUE(a) << "iteration " << i;
    caf::anon_send_exit(a, caf::exit_reason::kill);
    ds.run();
    ds.advance(1s);
  }
  EXPECT_TRUE(sup_down);
  EXPECT_EQ(sup_exit, vigil::errc::restart_budget_exhausted);
  // Escalation stopped the healthy sibling too.
  EXPECT_FALSE(child("child_b"));
  caf::anon_send_exit(watcher, caf::exit_reason::user_shutdown);
}

TEST_F(supervisor_test, stops_children_in_reverse_order_on_shutdown) {
  std::vector<std::string> stopped;
  supervisor_options opts;
  opts.name = "ordered";
  for (auto name : {"first", "second", "third"}) {
    opts.children.push_back(
      {name, "worker", std::nullopt,
       [&stopped, name](caf::local_actor* self) {
         return self->spawn(
           [&stopped](caf::event_based_actor* child, std::string who) {
             child->attach_functor(
               [&stopped, who] { stopped.push_back(who); });
             return caf::behavior{[](int) {}};
           },
           std::string{name});
       }});
  }
  auto sup = ds.sys().spawn(supervisor_actor, opts);
  ds.run();
  caf::anon_send_exit(sup, caf::exit_reason::user_shutdown);
  ds.run();
  EXPECT_EQ(stopped, (std::vector<std::string>{"third", "second", "first"}));
}

TEST_F(supervisor_test, kills_a_child_that_ignores_the_stop_request) {
  bool killed = false;
  supervisor_options opts;
  opts.name = "stubborn";
  opts.shutdown_timeout = vigil::duration{2s};
  opts.children.push_back(
    {"stubborn", "worker", std::nullopt, [&](caf::local_actor* self) {
       return self->spawn([&](caf::event_based_actor* child, int /*id*/) {
         // Traps exits and ignores them, like a hung actor would.
         child->set_exit_handler([](caf::exit_msg&) {});
         child->attach_functor([&] { killed = true; });
         return caf::behavior{[](int) {}};
       }, 1);
     }});
  auto sup = ds.sys().spawn(supervisor_actor, opts);
  ds.run();
  caf::anon_send_exit(sup, caf::exit_reason::user_shutdown);
  ds.run();
  EXPECT_FALSE(killed);
  ds.advance(2100ms);
  EXPECT_TRUE(killed);
}

} // namespace
