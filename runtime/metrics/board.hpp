#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace vigil::metrics {

/// Named slots whose sum is a gauge, e.g. live series per service summed
/// into vigil_series_active. The owner of a slot stores its current value;
/// whoever restarts a crashed owner clears the slot, so a crash never leaves
/// a stale contribution behind.
class board {
public:
  using slot = std::shared_ptr<std::atomic<int64_t>>;

  /// Returns the slot `name`, created at 0 on first use.
  slot get(const std::string& name) {
    std::lock_guard<std::mutex> guard{mtx_};
    auto& s = slots_[name];
    if (!s)
      s = std::make_shared<std::atomic<int64_t>>(0);
    return s;
  }

  /// Drops the slot `name`.
  void remove(const std::string& name) {
    std::lock_guard<std::mutex> guard{mtx_};
    slots_.erase(name);
  }

  /// Sum of all slots.
  int64_t sum() const {
    std::lock_guard<std::mutex> guard{mtx_};
    int64_t total = 0;
    for (auto& [_, s] : slots_)
      total += s->load(std::memory_order_relaxed);
    return total;
  }

  /// Number of slots.
  size_t size() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return slots_.size();
  }

private:
  mutable std::mutex mtx_;
  std::map<std::string, slot> slots_;
};

} // namespace vigil::metrics
