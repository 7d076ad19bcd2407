#include "runtime/storage/audit_log.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <openssl/evp.h>

#include <caf/error.hpp>

#include "messages/errc.hpp"
#include "messages/proto/store.pb.h"
#include "runtime/clock.hpp"

namespace vigil::storage {

namespace {

namespace pb = ::vigil::store;

constexpr size_t hash_size = 32;

// Leads every canonical encoding. A new encoding needs a new tag so that a
// record hashed one way can never verify as if it were hashed the other way.
constexpr std::string_view encoding_tag = "vigil.audit.v1";

void put_u64(std::string& out, uint64_t x) {
  for (int shift = 56; shift >= 0; shift -= 8)
    out.push_back(static_cast<char>((x >> shift) & 0xff));
}

// The length prefix is what keeps ("ab", "c") and ("a", "bc") apart.
void put_bytes(std::string& out, std::string_view x) {
  put_u64(out, x.size());
  out.append(x);
}

/// The head as kept in `column::meta`.
struct stored_head {
  uint64_t seq = 0;
  std::string hash;
};

std::string encode_head(uint64_t seq, std::string_view hash) {
  auto out = big_endian_key(seq);
  out.append(hash);
  return out;
}

/// What `column::meta` holds under `audit_head_key`.
struct head_lookup {
  /// Whether the key exists at all.
  bool present = false;
  /// The decoded head; empty when absent or malformed.
  std::optional<stored_head> head;
};

caf::expected<head_lookup> load_head(const store& db) {
  auto value = db.get(column::meta, audit_head_key);
  if (!value)
    return value.error();
  head_lookup result;
  if (!*value)
    return result;
  result.present = true;
  auto& bytes = **value;
  if (bytes.size() == 8 + hash_size)
    result.head = stored_head{from_big_endian_key(bytes), bytes.substr(8)};
  return result;
}

std::string range_text(uint64_t from, uint64_t to) {
  if (from == to)
    return "record " + std::to_string(from) + " is";
  return "records " + std::to_string(from) + " to " + std::to_string(to)
         + " are";
}

} // namespace

std::string encode_audit_record(const audit_entry& x) {
  pb::audit_record r;
  r.set_seq(x.seq);
  r.set_ts_ms(x.ts_ms);
  r.set_kind(x.kind);
  r.set_actor(x.actor);
  r.set_incident_id(x.incident_id);
  r.set_action_id(x.action_id);
  r.set_playbook(x.playbook);
  r.set_playbook_version(x.playbook_version);
  r.set_step(x.step);
  r.set_service(x.service);
  r.set_action(x.action);
  r.set_status(x.status);
  r.set_detail(x.detail);
  r.set_prev_hash(x.prev_hash);
  r.set_hash(x.hash);
  return r.SerializeAsString();
}

// False when `bytes` is not a protobuf audit_record or its hashes do not
// have the size of a SHA-256 (protobuf accepts a lot of random input).
bool decode_audit_record(std::string_view bytes, audit_entry& x) {
  pb::audit_record r;
  if (!r.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
    return false;
  if (r.prev_hash().size() != hash_size || r.hash().size() != hash_size)
    return false;
  x.seq = r.seq();
  x.ts_ms = r.ts_ms();
  x.kind = r.kind();
  x.actor = r.actor();
  x.incident_id = r.incident_id();
  x.action_id = r.action_id();
  x.playbook = r.playbook();
  x.playbook_version = r.playbook_version();
  x.step = r.step();
  x.service = r.service();
  x.action = r.action();
  x.status = r.status();
  x.detail = r.detail();
  x.prev_hash = r.prev_hash();
  x.hash = r.hash();
  return true;
}


caf::expected<std::unique_ptr<audit_log>> audit_log::open(store& db) {
  std::unique_ptr<audit_log> log{new audit_log(db)};
  if (auto err = log->read_head())
    return err;
  return log;
}

caf::error audit_log::reload() {
  std::lock_guard<std::mutex> guard{mtx_};
  return read_head();
}

caf::error audit_log::read_head() {
  auto& db = db_;
  auto* log = this;
  log->head_seq_ = 0;
  log->head_hash_.assign(hash_size, '\0');
  std::optional<std::pair<std::string, std::string>> newest;
  auto err = db.scan(
    column::audit, "",
    [&](std::string_view key, std::string_view value) {
      newest.emplace(key, value);
      return false;
    },
    true);
  if (err)
    return err;
  auto stored = load_head(db);
  if (!stored)
    return stored.error();
  auto& head = stored->head;
  if (newest) {
    auto key_seq = from_big_endian_key(newest->first);
    audit_entry x;
    if (decode_audit_record(newest->second, x) && x.seq == key_seq) {
      log->head_seq_ = x.seq;
      log->head_hash_ = std::move(x.hash);
    } else {
      // Never reuse the damaged record's key: its bytes are evidence.
      log->head_seq_ = key_seq;
      if (head && head->seq == key_seq)
        log->head_hash_ = head->hash;
    }
  }
  // A stored head beyond the newest record means records were cut off at the
  // end; continuing after it keeps the gap visible to `verify`.
  if (head && head->seq > log->head_seq_) {
    log->head_seq_ = head->seq;
    log->head_hash_ = head->hash;
  }
  return {};
}

caf::expected<audit_entry> audit_log::append(audit_entry x) {
  std::lock_guard<std::mutex> guard{mtx_};
  if (head_seq_ == std::numeric_limits<uint64_t>::max())
    return caf::make_error(errc::internal, "audit log sequence exhausted");
  x.seq = head_seq_ + 1;
  if (x.ts_ms == 0)
    x.ts_ms = wall_ms();
  x.prev_hash = head_hash_;
  x.hash = audit_hash(x);
  // Record and head in one atomic batch: after a crash either both are there
  // or neither, so the stored head never disagrees with an intact chain.
  write_batch batch;
  batch.put(column::audit, big_endian_key(x.seq), encode_audit_record(x));
  batch.put(column::meta, audit_head_key, encode_head(x.seq, x.hash));
  if (auto err = db_.write(batch, true))
    return err;
  // Only now: a failed write must not leave a hole in the sequence.
  head_seq_ = x.seq;
  head_hash_ = x.hash;
  return x;
}

caf::expected<std::vector<audit_entry>> audit_log::read(uint64_t since_seq,
                                                        size_t limit) const {
  auto head = head_seq();
  since_seq = std::max<uint64_t>(since_seq, 1);
  std::vector<audit_entry> result;
  if (since_seq > head || limit == 0)
    return result;
  // Point lookups over [since_seq, since_seq + n): keys are the sequence
  // numbers, so no scan from the start is needed. A missing record (only
  // after tampering) yields fewer results; `verify` is what reports it.
  auto n = std::min<uint64_t>(head - since_seq + 1, limit);
  result.reserve(static_cast<size_t>(std::min<uint64_t>(n, 1024)));
  for (uint64_t seq = since_seq; seq - since_seq < n; ++seq) {
    auto value = db_.get(column::audit, big_endian_key(seq));
    if (!value)
      return value.error();
    if (!*value)
      continue;
    audit_entry x;
    if (!decode_audit_record(**value, x))
      return caf::make_error(errc::malformed, "audit record "
                                                + std::to_string(seq)
                                                + " cannot be decoded");
    result.push_back(std::move(x));
  }
  return result;
}

caf::expected<std::vector<audit_entry>> audit_log::tail(size_t limit) const {
  auto head = head_seq();
  if (head == 0 || limit == 0)
    return std::vector<audit_entry>{};
  auto since = head >= limit ? head - limit + 1 : 1;
  return read(since, limit);
}

audit_verdict audit_log::verify() const {
  audit_verdict v;
  auto fail_at = [&v](uint64_t seq, std::string problem) {
    if (!v.ok)
      return;
    v.ok = false;
    v.broken_at = seq;
    v.problem = std::move(problem);
  };
  auto storage_failure = [&v](const char* what, const caf::error& err) {
    v = audit_verdict{};
    v.ok = false;
    v.problem = std::string{what} + ": " + render(err);
    return v;
  };
  // No lock: appends go on while we walk. The head read before the walk
  // names records that must all be in it (catches cut-off ends); the head
  // read after the walk is at least as new as anything the walk saw (catches
  // records added behind the log's back).
  auto before = load_head(db_);
  if (!before)
    return storage_failure("cannot read the stored head", before.error());
  const uint64_t before_seq = before->head ? before->head->seq : 0;
  std::optional<std::string> hash_at_before;
  std::string prev_hash(hash_size, '\0');
  uint64_t expected = 1;
  uint64_t last_seq = 0;
  std::string last_hash;
  auto err = db_.scan(
    column::audit, "", [&](std::string_view key, std::string_view value) {
      ++v.records;
      auto seq = from_big_endian_key(key);
      last_seq = seq;
      audit_entry x;
      bool decoded = decode_audit_record(value, x);
      last_hash = decoded ? x.hash : std::string{};
      // After the first break keep counting, but every later check would
      // only echo it.
      if (!v.ok)
        return true;
      auto n = std::to_string(seq);
      if (key.size() != 8) {
        fail_at(expected, "a key of " + std::to_string(key.size())
                            + " bytes follows record "
                            + std::to_string(expected - 1)
                            + ": not a sequence number, inserted");
        return true;
      }
      if (seq != expected) {
        fail_at(expected,
                range_text(expected, seq - 1) + " missing"
                  + (expected == 1 ? " at the start of the chain" : "")
                  + ": removed");
        return true;
      }
      if (!decoded) {
        fail_at(seq, "record " + n + " cannot be decoded as an audit record");
        return true;
      }
      if (x.seq != seq) {
        fail_at(seq, "key " + n + " holds record " + std::to_string(x.seq)
                       + ": records were moved or reordered");
        return true;
      }
      if (audit_hash(x) != x.hash) {
        fail_at(seq, "record " + n + ": hash does not match its content, "
                       + "the record was changed");
        return true;
      }
      if (x.prev_hash != prev_hash) {
        fail_at(seq, "record " + n + ": prev_hash does not match the hash "
                       + "of record " + std::to_string(seq - 1)
                       + ", a record before it was changed, removed, "
                       + "inserted or reordered");
        return true;
      }
      if (seq == before_seq)
        hash_at_before = x.hash;
      prev_hash = std::move(x.hash);
      expected = seq + 1;
      return true;
    });
  if (err)
    return storage_failure("cannot scan the audit column", err);
  v.head = to_hex(last_hash);
  auto after = load_head(db_);
  if (!after)
    return storage_failure("cannot read the stored head", after.error());
  if (!v.ok)
    return v;
  auto end = std::to_string(last_seq);
  if ((before->present && !before->head) || (after->present && !after->head))
    fail_at(last_seq + 1, "the stored head (meta " + std::string{audit_head_key}
                            + ") is malformed");
  else if (before_seq > last_seq && v.records == 0)
    fail_at(1, "the chain is empty but the stored head names record "
                 + std::to_string(before_seq) + ": every record was removed");
  else if (before_seq > last_seq)
    fail_at(last_seq + 1, range_text(last_seq + 1, before_seq)
                            + " missing at the end "
                            + "(the stored head names record "
                            + std::to_string(before_seq) + "): removed");
  else if (before_seq > 0 && hash_at_before != before->head->hash)
    fail_at(before_seq, "record " + std::to_string(before_seq)
                          + " does not match the stored head: replaced");
  else if (v.records > 0 && !after->present)
    fail_at(last_seq + 1, "the stored head is missing: records removed after "
                          "record "
                            + end + " would go unnoticed");
  else if (after->head && after->head->seq < last_seq)
    fail_at(after->head->seq + 1,
            range_text(after->head->seq + 1, last_seq)
              + " beyond the stored head: inserted outside the log");
  else if (after->head && after->head->seq == last_seq
           && after->head->hash != prev_hash)
    fail_at(last_seq,
            "record " + end + " does not match the stored head: replaced");
  return v;
}

uint64_t audit_log::head_seq() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return head_seq_;
}

std::string audit_encoding(const audit_entry& x) {
  std::string out;
  // Four integers and ten length prefixes (the tag's included).
  constexpr size_t fixed_bytes = size_t{14} * 8;
  out.reserve(fixed_bytes + encoding_tag.size() + x.kind.size() + x.actor.size()
              + x.playbook.size() + x.playbook_version.size() + x.step.size()
              + x.service.size() + x.action.size() + x.status.size()
              + x.detail.size());
  put_bytes(out, encoding_tag);
  put_u64(out, x.seq);
  put_u64(out, static_cast<uint64_t>(x.ts_ms));
  put_bytes(out, x.kind);
  put_bytes(out, x.actor);
  put_u64(out, x.incident_id);
  put_u64(out, x.action_id);
  put_bytes(out, x.playbook);
  put_bytes(out, x.playbook_version);
  put_bytes(out, x.step);
  put_bytes(out, x.service);
  put_bytes(out, x.action);
  put_bytes(out, x.status);
  put_bytes(out, x.detail);
  return out;
}

std::string audit_hash(const audit_entry& x) {
  auto input = x.prev_hash;
  input += audit_encoding(x);
  return sha256(input);
}

std::string sha256(std::string_view bytes) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  // Fails only without memory or without a usable SHA-256 provider; an
  // audit log that cannot hash must not go on writing unchained records.
  if (EVP_Digest(bytes.data(), bytes.size(), md, &n, EVP_sha256(), nullptr) != 1
      || n != hash_size) {
    std::fputs("vigil: SHA-256 unavailable (OpenSSL EVP_Digest failed)\n",
               stderr);
    std::abort();
  }
  return std::string{reinterpret_cast<const char*>(md), n};
}

std::string to_hex(std::string_view bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (auto c : bytes) {
    auto b = static_cast<unsigned char>(c);
    out.push_back(digits[b >> 4]);
    out.push_back(digits[b & 0x0f]);
  }
  return out;
}

} // namespace vigil::storage
