#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <caf/expected.hpp>

namespace rocksdb {
class DB;
class ColumnFamilyHandle;
class WriteBatch;
} // namespace rocksdb

namespace vigil::storage {

/// The record kinds, one RocksDB column family each. Append-only: the names
/// are on disk.
enum class column : uint8_t {
  /// Node identity and schema version.
  meta = 0,
  /// Known services: service name -> proto service_record.
  services,
  /// Detector state: service name -> proto detector_snapshot.
  snapshots,
  /// Recent anomalies: big-endian sequence number -> proto anomaly_record.
  anomalies,
  /// Incidents: big-endian incident id -> proto incident_record.
  incidents,
  /// Silences and maintenance windows: id -> proto silence_record.
  silences,
  /// The hash-chained audit log: big-endian sequence -> proto audit_record.
  audit,
  /// Actions waiting for a human: big-endian action id -> proto
  /// action_record.
  approvals,
  /// Notifications not yet delivered: big-endian sequence -> proto
  /// outbox_record.
  outbox,
};

/// Number of `column` values.
constexpr size_t column_count = 9;

/// Returns the column family name of `c` ("meta", "services", ...).
const char* to_string(column c);

/// Tuning of the store.
struct store_options {
  /// fsync the WAL on every write marked durable. Default: true.
  bool sync_durable_writes = true;
  /// Size of the shared block cache in bytes. Default: 32 MiB.
  uint64_t block_cache_bytes = 32ull << 20;
};

/// Writes applied atomically by `store::write`.
class write_batch {
public:
  write_batch();
  ~write_batch();
  write_batch(write_batch&&) noexcept;
  write_batch& operator=(write_batch&&) noexcept;

  /// Adds a put of `key` -> `value` in `c`.
  void put(column c, std::string_view key, std::string_view value);
  /// Adds a delete of `key` in `c`.
  void erase(column c, std::string_view key);
  /// Number of operations added.
  size_t size() const { return size_; }

private:
  friend class store;
  struct op {
    column c;
    bool is_put;
    std::string key;
    std::string value;
  };
  std::vector<op> ops_;
  size_t size_ = 0;
};

/// RocksDB behind one column family per record kind. Thread-safe: any actor
/// may call any member concurrently. Errors come back as
/// `errc::storage_failure` with RocksDB's message.
class store {
public:
  /// Opens (creating if needed) the store in directory `dir`. Fails when
  /// another process holds the directory.
  static caf::expected<std::unique_ptr<store>> open(const std::string& dir,
                                                    store_options opts = {});

  ~store();
  store(const store&) = delete;
  store& operator=(const store&) = delete;

  /// Writes `key` -> `value`; `durable` writes are fsynced (when configured)
  /// before returning.
  [[nodiscard]] caf::error put(column c, std::string_view key,
                               std::string_view value, bool durable = false);

  /// Reads `key`; an empty optional when absent.
  caf::expected<std::optional<std::string>> get(column c,
                                                std::string_view key) const;

  /// Deletes `key` (no error when absent).
  [[nodiscard]] caf::error erase(column c, std::string_view key,
                                 bool durable = false);

  /// Applies every operation of `batch` atomically.
  [[nodiscard]] caf::error write(write_batch& batch, bool durable = false);

  /// Calls `fn` for every key starting with `prefix`, in key order (or
  /// reverse order), until `fn` returns false.
  [[nodiscard]] caf::error
  scan(column c, std::string_view prefix,
       const std::function<bool(std::string_view key, std::string_view value)>&
         fn,
       bool reverse = false) const;

  /// Deletes every key in [from, to).
  [[nodiscard]] caf::error erase_range(column c, std::string_view from,
                                       std::string_view to);

  /// Flushes memtables to SST files (used at shutdown).
  [[nodiscard]] caf::error flush();

  /// Approximate number of keys in `c`.
  uint64_t approximate_keys(column c) const;

  /// The directory the store lives in.
  const std::string& path() const { return path_; }

  /// What an observed write did.
  enum class op_kind : uint8_t { put = 0, erase = 1, erase_range = 2 };
  /// Called after every successful write (put: key -> value; erase: key;
  /// erase_range: [key, value)), in the writer's thread. The cluster layer
  /// ships the control node's durable records and every node's detector
  /// snapshots to the other members. Set once, before any actor writes.
  using observer = std::function<void(column c, op_kind kind,
                                      std::string_view key,
                                      std::string_view value)>;
  void set_observer(observer fn) { observer_ = std::move(fn); }

  /// Applies `batch` without telling the observer: writes replicated from
  /// another node.
  [[nodiscard]] caf::error apply(write_batch& batch, bool durable = false);

private:
  store() = default;
  rocksdb::ColumnFamilyHandle* cf(column c) const;

  std::string path_;
  store_options opts_;
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_; // owned; all CFs
  std::vector<rocksdb::ColumnFamilyHandle*> by_column_; // index = column
  observer observer_;
};

/// Whether writes to `c` are the control node's durable records, which the
/// cluster replicates (incidents, silences, audit, approvals, outbox,
/// anomalies and the meta keys beside them); detector state and the service
/// list stay with the node owning the shard.
bool replicated(column c);

/// Encodes `x` as 8 big-endian bytes, so keys sort numerically.
std::string big_endian_key(uint64_t x);

/// Decodes a key written by `big_endian_key`; 0 when `key` is too short.
uint64_t from_big_endian_key(std::string_view key);

} // namespace vigil::storage
