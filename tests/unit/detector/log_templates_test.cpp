// Masking of variable tokens and online template mining on real log lines.

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <set>

#include "actors/detector/log_parse.hpp"
#include "actors/detector/log_templates.hpp"
#include "tests/support/support.hpp"

using namespace vigil::detector;

TEST(log_templates, masks_numbers_ids_addresses_paths_and_quotes) {
  EXPECT_EQ(mask_log_text("took 12ms after 3 tries (1.5s total)"),
            "took <*> after <*> tries <*> total)");
  EXPECT_EQ(mask_log_text("request 550e8400-e29b-41d4-a716-446655440000 "
                          "from 10.0.0.7:8080 and [fe80::1]:53"),
            "request <*> from <*> and <*>");
  EXPECT_EQ(mask_log_text("open /var/lib/x.db and ./rel/y failed"),
            "open <*> and <*> failed");
  EXPECT_EQ(mask_log_text("GET https://a.b/c?d=1 for bob@example.com"),
            "GET <*> for <*>");
  EXPECT_EQ(mask_log_text("commit deadbeef01 and 0x1f, v2.42.0"),
            "commit <*> and <*> <*>");
  EXPECT_EQ(mask_log_text("err=\"no such file\" user=\"a b\" code=42 "
                          "mode=server"),
            "err=<*> user=<*> code=<*> mode=server");
  EXPECT_EQ(mask_log_text("said 'hello there' loudly"), "said <*> loudly");
  // Words stay words.
  EXPECT_EQ(mask_log_text("Connection refused by peer"),
            "Connection refused by peer");
}

TEST(log_templates, groups_real_prometheus_lines_into_their_statements) {
  template_miner m;
  auto add = [&](const std::string& line) {
    return m.add(mining_text(parse_log_line(line)));
  };
  auto a = add(R"(ts=2026-11-21T08:58:43.101Z caller=scrape.go:1351 )"
               R"(level=debug component="scrape manager" scrape_pool=dead )"
               R"(target=http://127.0.0.1:19999/metrics msg="Scrape failed" )"
               R"(err="Get \"http://127.0.0.1:19999/metrics\": dial tcp )"
               R"(127.0.0.1:19999: connect: connection refused")");
  auto b = add(R"(ts=2026-11-21T08:58:44.101Z caller=scrape.go:1351 )"
               R"(level=debug component="scrape manager" scrape_pool=dead )"
               R"(target=http://127.0.0.1:19998/metrics msg="Scrape failed" )"
               R"(err="Get \"http://127.0.0.1:19998/metrics\": dial tcp )"
               R"(127.0.0.1:19998: connect: connection refused")");
  auto c = add(R"(ts=2026-11-21T08:58:41.999Z caller=main.go:1192 )"
               R"(level=info msg="Loading configuration file" )"
               R"(filename=prom.yml)");
  EXPECT_TRUE(a.created);
  EXPECT_FALSE(b.created);
  EXPECT_EQ(a.id, b.id);
  EXPECT_NE(a.id, c.id);
  EXPECT_EQ(m.find(a.id)->text(),
            "Scrape failed caller=scrape.go:1351 component=<*> "
            "scrape_pool=dead target=<*> err=<*>");
  EXPECT_EQ(m.find(c.id)->text(), "Loading configuration file "
                                  "caller=main.go:1192 filename=prom.yml");
}

TEST(log_templates, generalises_a_template_and_keeps_its_id) {
  template_miner m;
  auto a = m.add("status installed libc6:amd64 2.36-9");
  auto b = m.add("status installed bash:amd64 5.2.15-2");
  auto c = m.add("status unpacked bash:amd64 5.2.15-2");
  auto d = m.add("User alice logged in from 10.0.0.1");
  auto e = m.add("User bob logged in from 10.0.0.2");
  auto f = m.add("User bob logged out after 3 minutes");
  EXPECT_EQ(a.id, b.id);
  EXPECT_TRUE(b.changed);
  EXPECT_NE(a.id, c.id);
  EXPECT_EQ(d.id, e.id);
  EXPECT_NE(e.id, f.id);
  EXPECT_EQ(m.find(a.id)->text(), "status installed <*> <*>");
  EXPECT_EQ(m.find(d.id)->text(), "User <*> logged in from <*>");
  EXPECT_EQ(template_id_text(a.id).size(), 16u);
  // The id is a function of the first text: a fresh miner agrees.
  template_miner m2;
  EXPECT_EQ(m2.add("status installed libc6:amd64 2.36-9").id, a.id);
}

TEST(log_templates, keeps_statements_apart_that_differ_in_one_word) {
  template_miner m;
  auto open = m.add("Connection to 10.0.0.1:80 established in 12ms");
  auto close = m.add("Connection to 10.0.0.1:80 closed by peer");
  auto s1 = m.add("status half-configured libc6:amd64 2.36");
  auto s2 = m.add("status installed libc6:amd64 2.36");
  EXPECT_NE(open.id, close.id);
  EXPECT_NE(s1.id, s2.id);
}

TEST(log_templates, mines_the_committed_dpkg_corpus_into_its_twelve_kinds) {
  std::ifstream in{vigil::test::fixture_path("logs/dpkg.log")};
  ASSERT_TRUE(in);
  template_miner m;
  std::map<std::string, std::set<uint64_t>> ids_by_kind;
  std::string line;
  while (std::getline(in, line)) {
    auto r = m.add(mining_text(parse_log_line(line)));
    // The kind: action word plus, for status lines, the state.
    auto rest = line.substr(20);
    auto kind = rest.substr(0, rest.find(' '));
    if (kind == "status" || kind == "startup")
      kind = rest.substr(0, rest.find(' ', kind.size() + 1));
    ids_by_kind[kind].insert(r.id);
  }
  std::set<uint64_t> all;
  for (auto& [kind, ids] : ids_by_kind) {
    EXPECT_EQ(ids.size(), 1u) << kind;
    all.insert(ids.begin(), ids.end());
  }
  EXPECT_EQ(all.size(), ids_by_kind.size());
  EXPECT_EQ(m.size(), ids_by_kind.size());
}

TEST(log_templates, memory_stays_bounded_under_endless_new_templates) {
  log_template_options o;
  o.max_templates = 50;
  o.max_leaf_templates = 10;
  template_miner m{o};
  uint64_t first = m.add("alpha beta gamma").id;
  for (int i = 0; i < 20000; ++i) {
    // Distinct words in every position: each line is a new template.
    char line[64];
    std::snprintf(line, sizeof line, "w%c%c x%c yy%c z%c",
                  'a' + i % 26, 'a' + i / 26 % 26, 'a' + i % 23,
                  'a' + i % 19, 'a' + i % 17);
    m.add(line);
    ASSERT_LE(m.size(), 50u);
  }
  EXPECT_GT(m.stats().evicted, 0u);
  EXPECT_EQ(m.find(first), nullptr);
  size_t n = 0;
  m.for_each([&](const log_template&) { ++n; });
  EXPECT_EQ(n, m.size());
}

TEST(log_templates, survives_empty_huge_and_binary_lines) {
  template_miner m;
  EXPECT_EQ(m.add("").id, m.add("   ").id);
  std::string huge;
  for (int i = 0; i < 200000; ++i)
    huge += "tok" + std::to_string(i) + ' ';
  auto h = m.add(huge);
  ASSERT_NE(m.find(h.id), nullptr);
  EXPECT_LE(m.find(h.id)->tokens.size(), m.options().max_tokens);
  std::string bin;
  for (int i = 0; i < 4096; ++i)
    bin += static_cast<char>(i * 7919);
  m.add(bin);
  m.add("\xff\xfe\"unterminated quote 'x");
  EXPECT_GE(m.size(), 3u);
}
