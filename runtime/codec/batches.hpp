#pragma once

// Grouping decoded items into one batch per service.

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace vigil::codec {

/// Batches (`sample_batch`, `log_batch`) keyed by service, in order of the
/// service's first appearance in the request.
template <class Batch>
class batches_by_service {
public:
  /// Returns the index of the batch of `service`, creating it (stamped with
  /// `received_ns`) when it is new.
  size_t index_of(std::string_view service, int64_t received_ns) {
    if (auto i = index_.find(std::string{service}); i != index_.end())
      return i->second;
    auto n = batches_.size();
    index_.emplace(std::string{service}, n);
    auto& b = batches_.emplace_back();
    b.service = std::string{service};
    b.received_ns = received_ns;
    return n;
  }

  /// Returns batch `i`.
  Batch& operator[](size_t i) { return batches_[i]; }

  /// Returns the number of batches.
  size_t size() const noexcept { return batches_.size(); }

  /// Moves the batches out.
  std::vector<Batch> take() { return std::move(batches_); }

private:
  std::vector<Batch> batches_;
  std::unordered_map<std::string, size_t> index_;
};

} // namespace vigil::codec
