#pragma once

// The small rule languages inside config values, parsed in one place for
// the config loader (which refuses bad rules with the parser's message)
// and for the actors that apply them:
//   detection.rules             GLOB=DETECTOR[,DETECTOR...][:VOTES]
//   detection.precursors.limits GLOB=NUMBER | GLOB=METRIC
//   correlation.classification  GLOB=TYPE
//   topology.edges              CALLER->CALLEE
//   remediation.autonomy_caps   SERVICE_GLOB=LEVEL
//   notifiers.receivers         NAME KIND URL [OPTION=VALUE ...]
// and the metric-name globs they and detection.iforest.features use.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <caf/expected.hpp>

namespace vigil {

/// Whether `name` matches `glob`: `*` matches any run of characters (also
/// none), `?` exactly one, everything else itself. One backtrack point (the
/// last `*`), so linear in practice.
bool glob_match(std::string_view glob, std::string_view name);

/// Whether `text` is a non-empty metric-name glob: letters, digits, '_',
/// ':', '*' and '?'.
bool is_metric_glob(std::string_view text);

/// Whether `text` is a Prometheus metric name: [a-zA-Z_:][a-zA-Z0-9_:]*.
bool is_metric_name(std::string_view text);

/// One `detection.rules` entry.
struct detector_rule {
  std::string glob;
  std::vector<std::string> detectors;
  /// 0 = the smaller of detection.min_votes and the number of detectors.
  uint32_t min_votes = 0;
};

/// Reads one detector rule; the error (errc::invalid_config) names what is
/// wrong, with a suggestion for a misspelt detector.
caf::expected<detector_rule> parse_detector_rule(std::string_view text);

/// One `detection.precursors.limits` entry: series whose metric name
/// matches `glob` exhaust at `value`, or at the value of the series named
/// `companion` with the same labels.
struct limit_rule {
  std::string glob;
  std::optional<double> value;
  std::string companion;
};

/// Reads "GLOB=NUMBER" or "GLOB=METRIC"; the error names what is wrong.
caf::expected<limit_rule> parse_limit_rule(std::string_view text);

/// One `correlation.classification` entry: incidents whose symptoms are
/// mostly series of metrics matching `glob` get type `type`.
struct classification_rule {
  std::string glob;
  std::string type;
};

/// Reads "GLOB=TYPE" (TYPE: lower-case letters, digits and '_').
caf::expected<classification_rule>
parse_classification_rule(std::string_view text);

/// Reads a static edge "CALLER->CALLEE" (service names, no control
/// characters, not the same service twice).
caf::expected<std::pair<std::string, std::string>>
parse_edge_rule(std::string_view text);

/// One `remediation.autonomy_caps` entry: services matching `glob` run
/// playbooks at autonomy `level` at most.
struct autonomy_cap_rule {
  std::string glob;
  uint32_t level = 4;
};

/// Reads "SERVICE_GLOB=LEVEL" (LEVEL 1..4).
caf::expected<autonomy_cap_rule> parse_autonomy_cap(std::string_view text);

/// One `remediation.approvers` entry: a person who may decide approvals,
/// identified by the bearer token in `token_file`.
struct approver_rule {
  std::string name;
  std::string token_file;
};

/// Reads "NAME=TOKEN_FILE" (NAME: letters, digits, '.', '_', '-', '@').
caf::expected<approver_rule> parse_approver(std::string_view text);

/// One `notifiers.receivers` entry.
struct receiver_rule {
  std::string name;
  /// webhook, slack, pagerduty or opsgenie.
  std::string kind;
  std::string url;
  /// Lowest incident severity sent (1..5). Default: 1.
  uint32_t min_severity = 1;
  /// Root-cause service globs; empty = any.
  std::vector<std::string> services;
  /// Event kinds sent (opened, escalated, action, acknowledged,
  /// resolved); empty = all.
  std::vector<std::string> events;
  /// Where the secret comes from: a file (trimmed) or an environment
  /// variable. Routing key (pagerduty), API key (opsgenie), HMAC secret
  /// (webhook, optional).
  std::string key_file;
  std::string key_env;
};

/// Reads "NAME KIND URL [OPTION=VALUE ...]".
caf::expected<receiver_rule> parse_receiver(std::string_view text);

/// The message of a parser's error ("'TEXT': why").
std::string rule_error_text(const caf::error& err);

} // namespace vigil
