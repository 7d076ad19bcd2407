#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "runtime/codec/series.hpp"
#include "runtime/hash.hpp"
#include "tests/unit/codec/test_util.hpp"

namespace {

using namespace vigil;
using namespace vigil::codec;
namespace ct = vigil::codec::test;
using vigil::codec::test::why;

// Builds one text with a fresh arena; returns "" and records the fault on
// refusal.
std::string build(series_builder& b, std::string_view metric,
                  std::vector<label_view> labels) {
  std::string texts = "prefix";
  series_ref ref;
  if (!b.append(texts, metric, labels, ref))
    return "";
  EXPECT_EQ(ref.offset, 6u);
  EXPECT_EQ(ref.size, texts.size() - 6);
  auto text = texts.substr(ref.offset, ref.size);
  EXPECT_EQ(ref.hash, hash64(text));
  return text;
}

TEST(series, text_sorts_labels_and_leaves_out_braces_when_there_are_none) {
  series_builder b;
  EXPECT_EQ(build(b, "up", {}), "up");
  EXPECT_EQ(build(b, "up", {{"job", "node", 0}, {"instance", "a:1", 1}}),
            "up{instance=\"a:1\",job=\"node\"}");
  EXPECT_EQ(build(b, "up", {{"instance", "a:1", 0}, {"job", "node", 1}}),
            "up{instance=\"a:1\",job=\"node\"}");
}

TEST(series, label_values_are_escaped_like_prometheus) {
  series_builder b;
  EXPECT_EQ(build(b, "m", {{"v", "a\\b\"c\nd\te", 0}}),
            "m{v=\"a\\\\b\\\"c\\nd\te\"}");
}

TEST(series, labels_read_back_from_the_text_as_written) {
  series_builder b;
  auto text = build(b, "m", {{"v", "a\\b\"c\nd", 0}, {"job", "x,y=z", 1}});
  EXPECT_EQ(series_labels(text),
            (std::vector<std::pair<std::string, std::string>>{
              {"job", "x,y=z"}, {"v", "a\\b\"c\nd"}}));
  EXPECT_TRUE(series_labels("m").empty());
  EXPECT_TRUE(series_labels("m{}").empty());
  // A broken text yields what could be read before the break.
  EXPECT_EQ(series_labels("m{a=\"1\",b=2}").size(), 1u);
  EXPECT_EQ(series_labels("m{a=\"unterminated}").size(), 0u);
}

TEST(series, empty_label_values_are_absent_labels) {
  series_builder b;
  EXPECT_EQ(build(b, "m", {{"a", "", 0}}), "m");
  EXPECT_EQ(build(b, "m", {{"a", "", 0}, {"b", "1", 1}}), "m{b=\"1\"}");
}

TEST(series, counter_heuristic_looks_at_the_metric_name_suffix) {
  EXPECT_EQ(counter_heuristic("http_requests_total"), sample_flags::counter);
  EXPECT_EQ(counter_heuristic("rpc_seconds_count"), sample_flags::counter);
  EXPECT_EQ(counter_heuristic("rpc_seconds_sum"), sample_flags::counter);
  EXPECT_EQ(counter_heuristic("rpc_seconds_bucket"), sample_flags::counter);
  EXPECT_EQ(counter_heuristic("node_load1"), 0);
  EXPECT_EQ(counter_heuristic("total"), 0);
  EXPECT_EQ(counter_heuristic("_total"), sample_flags::counter);
  series_builder b;
  std::string texts;
  series_ref ref;
  std::vector<label_view> none;
  ASSERT_TRUE(b.append(texts, "x_total", none, ref));
  EXPECT_EQ(ref.flags, sample_flags::counter);
  ASSERT_TRUE(b.append(texts, "x_ratio", none, ref));
  EXPECT_EQ(ref.flags, 0);
}

TEST(series, prometheus_label_names_must_match_the_prometheus_pattern) {
  series_builder b{label_names::prometheus};
  EXPECT_EQ(build(b, "m", {{"_ok9", "1", 0}}), "m{_ok9=\"1\"}");
  for (std::string_view bad : {"9x", "a.b", "a-b", "", "a b", "ä"}) {
    EXPECT_EQ(build(b, "m", {{"fine", "1", 0}, {bad, "1", 7}}), "") << bad;
    EXPECT_EQ(b.fault().label, 7) << bad;
    EXPECT_EQ(b.fault().code, errc::malformed);
  }
}

TEST(series, otlp_keys_keep_their_dots_but_not_syntax_characters) {
  series_builder b{label_names::otlp};
  EXPECT_EQ(build(b, "http.server.duration", {{"http.route", "/a", 0}}),
            "http.server.duration{http.route=\"/a\"}");
  for (std::string_view bad : {"a=b", "a,b", "a\"b", "a{", "a}", "a b", ""})
    EXPECT_EQ(build(b, "m", {{bad, "1", 0}}), "") << bad;
}

TEST(series, limits_are_enforced_and_named) {
  series_builder b;
  std::vector<label_view> many;
  std::vector<std::string> names;
  for (int i = 0; i < 129; ++i)
    names.push_back(std::string{"l"}.append(std::to_string(i)));
  for (int i = 0; i < 128; ++i)
    many.push_back({names[i], "v", static_cast<uint32_t>(i)});
  EXPECT_NE(build(b, "m", many), "");
  many.push_back({names[128], "v", 128});
  EXPECT_EQ(build(b, "m", many), "");
  EXPECT_NE(b.fault().message.find("128"), std::string::npos);
  std::string long_name(1025, 'n');
  std::string long_value(16 * 1024 + 1, 'v');
  EXPECT_EQ(build(b, "m", {{long_name, "v", 0}}), "");
  EXPECT_EQ(build(b, "m", {{"n", long_value, 0}}), "");
  EXPECT_NE(build(b, "m", {{"n", std::string_view{long_value}.substr(1), 0}}),
            "");
  EXPECT_EQ(build(b, std::string(1025, 'm'), {}), "");
  EXPECT_NE(build(b, std::string(1024, 'm'), {}), "");
  EXPECT_EQ(build(b, "", {}), "");
  EXPECT_EQ(build(b, "bad{metric", {}), "");
  EXPECT_EQ(build(b, "m", {{"__name__", "x", 0}}), "");
}

TEST(series, duplicate_label_names_are_refused) {
  series_builder b;
  EXPECT_EQ(build(b, "m", {{"a", "1", 0}, {"b", "2", 1}, {"a", "3", 2}}), "");
  EXPECT_NE(b.fault().message.find("more than once"), std::string::npos);
  EXPECT_EQ(b.fault().label, 2);
}

TEST(series, expected_overload_names_the_label_in_where) {
  series_builder b;
  sample_batch batch;
  std::vector<label_view> labels{{"ok", "1", 0}, {"not ok", "2", 5}};
  auto ref = b.append(batch, "m", labels, "line 3");
  ASSERT_FALSE(ref);
  auto d = describe(ref.error());
  EXPECT_EQ(d.code, errc::malformed);
  EXPECT_EQ(d.where, "line 3.labels[5]");
  EXPECT_TRUE(batch.texts.empty());
}

TEST(series, index_shares_the_text_of_a_repeated_series) {
  series_builder b;
  series_index index;
  std::string texts;
  std::vector<label_view> l1{{"a", "1", 0}};
  std::vector<label_view> l2{{"a", "2", 0}};
  series_ref r1, r2, r3;
  ASSERT_TRUE(b.append(texts, "m", l1, r1));
  EXPECT_TRUE(index.intern(texts, r1));
  ASSERT_TRUE(b.append(texts, "m", l2, r2));
  EXPECT_TRUE(index.intern(texts, r2));
  auto size = texts.size();
  ASSERT_TRUE(b.append(texts, "m", l1, r3));
  EXPECT_FALSE(index.intern(texts, r3));
  EXPECT_EQ(texts.size(), size);
  EXPECT_EQ(r3.offset, r1.offset);
  EXPECT_EQ(r3.hash, r1.hash);
  EXPECT_EQ(index.size(), 2u);
}

} // namespace
