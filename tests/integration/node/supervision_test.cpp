// Crashes inside a running node: a detector, a shard and a top-level actor
// are killed; their supervisors bring them back and nobody else notices.

#include <gtest/gtest.h>

#include <caf/exit_reason.hpp>
#include <caf/scoped_actor.hpp>
#include <nlohmann/json.hpp>

#include "actors/ingest/gateway.hpp"
#include "messages/errc.hpp"
#include "runtime/http/client.hpp"
#include "tests/support/caf_test.hpp"
#include "tests/support/node/replay.hpp"
#include "tools/node/node.hpp"

using namespace std::chrono_literals;
using namespace vigil;
using json = nlohmann::json;

namespace {

struct in_process : ::testing::Test {
  test::temp_dir dir;
  std::unique_ptr<node::node> n;

  void start(uint32_t max_restarts = 5) {
    options o;
    o.node.data_dir = dir.str() + "/data";
    o.node.http = {"127.0.0.1", 0};
    o.node.cluster = {"127.0.0.1", 0};
    o.node.log_level = "warn";
    o.node.supervision.max_restarts = max_restarts;
    o.node.supervision.backoff_initial = duration{50};
    auto started = node::node::start(o);
    ASSERT_TRUE(started) << render(started.error());
    n = std::move(*started);
  }

  http::client client() { return {"127.0.0.1", n->http_port()}; }

  int post_samples(const std::string& service, int from, int count) {
    std::string body;
    for (int i = from; i < from + count; ++i)
      body += "{\"service\":\"" + service + "\",\"metric\":\"m\",\"value\":"
              + std::to_string(i % 5)
              + ",\"ts\":" + std::to_string(1000 + 10 * i) + "}\n";
    auto c = client();
    auto r = c.send(http::verb::post, "/api/v1/samples", body,
                    {{"Content-Type", "application/x-ndjson"}});
    return r ? static_cast<int>(r->status) : -1;
  }

  json services() {
    auto c = client();
    auto r = c.send(http::verb::get, "/api/v1/services", {},
                    {{"Authorization", "Bearer " + n->admin_token()}});
    return r ? json::parse(r->body) : json{};
  }

  json service(const std::string& name) {
    auto all = services();
    for (auto& s : all["services"])
      if (s["name"] == name)
        return s;
    return {};
  }

  double metric(const std::string& series) {
    return test::metric_value(n->metrics().expose(), series).value_or(0);
  }

  detector_actor locate(const std::string& service) {
    detector_actor result;
    caf::scoped_actor self{n->system()};
    self->request(n->gateway(), 5s, atom::locate_v, service)
      .receive([&](detector_actor& d) { result = d; },
               [](caf::error&) {});
    return result;
  }
};

TEST_F(in_process, a_crashed_detector_restarts_from_its_snapshot_alone) {
  start();
  ASSERT_EQ(post_samples("checkout", 0, 100), 200);
  ASSERT_EQ(post_samples("payments", 0, 100), 200);
  ASSERT_TRUE(test::wait_until(
    [&] { return service("payments")["samples"] == 100
                 && service("checkout")["samples"] == 100; },
    10s));
  auto victim = locate("checkout");
  auto bystander = locate("payments");
  ASSERT_TRUE(victim);
  {
    caf::scoped_actor self{n->system()};
    self->request(victim, 5s, atom::snapshot_v)
      .receive([](uint64_t bytes) { EXPECT_GT(bytes, 0u); },
               [](caf::error& err) { FAIL() << render(err); });
    self->send_exit(victim, caf::exit_reason::kill);
  }
  ASSERT_TRUE(test::wait_until(
    [&] {
      return metric("vigil_actor_restarts_total{actor=\"detector\"}") == 1;
    },
    10s));
  ASSERT_TRUE(test::wait_until([&] { return locate("checkout") != nullptr; },
                               10s));
  EXPECT_NE(locate("checkout"), victim);
  EXPECT_EQ(locate("payments"), bystander) << "the sibling never noticed";
  ASSERT_EQ(post_samples("checkout", 100, 10), 200);
  ASSERT_EQ(post_samples("payments", 100, 10), 200);
  ASSERT_TRUE(test::wait_until(
    [&] { return service("checkout")["samples"] == 110; }, 10s));
  auto checkout = service("checkout");
  EXPECT_EQ(checkout["restarts"], 1);
  EXPECT_EQ(checkout["series_warm"], 1) << "restored, not relearning";
  EXPECT_EQ(service("payments")["restarts"], 0);
}

TEST_F(in_process, a_crashed_shard_comes_back_with_its_services) {
  start();
  ASSERT_EQ(post_samples("checkout", 0, 50), 200);
  ASSERT_TRUE(test::wait_until(
    [&] { return service("checkout")["samples"] == 50; }, 10s));
  auto id = ingest::shard_of("checkout", n->opts().cluster.shards);
  auto shard = n->system().registry().get(ingest::shard_key(id));
  ASSERT_TRUE(shard);
  caf::anon_send_exit(shard, caf::exit_reason::kill);
  ASSERT_TRUE(test::wait_until(
    [&] { return metric("vigil_actor_restarts_total{actor=\"shard\"}") == 1; },
    10s));
  // Until its supervisor restarts it, ingest answers 503 for its services;
  // afterwards the service is back from its snapshot (taken as the
  // detectors were stopped with their shard... or from the last periodic
  // one) and takes data again.
  ASSERT_TRUE(test::wait_until(
    [&] { return post_samples("checkout", 50, 10) == 200; }, 10s));
  ASSERT_TRUE(test::wait_until(
    [&] { return !service("checkout").is_null()
                 && service("checkout")["samples"] >= 10; },
    10s));
}

TEST_F(in_process, a_spent_restart_budget_escalates_to_the_top) {
  // One restart allowed: the first crash is healed, the second escalates.
  start(1);
  EXPECT_FALSE(n->failed());
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(test::wait_until([&] { return n->correlator() != nullptr; },
                                 10s))
      << "crash " << i;
    EXPECT_FALSE(n->failed());
    caf::anon_send_exit(n->correlator(), caf::exit_reason::kill);
    ASSERT_TRUE(
      test::wait_until([&] { return n->correlator() == nullptr; }, 5s));
  }
  EXPECT_TRUE(test::wait_until([&] { return n->failed(); }, 10s));
  EXPECT_FALSE(n->ready());
  n->stop();
}

} // namespace
