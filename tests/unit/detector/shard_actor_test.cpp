#include <gtest/gtest.h>

#include <caf/actor_registry.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/exit_reason.hpp>
#include <caf/scoped_actor.hpp>

#include "actors/detector/shard_actor.hpp"
#include "messages/errc.hpp"
#include "runtime/hash.hpp"
#include "tests/support/caf_test.hpp"
#include "tests/support/support.hpp"

using namespace std::chrono_literals;
using namespace vigil;
using namespace vigil::detector;

namespace {

sample_batch make_batch(const std::string& service, const std::string& text,
                        int64_t t0, size_t n, double value = 10,
                        double step = 0) {
  sample_batch b;
  b.service = service;
  b.texts = text;
  for (size_t i = 0; i < n; ++i)
    b.samples.push_back({hash64(text), t0 + static_cast<int64_t>(i) * 1000,
                         value + ((i % 3) - 1.0) + (i == n - 1 ? step : 0), 0,
                         static_cast<uint32_t>(text.size()), 0});
  return b;
}

struct shard_test : ::testing::Test {
  test::deterministic_system ds;
  test::temp_dir dir;
  std::shared_ptr<storage::store> store = std::move(*storage::store::open(
    dir.str()));
  std::shared_ptr<metrics::registry> reg
    = std::make_shared<metrics::registry>();
  std::shared_ptr<load_meter> load = std::make_shared<load_meter>(4, 1000000,
                                                                  1000000);
  std::shared_ptr<metrics::board> board = std::make_shared<metrics::board>();
  std::shared_ptr<std::vector<anomaly_event>> received
    = std::make_shared<std::vector<anomaly_event>>();
  caf::actor sink;

  shard_test() {
    auto events = received;
    // State travels as a spawn argument: CAF 0.17 dereferences a null
    // argument tuple for actors spawned without any.
    sink = ds.sys().spawn(
      [](caf::event_based_actor*, decltype(events) into) {
        return caf::behavior{
          [into](atom::anomaly, anomaly_event& ev) {
            into->push_back(std::move(ev));
          },
        };
      },
      events);
    ds.sys().registry().put(caf::atom("test_sink"), sink);
  }

  ~shard_test() override {
    caf::anon_send_exit(sink, caf::exit_reason::user_shutdown);
    ds.run();
  }

  shard_config config(uint32_t max_restarts = 3) {
    shard_config c;
    c.id = shard_id{1};
    c.node = "n1";
    c.detection.snapshot_interval = duration{60000};
    // The batches here are a second apart: the counts are meant as
    // written, not scaled up for that step.
    c.detection.reference_step = duration{1000};
    c.ens = *ensemble::make(c.detection);
    c.policy = {max_restarts, duration{60s}, duration{100ms}, duration{1s}};
    c.store = store;
    c.metrics = reg;
    c.det_metrics = std::make_shared<detector_metrics>(*reg);
    c.load = load;
    c.series_board = board;
    c.sink_key = caf::atom("test_sink");
    return c;
  }

  // Sends samples through the shard the way ingest does: admitted first.
  void ingest(const shard_impl& shard, sample_batch b) {
    ASSERT_EQ(load->try_admit({{1, b.samples.size()}}), load_meter::admitted);
    caf::anon_send(shard, atom::ingest_v, std::move(b));
    ds.run();
  }

  std::vector<service_info> list(const shard_impl& shard) {
    std::vector<service_info> result;
    caf::scoped_actor self{ds.sys()};
    auto h = self->request(shard, caf::infinite, atom::list_v);
    ds.run();
    h.receive([&](std::vector<service_info>& xs) { result = std::move(xs); },
              [&](caf::error& err) { ADD_FAILURE() << to_string(err); });
    return result;
  }

  detector_actor locate(const shard_impl& shard, const std::string& service) {
    detector_actor result;
    caf::scoped_actor self{ds.sys()};
    auto h = self->request(shard, caf::infinite, atom::locate_v, service);
    ds.run();
    h.receive([&](detector_actor& d) { result = d; }, [](caf::error&) {});
    return result;
  }

  uint64_t restarts() {
    return reg->counters("vigil_actor_restarts_total", "", {"actor"})
      .with({"detector"})
      .value();
  }
};

TEST_F(shard_test, spawns_a_detector_per_service_on_first_data) {
  auto shard = ds.sys().spawn(vigil::detector::shard, config());
  ds.run();
  ingest(shard, make_batch("checkout", "latency", 1000, 100));
  ingest(shard, make_batch("payments", "latency", 1000, 10));
  auto infos = list(shard);
  ASSERT_EQ(infos.size(), 2u);
  std::sort(infos.begin(), infos.end(),
            [](auto& a, auto& b) { return a.name < b.name; });
  EXPECT_EQ(infos[0].name, "checkout");
  EXPECT_EQ(infos[0].samples, 100u);
  EXPECT_EQ(infos[0].series, 1u);
  EXPECT_EQ(infos[0].series_warm, 1u);
  EXPECT_EQ(infos[0].shard.value, 1u);
  EXPECT_EQ(infos[0].node, "n1");
  EXPECT_EQ(infos[1].name, "payments");
  EXPECT_EQ(infos[1].series_warm, 0u) << "10 samples are still warming up";
  EXPECT_EQ(load->total(), 0u) << "every admitted sample was released";
  EXPECT_EQ(board->sum(), 2);
  caf::anon_send_exit(shard, caf::exit_reason::user_shutdown);
  ds.run();
}

TEST_F(shard_test, delivers_anomalies_to_the_sink) {
  auto shard = ds.sys().spawn(vigil::detector::shard, config());
  ds.run();
  ingest(shard, make_batch("checkout", "latency", 1000, 100, 10, 100));
  ASSERT_EQ(received->size(), 1u);
  EXPECT_EQ((*received)[0].service, "checkout");
  EXPECT_EQ((*received)[0].phase, anomaly_phase::onset);
  caf::anon_send_exit(shard, caf::exit_reason::user_shutdown);
  ds.run();
}

TEST_F(shard_test, merges_what_arrives_while_a_batch_is_in_flight) {
  auto shard = ds.sys().spawn(vigil::detector::shard, config());
  ds.run();
  // Five batches arrive before the detector has run at all: the first goes
  // out alone, the other four wait and leave together.
  for (int i = 0; i < 5; ++i) {
    auto b = make_batch("checkout", "latency", 1000 + i * 10000, 10);
    ASSERT_EQ(load->try_admit({{1, b.samples.size()}}), load_meter::admitted);
    caf::anon_send(shard, atom::ingest_v, std::move(b));
  }
  ds.run();
  auto& batches = reg->histograms("vigil_detector_batch_samples", "", {}, {})
                    .with({});
  EXPECT_EQ(batches.count(), 2u);
  EXPECT_EQ(batches.sum(), 50);
  EXPECT_EQ(load->total(), 0u);
  auto infos = list(shard);
  ASSERT_EQ(infos.size(), 1u);
  EXPECT_EQ(infos[0].samples, 50u) << "merged in order: nothing out of order";
  EXPECT_EQ(infos[0].out_of_order, 0u);
  caf::anon_send_exit(shard, caf::exit_reason::user_shutdown);
  ds.run();
}

TEST_F(shard_test, restarts_a_crashed_detector_from_its_snapshot_alone) {
  auto shard = ds.sys().spawn(vigil::detector::shard, config());
  ds.run();
  ingest(shard, make_batch("checkout", "latency", 1000, 100));
  ingest(shard, make_batch("payments", "latency", 1000, 50));
  auto victim = locate(shard, "checkout");
  auto bystander = locate(shard, "payments");
  ASSERT_TRUE(victim);
  // Persist what checkout has learned, then crash it.
  {
    caf::scoped_actor self{ds.sys()};
    auto h = self->request(victim, caf::infinite, atom::snapshot_v);
    ds.run();
    h.receive([](uint64_t bytes) { EXPECT_GT(bytes, 0u); },
              [](caf::error& err) { FAIL() << to_string(err); });
  }
  ingest(shard, make_batch("checkout", "latency", 200000, 5));
  caf::anon_send_exit(victim, caf::exit_reason::kill);
  ds.run();
  EXPECT_EQ(restarts(), 1u);
  // While it restarts, its samples are held, not lost.
  ingest(shard, make_batch("checkout", "latency", 300000, 7));
  EXPECT_EQ(load->total(), 7u);
  ds.advance(150ms);
  EXPECT_EQ(load->total(), 0u);
  auto revived = locate(shard, "checkout");
  ASSERT_TRUE(revived);
  EXPECT_NE(revived, victim);
  EXPECT_EQ(locate(shard, "payments"), bystander) << "the sibling never noticed";
  auto infos = list(shard);
  auto it = std::find_if(infos.begin(), infos.end(),
                         [](auto& i) { return i.name == "checkout"; });
  ASSERT_NE(it, infos.end());
  // 100 from the snapshot + 7 held while restarting; the 5 that arrived
  // after the snapshot died with the crashed incarnation.
  EXPECT_EQ(it->samples, 107u);
  EXPECT_EQ(it->restarts, 1u);
  EXPECT_EQ(it->restored_from_ms, 1000 + 99 * 1000);
  caf::anon_send_exit(shard, caf::exit_reason::user_shutdown);
  ds.run();
}

TEST_F(shard_test, escalates_when_one_detector_keeps_crashing) {
  auto shard = ds.sys().spawn(vigil::detector::shard, config(2));
  caf::error reason;
  bool down = false;
  auto watcher = ds.sys().spawn(
    [&](caf::event_based_actor* self, const caf::actor& watched) {
    self->monitor(watched);
    self->set_down_handler([&](caf::down_msg& msg) {
      down = true;
      reason = msg.reason;
    });
    return caf::behavior{[](int) {}};
  },
    caf::actor_cast<caf::actor>(shard));
  ds.run();
  ingest(shard, make_batch("checkout", "latency", 1000, 10));
  for (int i = 0; i < 3 && !down; ++i) {
    auto d = locate(shard, "checkout");
    ASSERT_TRUE(d);
    caf::anon_send_exit(d, caf::exit_reason::kill);
    ds.run();
    ds.advance(2s);
  }
  EXPECT_TRUE(down);
  EXPECT_EQ(reason, errc::restart_budget_exhausted);
  caf::anon_send_exit(watcher, caf::exit_reason::user_shutdown);
}

TEST_F(shard_test, snapshots_on_stop_and_brings_services_back_on_start) {
  {
    auto shard = ds.sys().spawn(vigil::detector::shard, config());
    ds.run();
    ingest(shard, make_batch("checkout", "latency", 1000, 100));
    caf::anon_send_exit(shard, caf::exit_reason::user_shutdown);
    ds.run();
  }
  auto shard = ds.sys().spawn(vigil::detector::shard, config());
  ds.run();
  auto infos = list(shard);
  ASSERT_EQ(infos.size(), 1u);
  EXPECT_EQ(infos[0].name, "checkout");
  EXPECT_EQ(infos[0].samples, 100u);
  EXPECT_EQ(infos[0].series_warm, 1u);
  caf::anon_send_exit(shard, caf::exit_reason::user_shutdown);
  ds.run();
}

} // namespace
