#include <gtest/gtest.h>

#include "actors/correlator/anomaly_log.hpp"
#include "tests/support/support.hpp"

using namespace vigil;
using namespace vigil::correlator;

namespace {

anomaly_event event(std::string service, int64_t ts) {
  anomaly_event ev;
  ev.service = std::move(service);
  ev.metric = "latency";
  ev.series = "latency{route=\"/\"}";
  ev.ts_ms = ts;
  ev.score = 0.9;
  ev.votes = {{"zscore", 0.9, 4.2, true}, {"cusum", 0.2, 1.0, false}};
  return ev;
}

TEST(anomaly_log, answers_newest_first_with_filters) {
  anomaly_log log{100, nullptr};
  log.add(event("a", 1000));
  log.add(event("b", 2000));
  log.add(event("a", 3000));
  auto all = log.query({"", 0, 10});
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].ts_ms, 3000);
  EXPECT_EQ(all[0].id, 3u);
  auto only_a = log.query({"a", 0, 10});
  ASSERT_EQ(only_a.size(), 2u);
  auto recent = log.query({"", 2000, 10});
  EXPECT_EQ(recent.size(), 2u);
  EXPECT_EQ(log.query({"", 0, 1}).size(), 1u);
}

TEST(anomaly_log, stays_bounded) {
  anomaly_log log{5, nullptr};
  for (int i = 0; i < 20; ++i)
    log.add(event("a", i));
  EXPECT_EQ(log.size(), 5u);
  EXPECT_EQ(log.query({"", 0, 100}).back().ts_ms, 15);
}

TEST(anomaly_log, survives_a_restart_and_keeps_numbering) {
  test::temp_dir dir;
  std::shared_ptr<storage::store> store
    = std::move(*storage::store::open(dir.str()));
  {
    anomaly_log log{3, store};
    ASSERT_FALSE(log.load());
    for (int i = 1; i <= 2000; ++i)
      log.add(event("a", i));
  }
  anomaly_log log{3, store};
  ASSERT_FALSE(log.load());
  auto xs = log.query({"", 0, 10});
  ASSERT_EQ(xs.size(), 3u);
  EXPECT_EQ(xs[0].ts_ms, 2000);
  EXPECT_EQ(xs[0].votes.size(), 2u);
  EXPECT_EQ(xs[0].votes[0].detector, "zscore");
  EXPECT_EQ(log.next_id(), 2001u);
  // The store was trimmed, not left to grow with every anomaly ever seen.
  size_t on_disk = 0;
  ASSERT_FALSE(store->scan(storage::column::anomalies, "", [&](auto, auto) {
    ++on_disk;
    return true;
  }));
  EXPECT_LT(on_disk, 1100u);
}

TEST(anomaly_log, keeps_what_a_log_anomaly_says_across_a_restart) {
  test::temp_dir dir;
  std::shared_ptr<storage::store> store
    = std::move(*storage::store::open(dir.str()));
  {
    anomaly_log log{10, store};
    ASSERT_FALSE(log.load());
    auto ev = event("checkout", 5000);
    ev.kind = anomaly_kind::log_error_spike;
    ev.template_id = "00ff00ff00ff00ff";
    ev.template_text = "payment <*> failed after <*>";
    ev.examples = {"payment 17 failed after 3s", "payment 18 failed after 4s"};
    log.add(ev);
  }
  anomaly_log log{10, store};
  ASSERT_FALSE(log.load());
  auto xs = log.query({"", 0, 10});
  ASSERT_EQ(xs.size(), 1u);
  EXPECT_EQ(xs[0].kind, anomaly_kind::log_error_spike);
  EXPECT_EQ(xs[0].template_id, "00ff00ff00ff00ff");
  EXPECT_EQ(xs[0].template_text, "payment <*> failed after <*>");
  EXPECT_EQ(xs[0].examples,
            (std::vector<std::string>{"payment 17 failed after 3s",
                                      "payment 18 failed after 4s"}));
}

} // namespace
