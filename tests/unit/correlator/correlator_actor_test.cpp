// The correlator actor with its partitions on the deterministic scheduler:
// anomalies of services in different partitions become one incident once
// the topology says they share a domain (the incident is handed to the
// domain's partition and merged there); incidents and silences are
// persisted and come back after a restart.

#include <gtest/gtest.h>

#include <caf/scoped_actor.hpp>

#include "actors/correlator/correlator.hpp"
#include "tests/support/caf_test.hpp"
#include "tests/support/support.hpp"

using namespace std::chrono_literals;
using namespace vigil;
using namespace vigil::correlator;

namespace {

constexpr int64_t t0 = 1'795'000'000'000;

anomaly_event anomaly(std::string service, int64_t ts,
                      anomaly_phase phase = anomaly_phase::onset) {
  anomaly_event ev;
  ev.service = std::move(service);
  ev.metric = "latency_ms";
  ev.series = "latency_ms";
  ev.ts_ms = ts;
  ev.score = 0.99;
  ev.phase = phase;
  ev.votes = {{"ewma", 0.99, 9, true}};
  return ev;
}

struct correlator_fixture : testing::Test {
  test::deterministic_system ds;
  test::temp_dir dir;
  std::shared_ptr<storage::store> store;

  void SetUp() override {
    auto s = storage::store::open(dir.str() + "/db");
    ASSERT_TRUE(s);
    store = std::move(*s);
  }

  correlator_actor spawn() {
    correlator_config cfg;
    cfg.correlation.partitions = 4;
    // Every anomaly may open an incident: these tests are about hand-over
    // and persistence, not about what opens one.
    cfg.correlation.open_min_services = 1;
    cfg.correlation.persisting_only = false;
    cfg.store = store;
    auto c = ds.sys().spawn(correlator::correlator, cfg);
    ds.run();
    return c;
  }

  std::vector<incident_view> incidents(const correlator_actor& c) {
    std::vector<incident_view> out;
    caf::scoped_actor self{ds.sys()};
    incident_query q;
    q.open_only = false;
    auto h = self->request(c, caf::infinite, atom::query_v, q);
    ds.run();
    h.receive([&](std::vector<incident_view>& xs) { out = std::move(xs); },
              [&](caf::error& err) { ADD_FAILURE() << to_string(err); });
    return out;
  }

  void stop(const correlator_actor& c) {
    caf::anon_send_exit(c, caf::exit_reason::user_shutdown);
    ds.run();
  }

  // With the node's settings for what opens an incident.
  correlator_actor spawn_counted(std::shared_ptr<metrics::registry> registry,
                                 uint32_t partitions) {
    correlator_config cfg;
    cfg.correlation.partitions = partitions;
    cfg.store = store;
    cfg.metrics = std::move(registry);
    auto c = ds.sys().spawn(correlator::correlator, cfg);
    ds.run();
    return c;
  }

  void deployed(const correlator_actor& c, const std::string& service,
                int64_t ts) {
    change_batch changes;
    change_event deploy;
    deploy.service = service;
    deploy.kind = "deploy";
    deploy.ts_ms = ts;
    changes.changes = {deploy};
    caf::anon_send(c, atom::ingest_v, changes);
    ds.run();
  }
};

// `metric` of `service` anomalous since `onset`, re-announced at `ts`.
anomaly_event lasting(std::string service, std::string metric, int64_t onset,
                      int64_t ts) {
  auto ev = anomaly(std::move(service), ts, anomaly_phase::ongoing);
  ev.metric = ev.series = std::move(metric);
  ev.onset_ts_ms = onset;
  return ev;
}

// Two service names in different partitions, and a domain name in a third.
std::tuple<std::string, std::string, std::string> spread() {
  std::vector<std::string> names;
  for (int i = 0; names.size() < 3 && i < 1000; ++i) {
    auto n = "svc-" + std::to_string(i);
    bool fresh = true;
    for (auto& m : names)
      fresh = fresh && partition_of(m, 4) != partition_of(n, 4);
    if (fresh)
      names.push_back(n);
  }
  return {names[0], names[1], names[2]};
}

TEST_F(correlator_fixture, a_domain_learned_later_hands_over_and_merges) {
  auto [a, b, domain] = spread();
  auto c = spawn();
  // First a and b are in components of their own (each with a quiet
  // neighbour), named after them.
  domain_map first;
  first.version = 1;
  first.entries = {{a, a}, {"x", a}, {b, b}, {"y", b}};
  first.links = {{a, "x"}, {b, "y"}};
  caf::anon_send(c, atom::domains_v, first);
  const auto persisting = anomaly_phase::ongoing;
  caf::anon_send(c, atom::anomaly_v, anomaly(a, t0, persisting));
  caf::anon_send(c, atom::anomaly_v, anomaly(b, t0 + 10'000, persisting));
  ds.run();
  auto before = incidents(c);
  ASSERT_EQ(before.size(), 2u) << "two domains, two partitions";
  // The topology now puts both in one component, named after a third
  // service, between them, that hashes to yet another partition.
  domain_map m;
  m.version = 2;
  m.entries = {{a, domain}, {b, domain}, {domain, domain}};
  m.links = {{domain, a}, {domain, b}};
  caf::anon_send(c, atom::domains_v, m);
  ds.run();
  auto after = incidents(c);
  std::vector<incident_view> live;
  for (auto& x : after)
    if (x.merged_into == 0)
      live.push_back(x);
  ASSERT_EQ(live.size(), 1u);
  EXPECT_EQ(live[0].services, (std::vector<std::string>{a, b}));
  EXPECT_EQ(live[0].domain, domain);
  // New anomalies of the domain join it.
  caf::anon_send(c, atom::anomaly_v, anomaly(domain, t0 + 20'000, persisting));
  ds.run();
  auto joined = incidents(c);
  size_t open = 0;
  for (auto& x : joined)
    if (x.status != "resolved") {
      ++open;
      EXPECT_EQ(x.services.size(), 3u);
    }
  EXPECT_EQ(open, 1u);
  // A restart reads everything back, each incident in the partition of
  // its domain.
  stop(c);
  auto again = spawn();
  auto restored = incidents(again);
  EXPECT_EQ(restored.size(), joined.size());
  size_t open_again = 0;
  for (auto& x : restored)
    open_again += x.status != "resolved";
  EXPECT_EQ(open_again, 1u);
  stop(again);
}

TEST_F(correlator_fixture, silences_persist_and_stop_new_incidents) {
  auto c = spawn();
  silence_spec s;
  s.matchers = {"service=quiet"};
  s.starts_ms = t0 - 60'000;
  s.ends_ms = t0 + 3'600'000;
  s.author = "ops";
  {
    caf::scoped_actor self{ds.sys()};
    auto h = self->request(c, caf::infinite, atom::silence_v, atom::put_v, s);
    ds.run();
    h.receive([&](silence_spec& x) { EXPECT_FALSE(x.id.empty()); },
              [&](caf::error& err) { ADD_FAILURE() << to_string(err); });
  }
  caf::anon_send(c, atom::anomaly_v, anomaly("quiet", t0));
  ds.run();
  EXPECT_TRUE(incidents(c).empty());
  stop(c);
  auto again = spawn();
  caf::anon_send(again, atom::anomaly_v, anomaly("quiet", t0 + 60'000));
  caf::anon_send(again, atom::anomaly_v, anomaly("loud", t0 + 60'000));
  ds.run();
  auto xs = incidents(again);
  ASSERT_EQ(xs.size(), 1u) << "the silence came back from storage";
  EXPECT_EQ(xs[0].services, std::vector<std::string>{"loud"});
  stop(again);
}

TEST_F(correlator_fixture, a_restart_s_own_anomaly_waits_and_is_counted) {
  // The node's settings: persisting evidence opens, a restart settles for
  // 5 min. db's fresh heap after its deploy opens nothing and shows as
  // held back; its recovery lets go of it.
  ASSERT_EQ(correlator_config{}.correlation.restart_settle,
            std::chrono::minutes{5});
  auto registry = std::make_shared<metrics::registry>();
  auto c = spawn_counted(registry, 2);
  deployed(c, "db", t0);
  caf::anon_send(c, atom::anomaly_v,
                 lasting("db", "memory_bytes", t0 + 10'000, t0 + 30'000));
  ds.run();
  EXPECT_TRUE(incidents(c).empty());
  auto& held = registry->counters("vigil_incidents_held_back_total", "",
                                  {"reason"});
  EXPECT_EQ(held.with({"settling"}).value(), 1u);
  auto& settling = registry->gauge_("vigil_incidents_settling", "");
  EXPECT_EQ(settling.value(), 1.0);
  auto back = anomaly("db", t0 + 2 * 60'000, anomaly_phase::recovered);
  back.metric = back.series = "memory_bytes";
  caf::anon_send(c, atom::anomaly_v, back);
  ds.run();
  EXPECT_TRUE(incidents(c).empty());
  EXPECT_EQ(settling.value(), 0.0);
  // A failure of the new release is held too, and opens its incident once
  // the restart settled: here when a blip of api shows event time past
  // that. It is counted as opened although the blip opened nothing.
  caf::anon_send(c, atom::anomaly_v,
                 lasting("db", "error_rate", t0 + 20'000, t0 + 40'000));
  ds.run();
  EXPECT_TRUE(incidents(c).empty());
  EXPECT_EQ(held.with({"settling"}).value(), 2u);
  caf::anon_send(c, atom::anomaly_v, anomaly("api", t0 + 6 * 60'000));
  ds.run();
  auto opened = incidents(c);
  ASSERT_EQ(opened.size(), 1u);
  EXPECT_EQ(opened[0].services, std::vector<std::string>{"db"});
  auto& total = registry->counter_("vigil_incidents_total", "");
  EXPECT_EQ(total.value(), 1u);
  EXPECT_EQ(settling.value(), 0.0);
  // Another service's failure is not held.
  caf::anon_send(c, atom::anomaly_v,
                 anomaly("web", t0 + 7 * 60'000, anomaly_phase::ongoing));
  ds.run();
  EXPECT_EQ(held.with({"settling"}).value(), 2u);
  EXPECT_EQ(incidents(c).front().services.back(), "web");
  stop(c);
  EXPECT_EQ(settling.value(), 0.0);
}

TEST_F(correlator_fixture, a_held_anomaly_whose_service_moves_away_is_let_go) {
  // db's fresh heap is held in the partition of the unconnected services.
  // The topology then puts db in a component that another partition
  // holds: its recovery will go there, so the first partition forgets it
  // rather than open an incident when the restart settles.
  std::string elsewhere;
  for (int i = 0; elsewhere.empty(); ++i)
    if (auto n = "db-" + std::to_string(i);
        partition_of(n, 4) != partition_of(unconnected_domain, 4))
      elsewhere = n;
  auto registry = std::make_shared<metrics::registry>();
  auto c = spawn_counted(registry, 4);
  deployed(c, elsewhere, t0);
  caf::anon_send(c, atom::anomaly_v,
                 lasting(elsewhere, "memory_bytes", t0 + 10'000, t0 + 30'000));
  ds.run();
  EXPECT_TRUE(incidents(c).empty());
  auto& settling = registry->gauge_("vigil_incidents_settling", "");
  EXPECT_EQ(settling.value(), 1.0);
  domain_map m;
  m.version = 1;
  m.entries = {{elsewhere, elsewhere}, {"cache", elsewhere}};
  m.links = {{elsewhere, "cache"}};
  caf::anon_send(c, atom::domains_v, m);
  ds.run();
  EXPECT_TRUE(incidents(c).empty());
  EXPECT_EQ(settling.value(), 0.0);
  // Past the settling time nothing opens.
  caf::anon_send(c, atom::anomaly_v, anomaly("web", t0 + 6 * 60'000));
  ds.run();
  EXPECT_TRUE(incidents(c).empty());
  stop(c);
}

} // namespace
