#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>

namespace vigil {

/// A fast 64-bit hash whose value is fixed by this code alone (not by the
/// standard library or the platform's endianness), so every node of a cluster
/// and every version of a snapshot computes the same series and shard keys.
/// Not cryptographic.
class hasher {
public:
  explicit hasher(uint64_t seed = 0x243f6a8885a308d3ull) : state_(seed) {}

  /// Folds `bytes` into the hash.
  void add(std::string_view bytes) {
    auto p = reinterpret_cast<const unsigned char*>(bytes.data());
    auto n = bytes.size();
    while (n >= 8) {
      mix(load64(p));
      p += 8;
      n -= 8;
    }
    uint64_t tail = 0;
    for (size_t i = 0; i < n; ++i)
      tail |= uint64_t{p[i]} << (8 * i);
    // The length goes in with the tail so "ab"+"c" differs from "a"+"bc"
    // when a separator is used between parts.
    mix(tail ^ (uint64_t{n} << 56) ^ 0x9e3779b97f4a7c15ull);
  }

  /// Folds one byte in, typically a separator between parts.
  void add_byte(unsigned char c) { mix(uint64_t{c} ^ 0xa0761d6478bd642full); }

  /// Returns the hash of everything added so far.
  uint64_t finish() const {
    uint64_t x = state_;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    x ^= x >> 33;
    return x;
  }

private:
  static uint64_t load64(const unsigned char* p) {
    uint64_t x = 0;
    for (int i = 7; i >= 0; --i)
      x = (x << 8) | p[i];
    return x;
  }

  void mix(uint64_t x) {
    x *= 0x87c37b91114253d5ull;
    x = (x << 31) | (x >> 33);
    x *= 0x4cf5ad432745937full;
    state_ ^= x;
    state_ = ((state_ << 27) | (state_ >> 37)) * 5 + 0x52dce729;
  }

  uint64_t state_;
};

/// Returns the hash of `bytes`.
inline uint64_t hash64(std::string_view bytes) {
  hasher h;
  h.add(bytes);
  return h.finish();
}

/// The shard of `service` among `shards`: the same on every node.
inline uint32_t service_shard(std::string_view service, uint32_t shards) {
  return static_cast<uint32_t>(hash64(service) % shards);
}

} // namespace vigil
