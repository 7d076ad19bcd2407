#pragma once

// The outbox: notifications not yet delivered, one entry per receiver, in
// the store's `outbox` column. An entry is written (fsynced) before the
// notifier acknowledges it and erased only after its receiver took it, so
// a crash or a receiver that is down loses nothing; entries of one
// receiver leave in order (a trigger never overtakes its resolve).
//
// A notice that names itself (incident_notice::key) leaves a mark in the
// `meta` column, written in the same batch as its entries: the same notice
// said again (by an engine reading its audit log back after a restart or a
// failover) finds the mark and is not stored twice. The notifier forgets
// marks after a week.

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <caf/expected.hpp>

#include "actors/notifier/formats.hpp"
#include "runtime/storage/store.hpp"

namespace vigil::notifier {

/// One undelivered notification for one receiver.
struct outbox_entry {
  uint64_t seq = 0;
  std::string receiver;
  notification note;
  uint32_t attempts = 0;
  /// Wall clock of the next attempt (0 = now).
  int64_t next_ms = 0;
  std::string last_error;
};

/// The entries, indexed by receiver. Not thread-safe (one actor owns it).
class outbox {
public:
  /// `db` may be null (nothing survives a restart then).
  outbox(std::shared_ptr<storage::store> db, uint32_t max_entries);

  /// Reads every stored entry (after a restart); unreadable ones are
  /// dropped and counted in the result.
  caf::expected<uint64_t> load();

  /// Adds one entry per (receiver, notification), durably and atomically;
  /// when full, the oldest entries are dropped first (their count is
  /// returned in `dropped`).
  /// A non-empty `mark` is stored with them (at `now_ms`), even when `xs`
  /// is empty (a notice no receiver wants is still said).
  caf::error add(const std::vector<std::pair<std::string, notification>>& xs,
                 uint64_t& dropped, const std::string& mark = {},
                 int64_t now_ms = 0);

  /// Whether a notice with this key was stored (and not forgotten).
  bool marked(const std::string& mark) const { return marks_.count(mark) > 0; }

  /// Forgets the marks stored before `ms`; returns how many.
  size_t forget_marks_before(int64_t ms);

  /// Marks held.
  size_t marks() const { return marks_.size(); }

  /// The oldest entry of `receiver`, or null.
  outbox_entry* head(const std::string& receiver);

  /// The oldest entries of `receiver`, in order, while they are due at
  /// `now_ms` and `pred` holds, at most `max`.
  template <class Pred>
  std::vector<outbox_entry*> run_from_head(const std::string& receiver,
                                           int64_t now_ms, size_t max,
                                           Pred pred) {
    std::vector<outbox_entry*> out;
    auto it = by_receiver_.find(receiver);
    if (it == by_receiver_.end())
      return out;
    for (auto seq : it->second) {
      auto& e = entries_.at(seq);
      if (out.size() >= max || e.next_ms > now_ms || !pred(e))
        break;
      out.push_back(&e);
    }
    return out;
  }

  /// Removes a delivered (or given-up) entry.
  void remove(uint64_t seq);

  /// Records a failed attempt; the entry is tried again at `next_ms`.
  void retry(uint64_t seq, int64_t next_ms, std::string error);

  size_t size() const { return entries_.size(); }
  /// The seq the next added entry gets.
  uint64_t next_seq() const { return next_seq_; }
  /// Entries waiting for `receiver`.
  size_t pending(const std::string& receiver) const;

private:
  void put(const outbox_entry& e, storage::write_batch& b) const;

  std::shared_ptr<storage::store> db_;
  uint32_t max_;
  uint64_t next_seq_ = 1;
  std::map<uint64_t, outbox_entry> entries_;
  std::map<std::string, std::set<uint64_t>> by_receiver_;
  /// Notice keys and when each was stored.
  std::map<std::string, int64_t> marks_;
};

} // namespace vigil::notifier
