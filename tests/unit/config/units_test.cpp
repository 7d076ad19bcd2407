// The text forms of option values: durations, byte sizes, host:port and
// numbers, in their legal forms and with the messages bad input gets.

#include "config/units.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

using namespace std::chrono_literals;

namespace vigil {
namespace {

testing::AssertionResult contains(const std::string& text,
                                  std::string_view part) {
  if (text.find(part) != std::string::npos)
    return testing::AssertionSuccess();
  return testing::AssertionFailure()
         << "'" << text << "' does not contain '" << part << "'";
}

template <class T>
std::string error_of(const parse_result<T>& x) {
  EXPECT_FALSE(x) << "expected a parse error";
  return x.error;
}

// -- durations ----------------------------------------------------------------

TEST(config_units, durations_accept_every_unit_and_combinations) {
  EXPECT_EQ(*parse_duration("250ms"), 250ms);
  EXPECT_EQ(*parse_duration("30s"), 30s);
  EXPECT_EQ(*parse_duration("5m"), 5min);
  EXPECT_EQ(*parse_duration("1h"), 1h);
  EXPECT_EQ(*parse_duration("1d"), 24h);
  EXPECT_EQ(*parse_duration("1h30m"), 90min);
  EXPECT_EQ(*parse_duration("1d2h3m4s5ms"), 24h + 2h + 3min + 4s + 5ms);
  EXPECT_EQ(*parse_duration("0s"), 0ms);
  EXPECT_EQ(*parse_duration("1_000ms"), 1s);
}

TEST(config_units, a_bare_number_is_not_a_duration_and_the_error_names_the_forms) {
  auto err = error_of(parse_duration("30"));
  EXPECT_TRUE(contains(err, "30 has no unit"));
  EXPECT_TRUE(contains(err, "30s"));
  EXPECT_TRUE(contains(err, "250ms, 30s, 5m, 1h, 1d"));
  EXPECT_TRUE(contains(err, "1h30m"));
}

TEST(config_units, malformed_durations_say_what_is_wrong) {
  EXPECT_TRUE(contains(error_of(parse_duration("")), "empty"));
  EXPECT_TRUE(contains(error_of(parse_duration("5x")), "unknown unit 'x'"));
  EXPECT_TRUE(contains(error_of(parse_duration("1.5h")), "fraction"));
  EXPECT_TRUE(contains(error_of(parse_duration("-5s")), "negative"));
  EXPECT_TRUE(contains(error_of(parse_duration("30m1h")), "largest first"));
  EXPECT_TRUE(contains(error_of(parse_duration("1m1m")), "largest first"));
  EXPECT_TRUE(contains(error_of(parse_duration("1h30")), "no unit"));
  EXPECT_TRUE(contains(error_of(parse_duration("s")), "not a duration"));
  EXPECT_TRUE(
    contains(error_of(parse_duration("99999999999999999999d")), "too large"));
  EXPECT_TRUE(contains(error_of(parse_duration("9999999999999d")), "too large"));
}

TEST(config_units, durations_format_in_the_shortest_exact_form) {
  EXPECT_EQ(format_duration(0ms), "0s");
  EXPECT_EQ(format_duration(100ms), "100ms");
  EXPECT_EQ(format_duration(60s), "1m");
  EXPECT_EQ(format_duration(90min), "1h30m");
  EXPECT_EQ(format_duration(25h), "1d1h");
  EXPECT_EQ(format_duration(1500ms), "1s500ms");
  for (auto x : {0ms, 1ms, 999ms, 1001ms, duration{86'400'001}})
    EXPECT_EQ(*parse_duration(format_duration(x)), x);
}

// -- byte sizes ---------------------------------------------------------------

TEST(config_units, byte_sizes_accept_counts_and_both_unit_families) {
  EXPECT_EQ(*parse_byte_size("1048576"), 1ull << 20);
  EXPECT_EQ(*parse_byte_size("16MiB"), 16ull << 20);
  EXPECT_EQ(*parse_byte_size("64KiB"), 64ull << 10);
  EXPECT_EQ(*parse_byte_size("1GiB"), 1ull << 30);
  EXPECT_EQ(*parse_byte_size("2TiB"), 2ull << 40);
  EXPECT_EQ(*parse_byte_size("500MB"), 500'000'000ull);
  EXPECT_EQ(*parse_byte_size("10kB"), 10'000ull);
  EXPECT_EQ(*parse_byte_size("3GB"), 3'000'000'000ull);
  EXPECT_EQ(*parse_byte_size("512B"), 512ull);
  EXPECT_EQ(*parse_byte_size("16 MiB"), 16ull << 20);
  EXPECT_EQ(*parse_byte_size("1.5GiB"), 3ull << 29);
  EXPECT_EQ(*parse_byte_size("0.5kB"), 500ull);
}

TEST(config_units, malformed_byte_sizes_say_what_is_wrong) {
  EXPECT_TRUE(contains(error_of(parse_byte_size("16KB")), "ambiguous"));
  EXPECT_TRUE(contains(error_of(parse_byte_size("16M")), "MiB"));
  EXPECT_TRUE(contains(error_of(parse_byte_size("16XB")), "unknown unit 'XB'"));
  EXPECT_TRUE(contains(error_of(parse_byte_size("1.5")), "no unit"));
  EXPECT_TRUE(contains(error_of(parse_byte_size("1.0001kB")), "whole number"));
  EXPECT_TRUE(contains(error_of(parse_byte_size("-1")), "negative"));
  EXPECT_TRUE(contains(error_of(parse_byte_size("MiB")), "not a byte size"));
  EXPECT_TRUE(contains(error_of(parse_byte_size("99999999TiB")), "too large"));
}

TEST(config_units, byte_sizes_format_with_the_largest_exact_unit) {
  EXPECT_EQ(format_byte_size(0), "0");
  EXPECT_EQ(format_byte_size(16ull << 20), "16MiB");
  EXPECT_EQ(format_byte_size(500'000'000), "500MB");
  EXPECT_EQ(format_byte_size(1000), "1kB");
  EXPECT_EQ(format_byte_size(1024), "1KiB");
  EXPECT_EQ(format_byte_size(1234), "1234");
  for (uint64_t x : {0ull, 1ull, 1000ull, 1024ull, 123456789ull, 5ull << 40})
    EXPECT_EQ(*parse_byte_size(format_byte_size(x)), x);
}

// -- host:port ----------------------------------------------------------------

TEST(config_units, host_ports_accept_names_ipv4_and_bracketed_ipv6) {
  EXPECT_EQ(*parse_host_port("127.0.0.1:8470"), (host_port{"127.0.0.1", 8470}));
  EXPECT_EQ(*parse_host_port("vigil-1.example.org:0"),
            (host_port{"vigil-1.example.org", 0}));
  EXPECT_EQ(*parse_host_port("[::1]:8470"), (host_port{"::1", 8470}));
  EXPECT_EQ(*parse_host_port("[fe80::1]:65535"), (host_port{"fe80::1", 65535}));
  EXPECT_EQ(to_string(*parse_host_port("[::1]:8470")), "[::1]:8470");
}

TEST(config_units, malformed_host_ports_say_what_is_wrong) {
  EXPECT_TRUE(contains(error_of(parse_host_port("localhost")), "no port"));
  EXPECT_TRUE(contains(error_of(parse_host_port(":8470")), "empty host"));
  EXPECT_TRUE(contains(error_of(parse_host_port("host:")), "empty port"));
  EXPECT_TRUE(contains(error_of(parse_host_port("host:65536")),
                       "out of range 0..65535"));
  EXPECT_TRUE(contains(error_of(parse_host_port("host:http")), "not a number"));
  EXPECT_TRUE(contains(error_of(parse_host_port("::1:8470")), "brackets"));
  EXPECT_TRUE(contains(error_of(parse_host_port("[::1:8470")), "closing"));
  EXPECT_TRUE(contains(error_of(parse_host_port("[::1]")), "no port"));
  EXPECT_TRUE(contains(error_of(parse_host_port("[]:1")), "empty host"));
  EXPECT_TRUE(contains(error_of(parse_host_port("a b:1")), "invalid character"));
  EXPECT_TRUE(contains(error_of(parse_host_port("")), "empty"));
}

// -- numbers and booleans -------------------------------------------------------

TEST(config_units, booleans_are_true_or_false) {
  EXPECT_EQ(*parse_bool("true"), true);
  EXPECT_EQ(*parse_bool("False"), false);
  EXPECT_EQ(*parse_bool("TRUE"), true);
  EXPECT_TRUE(contains(error_of(parse_bool("yes")), "not true or false"));
}

TEST(config_units, unsigned_integers_accept_digits_with_underscores) {
  EXPECT_EQ(*parse_unsigned("0"), 0u);
  EXPECT_EQ(*parse_unsigned("2000000"), 2'000'000u);
  EXPECT_EQ(*parse_unsigned("2_000_000"), 2'000'000u);
  EXPECT_EQ(*parse_unsigned("18446744073709551615"), UINT64_MAX);
  EXPECT_TRUE(contains(error_of(parse_unsigned("-1")), "negative"));
  EXPECT_TRUE(contains(error_of(parse_unsigned("1e6")), "in full"));
  EXPECT_TRUE(contains(error_of(parse_unsigned("1.5")), "not a whole number"));
  EXPECT_TRUE(contains(error_of(parse_unsigned("017")), "leading zero"));
  EXPECT_TRUE(contains(error_of(parse_unsigned("abc")), "not a whole number"));
  EXPECT_TRUE(
    contains(error_of(parse_unsigned("18446744073709551616")), "too large"));
}

TEST(config_units, signed_integers_accept_a_sign) {
  EXPECT_EQ(*parse_signed("-5"), -5);
  EXPECT_EQ(*parse_signed("+5"), 5);
  EXPECT_EQ(*parse_signed("-9223372036854775808"), INT64_MIN);
  EXPECT_EQ(*parse_signed("9223372036854775807"), INT64_MAX);
  EXPECT_TRUE(contains(error_of(parse_signed("9223372036854775808")),
                       "too large"));
  EXPECT_TRUE(contains(error_of(parse_signed("-9223372036854775809")),
                       "too small"));
  EXPECT_TRUE(contains(error_of(parse_signed("--5")), "not a whole number"));
}

TEST(config_units, reals_accept_decimal_and_scientific_forms_only_finite) {
  EXPECT_EQ(*parse_real("0.1"), 0.1);
  EXPECT_EQ(*parse_real("3"), 3.0);
  EXPECT_EQ(*parse_real("1e-3"), 1e-3);
  EXPECT_EQ(*parse_real("+2.5"), 2.5);
  EXPECT_TRUE(contains(error_of(parse_real("nan")), "not a finite number"));
  EXPECT_TRUE(contains(error_of(parse_real("inf")), "not a finite number"));
  EXPECT_TRUE(contains(error_of(parse_real("0.1x")), "not a number"));
  EXPECT_TRUE(contains(error_of(parse_real("1e999")), "out of range"));
  EXPECT_EQ(format_real(0.1), "0.1");
  EXPECT_EQ(format_real(3.0), "3");
  EXPECT_EQ(*parse_real(format_real(1.0 / 3)), 1.0 / 3);
}

} // namespace
} // namespace vigil
