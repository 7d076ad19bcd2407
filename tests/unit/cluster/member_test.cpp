// The membership actor on the deterministic scheduler: which views may tell
// this node that the cluster declared it down.

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>

#include "cluster/member.hpp"
#include "messages/atoms.hpp"
#include "runtime/cluster_view.hpp"
#include "tests/support/caf_test.hpp"

using namespace vigil;

namespace {

member_info info(const std::string& id, int64_t incarnation,
                 const std::string& state) {
  member_info m;
  m.id = id;
  m.cluster = "127.0.0.1:1";
  m.incarnation = incarnation;
  m.state = state;
  return m;
}

struct member_fixture {
  test::deterministic_system sys;
  std::shared_ptr<cluster_view> view =
    std::make_shared<cluster_view>("a", 16);
  caf::actor door;

  member_fixture() {
    cluster::member_config cfg;
    cfg.self = info("a", 1000, "up");
    cfg.opts.shards = 16;
    cfg.view = view;
    cfg.queue = std::make_shared<cluster::repl_queue>();
    cfg.snapshots = std::make_shared<cluster::repl_queue>();
    door = sys.sys().spawn(cluster::member, std::move(cfg));
    sys.run();
  }
  ~member_fixture() { caf::anon_send_exit(door, caf::exit_reason::user_shutdown); }

  // A heartbeat from c, carrying c's view of the members.
  void beat_from_c(std::vector<member_info> theirs) {
    caf::anon_send(door, atom::beat_v, info("c", 500, "up"),
                   std::move(theirs), int64_t{1}, int64_t{0});
    sys.run();
  }

  int64_t own_incarnation() const {
    auto v = view->get();
    return v->members[static_cast<size_t>(v->self)].info.incarnation;
  }
};

TEST(membership, a_verdict_from_a_view_with_only_suspects_beside_it_is_ignored) {
  // c was cut off alone: a went down in its view one heartbeat before b,
  // which is still suspect. Counted as alive, b would make c's view look
  // like a majority; such a beat, queued in the cut link, arrives after
  // the heal.
  member_fixture f;
  f.beat_from_c({info("c", 500, "up"), info("a", 1000, "down"),
                 info("b", 900, "suspect")});
  ASSERT_NE(f.view->get(), nullptr);
  EXPECT_TRUE(f.view->get()->joined);
  EXPECT_EQ(f.own_incarnation(), 1000);
}

TEST(membership, a_verdict_from_a_majority_that_hears_each_other_is_heeded) {
  member_fixture f;
  f.beat_from_c({info("c", 500, "up"), info("a", 1000, "down"),
                 info("b", 900, "up")});
  ASSERT_NE(f.view->get(), nullptr);
  EXPECT_FALSE(f.view->get()->joined) << "rejoining";
  EXPECT_GT(f.own_incarnation(), 1000);
}

TEST(membership, a_verdict_about_an_older_run_changes_nothing) {
  member_fixture f;
  f.beat_from_c({info("c", 500, "up"), info("a", 999, "down"),
                 info("b", 900, "up")});
  EXPECT_TRUE(f.view->get()->joined);
  EXPECT_EQ(f.own_incarnation(), 1000);
}

} // namespace
