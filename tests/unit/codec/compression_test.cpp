#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <random>
#include <string>

#include <zlib.h>

#include "runtime/codec/compression.hpp"
#include "tests/support/support.hpp"
#include "tests/unit/codec/test_util.hpp"

namespace {

using namespace vigil;
using namespace vigil::codec;
namespace ct = vigil::codec::test;
using vigil::codec::test::code_of;
using vigil::codec::test::why;

constexpr uint64_t mib64 = 64ull << 20;

std::string random_text(size_t n, uint32_t seed) {
  std::mt19937 rng{seed};
  std::string s;
  s.reserve(n);
  // Words from a small alphabet so that it compresses a little.
  for (size_t i = 0; i < n; ++i)
    s += static_cast<char>('a' + rng() % 8);
  return s;
}

// Deflates `n` zero bytes into one gzip member without holding them.
std::string gzip_of_zeros(uint64_t n) {
  z_stream zs;
  std::memset(&zs, 0, sizeof(zs));
  deflateInit2(&zs, 9, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY);
  std::string zeros(1 << 20, '\0');
  std::string out;
  char buf[1 << 16];
  uint64_t fed = 0;
  int rc;
  do {
    if (zs.avail_in == 0 && fed < n) {
      auto k = std::min<uint64_t>(zeros.size(), n - fed);
      zs.next_in = reinterpret_cast<Bytef*>(zeros.data());
      zs.avail_in = static_cast<uInt>(k);
      fed += k;
    }
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof(buf);
    rc = deflate(&zs, fed == n ? Z_FINISH : Z_NO_FLUSH);
    out.append(buf, sizeof(buf) - zs.avail_out);
  } while (rc != Z_STREAM_END);
  deflateEnd(&zs);
  return out;
}

TEST(compression, snappy_round_trips_and_decodes_every_remote_write_fixture) {
  auto text = random_text(300000, 1);
  auto back = snappy_uncompress(snappy_compress(text), mib64);
  ASSERT_TRUE(back) << why(back.error());
  EXPECT_EQ(*back, text);
  // Every remote-write fixture, against the protobuf size its
  // .decoded.txt states ("body N B snappy -> M B protobuf").
  for (auto name : {"remote_write_01_first", "remote_write_02_node_exporter",
                    "remote_write_03_metadata_only",
                    "remote_write_04_target_down_stale_markers",
                    "remote_write_05_alerts_targetdown_firing",
                    "remote_write_06_alerts_targetdown_stale",
                    "remote_write_07_last_partial_at_shutdown"}) {
    auto header = vigil::test::read_fixture(std::string{name}
                                            + ".decoded.txt");
    auto arrow = header.find("snappy -> ");
    ASSERT_NE(arrow, std::string::npos) << name;
    auto size = std::stoul(header.substr(arrow + 10));
    auto out = snappy_uncompress(
      vigil::test::read_fixture(std::string{name} + ".bin"), mib64);
    ASSERT_TRUE(out) << name << ": " << ct::why(out.error());
    EXPECT_EQ(out->size(), size) << name;
  }
}

TEST(compression, snappy_with_a_declared_length_over_the_limit_is_refused_before_allocating) {
  // A varint header declaring 1 GiB, followed by a few bytes.
  std::string body = "\x80\x80\x80\x80\x04";
  body += std::string(16, 'x');
  auto start = std::chrono::steady_clock::now();
  auto out = snappy_uncompress(body, mib64);
  auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(out);
  auto d = describe(out.error());
  EXPECT_EQ(d.code, errc::too_large);
  EXPECT_NE(d.message.find("1073741824"), std::string::npos) << d.message;
  // No 1 GiB allocation or zero-fill happened.
  EXPECT_LT(took, std::chrono::milliseconds{50});
}

TEST(compression, snappy_declaring_more_than_its_size_can_hold_is_malformed) {
  // 10 MiB declared (within the limit) by a 20-byte body.
  std::string body = "\x80\x80\x80\x05";
  body += std::string(16, 'x');
  auto out = snappy_uncompress(body, mib64);
  EXPECT_EQ(code_of(out), errc::malformed);
}

TEST(compression, snappy_corruption_is_malformed) {
  EXPECT_EQ(code_of(snappy_uncompress("", mib64)), errc::malformed);
  EXPECT_EQ(code_of(snappy_uncompress("\xff\xff\xff", mib64)),
            errc::malformed);
  auto good = snappy_compress(random_text(5000, 2));
  auto truncated = good.substr(0, good.size() / 2);
  EXPECT_EQ(code_of(snappy_uncompress(truncated, mib64)), errc::malformed);
  // A copy that reaches before the start of the output.
  std::string bad_copy = "\x08\x01\x01";
  EXPECT_EQ(code_of(snappy_uncompress(bad_copy, mib64)), errc::malformed);
  // An empty payload is legal snappy.
  auto empty = snappy_uncompress(std::string_view{"\x00", 1}, mib64);
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->empty());
}

TEST(compression, gzip_round_trips_and_inflates_the_otlp_gzip_fixtures) {
  auto text = random_text(500000, 3);
  auto back = gzip_inflate(gzip_compress(text), mib64);
  ASSERT_TRUE(back) << why(back.error());
  EXPECT_EQ(*back, text);
  const std::pair<const char*, size_t> fixtures[] = {
    {"otlp_traces_gzip_01_frontend.bin", 1104},
    {"otlp_traces_gzip_02_checkout.bin", 1405},
    {"otlp_traces_gzip_03_payments.bin", 984},
  };
  for (auto [name, size] : fixtures) {
    auto out = gzip_inflate(vigil::test::read_fixture(name), mib64);
    ASSERT_TRUE(out) << name << ": " << why(out.error());
    EXPECT_EQ(out->size(), size) << name;
  }
}

TEST(compression, gzip_accepts_zlib_wrapped_deflate_too) {
  std::string text = random_text(10000, 4);
  std::string z(compressBound(static_cast<uLong>(text.size())), '\0');
  uLongf n = static_cast<uLongf>(z.size());
  ASSERT_EQ(compress(reinterpret_cast<Bytef*>(z.data()), &n,
                     reinterpret_cast<const Bytef*>(text.data()),
                     static_cast<uLong>(text.size())),
            Z_OK);
  z.resize(n);
  auto out = gzip_inflate(z, mib64);
  ASSERT_TRUE(out) << why(out.error());
  EXPECT_EQ(*out, text);
  // Trailing bytes after a zlib stream are garbage.
  EXPECT_EQ(code_of(gzip_inflate(z + "\x1f\x8b", mib64)), errc::malformed);
}

TEST(compression, gzip_multi_member_bodies_are_concatenated) {
  auto out = gzip_inflate(gzip_compress("hello ") + gzip_compress("world"),
                          mib64);
  ASSERT_TRUE(out) << why(out.error());
  EXPECT_EQ(*out, "hello world");
}

TEST(compression, gzip_truncation_and_trailing_garbage_are_malformed) {
  auto good = gzip_compress(random_text(20000, 5));
  for (size_t n : {size_t{0}, size_t{1}, size_t{5}, good.size() / 2,
                   good.size() - 1})
    EXPECT_EQ(code_of(gzip_inflate(good.substr(0, n), mib64)),
              errc::malformed)
      << n;
  EXPECT_EQ(code_of(gzip_inflate(good + "garbage", mib64)), errc::malformed);
  EXPECT_EQ(code_of(gzip_inflate(good + std::string(4, '\0'), mib64)),
            errc::malformed);
  EXPECT_EQ(code_of(gzip_inflate("not gzip at all", mib64)),
            errc::malformed);
  auto flipped = good;
  flipped[good.size() - 3] ^= 0x40; // the length in the trailer
  EXPECT_EQ(code_of(gzip_inflate(flipped, mib64)), errc::malformed);
}

TEST(compression, gzip_bomb_of_one_gib_of_zeros_is_refused_at_the_limit) {
  // ~1 MB of gzip that would inflate to 1 GiB, as 16 members of 64 MiB.
  auto member = gzip_of_zeros(64ull << 20);
  std::string bomb;
  for (int i = 0; i < 16; ++i)
    bomb += member;
  EXPECT_LT(bomb.size(), 2u << 20);
  auto out = gzip_inflate(bomb, mib64);
  ASSERT_FALSE(out);
  auto d = describe(out.error());
  EXPECT_EQ(d.code, errc::too_large);
  // A single member of 64 MiB + 1 is refused too, and one of exactly the
  // limit is accepted.
  EXPECT_EQ(code_of(gzip_inflate(gzip_of_zeros((1 << 20) + 1), 1 << 20)),
            errc::too_large);
  auto exact = gzip_inflate(gzip_of_zeros(1 << 20), 1 << 20);
  ASSERT_TRUE(exact) << why(exact.error());
  EXPECT_EQ(exact->size(), size_t{1} << 20);
}

TEST(compression, a_zero_limit_accepts_only_empty_output) {
  EXPECT_TRUE(gzip_inflate(gzip_compress(""), 0));
  EXPECT_EQ(code_of(gzip_inflate(gzip_compress("x"), 0)), errc::too_large);
  EXPECT_TRUE(snappy_uncompress(snappy_compress(""), 0));
  EXPECT_EQ(code_of(snappy_uncompress(snappy_compress("x"), 0)),
            errc::too_large);
}

} // namespace
