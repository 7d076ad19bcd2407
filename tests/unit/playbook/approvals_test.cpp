#include "actors/playbook/approvals.hpp"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>

#include "messages/errc.hpp"

namespace vigil::playbooks {
namespace {

storage::stored_action pending(uint64_t id, int64_t now, int64_t ttl) {
  storage::stored_action x;
  x.view.id = id;
  x.view.incident = 100 + id;
  x.view.by = "vigil";
  x.view.action = "kubernetes.rollback";
  x.requested_ms = now;
  x.expires_ms = now + ttl;
  return x;
}

bool is(const caf::error& err, errc code) {
  return err.category() == caf::atom("vigil")
         && err.code() == static_cast<uint8_t>(code);
}

TEST(approval_book, an_identified_person_other_than_the_requester_decides) {
  approval_book book;
  book.request(pending(1, 0, 1000));
  EXPECT_EQ(book.pending().at(1).view.status, "pending_approval");
  auto r = book.decide(1, true, "", "", 10);
  ASSERT_FALSE(r);
  EXPECT_TRUE(is(r.error(), errc::malformed));
  r = book.decide(1, true, "vigil", "", 10);
  ASSERT_FALSE(r);
  EXPECT_TRUE(is(r.error(), errc::malformed));
  r = book.decide(1, true, "alice", "go", 10);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->view.status, "approved");
  EXPECT_EQ(r->view.by, "alice");
  EXPECT_EQ(r->view.reason, "go");
  // Decided once: a second decision finds nothing.
  r = book.decide(1, false, "bob", "", 11);
  ASSERT_FALSE(r);
  EXPECT_TRUE(is(r.error(), errc::not_found));
}

TEST(approval_book, an_undecided_approval_expires_and_is_never_denied_silently) {
  approval_book book;
  book.request(pending(1, 0, 1000));
  book.request(pending(2, 0, 5000));
  auto r = book.decide(1, true, "alice", "", 1000);
  ASSERT_FALSE(r);
  EXPECT_TRUE(is(r.error(), errc::unavailable));
  auto gone = book.expire(1000);
  ASSERT_EQ(gone.size(), 1u);
  EXPECT_EQ(gone[0].view.id, 1u);
  EXPECT_EQ(gone[0].view.status, "expired");
  EXPECT_EQ(book.pending().size(), 1u);
}

// Approve, deny, expire and restart (the book rebuilt from what was
// stored), interleaved at random: an action runs only after exactly one
// approval by someone other than the requester, before its deadline, and
// nothing pending is lost or revived by a restart.
TEST(approval_book, random_interleavings_never_run_an_unapproved_action) {
  std::mt19937_64 gen{20261121};
  const std::vector<std::string> people{"vigil", "", "alice", "bob"};
  for (int round = 0; round < 20; ++round) {
    approval_book book;
    std::map<uint64_t, std::string> stored; // the approvals column
    std::map<uint64_t, storage::stored_action> requested;
    std::set<uint64_t> ran, denied, expired;
    uint64_t next = 1;
    int64_t now = 0;
    for (int op = 0; op < 600; ++op) {
      now += static_cast<int64_t>(gen() % 50);
      switch (gen() % 6) {
        case 0: { // the engine asks
          auto x = pending(next++, now, 200 + gen() % 2000);
          stored[x.view.id] = storage::encode(x);
          requested[x.view.id] = x;
          book.request(x);
          break;
        }
        case 1:
        case 2: { // someone decides a random (maybe unknown) id
          uint64_t id = 1 + gen() % next;
          bool approve = gen() % 3 != 0;
          const auto& by = people[gen() % people.size()];
          auto r = book.decide(id, approve, by, "", now);
          if (!r)
            break;
          ASSERT_TRUE(requested.count(id));
          ASSERT_NE(by, "vigil");
          ASSERT_FALSE(by.empty());
          ASSERT_LT(now, requested[id].expires_ms);
          ASSERT_EQ(stored.erase(id), 1u) << "decided twice";
          if (approve)
            ran.insert(id);
          else
            denied.insert(id);
          break;
        }
        case 3: // the tick
          for (auto& x : book.expire(now)) {
            ASSERT_LE(x.expires_ms, now);
            ASSERT_EQ(stored.erase(x.view.id), 1u);
            expired.insert(x.view.id);
          }
          break;
        case 4: { // kill -9 and restart: rebuild from storage
          book = approval_book{};
          for (auto& [id, bytes] : stored) {
            storage::stored_action x;
            ASSERT_TRUE(storage::decode(bytes, x));
            book.restore(std::move(x));
          }
          break;
        }
        default: // time passes
          now += static_cast<int64_t>(gen() % 500);
      }
      // What is pending is exactly what is stored.
      ASSERT_EQ(book.pending().size(), stored.size());
      for (auto& [id, _] : book.pending())
        ASSERT_TRUE(stored.count(id));
    }
    for (auto id : ran) {
      EXPECT_FALSE(denied.count(id));
      EXPECT_FALSE(expired.count(id));
    }
  }
}

} // namespace
} // namespace vigil::playbooks
