// Notification throughput to a local webhook (issue 5's target: >= 1,000
// deliveries/s per core): the real notifier actor with its RocksDB outbox
// in a temp dir, one webhook receiver, a sink on loopback (one I/O thread)
// that answers 200. Each iteration enqueues `batch` incident events
// (durably, as in production: fsynced before the reply) and waits until the
// sink has them all. Counters: deliveries/s end to end, and with the
// enqueue (fsync) cost taken out by filling the outbox while the sink
// refuses, then opening it. Results: docs/benchmarks.md.

#include <benchmark/benchmark.h>

#include <atomic>
#include <chrono>
#include <thread>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>

#include "actors/notifier/notifier.hpp"
#include "messages/messages.hpp"
#include "tests/support/http_endpoint.hpp"
#include "tests/support/support.hpp"

using namespace vigil;

namespace {

struct sink {
  std::atomic<uint64_t> got{0};
  std::atomic<bool> down{false};
  std::unique_ptr<http::server> server;
  sink() {
    server = test::serve_post(
      "/hook", [this](http::request&, http::responder respond) {
        http::response res;
        if (down.load()) {
          res.status = 503;
        } else {
          ++got;
          res.status = 200;
        }
        respond(std::move(res));
      });
  }
};

incident_notice notice(uint64_t i) {
  incident_notice n;
  n.event = "escalated";
  n.incident = i;
  n.severity = 4;
  n.status = "open";
  n.type = "database_connection_exhaustion";
  n.title = "database_connection_exhaustion in orders-db";
  n.service = "orders-db";
  n.text = "no playbook matches";
  return n;
}

void run(benchmark::State& state, bool split) {
  sink s;
  test::temp_dir dir;
  auto db = storage::store::open(dir.str());
  if (!db) {
    state.SkipWithError("store");
    return;
  }
  caf::actor_system_config cfg;
  add_message_types(cfg);
  caf::actor_system sys{cfg};
  notifier::notifier_config nc;
  nc.opts.rate_per_minute = 100'000'000;
  nc.opts.retry_initial = std::chrono::milliseconds{10};
  nc.opts.retry_max = std::chrono::milliseconds{20};
  nc.opts.receivers = {"sink webhook http://127.0.0.1:"
                       + std::to_string(s.server->port()) + "/hook"};
  nc.receivers = *notifier::make_receivers(nc.opts);
  nc.store = std::move(*db);
  nc.tick = std::chrono::milliseconds{1};
  auto n = sys.spawn<caf::detached>(notifier::notifier, nc);
  const auto batch = static_cast<uint64_t>(state.range(0));
  uint64_t id = 0;
  caf::scoped_actor self{sys};
  for (auto _ : state) {
    state.PauseTiming();
    auto target = s.got.load() + batch;
    s.down = split;
    state.ResumeTiming();
    for (uint64_t i = 0; i < batch; ++i)
      self->send(n, atom::notify_v, notice(++id));
    if (split) {
      // Wait for the replies (all stored), then time delivery alone.
      for (uint64_t i = 0; i < batch; ++i)
        self->receive([](uint32_t) {}, [](caf::error&) {});
      state.PauseTiming();
      s.down = false;
      state.ResumeTiming();
    }
    while (s.got.load() < target)
      std::this_thread::sleep_for(std::chrono::microseconds{200});
    if (!split)
      for (uint64_t i = 0; i < batch; ++i)
        self->receive([](uint32_t) {}, [](caf::error&) {});
  }
  state.counters["deliveries_per_s"] = benchmark::Counter(
    static_cast<double>(batch * state.iterations()),
    benchmark::Counter::kIsRate);
  self->send_exit(n, caf::exit_reason::user_shutdown);
}

void BM_webhook_end_to_end(benchmark::State& state) {
  run(state, false);
}

void BM_webhook_delivery_only(benchmark::State& state) {
  run(state, true);
}

} // namespace

BENCHMARK(BM_webhook_end_to_end)->Arg(2000)->Unit(benchmark::kMillisecond)
  ->UseRealTime()->Iterations(3);
BENCHMARK(BM_webhook_delivery_only)->Arg(2000)->Unit(benchmark::kMillisecond)
  ->UseRealTime()->Iterations(3);

BENCHMARK_MAIN();
