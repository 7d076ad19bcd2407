// Loading vigil.yaml: defaults, every value kind, every class of error with
// its position, the unknown-key suggestions, rules between options, and the
// to_yaml round trip.

#include "config/loader.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include "config/rules.hpp"
#include "messages/errc.hpp"
#include "tests/support/support.hpp"

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

load_result load(std::string_view yaml, options base = {}) {
  return load_config_string(yaml, "vigil.yaml", std::move(base));
}

// Loads `yaml`, expects exactly one error and returns it.
config_error only_error(std::string_view yaml) {
  auto r = load(yaml);
  EXPECT_EQ(r.errors.size(), 1u) << r.message();
  return r.errors.empty() ? config_error{} : r.errors.front();
}

// -- defaults and legal input ---------------------------------------------------

TEST(config_loader, an_empty_document_yields_the_defaults) {
  for (auto yaml : {"", "\n\n", "# only a comment\n# and another\n", "---\n",
                    "~\n", "---\n# comment\n...\n"}) {
    auto r = load(yaml);
    EXPECT_TRUE(r.ok()) << "input: '" << yaml << "'\n" << r.message();
    EXPECT_EQ(r.opts, options{}) << "input: '" << yaml << "'";
  }
}

TEST(config_loader, an_empty_file_on_disk_yields_the_defaults) {
  test::temp_dir dir;
  auto path = dir.str() + "/vigil.yaml";
  std::ofstream{path} << "# nothing set\n";
  auto r = load_config_file(path);
  EXPECT_TRUE(r.ok()) << r.message();
  EXPECT_EQ(r.opts, options{});
}

TEST(config_loader, every_value_kind_is_read_in_its_legal_forms) {
  auto r = load(R"(
node:
  id: node-1.eu_west
  data_dir: /var/lib/vigil
  http: "[::1]:0"
  cluster: 10.0.0.7:9000
  log_level: debug
  http_threads: 4
  shutdown_timeout: 1m30s
  supervision:
    max_restarts: 0
    backoff_initial: 250ms
ingest:
  max_body_bytes: 8MiB
  max_decoded_bytes: 100000000
  service_labels: [app, "job"]
  default_service: 'other service'
  max_queued_samples: 1_000_000
  retry_after: 2s
detection:
  detectors:
    - cusum
    - zscore
  min_votes: 1
  series_ttl: 1d
  zscore: {window: 120, threshold: 2.5}
  ewma:
    alpha: 1
  cusum:
    drift: 0
security:
  ingest_token: "s3cr3t-token"
cluster:
  join: ["10.0.0.8:8471", "[fe80::2]:8471"]
  shards: 65536
)");
  ASSERT_TRUE(r.ok()) << r.message();
  const auto& x = r.opts;
  EXPECT_EQ(x.node.id, "node-1.eu_west");
  EXPECT_EQ(x.node.data_dir, "/var/lib/vigil");
  EXPECT_EQ(x.node.http, (host_port{"::1", 0}));
  EXPECT_EQ(x.node.cluster, (host_port{"10.0.0.7", 9000}));
  EXPECT_EQ(x.node.log_level, "debug");
  EXPECT_EQ(x.node.http_threads, 4u);
  EXPECT_EQ(x.node.shutdown_timeout, 90s);
  EXPECT_EQ(x.node.supervision.max_restarts, 0u);
  EXPECT_EQ(x.node.supervision.backoff_initial, 250ms);
  EXPECT_EQ(x.ingest.max_body_bytes, 8ull << 20);
  EXPECT_EQ(x.ingest.max_decoded_bytes, 100'000'000ull);
  EXPECT_EQ(x.ingest.service_labels, (std::vector<std::string>{"app", "job"}));
  EXPECT_EQ(x.ingest.default_service, "other service");
  EXPECT_EQ(x.ingest.max_queued_samples, 1'000'000u);
  EXPECT_EQ(x.ingest.retry_after, 2s);
  EXPECT_EQ(x.detection.detectors,
            (std::vector<std::string>{"cusum", "zscore"}));
  EXPECT_EQ(x.detection.min_votes, 1u);
  EXPECT_EQ(x.detection.series_ttl, 24h);
  EXPECT_EQ(x.detection.zscore.window, 120u);
  EXPECT_EQ(x.detection.zscore.threshold, 2.5);
  EXPECT_EQ(x.detection.ewma.alpha, 1.0);
  EXPECT_EQ(x.detection.cusum.drift, 0.0);
  EXPECT_EQ(x.security.ingest_token, "s3cr3t-token");
  EXPECT_EQ(x.cluster.join,
            (std::vector<std::string>{"10.0.0.8:8471", "[fe80::2]:8471"}));
  EXPECT_EQ(x.cluster.shards, 65536u);
  // What the file does not name keeps its default.
  EXPECT_EQ(x.node.playbooks_dir, options{}.node.playbooks_dir);
  EXPECT_EQ(x.detection.cusum.alpha, options{}.detection.cusum.alpha);
}

TEST(config_loader, sections_may_be_empty_maps_or_null) {
  auto r = load("node:\ningest: {}\ncorrelation:\ntopology: {}\nrca: ~\n"
                "remediation: {}\nnotifiers: {}\nllm: {}\nsuppression: {}\n"
                "detection:\n  zscore:\n");
  EXPECT_TRUE(r.ok()) << r.message();
  EXPECT_EQ(r.opts, options{});
}

TEST(config_loader, the_file_replaces_only_the_keys_it_names_in_the_base) {
  options base;
  base.node.id = "from-base";
  base.cluster.shards = 16;
  base.cluster.join = {"a:1", "b:2"};
  auto r = load("cluster:\n  join: [c:3]\n", base);
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_EQ(r.opts.node.id, "from-base");
  EXPECT_EQ(r.opts.cluster.shards, 16u);
  // Lists are replaced, not merged.
  EXPECT_EQ(r.opts.cluster.join, (std::vector<std::string>{"c:3"}));
}

TEST(config_loader, a_missing_string_value_reads_as_empty_and_a_missing_list_as_no_items) {
  options base;
  base.node.id = std::string{"node-from-base"};
  base.cluster.join = {"a:1"};
  auto r = load("node:\n  id:\ncluster:\n  join:\n", base);
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_EQ(r.opts.node.id, "");
  EXPECT_TRUE(r.opts.cluster.join.empty());
}

// -- errors: values -------------------------------------------------------------

TEST(config_loader, a_wrong_type_reports_file_line_column_key_and_legal_values) {
  auto e = only_error("ingest:\n  max_connections: [1, 2]\n");
  EXPECT_EQ(e.file, "vigil.yaml");
  EXPECT_EQ(e.line, 2);
  EXPECT_EQ(e.column, 20);
  EXPECT_EQ(e.key, "ingest.max_connections");
  EXPECT_TRUE(contains(e.message, "expected a whole number, got a list"));
  EXPECT_EQ(e.legal, "1..1000000");
  EXPECT_EQ(e.to_string(),
            "vigil.yaml:2:20: ingest.max_connections: expected a whole "
            "number, got a list (legal: 1..1000000)");
}

TEST(config_loader, text_where_a_number_belongs_is_an_error) {
  auto e = only_error("detection:\n  zscore:\n    window: sixty\n");
  EXPECT_EQ(e.line, 3);
  EXPECT_EQ(e.column, 13);
  EXPECT_EQ(e.key, "detection.zscore.window");
  EXPECT_TRUE(contains(e.message, "'sixty' is not a whole number"));
  EXPECT_EQ(e.legal, "2..10000");
}

TEST(config_loader, out_of_bounds_values_name_the_bound) {
  auto e = only_error("cluster:\n  shards: 0\n");
  EXPECT_EQ(e.key, "cluster.shards");
  EXPECT_TRUE(contains(e.message, "0 is below the minimum 1"));
  EXPECT_EQ(e.legal, "1..65536");
  e = only_error("cluster:\n  shards: 70000\n");
  EXPECT_TRUE(contains(e.message, "70000 is above the maximum 65536"));
  e = only_error("detection:\n  ewma:\n    alpha: 0\n");
  EXPECT_EQ(e.key, "detection.ewma.alpha");
  EXPECT_TRUE(contains(e.message, "0 is out of range"));
  EXPECT_EQ(e.legal, "a number > 0 and <= 1");
  e = only_error("detection:\n  cusum:\n    alpha: 1.5\n");
  EXPECT_EQ(e.legal, "a number > 0 and <= 1");
  e = only_error("node:\n  worker_threads: 1025\n");
  EXPECT_EQ(e.legal, "0..1024");
  e = only_error("node:\n  scheduler: busy\n");
  EXPECT_EQ(e.key, "node.scheduler");
  EXPECT_TRUE(contains(e.legal, "work_stealing")) << e.legal;
  e = only_error("ingest:\n  max_body_bytes: 2GiB\n");
  EXPECT_TRUE(contains(e.message, "2GiB is above the maximum 1GiB"));
  e = only_error("ingest:\n  retry_after: 1500ms\n");
  EXPECT_TRUE(contains(e.message, "not a multiple of 1s"));
  EXPECT_EQ(e.legal, "1s..1h, whole seconds");
  e = only_error("detection:\n  series_ttl: 10s\n");
  EXPECT_TRUE(contains(e.message, "10s is below the minimum 1m"));
}

TEST(config_loader, a_bare_number_for_a_duration_names_the_accepted_forms) {
  auto e = only_error("detection:\n  snapshot_interval: 30\n");
  EXPECT_EQ(e.line, 2);
  EXPECT_EQ(e.column, 22);
  EXPECT_EQ(e.key, "detection.snapshot_interval");
  EXPECT_TRUE(contains(e.message, "30 has no unit"));
  EXPECT_TRUE(contains(e.message, "250ms, 30s, 5m, 1h, 1d"));
  EXPECT_EQ(e.legal, "1s..1d");
}

TEST(config_loader, bad_sizes_and_addresses_say_what_is_wrong) {
  auto e = only_error("ingest:\n  max_body_bytes: 16KB\n");
  EXPECT_EQ(e.key, "ingest.max_body_bytes");
  EXPECT_TRUE(contains(e.message, "ambiguous"));
  e = only_error("node:\n  http: localhost\n");
  EXPECT_EQ(e.key, "node.http");
  EXPECT_TRUE(contains(e.message, "no port"));
  EXPECT_TRUE(contains(e.legal, "HOST:PORT"));
  e = only_error("node:\n  cluster: 127.0.0.1:99999\n");
  EXPECT_TRUE(contains(e.message, "out of range 0..65535"));
}

TEST(config_loader, an_illegal_word_suggests_the_nearest_legal_one) {
  auto e = only_error("node:\n  log_level: warning\n");
  EXPECT_EQ(e.key, "node.log_level");
  EXPECT_TRUE(contains(e.message, "'warning' is not a legal value"));
  EXPECT_TRUE(contains(e.message, "did you mean warn?"));
  EXPECT_EQ(e.legal, "trace, debug, info, warn or error");
}

TEST(config_loader, a_bad_list_item_is_reported_at_the_item) {
  auto e = only_error("detection:\n  detectors: [zscore, isolation_forest]\n");
  EXPECT_EQ(e.key, "detection.detectors");
  EXPECT_EQ(e.line, 2);
  EXPECT_EQ(e.column, 23);
  EXPECT_TRUE(contains(e.message, "'isolation_forest' is not a legal value"));
  EXPECT_TRUE(contains(e.legal, "zscore, ewma, cusum"));
  e = only_error("cluster:\n  join:\n    - a:1\n    - b:0\n");
  EXPECT_EQ(e.line, 4);
  EXPECT_EQ(e.column, 7);
  EXPECT_TRUE(contains(e.message, "port 0 is not allowed here"));
  e = only_error("detection:\n  detectors: [ewma, ewma]\n  min_votes: 1\n");
  EXPECT_TRUE(contains(e.message, "'ewma' is listed twice"));
  e = only_error("ingest:\n  service_labels: [service, 9job]\n");
  EXPECT_TRUE(contains(e.message, "'9job' is not a label name"));
  e = only_error("ingest:\n  service_labels: []\n");
  EXPECT_TRUE(contains(e.message, "is empty"));
  e = only_error("ingest:\n  service_labels: service\n");
  EXPECT_TRUE(contains(e.message, "expected a list"));
  e = only_error("ingest:\n  service_labels: [[a]]\n");
  EXPECT_TRUE(contains(e.message, "list items must be single values"));
}

TEST(config_loader, strings_follow_their_rules) {
  auto e = only_error("node:\n  data_dir: \"\"\n");
  EXPECT_EQ(e.key, "node.data_dir");
  EXPECT_TRUE(contains(e.message, "must not be empty"));
  e = only_error("node:\n  id: \"node one\"\n");
  EXPECT_TRUE(contains(e.message, "contains ' '"));
  e = only_error("security:\n  admin_token: \"two words\"\n");
  EXPECT_TRUE(contains(e.message, "space"));
  // A credential is never echoed into logs.
  EXPECT_FALSE(contains(e.to_string(), "two words"));
  e = only_error("node:\n  shutdown_timeout:\n");
  EXPECT_EQ(e.line, 2);
  EXPECT_EQ(e.column, 3);
  EXPECT_TRUE(contains(e.message, "has no value"));
}

// -- errors: keys ------------------------------------------------------------------

TEST(config_loader, an_unknown_key_suggests_the_nearest_valid_key) {
  auto e = only_error("ingest:\n  max_body_byte: 1MiB\n");
  EXPECT_EQ(e.line, 2);
  EXPECT_EQ(e.column, 3);
  EXPECT_EQ(e.key, "ingest.max_body_byte");
  EXPECT_TRUE(contains(e.message, "unknown key"));
  EXPECT_TRUE(contains(e.message, "did you mean ingest.max_body_bytes?"));
  EXPECT_TRUE(contains(e.legal, "max_body_bytes"));

  e = only_error("detection:\n  zscore:\n    windw: 10\n");
  EXPECT_EQ(e.line, 3);
  EXPECT_EQ(e.column, 5);
  EXPECT_EQ(e.key, "detection.zscore.windw");
  EXPECT_TRUE(contains(e.message, "did you mean detection.zscore.window?"));

  e = only_error("ingest:\n  max-body-bytes: 1MiB\n");
  EXPECT_TRUE(contains(e.message, "did you mean ingest.max_body_bytes?"));
}

TEST(config_loader, an_unknown_section_suggests_the_nearest_section) {
  auto e = only_error("detecton:\n  min_votes: 1\n");
  EXPECT_EQ(e.line, 1);
  EXPECT_EQ(e.column, 1);
  EXPECT_EQ(e.key, "detecton");
  EXPECT_TRUE(contains(e.message, "unknown section"));
  EXPECT_TRUE(contains(e.message, "did you mean detection?"));
  EXPECT_TRUE(contains(e.legal, "node, ingest, detection"));
}

TEST(config_loader, detector_rules_are_checked_item_by_item) {
  auto ok = load("detection:\n  rules: [\"disk_*=cusum,seasonal:1\"]\n");
  ASSERT_TRUE(ok.ok()) << ok.message();
  auto e = only_error("detection:\n  rules: [\"disk_*=cusm\"]\n");
  EXPECT_EQ(e.key, "detection.rules");
  EXPECT_TRUE(contains(e.message, "did you mean cusum")) << e.message;
  e = only_error("detection:\n  rules: [\"disk_*=cusum:3\"]\n");
  EXPECT_TRUE(contains(e.message, "more votes than detectors")) << e.message;
}

TEST(config_loader, precursor_limit_rules_are_checked_item_by_item) {
  auto ok = load("detection:\n  precursors:\n    limits:\n"
                 "      - \"jvm_heap_used_bytes=jvm_heap_max_bytes\"\n"
                 "      - \"*_ratio=1\"\n");
  ASSERT_TRUE(ok.ok()) << ok.message();
  EXPECT_EQ(ok.opts.detection.precursors.limits.size(), 2u);
  auto e = only_error("detection:\n  precursors:\n"
                      "    limits: [\"heap_bytes>1\"]\n");
  EXPECT_EQ(e.key, "detection.precursors.limits");
  EXPECT_TRUE(contains(e.message, "a limit rule is GLOB=NUMBER or GLOB=METRIC"))
    << e.message;
  e = only_error("detection:\n  precursors:\n"
                 "    limits: [\"heap_bytes=12 GB\"]\n");
  EXPECT_TRUE(contains(e.message, "neither a number nor a metric name"))
    << e.message;
}

TEST(config_loader, a_key_in_the_wrong_section_suggests_its_full_key) {
  auto e = only_error("node:\n  shards: 4\n");
  EXPECT_EQ(e.key, "node.shards");
  EXPECT_TRUE(contains(e.message, "did you mean cluster.shards?"));
  e = only_error("ingest:\n  min_votes: 1\n");
  EXPECT_TRUE(contains(e.message, "did you mean detection.min_votes?"));
  e = only_error("node:\n  max_restarts: 1\n");
  EXPECT_TRUE(
    contains(e.message, "did you mean node.supervision.max_restarts?"));
  e = only_error("max_body_bytes: 1MiB\n");
  EXPECT_TRUE(contains(e.message, "did you mean ingest.max_body_bytes?"));
  // A name that several sections share: all of them.
  e = only_error("detection:\n  threshold: 4\n");
  EXPECT_TRUE(contains(e.message,
                       "did you mean detection.zscore.threshold, "
                       "detection.ewma.threshold, "
                       "detection.cusum.threshold, "
                       "detection.ramp.threshold or "
                       "detection.seasonal.threshold?"));
}

TEST(config_loader, a_key_unlike_every_valid_key_gets_no_suggestion) {
  auto e = only_error("ingest:\n  frobnicate: true\n");
  EXPECT_EQ(e.message, "unknown key");
}

TEST(config_loader, a_section_must_be_a_map) {
  auto e = only_error("llm: [gpt]\n");
  EXPECT_EQ(e.key, "llm");
  EXPECT_TRUE(contains(e.message, "expected a map of options, got a list"));
}

TEST(config_loader, duplicated_keys_are_errors) {
  auto r = load("node:\n  http: 127.0.0.1:1\n  http: 127.0.0.1:2\n");
  ASSERT_EQ(r.errors.size(), 1u) << r.message();
  const auto& e = r.errors.front();
  EXPECT_EQ(e.line, 3);
  EXPECT_EQ(e.column, 3);
  EXPECT_EQ(e.key, "node.http");
  EXPECT_TRUE(contains(e.message, "given twice (first at line 2)"));
  auto twice = only_error("node: {}\nnode: {}\n");
  EXPECT_EQ(twice.key, "node");
  EXPECT_EQ(twice.line, 2);
}

TEST(config_loader, dotted_keys_are_refused_with_a_hint_to_nest_them) {
  auto e = only_error("ingest.max_body_bytes: 1MiB\n");
  EXPECT_EQ(e.key, "ingest.max_body_bytes");
  EXPECT_TRUE(contains(e.message, "nest the key"));
}

// -- errors: documents -------------------------------------------------------------

TEST(config_loader, a_yaml_syntax_error_reports_its_line) {
  auto e = only_error("node:\n  id: a\n  http: [1, 2\ningest: {}\n");
  EXPECT_EQ(e.file, "vigil.yaml");
  EXPECT_EQ(e.line, 4);
  EXPECT_GT(e.column, 0);
  EXPECT_TRUE(e.key.empty());
  EXPECT_TRUE(contains(e.message, "YAML syntax error"));
  EXPECT_TRUE(contains(e.to_string(), "vigil.yaml:4:"));
}

TEST(config_loader, tab_indentation_gets_a_hint) {
  auto e = only_error("node:\n\tid: a\n");
  EXPECT_EQ(e.line, 2);
  EXPECT_TRUE(contains(e.message, "tabs are not allowed"));
}

TEST(config_loader, the_document_must_be_one_map_of_sections) {
  auto e = only_error("- node\n- ingest\n");
  EXPECT_EQ(e.line, 1);
  EXPECT_TRUE(contains(e.message, "top level must be a map of sections"));
  e = only_error("node: {}\n---\ningest: {}\n");
  EXPECT_EQ(e.line, 3);
  EXPECT_TRUE(contains(e.message, "2 YAML documents"));
}

TEST(config_loader, a_missing_file_is_an_error_naming_it) {
  test::temp_dir dir;
  auto path = dir.str() + "/absent.yaml";
  auto r = load_config_file(path);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors.front().file, path);
  EXPECT_TRUE(contains(r.errors.front().message, "cannot open"));
  auto d = load_config_file(dir.str());
  ASSERT_EQ(d.errors.size(), 1u);
  EXPECT_TRUE(contains(d.errors.front().message, "is a directory"));
}

TEST(config_loader, every_error_is_collected_not_just_the_first) {
  auto r = load(R"(node:
  log_level: loud
  http_threads: -1
ingest:
  max_body_byte: 1MiB
  retry_after: 5
detecton: {}
cluster:
  shards: many
)");
  ASSERT_EQ(r.errors.size(), 6u) << r.message();
  EXPECT_EQ(r.errors[0].key, "node.log_level");
  EXPECT_EQ(r.errors[0].line, 2);
  EXPECT_EQ(r.errors[1].key, "node.http_threads");
  EXPECT_EQ(r.errors[1].line, 3);
  EXPECT_EQ(r.errors[2].key, "ingest.max_body_byte");
  EXPECT_EQ(r.errors[2].line, 5);
  EXPECT_EQ(r.errors[3].key, "ingest.retry_after");
  EXPECT_EQ(r.errors[3].line, 6);
  EXPECT_EQ(r.errors[4].key, "detecton");
  EXPECT_EQ(r.errors[4].line, 7);
  EXPECT_EQ(r.errors[5].key, "cluster.shards");
  EXPECT_EQ(r.errors[5].line, 9);
  // Nothing the file got wrong was applied.
  EXPECT_EQ(r.opts, options{});
  auto all = r.message();
  EXPECT_TRUE(contains(all, "vigil.yaml:2:14: node.log_level:"));
  EXPECT_TRUE(contains(all, "\nvigil.yaml:3:17: node.http_threads:"));
}

// -- rules between options ---------------------------------------------------------

TEST(config_loader, a_per_shard_queue_above_the_node_queue_is_reported_on_the_later_key) {
  auto e = only_error("ingest:\n  max_queued_samples: 1000\n"
                      "  max_queued_samples_per_shard: 5000\n");
  EXPECT_EQ(e.key, "ingest.max_queued_samples_per_shard");
  EXPECT_EQ(e.line, 3);
  EXPECT_EQ(e.column, 3);
  EXPECT_TRUE(contains(e.message, "5000 exceeds ingest.max_queued_samples "
                                  "(1000)"));
  EXPECT_EQ(e.legal, "<= ingest.max_queued_samples");
  // Only the earlier key in the file: the error points at it, still keyed on
  // the later one.
  e = only_error("ingest:\n  max_queued_samples: 1000\n");
  EXPECT_EQ(e.key, "ingest.max_queued_samples_per_shard");
  EXPECT_EQ(e.line, 2);
}

TEST(config_loader, min_votes_may_not_exceed_the_configured_detectors) {
  auto e = only_error("detection:\n  detectors: [ewma]\n");
  EXPECT_EQ(e.key, "detection.min_votes");
  EXPECT_TRUE(contains(e.message, "2 exceeds the number of detectors"));
  auto ok = load("detection:\n  detectors: [ewma]\n  min_votes: 1\n");
  EXPECT_TRUE(ok.ok()) << ok.message();
}

TEST(config_loader, the_other_rules_between_options_hold) {
  auto e = only_error("node:\n  supervision:\n    backoff_max: 50ms\n");
  EXPECT_EQ(e.key, "node.supervision.backoff_max");
  EXPECT_TRUE(contains(e.message, "shorter than"));
  e = only_error("ingest:\n  max_decoded_bytes: 1MiB\n");
  EXPECT_EQ(e.key, "ingest.max_decoded_bytes");
  EXPECT_TRUE(contains(e.message, "smaller than ingest.max_body_bytes"));
  e = only_error("node:\n  http: 0.0.0.0:9000\n  cluster: 127.0.0.1:9000\n");
  EXPECT_EQ(e.key, "node.cluster");
  EXPECT_EQ(e.line, 3);
  e = only_error("security:\n  admin_token: abc\n  admin_token_file: /t\n");
  EXPECT_EQ(e.key, "security.admin_token_file");
  e = only_error("security:\n  ingest_token: abc\n  ingest_token_file: /t\n");
  EXPECT_EQ(e.key, "security.ingest_token_file");
  // Port 0 on both sides is legal: each picks its own free port.
  auto zero = load("node:\n  http: 127.0.0.1:0\n  cluster: 127.0.0.1:0\n");
  EXPECT_TRUE(zero.ok()) << zero.message();
}

TEST(config_loader, a_refused_value_does_not_also_break_a_rule) {
  // The refused min_votes would otherwise leave the default 2 against one
  // detector and add a second, misleading error.
  auto r = load("detection:\n  detectors: [ewma]\n  min_votes: none\n");
  ASSERT_EQ(r.errors.size(), 1u) << r.message();
  EXPECT_EQ(r.errors.front().key, "detection.min_votes");
  EXPECT_TRUE(contains(r.errors.front().message, "not a whole number"));
}

TEST(config_loader, validate_checks_options_built_in_code) {
  EXPECT_TRUE(validate(options{}).empty());
  options x;
  x.cluster.shards = 0;
  x.detection.min_votes = 3;
  x.detection.detectors = {"zscore", "ewma"};
  auto errors = validate(x);
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(errors[0].key, "cluster.shards");
  EXPECT_EQ(errors[0].to_string(),
            "cluster.shards: 0 is below the minimum 1 (legal: 1..65536)");
  EXPECT_EQ(errors[1].key, "detection.min_votes");
  // A loader given an illegal base reports it rather than passing it on.
  auto r = load("", x);
  EXPECT_FALSE(r.ok());
}

TEST(config_loader, errors_convert_to_one_caf_error) {
  auto good = load("");
  EXPECT_FALSE(good.to_error());
  auto bad = load("cluster:\n  shards: 0\n");
  auto err = bad.to_error();
  ASSERT_TRUE(err);
  EXPECT_EQ(err.category(), caf::atom("vigil"));
  EXPECT_EQ(err.code(), static_cast<uint8_t>(errc::invalid_config));
}

// -- to_yaml -------------------------------------------------------------------------

TEST(config_loader, to_yaml_of_the_defaults_reads_back_as_the_defaults) {
  auto r = load(to_yaml(options{}));
  EXPECT_TRUE(r.ok()) << r.message();
  EXPECT_EQ(r.opts, options{});
}

TEST(config_loader, to_yaml_round_trips_non_default_values) {
  options x;
  x.node.id = "n1";
  x.node.data_dir = "/data/with space";
  x.node.http = {"::1", 0};
  x.node.cluster = {"0.0.0.0", 9471};
  x.node.log_level = "trace";
  x.node.supervision.period = 90min;
  x.node.supervision.backoff_initial = 0ms;
  x.ingest.max_body_bytes = 1'234'567;
  x.ingest.service_labels = {"app"};
  x.ingest.default_service = "true"; // must stay a string
  x.ingest.retry_after = 3s;
  x.detection.detectors = {"cusum"};
  x.detection.min_votes = 1;
  x.detection.ewma.alpha = 1.0 / 3;
  x.detection.cusum.drift = 0;
  x.security.admin_token = "tok\"en#1";
  x.security.admin_token_file = "";
  x.security.ingest_token_file = "/etc/vigil/ingest token";
  x.cluster.join = {"10.0.0.1:8471", "[::1]:8471"};
  x.cluster.shards = 1;
  x.remediation.autonomy_caps = {"*-db=3", "payments.*=2"};
  x.remediation.limits.max_scale_factor = 1.5;
  x.remediation.limits.approval_required_for = {};
  x.remediation.http_allow_hosts = {"runbooks.internal"};
  ASSERT_TRUE(validate(x).empty());
  auto text = to_yaml(x);
  auto r = load(text);
  ASSERT_TRUE(r.ok()) << r.message() << "\n" << text;
  EXPECT_EQ(r.opts, x) << text;
  // No comment lines; every section present, the empty ones as {}.
  EXPECT_FALSE(contains(text, "\n#"));
  EXPECT_FALSE(contains(text, "  # "));
  EXPECT_TRUE(contains(text, "  supervision:\n    max_restarts: 5\n"));
}

TEST(config_loader, remediation_autonomy_caps_and_limits_are_checked) {
  auto r = load("remediation:\n  autonomy_caps: [\"*-db=3\", \"x=9\"]\n"
                "  limits:\n    max_scale_factor: 0.5\n");
  ASSERT_EQ(r.errors.size(), 2u) << r.message();
  EXPECT_EQ(r.errors[0].key, "remediation.autonomy_caps");
  EXPECT_TRUE(contains(r.errors[0].message, "the level is 1, 2, 3 or 4"))
    << r.errors[0].message;
  EXPECT_EQ(r.errors[1].key, "remediation.limits.max_scale_factor");
  EXPECT_EQ(r.errors[1].line, 4);
  auto ok = load("remediation:\n  autonomy_caps: [\"*-db=3\"]\n"
                 "  limits: {dry_run: true, max_restarts_per_hour: 0}\n");
  ASSERT_TRUE(ok.ok()) << ok.message();
  EXPECT_TRUE(ok.opts.remediation.limits.dry_run);
  EXPECT_EQ(ok.opts.remediation.limits.max_restarts_per_hour, 0u);
  auto rcv = parse_receiver(
    "oncall pagerduty https://events.pagerduty.com/v2/enqueue "
    "key_file=/etc/vigil/pd.key min_severity=4 services=orders-*,pay*");
  ASSERT_TRUE(rcv) << rule_error_text(rcv.error());
  EXPECT_EQ(rcv->name, "oncall");
  EXPECT_EQ(rcv->kind, "pagerduty");
  EXPECT_EQ(rcv->min_severity, 4u);
  EXPECT_EQ(rcv->services, (std::vector<std::string>{"orders-*", "pay*"}));
  EXPECT_FALSE(parse_receiver("oncall pagerduty https://x"));  // no key
  EXPECT_FALSE(parse_receiver("chat teams https://x"));        // kind
  EXPECT_FALSE(parse_receiver("chat slack ftp://x"));          // URL
  EXPECT_FALSE(parse_receiver("chat slack https://x colour=red"));
  EXPECT_FALSE(parse_receiver("chat slack https://x events=paged"));
  auto cap = parse_autonomy_cap("payments-*=2");
  ASSERT_TRUE(cap);
  EXPECT_EQ(cap->glob, "payments-*");
  EXPECT_EQ(cap->level, 2u);
  EXPECT_FALSE(parse_autonomy_cap("=2"));
  EXPECT_FALSE(parse_autonomy_cap("a b=2"));
  auto who = parse_approver("alice@ops=/etc/vigil/alice.token");
  ASSERT_TRUE(who);
  EXPECT_EQ(who->name, "alice@ops");
  EXPECT_EQ(who->token_file, "/etc/vigil/alice.token");
  EXPECT_FALSE(parse_approver("alice"));           // no file
  EXPECT_FALSE(parse_approver("=/x"));             // no name
  EXPECT_FALSE(parse_approver("al ice=/x"));       // a space
  EXPECT_FALSE(parse_approver("vigil=/x"));        // the engine's name
  EXPECT_FALSE(parse_approver("bob=/x\n/y"));      // a line break
}

TEST(config_loader, an_llm_provider_needs_an_endpoint_and_a_model) {
  auto r = load("llm:\n  provider: openai\n");
  ASSERT_EQ(r.errors.size(), 1u) << r.message();
  EXPECT_TRUE(contains(r.errors[0].message, "needs llm.endpoint and llm.model"))
    << r.message();
  EXPECT_FALSE(load("llm:\n  provider: gemini\n").ok());
  auto ok = load("llm:\n  provider: anthropic\n  endpoint: "
                 "https://api.anthropic.com/v1/messages\n  model: m\n");
  EXPECT_TRUE(ok.ok()) << ok.message();
}

TEST(config_loader, classification_rules_and_static_edges_are_checked) {
  auto r = load("correlation:\n  classification: [\"*pool*=pool_exhaustion\"]\n"
                "topology:\n  edges: [\"checkout->orders-db\"]\n");
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_EQ(r.opts.correlation.classification,
            std::vector<std::string>{"*pool*=pool_exhaustion"});
  EXPECT_EQ(r.opts.topology.edges,
            std::vector<std::string>{"checkout->orders-db"});
  auto e = only_error("correlation:\n  classification: [\"*pool*=Bad Type\"]\n");
  EXPECT_EQ(e.key, "correlation.classification");
  EXPECT_TRUE(contains(e.message, "lower-case")) << e.message;
  e = only_error("topology:\n  edges: [\"a->a\"]\n");
  EXPECT_TRUE(contains(e.message, "does not call itself")) << e.message;
  e = only_error("topology:\n  edges: [\"a-b\"]\n");
  EXPECT_TRUE(contains(e.message, "CALLER->CALLEE")) << e.message;
}

TEST(config_loader, to_yaml_can_redact_tokens_for_display) {
  options x;
  x.security.admin_token = "hunter2";
  auto shown = to_yaml(x, true);
  EXPECT_FALSE(contains(shown, "hunter2"));
  EXPECT_TRUE(contains(shown, "  admin_token: \"<redacted>\"\n"));
  EXPECT_TRUE(contains(shown, "  ingest_token: \"\"\n"));
  EXPECT_TRUE(contains(to_yaml(x), "hunter2"));
}

} // namespace
} // namespace vigil
