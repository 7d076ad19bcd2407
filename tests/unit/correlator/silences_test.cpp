// Suppression rules: matchers as Alertmanager reads them, silences with
// their checks, weekly maintenance windows including ones past midnight.

#include <gtest/gtest.h>

#include "actors/correlator/silences.hpp"

using namespace vigil::correlator;

namespace {

constexpr int64_t minute = 60'000;
constexpr int64_t hour = 60 * minute;
constexpr int64_t day = 24 * hour;
constexpr int64_t monday = 1'704'067'200'000; // 2024-01-01 00:00 UTC

label_matcher m(const char* text) {
  auto x = label_matcher::parse(text);
  EXPECT_TRUE(x) << text;
  return *x;
}

const label_set pay{{"service", "payments"}, {"severity", "critical"}};

TEST(label_matcher, reads_the_four_operators_and_matches_like_alertmanager) {
  EXPECT_TRUE(m("service=payments").matches(pay));
  EXPECT_TRUE(m("service=\"payments\"").matches(pay));
  EXPECT_FALSE(m("service!=payments").matches(pay));
  EXPECT_TRUE(m("service=~pay.*").matches(pay));
  // A regex matches the whole value, not a part of it.
  EXPECT_FALSE(m("service=~pay").matches(pay));
  EXPECT_TRUE(m("service!~\"check.*|orders\"").matches(pay));
  // A missing label is the empty string.
  EXPECT_TRUE(m("team=\"\"").matches(pay));
  EXPECT_TRUE(m("team!=core").matches(pay));
  EXPECT_FALSE(m("team=~.+").matches(pay));
  EXPECT_EQ(m("service=~\"a\\\"b\"").value(), "a\"b");
  EXPECT_EQ(m("service=~\"a\\\"b\"").to_string(), "service=~\"a\\\"b\"");
}

TEST(label_matcher, names_what_is_wrong) {
  for (auto bad : {"", "=x", "service", "9lives=x", "service=\"open",
                   "service=~\"(\"", "service<x"}) {
    auto x = label_matcher::parse(bad);
    EXPECT_FALSE(x) << bad;
  }
  auto re = label_matcher::parse("service=~\"(\"");
  EXPECT_NE(to_string(re.error()).find("invalid regular expression"),
            std::string::npos);
}

silence make_silence(std::string id, std::vector<const char*> ms,
                     int64_t from, int64_t to) {
  silence s;
  s.id = std::move(id);
  for (auto x : ms)
    s.matchers.push_back(m(x));
  s.starts_ms = from;
  s.ends_ms = to;
  s.author = "oncall@example.com";
  s.comment = "payments migration";
  return s;
}

TEST(suppression_set, silences_only_what_matches_and_only_while_active) {
  suppression_set set;
  ASSERT_TRUE(set.add(make_silence("s1", {"service=payments"}, monday,
                                   monday + hour)));
  EXPECT_EQ(set.suppressed(pay, monday + minute), "s1");
  EXPECT_FALSE(set.suppressed(pay, monday - 1));
  EXPECT_FALSE(set.suppressed(pay, monday + hour)); // the end is exclusive
  EXPECT_FALSE(set.suppressed({{"service", "checkout"}}, monday + minute));
  EXPECT_EQ(set.expire(monday + 2 * hour), 1u);
  EXPECT_TRUE(set.silences().empty());
}

TEST(suppression_set, refuses_silences_that_would_silence_everything) {
  suppression_set set;
  EXPECT_FALSE(set.add(make_silence("a", {}, monday, monday + hour)));
  EXPECT_FALSE(set.add(make_silence("b", {"service=~.*"}, monday,
                                    monday + hour)));
  EXPECT_FALSE(set.add(make_silence("c", {"service!=x"}, monday,
                                    monday + hour)));
  EXPECT_FALSE(set.add(make_silence("d", {"service=x"}, monday, monday)));
  auto anonymous = make_silence("e", {"service=x"}, monday, monday + hour);
  anonymous.author.clear();
  EXPECT_FALSE(set.add(anonymous));
  // One matcher that needs a value is enough, even beside a broad one.
  EXPECT_TRUE(set.add(make_silence("f", {"service=~.*", "severity=critical"},
                                   monday, monday + hour)));
}

TEST(suppression_set, replaces_by_id_removes_and_stays_bounded) {
  suppression_set set{2};
  ASSERT_TRUE(set.add(make_silence("s", {"service=a"}, monday, monday + 1)));
  ASSERT_TRUE(set.add(make_silence("s", {"service=payments"}, monday,
                                   monday + hour)));
  EXPECT_EQ(set.silences().size(), 1u);
  EXPECT_EQ(set.suppressed(pay, monday), "s");
  ASSERT_TRUE(set.add(make_silence("t", {"service=b"}, monday, monday + 1)));
  EXPECT_FALSE(set.add(make_silence("u", {"service=c"}, monday, monday + 1)));
  EXPECT_TRUE(set.remove("s"));
  EXPECT_FALSE(set.remove("s"));
  EXPECT_FALSE(set.suppressed(pay, monday));
}

maintenance_window window(uint8_t days, uint32_t start, uint32_t length) {
  maintenance_window w;
  w.id = "w";
  w.matchers.push_back(m("service=payments"));
  w.weekdays = days;
  w.start_minute = start;
  w.duration_minutes = length;
  return w;
}

TEST(maintenance_window, recurs_weekly_and_may_run_past_midnight) {
  // Saturdays (bit 5) 23:00 for three hours: into Sunday 02:00.
  auto w = window(1u << 5, 23 * 60, 180);
  int64_t saturday = monday + 5 * day;
  EXPECT_FALSE(w.active_at(saturday + 22 * hour + 59 * minute));
  EXPECT_TRUE(w.active_at(saturday + 23 * hour));
  EXPECT_TRUE(w.active_at(saturday + day + hour + 59 * minute));
  EXPECT_FALSE(w.active_at(saturday + day + 2 * hour));
  // The next week, and not on other days.
  EXPECT_TRUE(w.active_at(saturday + 7 * day + 23 * hour + minute));
  EXPECT_FALSE(w.active_at(monday + 2 * day + 23 * hour + minute));
  // Sunday late into Monday morning wraps the week.
  auto sunday = window(1u << 6, 22 * 60, 240);
  EXPECT_TRUE(sunday.active_at(monday + 7 * day + hour));
  EXPECT_TRUE(sunday.active_at(monday + hour)); // the Sunday before
  EXPECT_FALSE(sunday.active_at(monday + 2 * hour));
}

TEST(suppression_set, checks_windows_and_suppresses_during_them) {
  suppression_set set;
  EXPECT_FALSE(set.add(window(0, 60, 60)));
  EXPECT_FALSE(set.add(window(1, 24 * 60, 60)));
  EXPECT_FALSE(set.add(window(1, 60, 0)));
  EXPECT_FALSE(set.add(window(1, 60, 7 * 24 * 60 + 1)));
  ASSERT_TRUE(set.add(window(1, 2 * 60, 30))); // Mondays 02:00-02:30
  EXPECT_EQ(set.suppressed(pay, monday + 2 * hour + 10 * minute), "w");
  EXPECT_FALSE(set.suppressed(pay, monday + 3 * hour));
  // Expiry is for silences; a recurring window stays.
  EXPECT_EQ(set.expire(monday + 365 * day), 0u);
  EXPECT_EQ(set.windows().size(), 1u);
}

} // namespace
