// Playbooks: the bundled examples, every validation rule with the line it
// reports, whole-directory loading, template rendering with hostile values,
// and matching incidents to playbooks.

#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include "config/playbook.hpp"
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

playbook_set_result parse(std::string_view yaml) {
  return parse_playbook(yaml, "pb.yaml");
}

// Parses `yaml`, expects exactly one error and returns it.
config_error only_error(std::string_view yaml) {
  auto r = parse(yaml);
  EXPECT_EQ(r.errors.size(), 1u) << r.message();
  EXPECT_TRUE(r.playbooks.empty());
  return r.errors.empty() ? config_error{} : r.errors.front();
}

// Parses `yaml`, expects no error and returns the playbook.
playbook only_playbook(std::string_view yaml) {
  auto r = parse(yaml);
  EXPECT_TRUE(r.ok()) << r.message();
  EXPECT_EQ(r.playbooks.size(), 1u);
  return r.playbooks.empty() ? playbook{} : r.playbooks.front();
}

// Writes `text` to `dir`/`name`.
void write(const test::temp_dir& dir, const std::string& name,
           std::string_view text) {
  std::ofstream{dir.path() / name} << text;
}

step_value text_value(std::string x) {
  step_value v;
  v.text = std::move(x);
  return v;
}

// A valid playbook; tests append one step or section to it. Lines 1-3.
constexpr std::string_view head = "name: p\n"
                                  "autonomy: 3\n"
                                  "steps:\n";

// -- the bundled examples and the contract's example
// ------------------------------

TEST(config_playbook, the_bundled_example_playbooks_load) {
  auto dir = std::string{VIGIL_SOURCE_DIR} + "/config/playbooks";
  auto r = load_playbooks(dir);
  ASSERT_TRUE(r.ok()) << r.message();
  ASSERT_EQ(r.playbooks.size(), 3u);
  // Sorted by file name.
  const auto& db = r.playbooks[0];
  const auto& leak = r.playbooks[1];
  const auto& latency = r.playbooks[2];
  EXPECT_EQ(db.name, "release-db-connections");
  EXPECT_EQ(db.file, dir + "/release-db-connections.yaml");
  EXPECT_EQ(db.incident_types,
            std::vector<std::string>{"database_connection_exhaustion"});
  EXPECT_EQ(db.services, std::vector<std::string>{"*-db"});
  EXPECT_EQ(db.autonomy, 3);
  EXPECT_FALSE(db.requires_approval);
  ASSERT_EQ(db.steps.size(), 2u);
  EXPECT_EQ(db.steps[0].action, action_kind::shell);
  const auto& argv = db.steps[0].with.at("argv");
  EXPECT_EQ(argv.type, step_value::kind::list);
  ASSERT_FALSE(argv.items.empty());
  EXPECT_TRUE(argv.items[0].starts_with("/"));
  EXPECT_EQ(db.steps[0].timeout, 30s);
  EXPECT_EQ(db.steps[1].action, action_kind::notify);
  EXPECT_TRUE(
    matches(db, "database_connection_exhaustion", "orders-db", 3, {}));
  EXPECT_FALSE(matches(db, "database_connection_exhaustion", "orders", 3, {}));

  EXPECT_EQ(leak.name, "restart-on-memory-leak");
  EXPECT_EQ(leak.autonomy, 4);
  EXPECT_TRUE(leak.requires_approval);
  ASSERT_EQ(leak.steps.size(), 2u);
  EXPECT_EQ(leak.steps[1].action, action_kind::kubernetes_rollout_restart);

  EXPECT_EQ(latency.name, "scale-on-latency");
  ASSERT_FALSE(latency.steps.empty());
  EXPECT_EQ(latency.steps[0].action, action_kind::kubernetes_scale);
  EXPECT_EQ(latency.steps[0].with.at("factor").number, 2.0);
  EXPECT_EQ(latency.on_failure, on_failure_policy::rollback);
}

TEST(config_playbook, every_bundled_example_starts_with_a_comment) {
  auto dir = std::filesystem::path{VIGIL_SOURCE_DIR} / "config/playbooks";
  for (const auto& e : std::filesystem::directory_iterator{dir}) {
    auto text = test::read_file(e.path().string());
    EXPECT_TRUE(text.starts_with("# ")) << e.path();
  }
}

TEST(config_playbook, the_contract_example_reads_into_every_field) {
  auto p = only_playbook(R"(name: release-db-connections
description: Free idle connections when the pool is exhausted.
match:
  incident_type: database_connection_exhaustion   # one or a list
  services: ["orders-db", "*-db"]                 # globs; default any
  labels: {team: payments}
  min_severity: 3
autonomy: 3
requires_approval: false
dry_run: true
limits:
  max_runs_per_hour: 3    # per service
  cooldown: 10m
steps:
  - name: restart-idle
    action: shell
    with: {argv: ["/opt/runbooks/pg-kill-idle", "{{service}}"], timeout: 30s}
  - name: scale-readers
    action: kubernetes.scale
    with: {namespace: prod, deployment: "{{service}}-replica", factor: 2, max_replicas: 10}
verify:
  within: 7m
on_failure: continue
)");
  EXPECT_EQ(p.name, "release-db-connections");
  EXPECT_EQ(p.description, "Free idle connections when the pool is exhausted.");
  EXPECT_EQ(p.file, "pb.yaml");
  EXPECT_EQ(p.incident_types,
            std::vector<std::string>{"database_connection_exhaustion"});
  EXPECT_EQ(p.services, (std::vector<std::string>{"orders-db", "*-db"}));
  EXPECT_EQ(p.labels,
            (std::map<std::string, std::string>{{"team", "payments"}}));
  EXPECT_EQ(p.min_severity, 3);
  EXPECT_EQ(p.autonomy, 3);
  EXPECT_FALSE(p.requires_approval);
  EXPECT_TRUE(p.dry_run);
  EXPECT_EQ(p.max_runs_per_hour, 3u);
  EXPECT_EQ(p.cooldown, 10min);
  EXPECT_EQ(p.verify_within, 7min);
  EXPECT_EQ(p.on_failure, on_failure_policy::continue_);
  ASSERT_EQ(p.steps.size(), 2u);
  const auto& shell = p.steps[0];
  EXPECT_EQ(shell.name, "restart-idle");
  EXPECT_EQ(shell.line, 15);
  EXPECT_EQ(shell.action, action_kind::shell);
  EXPECT_EQ(shell.timeout, 30s);
  // The timeout lives in playbook_step::timeout only.
  EXPECT_FALSE(shell.with.contains("timeout"));
  ASSERT_TRUE(shell.with.contains("argv"));
  EXPECT_EQ(shell.with.at("argv").type, step_value::kind::list);
  EXPECT_EQ(
    shell.with.at("argv").items,
    (std::vector<std::string>{"/opt/runbooks/pg-kill-idle", "{{service}}"}));
  const auto& scale = p.steps[1];
  EXPECT_EQ(scale.line, 18);
  EXPECT_EQ(scale.action, action_kind::kubernetes_scale);
  EXPECT_FALSE(scale.timeout.has_value());
  EXPECT_EQ(scale.with.at("namespace"), text_value("prod"));
  EXPECT_EQ(scale.with.at("deployment"), text_value("{{service}}-replica"));
  EXPECT_EQ(scale.with.at("factor").type, step_value::kind::number);
  EXPECT_EQ(scale.with.at("factor").number, 2.0);
  EXPECT_EQ(scale.with.at("max_replicas").number, 10.0);
  EXPECT_EQ(scale.with.size(), 4u);
}

TEST(config_playbook, optional_fields_take_their_documented_defaults) {
  auto p = only_playbook("name: quiet\nautonomy: 1\n");
  EXPECT_TRUE(p.incident_types.empty());
  EXPECT_TRUE(p.services.empty());
  EXPECT_TRUE(p.labels.empty());
  EXPECT_EQ(p.min_severity, 1);
  EXPECT_FALSE(p.requires_approval);
  EXPECT_FALSE(p.dry_run);
  EXPECT_EQ(p.max_runs_per_hour, 0u);
  EXPECT_EQ(p.cooldown, 0ms);
  EXPECT_EQ(p.verify_within, 5min);
  EXPECT_EQ(p.on_failure, on_failure_policy::escalate);
  EXPECT_TRUE(p.steps.empty());
}

TEST(config_playbook, incident_type_and_services_take_one_value_or_a_list) {
  auto one = only_playbook("name: a\nautonomy: 1\nmatch:\n"
                           "  incident_type: high_latency\n"
                           "  services: checkout\n");
  EXPECT_EQ(one.incident_types, std::vector<std::string>{"high_latency"});
  EXPECT_EQ(one.services, std::vector<std::string>{"checkout"});
  auto many = only_playbook("name: a\nautonomy: 1\nmatch:\n"
                            "  incident_type: [high_latency, high_cpu_usage]\n"
                            "  services: [\"a-*\", \"b?\"]\n");
  EXPECT_EQ(many.incident_types,
            (std::vector<std::string>{"high_latency", "high_cpu_usage"}));
  EXPECT_EQ(many.services, (std::vector<std::string>{"a-*", "b?"}));
}

TEST(config_playbook, the_version_is_a_stable_hash_of_the_file_content) {
  std::string yaml = "name: v\nautonomy: 1\n";
  auto a = only_playbook(yaml);
  auto b = only_playbook(yaml);
  auto c = only_playbook(yaml + "# a comment changes the file\n");
  EXPECT_EQ(a.version.size(), 16u);
  EXPECT_EQ(a.version.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_EQ(a.version, b.version);
  EXPECT_NE(a.version, c.version);
  EXPECT_EQ(a.version, playbook_version(yaml));
  // FNV-1a 64 reference values.
  EXPECT_EQ(playbook_version(""), "cbf29ce484222325");
  EXPECT_EQ(playbook_version("a"), "af63dc4c8601ec8c");
}

// -- top-level rules
// -------------------------------------------------------------

TEST(config_playbook, a_missing_name_is_an_error) {
  auto e = only_error("autonomy: 1\n");
  EXPECT_EQ(e.file, "pb.yaml");
  EXPECT_EQ(e.line, 1);
  EXPECT_EQ(e.key, "name");
  EXPECT_TRUE(contains(e.message, "missing"));
  EXPECT_FALSE(e.legal.empty());
}

TEST(config_playbook, names_follow_the_name_syntax_and_length) {
  for (auto bad : {"Upper", "-lead", "has space", "dot.ted", "_x"}) {
    auto e = only_error(std::string{"autonomy: 1\nname: \""} + bad + "\"\n");
    EXPECT_EQ(e.line, 2) << bad;
    EXPECT_EQ(e.key, "name") << bad;
    EXPECT_TRUE(contains(e.message, bad));
    EXPECT_TRUE(contains(e.legal, "64"));
  }
  std::string longest(64, 'a');
  EXPECT_EQ(only_playbook("autonomy: 1\nname: " + longest + "\n").name,
            longest);
  auto e = only_error("autonomy: 1\nname: " + longest + "b\n");
  EXPECT_EQ(e.key, "name");
  for (auto good : {"a", "0db", "a_b-c9"})
    EXPECT_EQ(only_playbook(std::string{"autonomy: 1\nname: "} + good).name,
              good);
}

TEST(config_playbook, an_unknown_top_level_key_suggests_the_nearest) {
  auto e = only_error("name: p\nautonomy: 1\nstesp: []\n");
  EXPECT_EQ(e.line, 3);
  EXPECT_EQ(e.column, 1);
  EXPECT_EQ(e.key, "stesp");
  EXPECT_TRUE(contains(e.message, "unknown key"));
  EXPECT_TRUE(contains(e.message, "did you mean steps?"));
  EXPECT_TRUE(contains(e.legal, "on_failure"));
  // A key of a section written at the top level points at its section.
  e = only_error("name: p\nautonomy: 1\ncooldown: 5m\n");
  EXPECT_TRUE(contains(e.message, "did you mean limits.cooldown?"));
  // Nothing near: no suggestion.
  e = only_error("name: p\nautonomy: 1\nzzzzzz: 1\n");
  EXPECT_FALSE(contains(e.message, "did you mean"));
}

TEST(config_playbook, unknown_keys_in_every_section_are_errors) {
  struct {
    std::string_view yaml;
    int line;
    std::string_view key;
    std::string_view hint;
  } cases[] = {
    {"name: p\nautonomy: 1\nmatch:\n  service: x\n", 4, "match.service",
     "did you mean services?"},
    {"name: p\nautonomy: 1\nlimits:\n  cooldwn: 1m\n", 4, "limits.cooldwn",
     "did you mean cooldown?"},
    {"name: p\nautonomy: 1\nverify:\n  whitin: 1m\n", 4, "verify.whitin",
     "did you mean within?"},
    {"name: p\nautonomy: 1\nsteps:\n  - name: s\n    action: notify\n"
     "    with: {message: hi}\n    tiemout: 1s\n",
     7, "steps[0].tiemout", "did you mean with.timeout?"},
    {"name: p\nautonomy: 3\nsteps:\n  - name: s\n    action: shell\n"
     "    with:\n      agrv: [/bin/true]\n      argv: [/bin/true]\n",
     7, "steps[0].with.agrv", "did you mean argv?"},
  };
  for (const auto& c : cases) {
    auto e = only_error(c.yaml);
    EXPECT_EQ(e.line, c.line) << c.yaml;
    EXPECT_EQ(e.key, c.key) << c.yaml;
    EXPECT_TRUE(contains(e.message, "unknown key"));
    EXPECT_TRUE(contains(e.message, c.hint));
  }
}

TEST(config_playbook, each_with_map_knows_only_its_own_action_keys) {
  // `selector` belongs to restart_pods, not to notify.
  auto e = only_error(std::string{head}
                      + "  - name: s\n    action: notify\n"
                        "    with:\n      message: hi\n"
                        "      selector: app=x\n");
  EXPECT_EQ(e.line, 8);
  EXPECT_EQ(e.key, "steps[0].with.selector");
  EXPECT_TRUE(contains(e.legal, "message"));
  EXPECT_TRUE(contains(e.legal, "timeout"));
}

TEST(config_playbook, a_key_given_twice_is_an_error) {
  auto e = only_error("name: p\nautonomy: 1\nname: q\n");
  EXPECT_EQ(e.line, 3);
  EXPECT_EQ(e.key, "name");
  EXPECT_TRUE(contains(e.message, "twice (first at line 1)"));
}

TEST(config_playbook, autonomy_is_required_and_between_1_and_4) {
  auto e = only_error("name: p\n");
  EXPECT_EQ(e.key, "autonomy");
  EXPECT_TRUE(contains(e.message, "missing"));
  for (auto bad : {"0", "5", "three", "2.5"}) {
    e = only_error(std::string{"name: p\nautonomy: "} + bad + "\n");
    EXPECT_EQ(e.line, 2) << bad;
    EXPECT_EQ(e.column, 11) << bad;
    EXPECT_EQ(e.key, "autonomy");
    EXPECT_TRUE(contains(e.legal, "4 (actions needing approval)"));
  }
}

TEST(config_playbook, section_values_are_checked_against_their_bounds) {
  struct {
    std::string_view section;
    int line;
    std::string_view key;
  } cases[] = {
    {"match:\n  min_severity: 0\n", 4, "match.min_severity"},
    {"match:\n  min_severity: 6\n", 4, "match.min_severity"},
    {"match:\n  incident_type: High-Latency\n", 4, "match.incident_type"},
    {"match:\n  incident_type: [ok, \"\"]\n", 4, "match.incident_type"},
    {"match:\n  incident_type: [ok, [x]]\n", 4, "match.incident_type[1]"},
    {"match:\n  services: [\"a b\"]\n", 4, "match.services"},
    {"match:\n  labels: [team]\n", 4, "match.labels"},
    {"match:\n  labels: {team: [a]}\n", 4, "match.labels.team"},
    {"match:\n  services: {a: b}\n", 4, "match.services"},
    {"match: high_latency\n", 3, "match"},
    {"limits:\n  max_runs_per_hour: 10001\n", 4, "limits.max_runs_per_hour"},
    {"limits:\n  max_runs_per_hour: -1\n", 4, "limits.max_runs_per_hour"},
    {"limits:\n  cooldown: 10\n", 4, "limits.cooldown"},
    {"verify:\n  within: 500ms\n", 4, "verify.within"},
    {"verify:\n  within: 2d\n", 4, "verify.within"},
    {"requires_approval: yes\n", 3, "requires_approval"},
    {"dry_run: 1\n", 3, "dry_run"},
    {"description: [a]\n", 3, "description"},
  };
  for (const auto& c : cases) {
    auto e = only_error("name: p\nautonomy: 1\n" + std::string{c.section});
    EXPECT_EQ(e.line, c.line) << c.section;
    EXPECT_EQ(e.key, c.key) << c.section;
    EXPECT_FALSE(e.legal.empty()) << c.section;
  }
  // The bounds themselves are legal.
  auto p = only_playbook("name: p\nautonomy: 1\nmatch: {min_severity: 5}\n"
                         "limits: {max_runs_per_hour: 10000, cooldown: 0s}\n"
                         "verify: {within: 1d}\n");
  EXPECT_EQ(p.min_severity, 5);
  EXPECT_EQ(p.max_runs_per_hour, 10000u);
  EXPECT_EQ(p.verify_within, 24h);
  EXPECT_EQ(
    only_playbook("name: p\nautonomy: 1\nverify: {within: 1s}\n").verify_within,
    1s);
}

TEST(config_playbook, on_failure_takes_escalate_rollback_or_continue) {
  EXPECT_EQ(
    only_playbook("name: p\nautonomy: 1\non_failure: rollback\n").on_failure,
    on_failure_policy::rollback);
  auto e = only_error("name: p\nautonomy: 1\non_failure: escalte\n");
  EXPECT_EQ(e.line, 3);
  EXPECT_EQ(e.key, "on_failure");
  EXPECT_TRUE(contains(e.message, "did you mean escalate?"));
  EXPECT_EQ(e.legal, "escalate, rollback, continue");
  EXPECT_EQ(to_string(on_failure_policy::continue_), "continue");
}

TEST(config_playbook, a_step_may_declare_its_undo) {
  auto p = only_playbook(std::string{head}
                         + "  - name: more\n"
                           "    action: kubernetes.scale\n"
                           "    with: {namespace: prod, deployment: api, "
                           "replicas: 6}\n"
                           "    undo:\n"
                           "      action: kubernetes.scale\n"
                           "      with: {namespace: prod, deployment: api, "
                           "replicas: 3}\n"
                           "  - name: tell\n"
                           "    action: notify\n"
                           "    with: {message: hi}\n");
  ASSERT_EQ(p.steps.size(), 2u);
  ASSERT_EQ(p.steps[0].undo.size(), 1u);
  EXPECT_EQ(p.steps[0].undo[0].name, "undo-more");
  EXPECT_EQ(p.steps[0].undo[0].action, action_kind::kubernetes_scale);
  EXPECT_EQ(p.steps[0].undo[0].with.at("replicas").number, 3);
  EXPECT_EQ(p.steps[0].undo[0].line, 8);
  EXPECT_TRUE(p.steps[1].undo.empty());
  // An undo is checked like a step: its action, its with keys, autonomy.
  auto e = only_error(std::string{head}
                      + "  - name: s\n"
                        "    action: notify\n"
                        "    with: {message: hi}\n"
                        "    undo: {action: kubernetes.restart, with: {}}\n");
  EXPECT_EQ(e.key, "steps[0].undo.action");
  EXPECT_TRUE(contains(e.message, "unknown action"));
  auto r = parse(std::string{head}
                 + "  - name: s\n"
                   "    action: notify\n"
                   "    with: {message: hi}\n"
                   "    undo: {action: notify, with: {mesage: x}}\n");
  ASSERT_EQ(r.errors.size(), 2u) << r.message();
  EXPECT_EQ(r.errors[0].key, "steps[0].undo.with.message"); // missing
  EXPECT_EQ(r.errors[1].key, "steps[0].undo.with.mesage");
  EXPECT_TRUE(contains(r.errors[1].message, "did you mean message?"));
  e = only_error("name: p\nautonomy: 2\nsteps:\n"
                 "  - name: s\n"
                 "    action: shell\n"
                 "    with: {argv: [/bin/true]}\n"
                 "    undo: {action: kubernetes.rollback, with: "
                 "{namespace: a, deployment: b}}\n");
  EXPECT_TRUE(contains(e.message, "not allowed at autonomy 2")) << e.message;
  e = only_error(std::string{head}
                 + "  - name: s\n"
                   "    action: notify\n"
                   "    with: {message: hi}\n"
                   "    undo: [notify]\n");
  EXPECT_EQ(e.key, "steps[0].undo");
}

TEST(config_playbook, match_values_are_literal_and_refuse_templates) {
  auto e = only_error("name: p\nautonomy: 1\nmatch:\n"
                      "  labels: {team: \"{{service}}\"}\n");
  EXPECT_EQ(e.line, 4);
  EXPECT_EQ(e.key, "match.labels.team");
}

// -- autonomy and steps
// ------------------------------------------------------------

TEST(config_playbook, steps_are_required_unless_autonomy_is_1) {
  auto e = only_error("name: p\nautonomy: 3\n");
  EXPECT_EQ(e.key, "steps");
  EXPECT_TRUE(contains(e.message, "missing"));
  e = only_error("name: p\nautonomy: 2\nsteps: []\n");
  EXPECT_EQ(e.line, 3);
  EXPECT_EQ(e.key, "steps");
  EXPECT_TRUE(contains(e.message, "empty"));
  e = only_error("name: p\nautonomy: 4\nsteps:\n");
  EXPECT_EQ(e.line, 3);
  EXPECT_EQ(e.key, "steps");
  EXPECT_TRUE(only_playbook("name: p\nautonomy: 1\nsteps: []\n").steps.empty());
}

TEST(config_playbook, autonomy_1_allows_only_notify_steps) {
  auto p
    = only_playbook("name: p\nautonomy: 1\nsteps:\n"
                    "  - {name: tell, action: notify, with: {message: hi}}\n");
  ASSERT_EQ(p.steps.size(), 1u);
  auto e = only_error("name: p\nautonomy: 1\nsteps:\n"
                      "  - name: s\n"
                      "    action: shell\n"
                      "    with: {argv: [/bin/true]}\n");
  EXPECT_EQ(e.line, 5);
  EXPECT_EQ(e.key, "steps[0].action");
  EXPECT_TRUE(contains(e.message, "not allowed at autonomy 1"));
  EXPECT_TRUE(contains(e.legal, "notify"));
}

TEST(config_playbook, autonomy_2_allows_notify_shell_and_http_only) {
  auto p = only_playbook(R"(name: p
autonomy: 2
steps:
  - {name: a, action: notify, with: {message: hi}}
  - {name: b, action: shell, with: {argv: [/usr/bin/uptime]}}
  - {name: c, action: http, with: {url: "https://diag.example/{{service}}"}}
)");
  EXPECT_EQ(p.steps.size(), 3u);
  for (auto action : {"kubernetes.scale", "kubernetes.restart_pods",
                      "kubernetes.rollout_restart", "kubernetes.rollback"}) {
    auto r = parse(std::string{"name: p\nautonomy: 2\nsteps:\n"
                               "  - name: s\n    action: "}
                   + action
                   + "\n    with: {namespace: n, deployment: d, selector: a=b, "
                     "factor: 2}\n");
    ASSERT_FALSE(r.ok()) << action;
    bool found = false;
    for (const auto& e : r.errors)
      if (e.key == "steps[0].action" && e.line == 5
          && contains(e.message, "not allowed at autonomy 2"))
        found = true;
    EXPECT_TRUE(found) << action << "\n" << r.message();
  }
}

TEST(config_playbook, autonomy_3_and_4_allow_every_action) {
  for (auto autonomy : {"3", "4"}) {
    auto p = only_playbook(std::string{"name: p\nautonomy: "} + autonomy + R"(
steps:
  - {name: a, action: kubernetes.restart_pods, with: {namespace: n, selector: "app={{service}}"}}
  - {name: b, action: kubernetes.scale, with: {namespace: n, deployment: d, replicas: 0}}
  - {name: c, action: kubernetes.rollout_restart, with: {namespace: n, deployment: d}}
  - {name: d, action: kubernetes.rollback, with: {namespace: n, deployment: d, revision: 3}}
  - {name: e, action: shell, with: {argv: [/bin/true]}}
  - {name: f, action: http, with: {url: "http://x"}}
  - {name: g, action: notify, with: {message: m}}
)");
    EXPECT_EQ(p.steps.size(), 7u);
  }
}

TEST(config_playbook, autonomy_4_forces_requires_approval) {
  EXPECT_TRUE(only_playbook("name: p\nautonomy: 4\nrequires_approval: false\n"
                            "steps: [{name: a, action: notify, with: {message: "
                            "m}}]\n")
                .requires_approval);
  EXPECT_FALSE(only_playbook("name: p\nautonomy: 3\nrequires_approval: false\n"
                             "steps: [{name: a, action: notify, with: "
                             "{message: m}}]\n")
                 .requires_approval);
  EXPECT_TRUE(only_playbook("name: p\nautonomy: 3\nrequires_approval: true\n"
                            "steps: [{name: a, action: notify, with: {message: "
                            "m}}]\n")
                .requires_approval);
}

TEST(config_playbook, step_names_are_required_and_unique) {
  auto e = only_error(std::string{head}
                      + "  - action: notify\n    with: {message: m}\n");
  EXPECT_EQ(e.line, 4);
  EXPECT_EQ(e.key, "steps[0].name");
  e = only_error(std::string{head}
                 + "  - {name: same, action: notify, with: {message: m}}\n"
                   "  - {name: other, action: notify, with: {message: m}}\n"
                   "  - {name: same, action: notify, with: {message: m}}\n");
  EXPECT_EQ(e.line, 6);
  EXPECT_EQ(e.key, "steps[2].name");
  EXPECT_TRUE(contains(e.message, "line 4"));
}

TEST(config_playbook, a_step_must_be_a_map) {
  auto e = only_error(std::string{head} + "  - notify\n");
  EXPECT_EQ(e.line, 4);
  EXPECT_EQ(e.key, "steps[0]");
  e = only_error("name: p\nautonomy: 3\nsteps: notify\n");
  EXPECT_EQ(e.line, 3);
  EXPECT_EQ(e.key, "steps");
}

TEST(config_playbook, an_unknown_action_suggests_the_nearest) {
  auto e = only_error(std::string{head}
                      + "  - name: s\n    action: kubernetes.scael\n"
                        "    with: {namespace: n, deployment: d, factor: 2}\n");
  EXPECT_EQ(e.line, 5);
  EXPECT_EQ(e.column, 13);
  EXPECT_EQ(e.key, "steps[0].action");
  EXPECT_TRUE(contains(e.message, "did you mean kubernetes.scale?"));
  EXPECT_TRUE(contains(e.legal, "kubernetes.rollout_restart"));
  e = only_error(std::string{head} + "  - {name: s, action: scale}\n");
  EXPECT_TRUE(contains(e.message, "did you mean kubernetes.scale?"));
  e = only_error(std::string{head} + "  - {name: s}\n");
  EXPECT_EQ(e.key, "steps[0].action");
  EXPECT_TRUE(contains(e.message, "missing"));
}

TEST(config_playbook, action_names_round_trip_and_restarts_are_marked) {
  for (auto a :
       {action_kind::kubernetes_restart_pods, action_kind::kubernetes_scale,
        action_kind::kubernetes_rollout_restart,
        action_kind::kubernetes_rollback, action_kind::shell, action_kind::http,
        action_kind::notify})
    EXPECT_EQ(parse_action_kind(to_string(a)), a);
  EXPECT_EQ(to_string(action_kind::kubernetes_scale), "kubernetes.scale");
  EXPECT_FALSE(parse_action_kind("Shell").has_value());
  EXPECT_FALSE(parse_action_kind("").has_value());
  EXPECT_TRUE(is_restart(action_kind::kubernetes_restart_pods));
  EXPECT_TRUE(is_restart(action_kind::kubernetes_rollout_restart));
  EXPECT_FALSE(is_restart(action_kind::kubernetes_scale));
  EXPECT_FALSE(is_restart(action_kind::shell));
  EXPECT_FALSE(is_restart(action_kind::notify));
}

// -- per-action parameters
// ---------------------------------------------------------

// One step at autonomy 3 with `with` as given (a flow map); returns the
// parse result.
playbook_set_result step_with(std::string_view action, std::string_view with) {
  return parse(std::string{head}
               + "  - name: s\n    action: " + std::string{action}
               + "\n    with: " + std::string{with} + "\n");
}

TEST(config_playbook, every_action_refuses_bad_or_missing_parameters) {
  struct {
    std::string_view action;
    std::string_view with;
    std::string_view key;
    std::string_view says;
  } cases[] = {
    {"shell", "{timeout: 5s}", "steps[0].with.argv", "missing"},
    {"shell", "{argv: []}", "steps[0].with.argv", "empty"},
    {"shell", "{argv: /bin/true}", "steps[0].with.argv", "list"},
    {"shell", "{argv: [pg-kill-idle]}", "steps[0].with.argv[0]", "absolute"},
    {"shell", "{argv: [\"{{labels.tool}}\"]}", "steps[0].with.argv[0]",
     "templated"},
    {"shell", "{argv: [\"/opt/{{service}}\"]}", "steps[0].with.argv[0]",
     "templated"},
    {"shell", "{argv: [/bin/x, [a]]}", "steps[0].with.argv[1]", "single"},
    {"shell", "{argv: [/bin/x], env: {1X: a}}", "steps[0].with.env.1X",
     "environment variable"},
    {"shell", "{argv: [/bin/x], env: [a]}", "steps[0].with.env", "map"},
    {"shell", "{argv: [/bin/x], timeout: 30}", "steps[0].with.timeout",
     "no unit"},
    {"shell", "{argv: [/bin/x], timeout: 0s}", "steps[0].with.timeout",
     "out of range"},
    {"shell", "{argv: [/bin/x], timeout: 2d}", "steps[0].with.timeout",
     "out of range"},
    {"http", "{method: GET}", "steps[0].with.url", "missing"},
    {"http", "{url: \"ftp://x\"}", "steps[0].with.url", "not an http"},
    {"http", "{url: \"https://\"}", "steps[0].with.url", "not an http"},
    {"http", "{url: \"http://x\", method: post}", "steps[0].with.method",
     "did you mean POST?"},
    {"http", "{url: \"http://x\", method: TRACE}", "steps[0].with.method",
     "unknown HTTP method"},
    {"http", "{url: \"http://x\", headers: {\"X A\": b}}",
     "steps[0].with.headers.X A", "header name"},
    {"http", "{url: \"http://x\", headers: {X: \"a\\nB: c\"}}",
     "steps[0].with.headers.X", "line break"},
    {"http", "{url: \"http://x\", body: [a]}", "steps[0].with.body",
     "single value"},
    {"kubernetes.restart_pods", "{namespace: n}", "steps[0].with.selector",
     "missing"},
    {"kubernetes.restart_pods", "{selector: a=b}", "steps[0].with.namespace",
     "missing"},
    {"kubernetes.restart_pods", "{namespace: \"\", selector: a=b}",
     "steps[0].with.namespace", "empty"},
    {"kubernetes.scale", "{namespace: n, factor: 2}",
     "steps[0].with.deployment", "missing"},
    {"kubernetes.scale", "{namespace: n, deployment: d}",
     "steps[0].with.factor", "factor or replicas"},
    {"kubernetes.scale",
     "{namespace: n, deployment: d, factor: 2, replicas: 3}",
     "steps[0].with.replicas", "together"},
    {"kubernetes.scale", "{namespace: n, deployment: d, factor: 0}",
     "steps[0].with.factor", "greater than 0"},
    {"kubernetes.scale", "{namespace: n, deployment: d, factor: -1.5}",
     "steps[0].with.factor", "greater than 0"},
    {"kubernetes.scale", "{namespace: n, deployment: d, factor: two}",
     "steps[0].with.factor", "two"},
    {"kubernetes.scale", "{namespace: n, deployment: d, replicas: -1}",
     "steps[0].with.replicas", "out of range"},
    {"kubernetes.scale", "{namespace: n, deployment: d, replicas: 1.5}",
     "steps[0].with.replicas", "1.5"},
    {"kubernetes.scale",
     "{namespace: n, deployment: d, factor: 2, max_replicas: 0}",
     "steps[0].with.max_replicas", "out of range"},
    {"kubernetes.rollout_restart", "{namespace: n}", "steps[0].with.deployment",
     "missing"},
    {"kubernetes.rollback", "{namespace: n, deployment: d, revision: abc}",
     "steps[0].with.revision", "abc"},
    {"notify", "{timeout: 1s}", "steps[0].with.message", "missing"},
    {"notify", "{message: {a: b}}", "steps[0].with.message", "single value"},
    {"notify", "[message]", "steps[0].with", "map"},
  };
  for (const auto& c : cases) {
    auto r = step_with(c.action, c.with);
    ASSERT_EQ(r.errors.size(), 1u) << c.action << " " << c.with << "\n"
                                   << r.message();
    const auto& e = r.errors.front();
    EXPECT_EQ(e.file, "pb.yaml");
    EXPECT_EQ(e.line, 6) << c.action << " " << c.with;
    EXPECT_EQ(e.key, c.key) << c.action << " " << c.with;
    EXPECT_TRUE(contains(e.message, c.says)) << c.action << " " << c.with;
    EXPECT_FALSE(e.legal.empty()) << c.action << " " << c.with;
  }
}

TEST(config_playbook, a_step_without_with_reports_its_required_keys) {
  auto r = parse(std::string{head}
                 + "  - name: s\n"
                   "    action: kubernetes.rollout_restart\n");
  ASSERT_EQ(r.errors.size(), 2u) << r.message();
  EXPECT_EQ(r.errors[0].key, "steps[0].with.namespace");
  EXPECT_EQ(r.errors[1].key, "steps[0].with.deployment");
  EXPECT_EQ(r.errors[0].line, 5);
}

TEST(config_playbook, parameters_are_stored_with_their_types) {
  auto p = only_playbook(std::string{head} + R"(  - name: call
    action: http
    with:
      url: "https://hooks.example/{{incident.id}}"
      headers: {Authorization: "Bearer abc", X-Service: "{{service}}"}
      body: '{"service": "{{service}}", "sev": {{incident.severity}}}'
      timeout: 10s
  - name: run
    action: shell
    with:
      argv: [/opt/x, "{{ service }}", --flag]
      env: {MODE: dry, TARGET: "{{service}}"}
  - name: roll
    action: kubernetes.rollback
    with: {namespace: n, deployment: d}
)");
  ASSERT_EQ(p.steps.size(), 3u);
  const auto& http = p.steps[0].with;
  // An http step without method gets POST.
  EXPECT_EQ(http.at("method"), text_value("POST"));
  EXPECT_EQ(http.at("url"),
            text_value("https://hooks.example/{{incident.id}}"));
  EXPECT_EQ(http.at("headers").type, step_value::kind::map);
  EXPECT_EQ(http.at("headers").map,
            (std::map<std::string, std::string>{{"Authorization", "Bearer abc"},
                                                {"X-Service", "{{service}}"}}));
  EXPECT_EQ(
    http.at("body"),
    text_value(R"({"service": "{{service}}", "sev": {{incident.severity}}})"));
  EXPECT_EQ(p.steps[0].timeout, 10s);
  const auto& shell = p.steps[1].with;
  EXPECT_EQ(shell.at("argv").items,
            (std::vector<std::string>{"/opt/x", "{{ service }}", "--flag"}));
  EXPECT_EQ(shell.at("env").map,
            (std::map<std::string, std::string>{{"MODE", "dry"},
                                                {"TARGET", "{{service}}"}}));
  EXPECT_FALSE(p.steps[2].with.contains("revision"));
  EXPECT_EQ(p.steps[2].with.size(), 2u);
}

// -- templates in the file
// --------------------------------------------------------

TEST(config_playbook, unknown_template_variables_are_errors_with_their_line) {
  auto e
    = only_error(std::string{head}
                 + "  - name: s\n    action: notify\n    with:\n"
                   "      message: \"{{incident.name}} on {{service}}\"\n");
  EXPECT_EQ(e.line, 7);
  EXPECT_EQ(e.key, "steps[0].with.message");
  EXPECT_TRUE(contains(e.message, "unknown template variable 'incident.name'"));
  EXPECT_TRUE(contains(e.legal, "{{labels.KEY}}"));
  e = only_error(
    std::string{head}
    + "  - name: s\n    action: shell\n    with:\n"
      "      argv:\n        - /bin/x\n        - \"{{servcie}}\"\n");
  EXPECT_EQ(e.line, 9);
  EXPECT_EQ(e.key, "steps[0].with.argv[1]");
  EXPECT_TRUE(contains(e.message, "did you mean service?"));
  e = only_error("name: p\nautonomy: 1\ndescription: \"{{who}}\"\n");
  EXPECT_EQ(e.line, 3);
  EXPECT_EQ(e.key, "description");
}

TEST(config_playbook, malformed_braces_are_errors_with_their_line) {
  for (auto bad : {"{{service", "{{}}", "{{ }}", "a {{service}} {{",
                   "{{{service}}}", "{{a{{b}}"}) {
    auto e = only_error(std::string{head}
                        + "  - name: s\n    action: notify\n    with:\n"
                          "      message: '"
                        + bad + "'\n");
    EXPECT_EQ(e.line, 7) << bad;
    EXPECT_EQ(e.key, "steps[0].with.message") << bad;
  }
}

TEST(config_playbook, every_template_variable_form_is_accepted) {
  auto p = only_playbook(
    std::string{head}
    + "  - name: s\n    action: notify\n    with:\n      message: "
      "\"{{service}} "
      "{{incident.id}} {{incident.type}} {{incident.severity}} "
      "{{incident.title}} {{namespace}} {{labels.team}} {{ labels.app.k8s-io_x "
      "}} }} {x}\"\n");
  EXPECT_EQ(p.steps.size(), 1u);
}

TEST(config_playbook, is_template_variable_knows_the_documented_names) {
  for (auto good :
       {"service", "incident.id", "incident.type", "incident.severity",
        "incident.title", "namespace", "labels.team", "labels.A-b_c.9"})
    EXPECT_TRUE(is_template_variable(good)) << good;
  for (auto bad :
       {"", "services", "incident", "incident.name", "labels", "labels.",
        "labels.a b", "labels.a/b", "Service", " service"})
    EXPECT_FALSE(is_template_variable(bad)) << bad;
}

// -- whole files and error collection
// ------------------------------------------------

TEST(config_playbook, every_error_of_a_file_is_reported_in_line_order) {
  auto r = parse(R"(name: Bad Name
autonomy: 2
match:
  min_severity: 9
limits:
  cooldown: soon
steps:
  - name: a
    action: kubernetes.scale
    with: {namespace: n, deployment: d, factor: 2}
  - name: a
    action: shell
    with: {argv: [relative, "{{servise}}", [x]]}
  - name: c
    action: notify
    with: {message: "{{nope}}", colour: red}
on_failure: panic
)");
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.playbooks.empty());
  std::vector<std::pair<int, std::string>> got;
  for (const auto& e : r.errors)
    got.emplace_back(e.line, e.key);
  std::vector<std::pair<int, std::string>> want{
    {1, "name"},
    {4, "match.min_severity"},
    {6, "limits.cooldown"},
    {9, "steps[0].action"},
    {11, "steps[1].name"},
    {13, "steps[1].with.argv[0]"},
    {13, "steps[1].with.argv[1]"},
    {13, "steps[1].with.argv[2]"},
    {16, "steps[2].with.message"},
    {16, "steps[2].with.colour"},
    {17, "on_failure"},
  };
  EXPECT_EQ(got, want) << r.message();
  // message() has one line per error, each with file:line.
  auto text = r.message();
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n') + 1,
            static_cast<long>(want.size()));
  EXPECT_TRUE(contains(text, "pb.yaml:17:13: on_failure: unknown policy"));
}

TEST(config_playbook, yaml_syntax_errors_name_the_line) {
  auto e = only_error("name: p\nautonomy: 1\nmatch: {services: [a, b}\n");
  EXPECT_EQ(e.file, "pb.yaml");
  EXPECT_EQ(e.line, 3);
  EXPECT_TRUE(contains(e.message, "YAML syntax error"));
  e = only_error("name: p\nautonomy: 1\nmatch:\n\tservices: a\n");
  EXPECT_GE(e.line, 3);
  EXPECT_TRUE(contains(e.message, "YAML syntax error"));
}

TEST(config_playbook, a_file_holds_exactly_one_playbook_map) {
  auto e = only_error("");
  EXPECT_TRUE(contains(e.message, "no playbook"));
  e = only_error("# only a comment\n");
  EXPECT_TRUE(contains(e.message, "no playbook"));
  e = only_error("name: a\nautonomy: 1\n---\nname: b\nautonomy: 1\n");
  EXPECT_TRUE(contains(e.message, "2 YAML documents"));
  e = only_error("- name: a\n");
  EXPECT_EQ(e.line, 1);
  EXPECT_TRUE(contains(e.message, "must be a map"));
}

// -- directories
// ---------------------------------------------------------------------

TEST(config_playbook, a_directory_loads_yaml_files_sorted_by_name) {
  test::temp_dir dir;
  write(dir, "b.yml", "name: second\nautonomy: 1\n");
  write(dir, "a.yaml", "name: first\nautonomy: 1\n");
  write(dir, "README.md", "not a playbook: {{");
  write(dir, "c.yaml.bak", "not: yaml: [");
  write(dir, ".hidden.yaml", "broken: [");
  std::filesystem::create_directory(dir.path() / "sub.yaml");
  auto r = load_playbooks(dir.str());
  ASSERT_TRUE(r.ok()) << r.message();
  ASSERT_EQ(r.playbooks.size(), 2u);
  EXPECT_EQ(r.playbooks[0].name, "first");
  EXPECT_EQ(r.playbooks[0].file, (dir.path() / "a.yaml").string());
  EXPECT_EQ(r.playbooks[1].name, "second");
  EXPECT_EQ(r.playbooks[0].version,
            playbook_version("name: first\nautonomy: 1\n"));
}

TEST(config_playbook, an_empty_directory_is_an_empty_set) {
  test::temp_dir dir;
  auto r = load_playbooks(dir.str());
  EXPECT_TRUE(r.ok()) << r.message();
  EXPECT_TRUE(r.playbooks.empty());
}

TEST(config_playbook, a_missing_directory_is_an_error) {
  test::temp_dir dir;
  auto missing = dir.str() + "/nope";
  auto r = load_playbooks(missing);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].file, missing);
  EXPECT_TRUE(contains(r.errors[0].message, "does not exist"));
  write(dir, "file.yaml", "name: a\nautonomy: 1\n");
  r = load_playbooks(dir.str() + "/file.yaml");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_TRUE(contains(r.errors[0].message, "not a directory"));
}

TEST(config_playbook, duplicate_names_across_files_name_both_files) {
  test::temp_dir dir;
  write(dir, "a.yaml", "autonomy: 1\nname: same\n");
  write(dir, "b.yaml", "name: same\nautonomy: 1\n");
  auto r = load_playbooks(dir.str());
  ASSERT_EQ(r.errors.size(), 1u) << r.message();
  EXPECT_TRUE(r.playbooks.empty());
  const auto& e = r.errors[0];
  auto a = (dir.path() / "a.yaml").string();
  auto b = (dir.path() / "b.yaml").string();
  EXPECT_EQ(e.file, b);
  EXPECT_EQ(e.line, 1);
  EXPECT_EQ(e.key, "name");
  EXPECT_TRUE(contains(e.message, a + ":2"));
}

TEST(config_playbook, a_directory_reports_the_errors_of_every_file) {
  test::temp_dir dir;
  write(dir, "a.yaml", "name: ok\nautonomy: 1\n");
  write(dir, "b.yaml", "name: syntax\nautonomy: 1\nmatch: [a\n");
  write(dir, "c.yaml", "name: rules\nautonomy: 9\nstesp: []\n");
  auto r = load_playbooks(dir.str());
  ASSERT_FALSE(r.ok());
  // A set with an error is refused whole: even a.yaml is not handed out.
  EXPECT_TRUE(r.playbooks.empty());
  auto b = (dir.path() / "b.yaml").string();
  auto c = (dir.path() / "c.yaml").string();
  ASSERT_EQ(r.errors.size(), 3u) << r.message();
  EXPECT_EQ(r.errors[0].file, b);
  EXPECT_TRUE(contains(r.errors[0].message, "YAML syntax error"));
  EXPECT_GE(r.errors[0].line, 3);
  EXPECT_EQ(r.errors[1].file, c);
  EXPECT_EQ(r.errors[1].line, 2);
  EXPECT_EQ(r.errors[1].key, "autonomy");
  EXPECT_EQ(r.errors[2].file, c);
  EXPECT_EQ(r.errors[2].line, 3);
  EXPECT_TRUE(contains(r.errors[2].message, "did you mean steps?"));
  EXPECT_TRUE(contains(r.message(), b + ":"));
}

// -- render_template
// ---------------------------------------------------------------------

const std::map<std::string, std::string> vars{
  {"service", "orders-db"},
  {"incident.id", "INC-42"},
  {"labels.team", "payments"},
};

TEST(config_playbook, render_template_fills_every_variable) {
  EXPECT_EQ(render_template("{{service}}", vars), "orders-db");
  EXPECT_EQ(render_template("kill {{ service }} for {{incident.id}}!", vars),
            "kill orders-db for INC-42!");
  EXPECT_EQ(render_template("{{service}}{{service}}", vars),
            "orders-dborders-db");
  EXPECT_EQ(render_template("team={{labels.team}}", vars), "team=payments");
  EXPECT_EQ(render_template("", vars), "");
  EXPECT_EQ(render_template("no templates", vars), "no templates");
  // A stray closing pair and single braces are plain text.
  EXPECT_EQ(render_template(R"({"a": {"b": "{{service}}"}})", vars),
            R"({"a": {"b": "orders-db"}})");
}

TEST(config_playbook, render_template_inserts_hostile_values_verbatim) {
  for (const std::string& hostile : std::vector<std::string>{
         "; rm -rf /", "$(id)", "`id`", "a\nb", "x' || true '", "--help",
         "  spaced  ", "{{incident.id}}", "{{", "}}",
         std::string("nul\0x", 5)}) {
    std::map<std::string, std::string> v{{"service", hostile},
                                         {"incident.id", "INC-1"}};
    auto r = render_template("{{service}}", v);
    ASSERT_TRUE(r) << hostile;
    EXPECT_EQ(*r, hostile);
    r = render_template("svc={{service}};id={{incident.id}}", v);
    ASSERT_TRUE(r) << hostile;
    EXPECT_EQ(*r, "svc=" + hostile + ";id=INC-1");
  }
}

TEST(config_playbook,
     render_template_refuses_unknown_variables_and_bad_braces) {
  auto r = render_template("restart {{namespace}}", vars);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), static_cast<uint8_t>(errc::invalid_config));
  EXPECT_TRUE(contains(rule_error_text(r.error()), "namespace"));
  for (auto bad : {"{{service", "{{}}", "x {{ }} y", "{{{service}}}"}) {
    auto b = render_template(bad, vars);
    ASSERT_FALSE(b) << bad;
    EXPECT_EQ(b.error().code(), static_cast<uint8_t>(errc::invalid_config));
  }
}

// -- matches
// -------------------------------------------------------------------------------

TEST(config_playbook, an_empty_match_matches_every_incident) {
  playbook p;
  EXPECT_TRUE(matches(p, "anything", "any-service", 1, {}));
  EXPECT_TRUE(matches(p, "", "", 5, {{"team", "x"}}));
}

TEST(config_playbook, matches_checks_type_service_labels_and_severity) {
  playbook p;
  p.incident_types = {"high_latency", "high_cpu_usage"};
  p.services = {"orders-db", "*-cache", "api-?"};
  p.labels = {{"team", "payments"}, {"env", "prod"}};
  p.min_severity = 3;
  std::map<std::string, std::string> labels{
    {"team", "payments"}, {"env", "prod"}, {"extra", "ignored"}};
  EXPECT_TRUE(matches(p, "high_latency", "orders-db", 3, labels));
  EXPECT_TRUE(matches(p, "high_cpu_usage", "session-cache", 5, labels));
  EXPECT_TRUE(matches(p, "high_latency", "api-1", 4, labels));
  // Type.
  EXPECT_FALSE(matches(p, "high_memory_usage", "orders-db", 3, labels));
  // Service globs.
  EXPECT_FALSE(matches(p, "high_latency", "orders", 3, labels));
  EXPECT_FALSE(matches(p, "high_latency", "api-12", 3, labels));
  EXPECT_FALSE(matches(p, "high_latency", "cache-x", 3, labels));
  // Severity below the minimum.
  EXPECT_FALSE(matches(p, "high_latency", "orders-db", 2, labels));
  // A label missing or different.
  EXPECT_FALSE(
    matches(p, "high_latency", "orders-db", 3, {{"team", "payments"}}));
  EXPECT_FALSE(matches(p, "high_latency", "orders-db", 3,
                       {{"team", "search"}, {"env", "prod"}}));
}

TEST(config_playbook, matches_works_on_a_loaded_playbook) {
  auto p = only_playbook(R"(name: p
autonomy: 1
match:
  incident_type: database_connection_exhaustion
  services: "*-db"
  labels: {tier: data}
  min_severity: 2
)");
  EXPECT_TRUE(matches(p, "database_connection_exhaustion", "orders-db", 2,
                      {{"tier", "data"}}));
  EXPECT_FALSE(matches(p, "database_connection_exhaustion", "orders-db", 1,
                       {{"tier", "data"}}));
  EXPECT_FALSE(
    matches(p, "database_connection_exhaustion", "orders-db", 2, {}));
}

} // namespace
} // namespace vigil
