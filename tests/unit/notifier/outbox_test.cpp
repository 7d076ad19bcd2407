#include "actors/notifier/outbox.hpp"
#include "actors/notifier/notifier.hpp"

#include <gtest/gtest.h>

#include "messages/errc.hpp"
#include "tests/support/support.hpp"

namespace vigil::notifier {
namespace {

notification note(uint64_t incident, event_kind ev) {
  notification n;
  n.event = ev;
  n.incident = incident;
  n.incident_id = "INC-" + std::to_string(incident);
  n.dedup_key = "vigil-" + n.incident_id;
  n.severity = 4;
  n.service = "orders-db";
  n.ts_ms = 1000;
  return n;
}

TEST(outbox, entries_survive_a_reopen_in_order_per_receiver) {
  test::temp_dir dir;
  {
    auto db = storage::store::open(dir.str());
    ASSERT_TRUE(db);
    std::shared_ptr<storage::store> s = std::move(*db);
    outbox box{s, 100};
    uint64_t dropped = 0;
    ASSERT_FALSE(box.add({{"pager", note(1, event_kind::opened)},
                          {"chat", note(1, event_kind::opened)}},
                         dropped));
    ASSERT_FALSE(box.add({{"pager", note(1, event_kind::resolved)}}, dropped));
    box.retry(box.head("pager")->seq, 5000, "HTTP 503");
    box.remove(box.head("chat")->seq);
  }
  auto db = storage::store::open(dir.str());
  ASSERT_TRUE(db);
  std::shared_ptr<storage::store> s = std::move(*db);
  outbox box{s, 100};
  auto bad = box.load();
  ASSERT_TRUE(bad);
  EXPECT_EQ(*bad, 0u);
  EXPECT_EQ(box.size(), 2u);
  EXPECT_EQ(box.pending("chat"), 0u);
  auto* head = box.head("pager");
  ASSERT_NE(head, nullptr);
  // The trigger still comes before its resolution, with its retry state.
  EXPECT_EQ(head->note.event, event_kind::opened);
  EXPECT_EQ(head->attempts, 1u);
  EXPECT_EQ(head->next_ms, 5000);
  EXPECT_EQ(head->last_error, "HTTP 503");
  EXPECT_EQ(head->note.dedup_key, "vigil-INC-1");
  box.remove(head->seq);
  EXPECT_EQ(box.head("pager")->note.event, event_kind::resolved);
  // New entries continue the sequence after a reopen.
  uint64_t dropped = 0;
  auto before = box.head("pager")->seq;
  ASSERT_FALSE(box.add({{"chat", note(2, event_kind::opened)}}, dropped));
  EXPECT_GT(box.head("chat")->seq, before);
}

TEST(outbox, a_full_outbox_drops_the_oldest_entries) {
  outbox box{nullptr, 3};
  uint64_t dropped = 0;
  for (uint64_t i = 1; i <= 3; ++i)
    ASSERT_FALSE(box.add({{"r", note(i, event_kind::opened)}}, dropped));
  EXPECT_EQ(dropped, 0u);
  ASSERT_FALSE(box.add({{"r", note(4, event_kind::opened)},
                        {"r", note(5, event_kind::opened)}},
                       dropped));
  EXPECT_EQ(dropped, 2u);
  EXPECT_EQ(box.size(), 3u);
  EXPECT_EQ(box.head("r")->note.incident, 3u);
}

TEST(outbox, a_notice_key_is_remembered_across_a_reopen_until_forgotten) {
  test::temp_dir dir;
  {
    auto db = storage::store::open(dir.str());
    ASSERT_TRUE(db);
    std::shared_ptr<storage::store> s = std::move(*db);
    outbox box{s, 100};
    ASSERT_TRUE(box.load());
    uint64_t dropped = 0;
    EXPECT_FALSE(box.marked("action/7/succeeded"));
    ASSERT_FALSE(box.add({{"pager", note(1, event_kind::action)}}, dropped,
                         "action/7/succeeded", 1000));
    // A notice no receiver wants is still marked as said.
    ASSERT_FALSE(box.add({}, dropped, "opened/1", 5000));
    EXPECT_TRUE(box.marked("action/7/succeeded"));
    EXPECT_TRUE(box.marked("opened/1"));
    EXPECT_EQ(box.size(), 1u);
  }
  auto db = storage::store::open(dir.str());
  ASSERT_TRUE(db);
  std::shared_ptr<storage::store> s = std::move(*db);
  {
    outbox box{s, 100};
    ASSERT_TRUE(box.load());
    EXPECT_TRUE(box.marked("action/7/succeeded"));
    EXPECT_TRUE(box.marked("opened/1"));
    EXPECT_FALSE(box.marked("action/7/failed"));
    EXPECT_EQ(box.marks(), 2u);
    EXPECT_EQ(box.forget_marks_before(2000), 1u);
    EXPECT_FALSE(box.marked("action/7/succeeded"));
    EXPECT_TRUE(box.marked("opened/1"));
  }
  // Forgotten for good, not only in memory.
  outbox box{s, 100};
  ASSERT_TRUE(box.load());
  EXPECT_EQ(box.marks(), 1u);
  EXPECT_TRUE(box.marked("opened/1"));
}

TEST(notifier_routing, severity_services_and_events_filter_but_closing_passes) {
  receiver r;
  r.rule.name = "pager";
  r.rule.min_severity = 4;
  r.rule.services = {"orders-*"};
  auto n = note(1, event_kind::opened);
  EXPECT_TRUE(routes_to(r, n));
  n.severity = 3;
  EXPECT_FALSE(routes_to(r, n));
  // A page that went out is always closed, whatever the severity now.
  n.event = event_kind::resolved;
  EXPECT_TRUE(routes_to(r, n));
  n = note(1, event_kind::opened);
  n.service = "payments";
  EXPECT_FALSE(routes_to(r, n));
  r.rule.services.clear();
  r.rule.events = {"opened", "resolved"};
  n.event = event_kind::action;
  EXPECT_FALSE(routes_to(r, n));
}

TEST(notifier_routing, backoff_doubles_up_to_the_cap) {
  EXPECT_EQ(backoff_ms(0, 1000, 300000), 1000);
  EXPECT_EQ(backoff_ms(1, 1000, 300000), 2000);
  EXPECT_EQ(backoff_ms(5, 1000, 300000), 32000);
  EXPECT_EQ(backoff_ms(40, 1000, 300000), 300000);
}

TEST(notifier_routing, receivers_need_their_keys) {
  notifier_options o;
  o.receivers = {"p pagerduty https://x key_env=VIGIL_TEST_UNSET_VARIABLE"};
  auto r = make_receivers(o);
  ASSERT_FALSE(r);
  EXPECT_NE(render(r.error()).find("the key is empty"), std::string::npos);
  o.receivers = {"a slack https://x", "a webhook https://y"};
  r = make_receivers(o);
  ASSERT_FALSE(r);
  EXPECT_NE(render(r.error()).find("used twice"), std::string::npos);
  o.receivers = {"a slack https://x", "b webhook https://y"};
  r = make_receivers(o);
  ASSERT_TRUE(r);
  EXPECT_EQ((*r)[1].kind, receiver_kind::webhook);
}

} // namespace
} // namespace vigil::notifier
