#include "actors/notifier/outbox.hpp"

#include <cstdlib>
#include <string_view>

#include "messages/errc.hpp"
#include "messages/proto/store.pb.h"

namespace vigil::notifier {

namespace {

std::string encode(const outbox_entry& e) {
  vigil::store::outbox_record r;
  r.set_seq(e.seq);
  r.set_receiver(e.receiver);
  r.set_event(std::string{to_string(e.note.event)});
  r.set_dedup_key(e.note.dedup_key);
  r.set_incident(e.note.incident);
  r.set_severity(e.note.severity);
  r.set_status(e.note.status);
  r.set_type(e.note.type);
  r.set_title(e.note.title);
  r.set_service(e.note.service);
  r.set_text(e.note.text);
  r.set_ts_ms(e.note.ts_ms);
  r.set_attempts(e.attempts);
  r.set_next_ms(e.next_ms);
  r.set_last_error(e.last_error);
  return r.SerializeAsString();
}

bool decode(std::string_view bytes, outbox_entry& e) {
  vigil::store::outbox_record r;
  if (!r.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))
      || r.seq() == 0 || r.receiver().empty())
    return false;
  static constexpr event_kind kinds[]
    = {event_kind::opened, event_kind::escalated, event_kind::action,
       event_kind::acknowledged, event_kind::resolved};
  bool known = false;
  for (auto k : kinds)
    if (to_string(k) == r.event()) {
      e.note.event = k;
      known = true;
    }
  if (!known)
    return false;
  e.seq = r.seq();
  e.receiver = r.receiver();
  e.note.dedup_key = r.dedup_key();
  e.note.incident = r.incident();
  e.note.severity = r.severity();
  e.note.status = r.status();
  e.note.type = r.type();
  e.note.title = r.title();
  e.note.service = r.service();
  e.note.text = r.text();
  e.note.ts_ms = r.ts_ms();
  e.attempts = r.attempts();
  e.next_ms = r.next_ms();
  e.last_error = r.last_error();
  return true;
}

constexpr std::string_view mark_prefix = "notice/";

} // namespace

outbox::outbox(std::shared_ptr<storage::store> db, uint32_t max_entries)
  : db_(std::move(db)), max_(max_entries) {
}

caf::expected<uint64_t> outbox::load() {
  uint64_t bad = 0;
  if (!db_)
    return bad;
  std::vector<std::string> unreadable;
  auto err = db_->scan(storage::column::outbox, "",
                       [&](std::string_view key, std::string_view value) {
                         outbox_entry e;
                         if (!decode(value, e)) {
                           unreadable.emplace_back(key);
                           return true;
                         }
                         next_seq_ = std::max(next_seq_, e.seq + 1);
                         by_receiver_[e.receiver].insert(e.seq);
                         entries_[e.seq] = std::move(e);
                         return true;
                       });
  if (err)
    return err;
  err = db_->scan(storage::column::meta, mark_prefix,
                  [&](std::string_view key, std::string_view value) {
                    marks_[std::string{key.substr(mark_prefix.size())}]
                      = std::strtoll(std::string{value}.c_str(), nullptr, 10);
                    return true;
                  });
  if (err)
    return err;
  for (const auto& key : unreadable) {
    ++bad;
    (void) db_->erase(storage::column::outbox, key);
  }
  return bad;
}

void outbox::put(const outbox_entry& e, storage::write_batch& b) const {
  b.put(storage::column::outbox, storage::big_endian_key(e.seq), encode(e));
}

caf::error
outbox::add(const std::vector<std::pair<std::string, notification>>& xs,
            uint64_t& dropped, const std::string& mark,
            int64_t now_ms) {
  dropped = 0;
  if (xs.empty() && mark.empty())
    return {};
  storage::write_batch b;
  std::vector<outbox_entry> fresh;
  for (const auto& [receiver, note] : xs) {
    outbox_entry e;
    e.seq = next_seq_++;
    e.receiver = receiver;
    e.note = note;
    put(e, b);
    fresh.push_back(std::move(e));
  }
  // Over the bound: the oldest go, in the same atomic write.
  std::vector<uint64_t> evict;
  for (auto it = entries_.begin();
       it != entries_.end()
       && entries_.size() + fresh.size() - evict.size() > max_;
       ++it)
    evict.push_back(it->first);
  for (auto seq : evict)
    b.erase(storage::column::outbox, storage::big_endian_key(seq));
  // Last in the batch: a copy that holds the mark holds the entries too.
  if (!mark.empty())
    b.put(storage::column::meta, std::string{mark_prefix} + mark,
          std::to_string(now_ms));
  if (db_)
    if (auto err = db_->write(b, true)) {
      next_seq_ -= fresh.size();
      return err;
    }
  for (auto seq : evict)
    remove(seq);
  dropped = evict.size();
  for (auto& e : fresh) {
    by_receiver_[e.receiver].insert(e.seq);
    auto seq = e.seq;
    entries_[seq] = std::move(e);
  }
  if (!mark.empty())
    marks_[mark] = now_ms;
  return {};
}

size_t outbox::forget_marks_before(int64_t ms) {
  storage::write_batch b;
  size_t n = 0;
  for (auto it = marks_.begin(); it != marks_.end();) {
    if (it->second < ms) {
      b.erase(storage::column::meta, std::string{mark_prefix} + it->first);
      it = marks_.erase(it);
      ++n;
    } else {
      ++it;
    }
  }
  if (n > 0 && db_)
    (void) db_->write(b);
  return n;
}

outbox_entry* outbox::head(const std::string& receiver) {
  auto it = by_receiver_.find(receiver);
  if (it == by_receiver_.end() || it->second.empty())
    return nullptr;
  return &entries_.at(*it->second.begin());
}

void outbox::remove(uint64_t seq) {
  auto it = entries_.find(seq);
  if (it == entries_.end())
    return;
  by_receiver_[it->second.receiver].erase(seq);
  entries_.erase(it);
  // Not synced: losing this erase in a crash means one duplicate delivery
  // with the same dedup key, never a lost one.
  if (db_)
    (void) db_->erase(storage::column::outbox, storage::big_endian_key(seq));
}

void outbox::retry(uint64_t seq, int64_t next_ms, std::string error) {
  auto it = entries_.find(seq);
  if (it == entries_.end())
    return;
  auto& e = it->second;
  ++e.attempts;
  e.next_ms = next_ms;
  e.last_error = std::move(error);
  if (db_) {
    storage::write_batch b;
    put(e, b);
    (void) db_->write(b);
  }
}

size_t outbox::pending(const std::string& receiver) const {
  auto it = by_receiver_.find(receiver);
  return it == by_receiver_.end() ? 0 : it->second.size();
}

} // namespace vigil::notifier
