#include <gtest/gtest.h>

#include <caf/actor_registry.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/exit_reason.hpp>
#include <caf/scoped_actor.hpp>

#include "actors/ingest/gateway.hpp"
#include "messages/errc.hpp"
#include "tests/support/caf_test.hpp"

using namespace std::chrono_literals;
using namespace vigil;
using namespace vigil::ingest;

namespace {

TEST(shard_of, is_stable_and_in_range) {
  EXPECT_EQ(shard_of("checkout", 256), shard_of("checkout", 256));
  for (int i = 0; i < 1000; ++i)
    EXPECT_LT(shard_of("svc" + std::to_string(i), 7), 7u);
}

TEST(shard_key, survives_the_atom_round_trip) {
  EXPECT_EQ(caf::to_string(shard_key(255)), "s_255");
  EXPECT_EQ(caf::to_string(shard_key(65535)), "s_65535");
  EXPECT_NE(shard_key(1), shard_key(10));
}

TEST(token_bucket, refills_at_its_rate_up_to_the_burst) {
  token_bucket b{100, 200};
  token_bucket::clock::time_point t{std::chrono::seconds{1}};
  EXPECT_TRUE(b.take(200, t));
  EXPECT_FALSE(b.take(1, t));
  EXPECT_TRUE(b.take(50, t + 500ms));
  EXPECT_FALSE(b.take(10, t + 500ms));
  EXPECT_TRUE(b.take(200, t + 10s));
  token_bucket unlimited{0, 0};
  EXPECT_TRUE(unlimited.take(1u << 30, t));
}

// A stand-in shard that records what it was sent.
struct fake_shard {
  std::shared_ptr<std::vector<std::string>> services
    = std::make_shared<std::vector<std::string>>();
  caf::actor spawn(caf::actor_system& sys) {
    auto seen = services;
    // State travels as a spawn argument: CAF 0.17 dereferences a null
    // argument tuple for actors spawned without any.
    return sys.spawn([](caf::event_based_actor*, decltype(seen) into) {
      return caf::behavior{
        [into](atom::ingest, sample_batch& b) { into->push_back(b.service); },
        [into](atom::ingest, log_batch& b) { into->push_back(b.service); },
        [](atom::list) { return std::vector<service_info>{}; },
        [](atom::locate, const std::string&) { return detector_actor{}; },
        [](atom::snapshot) { return uint64_t{0}; },
      };
    }, seen);
  }
};

struct gateway_test : ::testing::Test {
  test::deterministic_system ds;
  std::shared_ptr<load_meter> load = std::make_shared<load_meter>(4, 100, 60);
  fake_shard shards[4];
  std::vector<caf::actor> shard_actors;

  gateway_test() {
    for (uint32_t i = 0; i < 4; ++i) {
      shard_actors.push_back(shards[i].spawn(ds.sys()));
      ds.sys().registry().put(shard_key(i), shard_actors.back());
    }
  }
  ~gateway_test() override {
    for (auto& a : shard_actors)
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    ds.run();
  }

  ingest_actor spawn_gateway(uint64_t rate = 0) {
    gateway_config cfg;
    cfg.shards = 4;
    cfg.load = load;
    cfg.ingest.rate_limit = rate;
    cfg.ingest.rate_burst = rate;
    return ds.sys().spawn(gateway, cfg);
  }

  static sample_batch batch(std::string service, size_t n) {
    sample_batch b;
    b.service = std::move(service);
    b.samples.resize(n);
    return b;
  }

  caf::expected<ingest_receipt> send(const ingest_actor& gw,
                                     std::vector<sample_batch> batches) {
    caf::expected<ingest_receipt> result = caf::make_error(errc::internal);
    caf::scoped_actor self{ds.sys()};
    auto h = self->request(gw, caf::infinite, atom::ingest_v,
                           std::move(batches));
    ds.run();
    h.receive([&](ingest_receipt& r) { result = r; },
              [&](caf::error& err) { result = std::move(err); });
    return result;
  }

  size_t routed() {
    size_t n = 0;
    for (auto& s : shards)
      n += s.services->size();
    return n;
  }
};

TEST_F(gateway_test, routes_each_service_to_its_shard) {
  auto gw = spawn_gateway();
  auto r = send(gw, {batch("checkout", 3), batch("payments", 2)});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->accepted, 5u);
  auto& owner = shards[shard_of("checkout", 4)];
  EXPECT_NE(std::find(owner.services->begin(), owner.services->end(),
                      "checkout"),
            owner.services->end());
  EXPECT_EQ(routed(), 2u);
  EXPECT_EQ(load->total(), 5u) << "admitted until the shard releases";
  caf::anon_send_exit(gw, caf::exit_reason::user_shutdown);
}

TEST_F(gateway_test, refuses_a_request_whole_when_a_shard_queue_is_full) {
  auto gw = spawn_gateway();
  ASSERT_TRUE(send(gw, {batch("checkout", 50)}));
  auto r = send(gw, {batch("payments", 1), batch("checkout", 20)});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), errc::overloaded);
  EXPECT_EQ(routed(), 1u) << "nothing of the refused request was applied";
  EXPECT_EQ(load->total(), 50u);
  load->release(shard_of("checkout", 4), 50);
  EXPECT_TRUE(send(gw, {batch("checkout", 20)}));
  caf::anon_send_exit(gw, caf::exit_reason::user_shutdown);
}

TEST_F(gateway_test, refuses_when_the_node_queue_is_full) {
  auto gw = spawn_gateway();
  std::vector<sample_batch> many;
  for (int i = 0; i < 40; ++i)
    many.push_back(batch("svc" + std::to_string(i), 3));
  auto r = send(gw, std::move(many));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), errc::overloaded);
  caf::anon_send_exit(gw, caf::exit_reason::user_shutdown);
}

TEST_F(gateway_test, answers_unavailable_while_a_shard_restarts) {
  auto gw = spawn_gateway();
  auto id = shard_of("checkout", 4);
  ASSERT_TRUE(send(gw, {batch("checkout", 1)}));
  ds.sys().registry().erase(shard_key(id));
  caf::anon_send_exit(shard_actors[id], caf::exit_reason::kill);
  ds.run();
  auto r = send(gw, {batch("checkout", 1)});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), errc::unavailable);
  // The supervisor publishes the next incarnation; ingest finds it.
  fake_shard replacement;
  auto fresh = replacement.spawn(ds.sys());
  ds.sys().registry().put(shard_key(id), fresh);
  EXPECT_TRUE(send(gw, {batch("checkout", 1)}));
  EXPECT_EQ(replacement.services->size(), 1u);
  caf::anon_send_exit(fresh, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(gw, caf::exit_reason::user_shutdown);
}

TEST_F(gateway_test, enforces_the_rate_limit_with_429_semantics) {
  auto gw = spawn_gateway(10);
  EXPECT_TRUE(send(gw, {batch("checkout", 10)}));
  load->release(shard_of("checkout", 4), 10);
  auto r = send(gw, {batch("checkout", 5)});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), errc::rate_limited);
  caf::anon_send_exit(gw, caf::exit_reason::user_shutdown);
}

TEST_F(gateway_test, rejects_service_names_that_are_empty_or_huge) {
  auto gw = spawn_gateway();
  auto r = send(gw, {batch(std::string(300, 'x'), 1)});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), errc::malformed);
  EXPECT_EQ(routed(), 0u);
  caf::anon_send_exit(gw, caf::exit_reason::user_shutdown);
}

} // namespace
