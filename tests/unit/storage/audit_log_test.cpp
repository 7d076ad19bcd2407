#include <algorithm>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "messages/errc.hpp"
#include "runtime/storage/audit_log.hpp"
#include "runtime/storage/store.hpp"
#include "tests/support/support.hpp"

using vigil::storage::audit_entry;
using vigil::storage::audit_hash;
using vigil::storage::audit_log;
using vigil::storage::big_endian_key;
using vigil::storage::column;
using vigil::storage::store;
using vigil::storage::to_hex;

namespace {

// Most tests only care about the chain, not about fsync; the durable path is
// covered by the tests that reopen the store.
std::unique_ptr<store> open_store(const std::string& dir, bool sync = false) {
  vigil::storage::store_options opts;
  opts.sync_durable_writes = sync;
  auto s = store::open(dir, opts);
  if (!s) {
    ADD_FAILURE() << "store::open failed: " << vigil::render(s.error());
    return nullptr;
  }
  return std::move(*s);
}

std::unique_ptr<audit_log> open_log(store& db) {
  auto log = audit_log::open(db);
  if (!log) {
    ADD_FAILURE() << "audit_log::open failed: " << vigil::render(log.error());
    return nullptr;
  }
  return std::move(*log);
}

audit_entry make_entry(uint64_t n) {
  audit_entry x;
  x.kind = n % 2 ? "action_started" : "action_finished";
  x.actor = "engine";
  x.incident_id = 100 + n;
  x.action_id = n;
  x.playbook = "restart-pod";
  x.playbook_version = "3";
  x.step = "scale";
  x.service = "checkout";
  x.action = "kubernetes.scale";
  x.status = n % 2 ? "running" : "succeeded";
  x.detail = "{\"n\":" + std::to_string(n) + "}";
  return x;
}

// Appends `n` entries and fails the test on the first error.
void append_n(audit_log& log, uint64_t n) {
  for (uint64_t i = 1; i <= n; ++i) {
    auto r = log.append(make_entry(i));
    ASSERT_TRUE(r) << vigil::render(r.error());
  }
}

std::string raw_record(store& db, uint64_t seq) {
  auto v = db.get(column::audit, big_endian_key(seq));
  if (!v || !*v) {
    ADD_FAILURE() << "record " << seq << " is not in the store";
    return {};
  }
  return **v;
}

audit_entry parse(const std::string& bytes) {
  audit_entry x;
  EXPECT_TRUE(decode_audit_record(bytes, x));
  return x;
}

// A store with a chain of `n` records, opened afresh per test.
struct chain {
  explicit chain(uint64_t n, bool sync = false) {
    db = open_store(dir.str(), sync);
    if (!db)
      return;
    log = open_log(*db);
    if (log)
      append_n(*log, n);
  }
  vigil::test::temp_dir dir;
  std::unique_ptr<store> db;
  std::unique_ptr<audit_log> log;
};

TEST(audit_log, sha256_matches_the_known_answer_for_abc) {
  EXPECT_EQ(to_hex(vigil::storage::sha256("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(audit_log, audit_hash_of_a_fixed_entry_is_stable) {
  // Expected value from `printf '<prev_hash><canonical encoding>' |
  // sha256sum`, the bytes written out by hand from the documented layout.
  audit_entry x;
  x.seq = 1;
  x.ts_ms = 1'700'000'000'000;
  x.kind = "action_started";
  x.actor = "engine";
  x.incident_id = 42;
  x.action_id = 7;
  x.playbook = "restart-pod";
  x.playbook_version = "3";
  x.step = "scale";
  x.service = "checkout";
  x.action = "kubernetes.scale";
  x.status = "running";
  x.detail = "replicas=4";
  x.prev_hash.assign(32, '\0');
  EXPECT_EQ(vigil::storage::audit_encoding(x).size(), 236u - 32u);
  EXPECT_EQ(to_hex(audit_hash(x)),
            "03eff7152bee84759c9c9908accb29024ce973e54bdbbb0a485f2e88256f40b9");
  // The stored hash itself is not an input.
  x.hash = "anything";
  EXPECT_EQ(to_hex(audit_hash(x)),
            "03eff7152bee84759c9c9908accb29024ce973e54bdbbb0a485f2e88256f40b9");
}

TEST(audit_log, encoding_keeps_adjacent_strings_apart) {
  auto a = make_entry(1);
  auto b = a;
  a.step = "ab";
  a.service = "c";
  b.step = "a";
  b.service = "bc";
  EXPECT_NE(vigil::storage::audit_encoding(a),
            vigil::storage::audit_encoding(b));
  EXPECT_NE(audit_hash(a), audit_hash(b));
}

TEST(audit_log, an_empty_log_verifies_and_reads_nothing) {
  chain c{0};
  ASSERT_TRUE(c.log);
  EXPECT_EQ(c.log->head_seq(), 0u);
  auto v = c.log->verify();
  EXPECT_TRUE(v.ok) << v.problem;
  EXPECT_EQ(v.records, 0u);
  EXPECT_EQ(v.head, "");
  auto t = c.log->tail(10);
  ASSERT_TRUE(t);
  EXPECT_TRUE(t->empty());
}

TEST(audit_log, appends_link_each_record_to_its_predecessor) {
  vigil::test::temp_dir dir;
  auto db = open_store(dir.str(), true);
  ASSERT_TRUE(db);
  auto log = open_log(*db);
  ASSERT_TRUE(log);
  std::string prev(32, '\0');
  for (uint64_t i = 1; i <= 5; ++i) {
    auto x = make_entry(i);
    if (i == 3)
      x.ts_ms = 12345;
    auto r = log->append(x);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->seq, i);
    EXPECT_EQ(r->prev_hash, prev);
    EXPECT_EQ(r->hash.size(), 32u);
    EXPECT_EQ(r->hash, audit_hash(*r));
    EXPECT_EQ(r->status, x.status);
    if (i == 3)
      EXPECT_EQ(r->ts_ms, 12345);
    else
      EXPECT_GT(r->ts_ms, 1'600'000'000'000);
    prev = r->hash;
  }
  EXPECT_EQ(log->head_seq(), 5u);
  auto v = log->verify();
  EXPECT_TRUE(v.ok) << v.problem;
  EXPECT_EQ(v.records, 5u);
  EXPECT_EQ(v.broken_at, 0u);
  EXPECT_EQ(v.head, to_hex(prev));
}

TEST(audit_log, read_and_tail_return_records_oldest_first) {
  chain c{10};
  ASSERT_TRUE(c.log);
  auto all = c.log->read(0, 100);
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 10u);
  for (uint64_t i = 0; i < 10; ++i)
    EXPECT_EQ((*all)[i].seq, i + 1);
  auto some = c.log->read(4, 3);
  ASSERT_TRUE(some);
  ASSERT_EQ(some->size(), 3u);
  EXPECT_EQ(some->front().seq, 4u);
  EXPECT_EQ(some->back().seq, 6u);
  EXPECT_EQ(some->front(), (*all)[3]);
  auto past = c.log->read(11, 5);
  ASSERT_TRUE(past);
  EXPECT_TRUE(past->empty());
  auto t = c.log->tail(3);
  ASSERT_TRUE(t);
  ASSERT_EQ(t->size(), 3u);
  EXPECT_EQ((*t)[0].seq, 8u);
  EXPECT_EQ((*t)[2].seq, 10u);
  auto everything = c.log->tail(50);
  ASSERT_TRUE(everything);
  EXPECT_EQ(everything->size(), 10u);
}

TEST(audit_log, reopening_the_store_continues_the_chain) {
  vigil::test::temp_dir dir;
  std::string head_hash;
  {
    auto db = open_store(dir.str(), true);
    ASSERT_TRUE(db);
    auto log = open_log(*db);
    ASSERT_TRUE(log);
    append_n(*log, 3);
    auto t = log->tail(1);
    ASSERT_TRUE(t && t->size() == 1);
    head_hash = t->front().hash;
  }
  auto db = open_store(dir.str(), true);
  ASSERT_TRUE(db);
  auto log = open_log(*db);
  ASSERT_TRUE(log);
  EXPECT_EQ(log->head_seq(), 3u);
  auto r = log->append(make_entry(4));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->seq, 4u);
  EXPECT_EQ(r->prev_hash, head_hash);
  auto v = log->verify();
  EXPECT_TRUE(v.ok) << v.problem;
  EXPECT_EQ(v.records, 4u);
  EXPECT_EQ(v.head, to_hex(r->hash));
}

TEST(audit_log, an_intact_chain_of_1000_records_verifies) {
  chain c{1000};
  ASSERT_TRUE(c.log);
  auto v = c.log->verify();
  EXPECT_TRUE(v.ok) << v.problem;
  EXPECT_EQ(v.records, 1000u);
  EXPECT_EQ(v.broken_at, 0u);
  EXPECT_TRUE(v.problem.empty());
}

TEST(audit_log, a_changed_field_breaks_the_chain_at_that_record) {
  chain c{10};
  ASSERT_TRUE(c.log);
  auto r = parse(raw_record(*c.db, 5));
  r.status = "succeeded_honestly";
  ASSERT_FALSE(
    c.db->put(column::audit, big_endian_key(5), encode_audit_record(r)));
  auto v = c.log->verify();
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.broken_at, 5u);
  EXPECT_NE(v.problem.find("changed"), std::string::npos) << v.problem;
  EXPECT_EQ(v.records, 10u);
}

TEST(audit_log, a_changed_record_with_a_fresh_hash_breaks_the_next_link) {
  chain c{10};
  ASSERT_TRUE(c.log);
  auto r = parse(raw_record(*c.db, 5));
  r.status = "succeeded_honestly";
  r.hash = audit_hash(r);
  ASSERT_FALSE(
    c.db->put(column::audit, big_endian_key(5), encode_audit_record(r)));
  auto v = c.log->verify();
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.broken_at, 6u);
  EXPECT_NE(v.problem.find("prev_hash"), std::string::npos) << v.problem;
}

TEST(audit_log, a_removed_middle_record_is_reported) {
  chain c{10};
  ASSERT_TRUE(c.log);
  ASSERT_FALSE(c.db->erase(column::audit, big_endian_key(4)));
  auto v = c.log->verify();
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.broken_at, 4u);
  EXPECT_NE(v.problem.find("removed"), std::string::npos) << v.problem;
  EXPECT_EQ(v.records, 9u);
}

TEST(audit_log, a_removed_first_record_is_reported_as_removal_at_the_start) {
  chain c{5};
  ASSERT_TRUE(c.log);
  ASSERT_FALSE(c.db->erase(column::audit, big_endian_key(1)));
  auto v = c.log->verify();
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.broken_at, 1u);
  EXPECT_NE(v.problem.find("start"), std::string::npos) << v.problem;
}

TEST(audit_log, swapped_records_are_reported) {
  chain c{10};
  ASSERT_TRUE(c.log);
  auto a = raw_record(*c.db, 6);
  auto b = raw_record(*c.db, 7);
  ASSERT_FALSE(c.db->put(column::audit, big_endian_key(6), b));
  ASSERT_FALSE(c.db->put(column::audit, big_endian_key(7), a));
  auto v = c.log->verify();
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.broken_at, 6u);
  EXPECT_NE(v.problem.find("reordered"), std::string::npos) << v.problem;
}

TEST(audit_log, swapped_records_with_rewritten_seq_are_reported) {
  // The seq fields follow the keys now, so only the hashes can tell.
  chain c{10};
  ASSERT_TRUE(c.log);
  auto a = parse(raw_record(*c.db, 6));
  auto b = parse(raw_record(*c.db, 7));
  a.seq = 7;
  b.seq = 6;
  ASSERT_FALSE(
    c.db->put(column::audit, big_endian_key(6), encode_audit_record(b)));
  ASSERT_FALSE(
    c.db->put(column::audit, big_endian_key(7), encode_audit_record(a)));
  auto v = c.log->verify();
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.broken_at, 6u);
}

TEST(audit_log, a_removed_last_record_is_caught_by_the_stored_head) {
  chain c{10};
  ASSERT_TRUE(c.log);
  ASSERT_FALSE(c.db->erase(column::audit, big_endian_key(10)));
  auto v = c.log->verify();
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.broken_at, 10u);
  EXPECT_NE(v.problem.find("end"), std::string::npos) << v.problem;
  EXPECT_EQ(v.records, 9u);
}

TEST(audit_log, removing_every_record_is_caught_by_the_stored_head) {
  chain c{3};
  ASSERT_TRUE(c.log);
  for (uint64_t i = 1; i <= 3; ++i)
    ASSERT_FALSE(c.db->erase(column::audit, big_endian_key(i)));
  auto v = c.log->verify();
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.broken_at, 1u);
  EXPECT_EQ(v.records, 0u);
}

TEST(audit_log, a_replaced_last_record_is_caught_by_the_stored_head) {
  chain c{10};
  ASSERT_TRUE(c.log);
  auto r = parse(raw_record(*c.db, 10));
  r.status = "never_ran";
  r.hash = audit_hash(r);
  ASSERT_FALSE(
    c.db->put(column::audit, big_endian_key(10), encode_audit_record(r)));
  auto v = c.log->verify();
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.broken_at, 10u);
  EXPECT_NE(v.problem.find("stored head"), std::string::npos) << v.problem;
}

TEST(audit_log, a_record_added_beyond_the_stored_head_is_reported) {
  chain c{5};
  ASSERT_TRUE(c.log);
  auto last = parse(raw_record(*c.db, 5));
  auto forged = make_entry(6);
  forged.seq = 6;
  forged.ts_ms = last.ts_ms;
  forged.prev_hash = last.hash;
  forged.hash = audit_hash(forged);
  auto r = forged;
  ASSERT_FALSE(
    c.db->put(column::audit, big_endian_key(6), encode_audit_record(r)));
  auto v = c.log->verify();
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.broken_at, 6u);
  EXPECT_NE(v.problem.find("inserted"), std::string::npos) << v.problem;
}

TEST(audit_log, a_missing_stored_head_is_reported) {
  chain c{3};
  ASSERT_TRUE(c.log);
  ASSERT_FALSE(c.db->erase(column::meta, vigil::storage::audit_head_key));
  auto v = c.log->verify();
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.broken_at, 4u);
}

TEST(audit_log, garbage_bytes_are_reported) {
  chain c{10};
  ASSERT_TRUE(c.log);
  ASSERT_FALSE(c.db->put(column::audit, big_endian_key(3),
                         std::string{"\xff\xff\xff"} + " not a record"));
  auto v = c.log->verify();
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.broken_at, 3u);
  EXPECT_NE(v.problem.find("decoded"), std::string::npos) << v.problem;
  auto r = c.log->read(1, 10);
  EXPECT_FALSE(r);
}

TEST(audit_log, an_undecodable_newest_record_still_opens_and_is_reported) {
  chain c{4};
  ASSERT_TRUE(c.log);
  auto head_hash = parse(raw_record(*c.db, 4)).hash;
  ASSERT_FALSE(c.db->put(column::audit, big_endian_key(4), "garbage"));
  auto log = open_log(*c.db);
  ASSERT_TRUE(log);
  EXPECT_EQ(log->head_seq(), 4u);
  auto v = log->verify();
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.broken_at, 4u);
  EXPECT_EQ(v.head, "");
  // The damaged record is kept; new records continue after it, linked to
  // the hash the stored head remembers.
  auto r = log->append(make_entry(5));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->seq, 5u);
  EXPECT_EQ(r->prev_hash, head_hash);
  EXPECT_EQ(raw_record(*c.db, 4), "garbage");
  v = log->verify();
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.broken_at, 4u);
  EXPECT_EQ(v.head, to_hex(r->hash));
}

TEST(audit_log, appending_after_a_cut_off_end_keeps_the_gap_visible) {
  chain c{6};
  ASSERT_TRUE(c.log);
  ASSERT_FALSE(c.db->erase(column::audit, big_endian_key(6)));
  auto log = open_log(*c.db);
  ASSERT_TRUE(log);
  EXPECT_EQ(log->head_seq(), 6u);
  auto r = log->append(make_entry(7));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->seq, 7u);
  auto v = log->verify();
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.broken_at, 6u);
  EXPECT_NE(v.problem.find("removed"), std::string::npos) << v.problem;
}

TEST(audit_log, concurrent_appends_form_one_valid_chain) {
  chain c{0};
  ASSERT_TRUE(c.log);
  constexpr int threads = 4;
  constexpr int per_thread = 50;
  std::vector<std::vector<uint64_t>> seqs(threads);
  std::vector<std::thread> workers;
  workers.reserve(threads);
  for (int t = 0; t < threads; ++t)
    workers.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i) {
        auto x = make_entry(static_cast<uint64_t>(t) * per_thread + i);
        x.actor = "thread-" + std::to_string(t);
        if (auto r = c.log->append(std::move(x)))
          seqs[t].push_back(r->seq);
      }
    });
  for (auto& w : workers)
    w.join();
  std::vector<uint64_t> all;
  for (auto& s : seqs) {
    EXPECT_EQ(s.size(), static_cast<size_t>(per_thread));
    // Each thread sees its own appends in increasing order.
    EXPECT_TRUE(std::is_sorted(s.begin(), s.end()));
    all.insert(all.end(), s.begin(), s.end());
  }
  std::sort(all.begin(), all.end());
  ASSERT_EQ(all.size(), static_cast<size_t>(threads * per_thread));
  for (size_t i = 0; i < all.size(); ++i)
    ASSERT_EQ(all[i], i + 1) << "duplicate or missing seq";
  EXPECT_EQ(c.log->head_seq(), all.size());
  auto v = c.log->verify();
  EXPECT_TRUE(v.ok) << v.problem;
  EXPECT_EQ(v.records, all.size());
}

TEST(audit_log, verify_runs_alongside_appends_without_false_alarms) {
  chain c{20};
  ASSERT_TRUE(c.log);
  std::thread writer{[&] {
    for (uint64_t i = 0; i < 200; ++i)
      if (!c.log->append(make_entry(i)))
        return;
  }};
  for (int i = 0; i < 20; ++i) {
    auto v = c.log->verify();
    EXPECT_TRUE(v.ok) << v.problem;
  }
  writer.join();
  auto v = c.log->verify();
  EXPECT_TRUE(v.ok) << v.problem;
  EXPECT_EQ(v.records, 220u);
}

} // namespace
