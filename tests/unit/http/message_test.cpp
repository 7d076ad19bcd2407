#include <gtest/gtest.h>

#include "runtime/http/message.hpp"

namespace {

using namespace vigil::http;

TEST(http_message, json_error_builds_an_error_object) {
  EXPECT_EQ(json_error("not found", "GET /x"),
            R"({"error":"not found","detail":"GET /x"})");
}

TEST(http_message, json_strings_escape_quotes_backslashes_and_controls) {
  std::string out;
  append_json_string(out, std::string_view{"a\"b\\c\n\r\t\b\f\x01\x1f\0z", 14});
  EXPECT_EQ(out, R"("a\"b\\c\n\r\t\b\f\u0001\u001f\u0000z")");
}

TEST(http_message, json_strings_keep_valid_utf8_and_replace_invalid_bytes) {
  std::string out;
  append_json_string(out, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
  EXPECT_EQ(out, "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
  out.clear();
  // A lone continuation byte, a truncated sequence, an overlong '/' and a
  // UTF-16 surrogate: each bad byte becomes one U+FFFD.
  append_json_string(out, "a\x80"
                          "b\xc3"
                          "c\xc0\xaf"
                          "d\xed\xa0\x80");
  EXPECT_EQ(out, R"("a\ufffdb\ufffdc\ufffd\ufffdd\ufffd\ufffd\ufffd")");
}

TEST(http_message, percent_decoding_leaves_malformed_escapes_alone) {
  EXPECT_EQ(percent_decode("a%20b%2Fc"), "a b/c");
  EXPECT_EQ(percent_decode("a+b"), "a+b");
  EXPECT_EQ(percent_decode("a+b", true), "a b");
  EXPECT_EQ(percent_decode("100%"), "100%");
  EXPECT_EQ(percent_decode("%4"), "%4");
  EXPECT_EQ(percent_decode("%zz%41"), "%zzA");
  EXPECT_EQ(percent_decode("%00"), std::string(1, '\0'));
}

TEST(http_message, query_strings_split_into_decoded_pairs) {
  auto q = parse_query("service=a%20b&flag&&limit=10&x=1=2&sp=a+b");
  ASSERT_EQ(q.size(), 5u);
  EXPECT_EQ(q[0], (std::pair<std::string, std::string>{"service", "a b"}));
  EXPECT_EQ(q[1], (std::pair<std::string, std::string>{"flag", ""}));
  EXPECT_EQ(q[2], (std::pair<std::string, std::string>{"limit", "10"}));
  EXPECT_EQ(q[3], (std::pair<std::string, std::string>{"x", "1=2"}));
  EXPECT_EQ(q[4], (std::pair<std::string, std::string>{"sp", "a b"}));
  EXPECT_TRUE(parse_query("").empty());
}

TEST(http_message,
     request_headers_are_case_insensitive_and_query_is_searchable) {
  request req;
  req.headers.set("Content-Type", "text/plain");
  req.query = {{"limit", "5"}, {"limit", "6"}};
  EXPECT_EQ(req.header("content-type"), "text/plain");
  EXPECT_EQ(req.header("CONTENT-TYPE"), "text/plain");
  EXPECT_EQ(req.header("authorization"), "");
  EXPECT_EQ(req.query_param("limit"), "5");
  EXPECT_EQ(req.query_param("since"), std::nullopt);
}

TEST(http_message, error_responses_carry_a_json_body) {
  auto r = response::error(422, "invalid", "line 3");
  EXPECT_EQ(r.status, 422u);
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(r.body, R"({"error":"invalid","detail":"line 3"})");
}

} // namespace
