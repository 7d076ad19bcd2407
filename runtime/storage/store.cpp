#include "runtime/storage/store.hpp"

#include <filesystem>

#include <caf/error.hpp>
#include <caf/sec.hpp>
#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include "messages/errc.hpp"

namespace vigil::storage {

namespace {

caf::error fail(const rocksdb::Status& st, std::string what) {
  return caf::make_error(errc::storage_failure, std::move(what),
                         st.ToString());
}

rocksdb::Slice slice(std::string_view x) {
  return {x.data(), x.size()};
}

std::string_view view(const rocksdb::Slice& x) {
  return {x.data(), x.size()};
}

} // namespace

const char* to_string(column c) {
  switch (c) {
    case column::meta:
      return "meta";
    case column::services:
      return "services";
    case column::snapshots:
      return "snapshots";
    case column::anomalies:
      return "anomalies";
    case column::incidents:
      return "incidents";
    case column::silences:
      return "silences";
    case column::audit:
      return "audit";
    case column::approvals:
      return "approvals";
    case column::outbox:
      return "outbox";
  }
  return "unknown";
}

write_batch::write_batch() = default;
write_batch::~write_batch() = default;
write_batch::write_batch(write_batch&&) noexcept = default;
write_batch& write_batch::operator=(write_batch&&) noexcept = default;

void write_batch::put(column c, std::string_view key, std::string_view value) {
  ops_.push_back({c, true, std::string{key}, std::string{value}});
  ++size_;
}

void write_batch::erase(column c, std::string_view key) {
  ops_.push_back({c, false, std::string{key}, {}});
  ++size_;
}

caf::expected<std::unique_ptr<store>> store::open(const std::string& dir,
                                                  store_options opts) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec)
    return caf::make_error(errc::storage_failure,
                           "cannot create data dir " + dir, ec.message());
  auto path = (std::filesystem::path{dir} / "db").string();
  rocksdb::Options db_opts;
  db_opts.create_if_missing = true;
  db_opts.create_missing_column_families = true;
  db_opts.max_background_jobs = 2;
  db_opts.keep_log_file_num = 3;
  db_opts.max_log_file_size = 8 << 20;
  // A crash may leave a torn last WAL record; RocksDB drops it and opens.
  db_opts.wal_recovery_mode = rocksdb::WALRecoveryMode::kPointInTimeRecovery;
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = rocksdb::NewLRUCache(opts.block_cache_bytes);
  rocksdb::ColumnFamilyOptions cf_opts;
  cf_opts.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  cf_opts.compression = rocksdb::kSnappyCompression;
  // Every family that exists on disk must be opened, including ones a newer
  // version created; ours are added when missing.
  std::vector<std::string> names;
  auto st = rocksdb::DB::ListColumnFamilies(db_opts, path, &names);
  if (!st.ok())
    names = {rocksdb::kDefaultColumnFamilyName};
  for (size_t i = 0; i < column_count; ++i) {
    std::string name = to_string(static_cast<column>(i));
    if (std::find(names.begin(), names.end(), name) == names.end())
      names.push_back(name);
  }
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  descriptors.reserve(names.size());
  for (auto& name : names)
    descriptors.emplace_back(name, cf_opts);
  std::unique_ptr<store> result{new store};
  result->path_ = dir;
  result->opts_ = opts;
  rocksdb::DB* db = nullptr;
  st = rocksdb::DB::Open(db_opts, path, descriptors, &result->handles_, &db);
  if (!st.ok()) {
    if (st.IsIOError() && st.ToString().find("lock") != std::string::npos)
      return fail(st, "data dir " + dir + " is in use by another process");
    return fail(st, "cannot open the store in " + dir);
  }
  result->db_.reset(db);
  result->by_column_.resize(column_count, nullptr);
  for (size_t i = 0; i < names.size(); ++i)
    for (size_t c = 0; c < column_count; ++c)
      if (names[i] == to_string(static_cast<column>(c)))
        result->by_column_[c] = result->handles_[i];
  return result;
}

store::~store() {
  if (db_) {
    for (auto* h : handles_)
      db_->DestroyColumnFamilyHandle(h);
    handles_.clear();
    db_->Close();
  }
}

rocksdb::ColumnFamilyHandle* store::cf(column c) const {
  return by_column_[static_cast<size_t>(c)];
}

caf::error store::put(column c, std::string_view key, std::string_view value,
                      bool durable) {
  rocksdb::WriteOptions wo;
  wo.sync = durable && opts_.sync_durable_writes;
  auto st = db_->Put(wo, cf(c), slice(key), slice(value));
  if (!st.ok())
    return fail(st, std::string{"put in "} + to_string(c));
  if (observer_)
    observer_(c, op_kind::put, key, value);
  return {};
}

caf::expected<std::optional<std::string>> store::get(column c,
                                                     std::string_view key) const {
  std::string value;
  auto st = db_->Get(rocksdb::ReadOptions{}, cf(c), slice(key), &value);
  if (st.IsNotFound())
    return std::optional<std::string>{};
  if (!st.ok())
    return fail(st, std::string{"get from "} + to_string(c));
  return std::optional<std::string>{std::move(value)};
}

caf::error store::erase(column c, std::string_view key, bool durable) {
  rocksdb::WriteOptions wo;
  wo.sync = durable && opts_.sync_durable_writes;
  auto st = db_->Delete(wo, cf(c), slice(key));
  if (!st.ok())
    return fail(st, std::string{"delete in "} + to_string(c));
  if (observer_)
    observer_(c, op_kind::erase, key, {});
  return {};
}

caf::error store::write(write_batch& batch, bool durable) {
  if (auto err = apply(batch, durable))
    return err;
  if (observer_)
    for (auto& op : batch.ops_)
      observer_(op.c, op.is_put ? op_kind::put : op_kind::erase, op.key,
                op.value);
  return {};
}

bool replicated(column c) {
  switch (c) {
    case column::meta:
    case column::anomalies:
    case column::incidents:
    case column::silences:
    case column::audit:
    case column::approvals:
    case column::outbox:
      return true;
    case column::services:
    case column::snapshots:
      return false;
  }
  return false;
}

caf::error store::apply(write_batch& batch, bool durable) {
  rocksdb::WriteBatch wb;
  for (auto& op : batch.ops_) {
    auto st = op.is_put ? wb.Put(cf(op.c), slice(op.key), slice(op.value))
                        : wb.Delete(cf(op.c), slice(op.key));
    if (!st.ok())
      return fail(st, "building a write batch");
  }
  rocksdb::WriteOptions wo;
  wo.sync = durable && opts_.sync_durable_writes;
  auto st = db_->Write(wo, &wb);
  if (!st.ok())
    return fail(st, "write batch");
  return {};
}

caf::error store::scan(
  column c, std::string_view prefix,
  const std::function<bool(std::string_view, std::string_view)>& fn,
  bool reverse) const {
  std::unique_ptr<rocksdb::Iterator> it{
    db_->NewIterator(rocksdb::ReadOptions{}, cf(c))};
  auto in_prefix = [&] {
    return it->Valid() && view(it->key()).substr(0, prefix.size()) == prefix;
  };
  if (!reverse) {
    for (it->Seek(slice(prefix)); in_prefix(); it->Next())
      if (!fn(view(it->key()), view(it->value())))
        break;
  } else {
    // Position on the last key with the prefix: seek past the prefix range.
    std::string upper{prefix};
    bool bounded = false;
    while (!upper.empty()) {
      auto& last = upper.back();
      if (static_cast<unsigned char>(last) != 0xff) {
        ++last;
        bounded = true;
        break;
      }
      upper.pop_back();
    }
    if (bounded) {
      it->SeekForPrev(slice(upper));
      if (it->Valid() && view(it->key()) == upper)
        it->Prev();
    } else {
      it->SeekToLast();
    }
    for (; in_prefix(); it->Prev())
      if (!fn(view(it->key()), view(it->value())))
        break;
  }
  if (!it->status().ok())
    return fail(it->status(), std::string{"scan of "} + to_string(c));
  return {};
}

caf::error store::erase_range(column c, std::string_view from,
                              std::string_view to) {
  auto st = db_->DeleteRange(rocksdb::WriteOptions{}, cf(c), slice(from),
                             slice(to));
  if (!st.ok())
    return fail(st, std::string{"delete range in "} + to_string(c));
  if (observer_)
    observer_(c, op_kind::erase_range, from, to);
  return {};
}

caf::error store::flush() {
  rocksdb::FlushOptions fo;
  fo.wait = true;
  auto st = db_->Flush(fo, handles_);
  if (!st.ok())
    return fail(st, "flush");
  return {};
}

uint64_t store::approximate_keys(column c) const {
  uint64_t n = 0;
  db_->GetIntProperty(cf(c), "rocksdb.estimate-num-keys", &n);
  return n;
}

std::string big_endian_key(uint64_t x) {
  std::string key(8, '\0');
  for (int i = 7; i >= 0; --i) {
    key[i] = static_cast<char>(x & 0xff);
    x >>= 8;
  }
  return key;
}

uint64_t from_big_endian_key(std::string_view key) {
  if (key.size() < 8)
    return 0;
  uint64_t x = 0;
  for (int i = 0; i < 8; ++i)
    x = (x << 8) | static_cast<unsigned char>(key[i]);
  return x;
}

} // namespace vigil::storage
