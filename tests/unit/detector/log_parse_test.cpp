// Parsing of every supported log line format, auto-detection, and lines
// that are not logs at all.

#include <gtest/gtest.h>

#include <random>

#include "actors/detector/log_parse.hpp"

using namespace vigil::detector;

namespace {

std::string field(const parsed_log& x, const std::string& key) {
  for (auto& f : x.fields)
    if (f.key == key)
      return f.value;
  return "<none>";
}

// 2024-01-01T12:00:00Z in ms.
constexpr int64_t noon = 1704110400000;

} // namespace

TEST(log_parse, reads_json_lines_with_time_level_and_fields) {
  auto x = parse_log_line(
    R"({"ts":"2024-01-01T12:00:00.250Z","level":"error","msg":"payment )"
    R"(declined \"card\"","order":{"id":7},"retry":true})");
  EXPECT_EQ(x.format, log_format::json);
  EXPECT_EQ(x.ts_ms, noon + 250);
  EXPECT_EQ(x.severity, 17);
  EXPECT_EQ(x.message, "payment declined \"card\"");
  EXPECT_EQ(field(x, "order"), "{\"id\":7}");
  EXPECT_EQ(field(x, "retry"), "true");
}

TEST(log_parse, reads_unix_seconds_and_millis_in_json) {
  EXPECT_EQ(parse_log_line(R"({"time":1704110400.5,"msg":"x"})").ts_ms,
            noon + 500);
  EXPECT_EQ(parse_log_line(R"({"time":1704110400000,"msg":"x"})").ts_ms,
            noon);
}

TEST(log_parse, reads_prometheus_logfmt) {
  auto x = parse_log_line(
    R"(ts=2024-01-01T12:00:00.000Z caller=main.go:551 level=warn )"
    R"x(msg="Starting Prometheus Server" mode=server version="(v=2.42)")x");
  EXPECT_EQ(x.format, log_format::logfmt);
  EXPECT_EQ(x.ts_ms, noon);
  EXPECT_EQ(x.severity, 13);
  EXPECT_EQ(x.message, "Starting Prometheus Server");
  EXPECT_EQ(field(x, "caller"), "main.go:551");
  EXPECT_EQ(field(x, "version"), "(v=2.42)");
}

TEST(log_parse, reads_rfc3164_syslog_with_priority) {
  auto x = parse_log_line("<34>Oct 11 22:14:15 mymachine su[230]: 'su root' "
                          "failed for lonvick on /dev/pts/8");
  EXPECT_EQ(x.format, log_format::syslog);
  EXPECT_EQ(x.severity, 21); // 34 % 8 = 2, crit
  EXPECT_EQ(field(x, "host"), "mymachine");
  EXPECT_EQ(field(x, "app"), "su");
  EXPECT_EQ(field(x, "pid"), "230");
  EXPECT_EQ(x.message, "'su root' failed for lonvick on /dev/pts/8");
}

TEST(log_parse, reads_rfc5424_syslog) {
  auto x = parse_log_line(
    "<165>1 2024-01-01T12:00:00.003Z mymachine.example.com evntslog - ID47 "
    "[exampleSDID@32473 iut=\"3\" eventSource=\"Application\"] An "
    "application event log entry");
  EXPECT_EQ(x.format, log_format::syslog);
  EXPECT_EQ(x.ts_ms, noon + 3);
  EXPECT_EQ(x.severity, 10); // 165 % 8 = 5, notice
  EXPECT_EQ(field(x, "app"), "evntslog");
  EXPECT_EQ(field(x, "msgid"), "ID47");
  EXPECT_EQ(x.message, "An application event log entry");
}

TEST(log_parse, reads_traditional_syslog_files_without_priority) {
  auto x = parse_log_line("Jan  5 06:25:01 host1 CRON[4242]: (root) CMD "
                          "(command -v debian-sa1)");
  EXPECT_EQ(x.format, log_format::syslog);
  EXPECT_EQ(field(x, "app"), "CRON");
  EXPECT_EQ(x.message, "(root) CMD (command -v debian-sa1)");
  auto y = parse_log_line("2024-01-01T12:00:00.123456+00:00 host1 "
                          "systemd[1]: Started Session 4 of user bob.");
  EXPECT_EQ(y.format, log_format::syslog);
  EXPECT_EQ(y.ts_ms, noon + 123);
  EXPECT_EQ(y.message, "Started Session 4 of user bob.");
}

TEST(log_parse, reads_combined_and_common_access_logs) {
  auto x = parse_log_line(
    R"(127.0.0.1 - frank [01/Jan/2024:13:00:00 +0100] "GET /a.gif?x=1 )"
    R"(HTTP/1.0" 503 2326 "http://example.com/" "Mozilla/4.08")");
  EXPECT_EQ(x.format, log_format::access);
  EXPECT_EQ(x.ts_ms, noon);
  EXPECT_EQ(x.severity, 17);
  EXPECT_EQ(x.message, "GET /a.gif HTTP/1.0 503");
  EXPECT_EQ(field(x, "user"), "frank");
  EXPECT_EQ(field(x, "user_agent"), "Mozilla/4.08");
  auto y = parse_log_line(R"(10.0.0.1 - - [01/Jan/2024:12:00:00 +0000] )"
                          R"("POST /api HTTP/1.1" 404 0)");
  EXPECT_EQ(y.format, log_format::access);
  EXPECT_EQ(y.severity, 13);
}

TEST(log_parse, reads_log4j_and_spring_boot_lines) {
  auto x = parse_log_line("2024-01-01 12:00:00,123 ERROR [main-7] "
                          "com.x.Y - Connection refused: db:5432");
  EXPECT_EQ(x.format, log_format::log4j);
  EXPECT_EQ(x.ts_ms, noon + 123);
  EXPECT_EQ(x.severity, 17);
  EXPECT_EQ(field(x, "thread"), "main-7");
  EXPECT_EQ(field(x, "logger"), "com.x.Y");
  EXPECT_EQ(x.message, "Connection refused: db:5432");
  auto y = parse_log_line("2024-01-01T12:00:00.000Z  WARN 4711 --- [nio-8080"
                          "-exec-1] o.s.w.s.DispatcherServlet : Slow request");
  EXPECT_EQ(y.format, log_format::log4j);
  EXPECT_EQ(y.severity, 13);
  EXPECT_EQ(y.message, "Slow request");
}

TEST(log_parse, reads_both_python_logging_layouts) {
  auto x = parse_log_line("ERROR:root:Database query failed after 3 retries");
  EXPECT_EQ(x.format, log_format::python);
  EXPECT_EQ(x.severity, 17);
  EXPECT_EQ(field(x, "logger"), "root");
  EXPECT_EQ(x.message, "Database query failed after 3 retries");
  auto y = parse_log_line("2024-01-01 12:00:00,500 - app.worker - WARNING - "
                          "queue is 90% full");
  EXPECT_EQ(y.format, log_format::python);
  EXPECT_EQ(y.ts_ms, noon + 500);
  EXPECT_EQ(y.severity, 13);
  EXPECT_EQ(field(y, "logger"), "app.worker");
  EXPECT_EQ(y.message, "queue is 90% full");
}

TEST(log_parse, falls_back_to_text_keeping_a_leading_time_and_level) {
  auto x = parse_log_line("2024-01-01 12:00:00 status installed bash:amd64 "
                          "5.2.15-2+b2");
  EXPECT_EQ(x.format, log_format::text);
  EXPECT_EQ(x.ts_ms, noon);
  EXPECT_EQ(x.message, "status installed bash:amd64 5.2.15-2+b2");
  auto k = parse_log_line("[    1.234567] virtio_net virtio0 eth0: renamed");
  EXPECT_EQ(k.format, log_format::text);
  EXPECT_EQ(k.message, "virtio_net virtio0 eth0: renamed");
  auto l = parse_log_line("WARN disk almost full");
  EXPECT_EQ(l.severity, 13);
  EXPECT_EQ(l.message, "disk almost full");
  // A capitalised first word is text, not a level.
  EXPECT_EQ(parse_log_line("Error budget is fine").severity, 0);
}

TEST(log_parse, a_forced_format_that_does_not_fit_reads_as_text) {
  auto x = parse_log_line("just words", log_format::json);
  EXPECT_EQ(x.format, log_format::text);
  EXPECT_EQ(x.message, "just words");
  EXPECT_EQ(parse_log_line("a=1 b=2", log_format::logfmt).format,
            log_format::logfmt);
  EXPECT_EQ(log_format_from("access"), log_format::access);
  EXPECT_FALSE(log_format_from("xml"));
}

TEST(log_parse, maps_level_names_to_otlp_severity_numbers) {
  EXPECT_EQ(severity_number("TRACE"), 1);
  EXPECT_EQ(severity_number("debug"), 5);
  EXPECT_EQ(severity_number("Info"), 9);
  EXPECT_EQ(severity_number("WARNING"), 13);
  EXPECT_EQ(severity_number("err"), 17);
  EXPECT_EQ(severity_number("CRITICAL"), 21);
  EXPECT_EQ(severity_number("banana"), 0);
  EXPECT_EQ(syslog_severity(3), 17);
}

TEST(log_parse, never_fails_on_empty_huge_binary_or_invalid_utf8_lines) {
  EXPECT_EQ(parse_log_line("").message, "");
  EXPECT_EQ(parse_log_line("   ").format, log_format::text);
  std::string huge(1 << 20, 'a');
  EXPECT_EQ(parse_log_line(huge).message.size(), huge.size());
  std::string deep(1 << 20, '{');
  EXPECT_EQ(parse_log_line(deep).format, log_format::text);
  std::mt19937 rng{42};
  for (int i = 0; i < 2000; ++i) {
    std::string junk(rng() % 300, '\0');
    for (auto& c : junk)
      c = static_cast<char>(rng());
    // Prefixes that send the detector down each format's path.
    static const char* prefixes[] = {"", "{\"", "<13>1 ", "<13>Oct ",
                                     "2024-01-01 12:00:00,1 ",
                                     "1.2.3.4 - - [", "a=", "ERROR:"};
    for (auto* p : prefixes) {
      auto x = parse_log_line(std::string{p} + junk);
      EXPECT_NE(x.format, log_format::auto_detect);
    }
  }
  auto utf = parse_log_line("{\"msg\":\"\xff\xfe bad \\ud800 utf\"}");
  EXPECT_EQ(utf.format, log_format::json);
}
