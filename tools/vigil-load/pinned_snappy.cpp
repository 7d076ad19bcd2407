#include "tools/vigil-load/pinned_snappy.hpp"

#include <cassert>
#include <cstring>

namespace vigil::load {

namespace {

void put_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

uint32_t load32(const char* p) {
  uint32_t x;
  std::memcpy(&x, p, 4);
  return x;
}

// Returns where the literal's bytes start in `out`. One element per literal
// run, however long, so a pinned range is never split across two elements.
size_t emit_literal(std::string& out, const char* p, size_t n) {
  auto m = n - 1;
  if (m < 60) {
    out.push_back(static_cast<char>(m << 2));
  } else {
    int bytes = m < (1u << 8) ? 1 : m < (1u << 16) ? 2 : m < (1u << 24) ? 3 : 4;
    out.push_back(static_cast<char>((59 + bytes) << 2));
    for (int i = 0; i < bytes; ++i)
      out.push_back(static_cast<char>(m >> (8 * i)));
  }
  auto at = out.size();
  out.append(p, n);
  return at;
}

// `offset` in [1, 65535], `len` in [1, 64].
void emit_copy2(std::string& out, size_t offset, size_t len) {
  out.push_back(static_cast<char>(2 | ((len - 1) << 2)));
  out.push_back(static_cast<char>(offset & 0xff));
  out.push_back(static_cast<char>(offset >> 8));
}

void emit_copy(std::string& out, size_t offset, size_t len) {
  // The reference encoder's split: 64-byte pieces, but never leave a tail
  // shorter than 4 so the short form stays usable for it.
  while (len >= 68) {
    emit_copy2(out, offset, 64);
    len -= 64;
  }
  if (len > 64) {
    emit_copy2(out, offset, 60);
    len -= 60;
  }
  if (len >= 4 && len < 12 && offset < 2048) {
    out.push_back(
      static_cast<char>(1 | ((len - 4) << 2) | ((offset >> 8) << 5)));
    out.push_back(static_cast<char>(offset & 0xff));
    return;
  }
  emit_copy2(out, offset, len);
}

constexpr int table_bits = 15;
constexpr size_t max_offset = 65535;

} // namespace

std::string snappy_compress_pinned(std::string_view in,
                                   std::span<const byte_range> pinned,
                                   std::vector<uint32_t>& where) {
  const size_t n = in.size();
  const char* base = in.data();
  // pinned_before[i]: pinned bytes in [0, i); a range [a, b) is free of
  // pinned bytes when the two prefix counts agree.
  std::vector<uint32_t> pinned_before(n + 1, 0);
  {
    std::vector<uint8_t> mark(n, 0);
    for (auto& r : pinned)
      std::memset(mark.data() + r.offset, 1, r.size);
    for (size_t i = 0; i < n; ++i)
      pinned_before[i + 1] = pinned_before[i] + mark[i];
  }
  auto free_of_pins = [&](size_t a, size_t b) {
    return pinned_before[b] == pinned_before[a];
  };
  auto is_pinned = [&](size_t i) {
    return pinned_before[i + 1] != pinned_before[i];
  };
  where.assign(pinned.size(), 0);
  size_t next_pin = 0;
  std::string out;
  out.reserve(n / 3 + 16);
  put_varint(out, n);
  auto literal = [&](size_t a, size_t b) {
    auto at = emit_literal(out, base + a, b - a);
    while (next_pin < pinned.size() && pinned[next_pin].offset < b) {
      auto& r = pinned[next_pin];
      // Copies never cover a pinned byte, so a range lies inside one
      // literal run.
      assert(r.offset >= a && r.offset + r.size <= b);
      where[next_pin] = static_cast<uint32_t>(at + (r.offset - a));
      ++next_pin;
    }
  };
  std::vector<uint32_t> table(size_t{1} << table_bits, 0); // position + 1
  size_t i = 0;
  size_t lit = 0;
  while (i + 4 <= n) {
    if (!free_of_pins(i, i + 4)) {
      ++i;
      continue;
    }
    auto word = load32(base + i);
    auto h = (word * 0x1e35a7bdu) >> (32 - table_bits);
    size_t cand = table[h];
    table[h] = static_cast<uint32_t>(i + 1);
    if (cand == 0) {
      ++i;
      continue;
    }
    --cand;
    if (i - cand > max_offset || load32(base + cand) != word
        || !free_of_pins(cand, cand + 4)) {
      ++i;
      continue;
    }
    size_t len = 4;
    while (i + len < n && base[cand + len] == base[i + len]
           && !is_pinned(i + len) && !is_pinned(cand + len))
      ++len;
    if (lit < i)
      literal(lit, i);
    emit_copy(out, i - cand, len);
    i += len;
    lit = i;
    // Like the reference encoder, remember the position just before the
    // next search so runs of similar series chain their matches.
    if (i >= 1 && i + 3 <= n && free_of_pins(i - 1, i + 3)) {
      auto w = load32(base + i - 1);
      table[(w * 0x1e35a7bdu) >> (32 - table_bits)]
        = static_cast<uint32_t>(i);
    }
  }
  if (lit < n)
    literal(lit, n);
  assert(next_pin == pinned.size());
  return out;
}

} // namespace vigil::load
