#pragma once

// The audit log: append-only, hash-chained records in the store's `audit`
// column. Every record carries the SHA-256 of its predecessor, so a changed,
// removed or reordered record breaks the chain at a point `verify` names.
// Written before an action runs and after it ends (ARCHITECTURE principle 5).
//
// The hash of a record is SHA-256(prev_hash || audit_encoding(record)); the
// encoding is our own, not the protobuf bytes, so it cannot drift with a
// protobuf version: a version tag, then every field but the two hashes in
// declaration order, integers as 8 big-endian bytes, strings as an 8-byte
// big-endian length followed by the bytes. Record 1 links to 32 zero bytes.
//
// The chain alone cannot show that its newest records were cut off, so every
// append also writes the head (seq and hash) to `column::meta` under
// `audit_head_key`, in the same atomic, fsynced batch as the record. `verify`
// compares the end of the chain with that stored head, which catches removal
// of the last records, replacement of the last record and records added
// after the head. Someone who can rewrite the store can still recompute every
// hash from the changed record on and rewrite the head; a chain without an
// outside anchor only makes tampering visible to those who cannot.
//
// `open` takes as head the newest record in the column. When that record
// cannot be decoded, the head is its key (so the damaged record is never
// overwritten) with the stored head's hash if the stored head names that key,
// else 32 zero bytes; `verify` reports the damage either way. When the stored
// head is newer than the newest record (records were cut off), the stored
// head wins, so new records continue after the missing ones and the gap stays
// visible instead of being papered over by reused sequence numbers.

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <caf/expected.hpp>

#include "runtime/storage/store.hpp"

namespace vigil::storage {

/// One audit entry as written by callers; seq, hashes and (when 0) the
/// timestamp are filled in by `audit_log::append`.
struct audit_entry {
  uint64_t seq = 0;
  /// Wall clock, Unix milliseconds.
  int64_t ts_ms = 0;
  std::string kind;
  std::string actor;
  uint64_t incident_id = 0;
  uint64_t action_id = 0;
  std::string playbook;
  std::string playbook_version;
  std::string step;
  std::string service;
  std::string action;
  std::string status;
  std::string detail;
  /// 32 raw bytes each.
  std::string prev_hash;
  std::string hash;
  friend bool operator==(const audit_entry&, const audit_entry&) = default;
};

/// The outcome of checking the chain.
struct audit_verdict {
  bool ok = true;
  /// Records checked.
  uint64_t records = 0;
  /// The first sequence number where the chain breaks (0 when ok).
  uint64_t broken_at = 0;
  /// What is wrong there, e.g. "record 7: hash does not match its content".
  std::string problem;
  /// Hex SHA-256 of the newest record (the chain head); empty when empty.
  std::string head;
};

/// Appends to and reads the chain. Thread-safe; one instance per store.
class audit_log {
public:
  /// Opens the chain in `db`, reading its head. The store must outlive this.
  static caf::expected<std::unique_ptr<audit_log>> open(store& db);

  /// Appends `x` durably (fsynced) and returns it as stored (seq, hashes).
  caf::expected<audit_entry> append(audit_entry x);

  /// Records with seq >= `since_seq`, oldest first, at most `limit`.
  caf::expected<std::vector<audit_entry>> read(uint64_t since_seq,
                                               size_t limit) const;

  /// The newest `limit` records, oldest first.
  caf::expected<std::vector<audit_entry>> tail(size_t limit) const;

  /// Walks the whole chain: every seq present and consecutive from 1,
  /// every prev_hash equal to its predecessor's hash, every hash equal to
  /// the recomputed one.
  /// Also checks the chain's end against the stored head. Reports the first
  /// break; `records` counts every key in the column. Does not block
  /// `append`. A storage error gives `ok == false` with `broken_at == 0`.
  audit_verdict verify() const;

  /// Sequence number of the newest record; 0 when empty.
  uint64_t head_seq() const;

  /// Reads the head again: records were written into the store by someone
  /// else (replicated from the cluster's previous control node).
  [[nodiscard]] caf::error reload();

private:
  explicit audit_log(store& db) : db_(db) {}
  caf::error read_head();
  store& db_;
  mutable std::mutex mtx_;
  uint64_t head_seq_ = 0;
  std::string head_hash_;
};

/// SHA-256 of the canonical encoding of every field of `x` but `hash`
/// (32 raw bytes).
std::string audit_hash(const audit_entry& x);

/// The stored form of `x` (proto audit_record).
std::string encode_audit_record(const audit_entry& x);

/// Reads a stored record; false when `bytes` is not one or its hashes are
/// not SHA-256 sized.
bool decode_audit_record(std::string_view bytes, audit_entry& x);

/// Lower-case hex of `bytes`.
std::string to_hex(std::string_view bytes);

/// The canonical bytes of every field of `x` but `prev_hash` and `hash`
/// (the input of `audit_hash` after the 32-byte `prev_hash`).
std::string audit_encoding(const audit_entry& x);

/// SHA-256 of `bytes` (32 raw bytes).
std::string sha256(std::string_view bytes);

/// Key in `column::meta` of the chain head: 8-byte big-endian seq followed
/// by the 32-byte hash of that record.
constexpr std::string_view audit_head_key = "audit.head";

} // namespace vigil::storage
