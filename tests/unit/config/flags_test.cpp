// vigild's flags: both spellings, the precedence defaults < file < flags,
// and errors that name the flag and its legal values.

#include "config/flags.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "tests/support/support.hpp"

namespace vigil {
namespace {

testing::AssertionResult contains(const std::string& text,
                                  std::string_view part) {
  if (text.find(part) != std::string::npos)
    return testing::AssertionSuccess();
  return testing::AssertionFailure()
         << "'" << text << "' does not contain '" << part << "'";
}

flags_result parse(std::initializer_list<const char*> args) {
  std::vector<const char*> argv{"vigild"};
  argv.insert(argv.end(), args.begin(), args.end());
  return parse_flags(static_cast<int>(argv.size()), argv.data());
}

flags parsed(std::initializer_list<const char*> args) {
  auto r = parse(args);
  EXPECT_TRUE(r.ok()) << r.message();
  return r.value;
}

// -- parsing ---------------------------------------------------------------------

TEST(config_flags, no_flags_parse_to_nothing_set) {
  EXPECT_EQ(parsed({}), flags{});
}

TEST(config_flags, every_flag_parses_in_the_separate_value_form) {
  auto f = parsed({"--config", "a.yaml", "--data-dir", "/d", "--http",
                   "0.0.0.0:80", "--cluster", "0.0.0.0:81", "--node-id", "n1",
                   "--join", "a:1", "--playbooks", "/p", "--log-level",
                   "debug"});
  EXPECT_EQ(f.config, "a.yaml");
  EXPECT_EQ(f.data_dir, "/d");
  EXPECT_EQ(f.http, "0.0.0.0:80");
  EXPECT_EQ(f.cluster, "0.0.0.0:81");
  EXPECT_EQ(f.node_id, "n1");
  EXPECT_EQ(f.join, "a:1");
  EXPECT_EQ(f.playbooks, "/p");
  EXPECT_EQ(f.log_level, "debug");
  EXPECT_FALSE(f.help || f.version || f.print_config);
}

TEST(config_flags, the_equals_form_works_and_may_hold_an_equals_sign) {
  auto f = parsed({"--http=127.0.0.1:0", "--node-id=a", "--config=x=y.yaml"});
  EXPECT_EQ(f.http, "127.0.0.1:0");
  EXPECT_EQ(f.node_id, "a");
  EXPECT_EQ(f.config, "x=y.yaml");
}

TEST(config_flags, switches_set_their_bit) {
  EXPECT_TRUE(parsed({"--help"}).help);
  EXPECT_TRUE(parsed({"-h"}).help);
  EXPECT_TRUE(parsed({"--version"}).version);
  EXPECT_TRUE(parsed({"--print-config"}).print_config);
}

TEST(config_flags, a_later_flag_wins_but_joins_add_up) {
  auto f = parsed({"--http", "a:1", "--http", "b:2", "--join", "c:3",
                   "--join=d:4,e:5"});
  EXPECT_EQ(f.http, "b:2");
  EXPECT_EQ(f.join, "c:3,d:4,e:5");
}

TEST(config_flags, an_unknown_flag_suggests_the_nearest_one) {
  auto r = parse({"--confg", "vigil.yaml"});
  ASSERT_EQ(r.errors.size(), 1u) << r.message();
  const auto& e = r.errors.front();
  EXPECT_EQ(e.file, "command line");
  EXPECT_EQ(e.key, "--confg");
  EXPECT_TRUE(contains(e.message, "unknown flag; did you mean --config?"));
  EXPECT_EQ(e.to_string(),
            "command line: --confg: unknown flag; did you mean --config? "
            "(legal: see --help)");
  EXPECT_TRUE(contains(parse({"-config=x"}).message(), "--config?"));
  EXPECT_TRUE(contains(parse({"--log_level=info"}).message(), "--log-level?"));
  EXPECT_TRUE(contains(parse({"--datadir", "/x"}).message(), "--data-dir?"));
  EXPECT_EQ(parse({"--frobnicate"}).errors.front().message, "unknown flag");
}

TEST(config_flags, a_missing_value_names_the_flag_and_its_legal_values) {
  auto r = parse({"--http"});
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors.front().key, "--http");
  EXPECT_EQ(r.errors.front().message, "needs a value");
  EXPECT_TRUE(contains(r.errors.front().legal, "HOST:PORT"));
  // The next flag is not taken for a value.
  auto r2 = parse({"--log-level", "--http", "a:1"});
  ASSERT_EQ(r2.errors.size(), 1u) << r2.message();
  EXPECT_EQ(r2.errors.front().key, "--log-level");
  EXPECT_EQ(r2.value.http, "a:1");
}

TEST(config_flags, stray_arguments_and_values_for_switches_are_errors) {
  auto r = parse({"serve", "--help=yes"});
  ASSERT_EQ(r.errors.size(), 2u) << r.message();
  EXPECT_TRUE(contains(r.errors[0].message, "unexpected argument 'serve'"));
  EXPECT_EQ(r.errors[1].key, "--help");
  EXPECT_EQ(r.errors[1].message, "takes no value");
}

// -- applying ----------------------------------------------------------------------

TEST(config_flags, value_flags_set_their_options) {
  auto r = apply_flags(parsed({"--data-dir", "/d", "--http", "[::1]:0",
                               "--cluster", "127.0.0.1:0", "--node-id", "n1",
                               "--playbooks", "/p", "--log-level", "warn"}));
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_EQ(r.opts.node.data_dir, "/d");
  EXPECT_EQ(r.opts.node.http, (host_port{"::1", 0}));
  EXPECT_EQ(r.opts.node.cluster, (host_port{"127.0.0.1", 0}));
  EXPECT_EQ(r.opts.node.id, "n1");
  EXPECT_EQ(r.opts.node.playbooks_dir, "/p");
  EXPECT_EQ(r.opts.node.log_level, "warn");
}

TEST(config_flags, join_is_split_into_the_seed_list) {
  auto r = apply_flags(parsed({"--join", "a:1,b:2"}));
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_EQ(r.opts.cluster.join, (std::vector<std::string>{"a:1", "b:2"}));
  auto spaced = apply_flags(parsed({"--join", "a:1, [::1]:2"}));
  ASSERT_TRUE(spaced.ok()) << spaced.message();
  EXPECT_EQ(spaced.opts.cluster.join,
            (std::vector<std::string>{"a:1", "[::1]:2"}));
}

TEST(config_flags, an_empty_join_clears_the_seeds_of_the_base) {
  options base;
  base.cluster.join = {"a:1"};
  auto r = apply_flags(parsed({"--join="}), base);
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_TRUE(r.opts.cluster.join.empty());
}

TEST(config_flags, a_bad_flag_value_names_the_flag_and_the_legal_values) {
  auto r = apply_flags(parsed({"--http", "127.0.0.1:70000"}));
  ASSERT_EQ(r.errors.size(), 1u) << r.message();
  const auto& e = r.errors.front();
  EXPECT_EQ(e.file, "command line");
  EXPECT_EQ(e.line, 0);
  EXPECT_EQ(e.key, "--http");
  EXPECT_TRUE(contains(e.message, "out of range 0..65535"));
  EXPECT_TRUE(contains(e.to_string(), "command line: --http: "));
  EXPECT_TRUE(contains(e.legal, "HOST:PORT"));

  auto level = apply_flags(parsed({"--log-level", "verbose"}));
  ASSERT_EQ(level.errors.size(), 1u);
  EXPECT_EQ(level.errors.front().key, "--log-level");
  EXPECT_EQ(level.errors.front().legal, "trace, debug, info, warn or error");

  auto join = apply_flags(parsed({"--join", "a:1,,b:2"}));
  ASSERT_EQ(join.errors.size(), 1u);
  EXPECT_EQ(join.errors.front().key, "--join");
  EXPECT_TRUE(contains(join.errors.front().message, "empty item"));

  auto seed = apply_flags(parsed({"--join", "a:1,b"}));
  ASSERT_EQ(seed.errors.size(), 1u);
  EXPECT_TRUE(contains(seed.errors.front().message, "'b' has no port"));

  auto id = apply_flags(parsed({"--node-id", "a/b"}));
  ASSERT_EQ(id.errors.size(), 1u);
  EXPECT_EQ(id.errors.front().key, "--node-id");
}

TEST(config_flags, rules_between_options_name_the_flag_that_broke_them) {
  auto r = apply_flags(parsed({"--cluster", "127.0.0.1:8470"}));
  ASSERT_EQ(r.errors.size(), 1u) << r.message();
  EXPECT_EQ(r.errors.front().key, "--cluster");
  EXPECT_TRUE(contains(r.errors.front().message, "port of node.http"));
  auto earlier = apply_flags(parsed({"--http", "127.0.0.1:8471"}));
  ASSERT_EQ(earlier.errors.size(), 1u) << earlier.message();
  EXPECT_EQ(earlier.errors.front().key, "--http");
}

// -- precedence --------------------------------------------------------------------

TEST(config_flags, without_a_config_file_the_defaults_apply) {
  auto r = resolve_options(flags{});
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_EQ(r.opts, options{});
}

TEST(config_flags, flags_override_the_file_which_overrides_the_defaults) {
  test::temp_dir dir;
  auto path = dir.str() + "/vigil.yaml";
  std::ofstream{path} << "node:\n  http: 0.0.0.0:9000\n  log_level: debug\n"
                         "cluster:\n  join: [x:1]\n  shards: 64\n";
  auto r = resolve_options(
    parsed({"--config", path.c_str(), "--http=127.0.0.1:9100", "--join",
            "y:2,z:3"}));
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_EQ(r.opts.node.http, (host_port{"127.0.0.1", 9100})); // flag
  EXPECT_EQ(r.opts.node.log_level, "debug");                   // file
  EXPECT_EQ(r.opts.cluster.shards, 64u);                       // file
  EXPECT_EQ(r.opts.cluster.join, (std::vector<std::string>{"y:2", "z:3"}));
  EXPECT_EQ(r.opts.node.data_dir, "./vigil-data"); // default
}

TEST(config_flags, a_flag_can_repair_a_rule_the_file_alone_would_break) {
  test::temp_dir dir;
  auto path = dir.str() + "/vigil.yaml";
  std::ofstream{path} << "node:\n  http: 127.0.0.1:8471\n";
  EXPECT_FALSE(load_config_file(path).ok());
  auto r = resolve_options(parsed({"--config", path.c_str(), "--cluster",
                                   "127.0.0.1:9999"}));
  EXPECT_TRUE(r.ok()) << r.message();
}

TEST(config_flags, problems_in_the_file_and_the_flags_are_reported_together) {
  test::temp_dir dir;
  auto path = dir.str() + "/vigil.yaml";
  std::ofstream{path} << "ingest:\n  max_body_byte: 1MiB\n";
  auto r = resolve_options(parsed({"--config", path.c_str(), "--log-level",
                                   "loud"}));
  ASSERT_EQ(r.errors.size(), 2u) << r.message();
  EXPECT_EQ(r.errors[0].file, path);
  EXPECT_EQ(r.errors[0].line, 2);
  EXPECT_EQ(r.errors[0].key, "ingest.max_body_byte");
  EXPECT_EQ(r.errors[1].file, "command line");
  EXPECT_EQ(r.errors[1].key, "--log-level");
}

TEST(config_flags, a_missing_config_file_is_an_error_naming_it) {
  auto r = resolve_options(parsed({"--config", "/nonexistent/vigil.yaml"}));
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors.front().file, "/nonexistent/vigil.yaml");
  EXPECT_TRUE(contains(r.errors.front().message, "cannot open"));
  auto empty = resolve_options(parsed({"--config="}));
  ASSERT_EQ(empty.errors.size(), 1u);
  EXPECT_EQ(empty.errors.front().key, "--config");
}

TEST(config_flags, usage_lists_every_flag_with_its_default) {
  auto text = usage();
  for (auto flag : {"--config FILE", "--data-dir DIR", "--http HOST:PORT",
                    "--cluster HOST:PORT", "--node-id ID",
                    "--join HOST:PORT[,HOST:PORT...]", "--playbooks DIR",
                    "--log-level trace|debug|info|warn|error",
                    "--print-config", "--version", "--help"})
    EXPECT_TRUE(contains(text, flag));
  EXPECT_TRUE(contains(text, "default: 127.0.0.1:8470"));
  EXPECT_TRUE(contains(text, "default: ./vigil-data"));
  EXPECT_TRUE(contains(text, "Flags override the config file"));
}

} // namespace
} // namespace vigil
