#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <vector>

#include <caf/error.hpp>

#include "messages/anomaly.hpp"
#include "runtime/storage/store.hpp"

namespace vigil::correlator {

/// The most recent anomaly events, numbered in arrival order, kept in memory
/// and in the store's anomalies column so they survive a restart. Bounded:
/// the oldest are forgotten (in memory and on disk) beyond `capacity`.
class anomaly_log {
public:
  /// `store` may be null (no persistence).
  anomaly_log(size_t capacity, std::shared_ptr<storage::store> store);

  /// Loads the newest `capacity` events from the store and continues the
  /// numbering after them.
  caf::error load();

  /// Numbers `ev`, keeps it and writes it to the store. Returns its id.
  uint64_t add(anomaly_event ev);

  /// Events matching `q`, newest first.
  std::vector<anomaly_event> query(const anomaly_query& q) const;

  size_t size() const { return events_.size(); }
  uint64_t next_id() const { return next_id_; }

private:
  size_t capacity_;
  std::shared_ptr<storage::store> store_;
  std::deque<anomaly_event> events_;
  uint64_t next_id_ = 1;
  uint64_t since_trim_ = 0;
};

/// Encodes `ev` as a proto anomaly_record.
std::string encode(const anomaly_event& ev);
/// Decodes a proto anomaly_record; false when unreadable.
bool decode(std::string_view bytes, anomaly_event& ev);

} // namespace vigil::correlator
