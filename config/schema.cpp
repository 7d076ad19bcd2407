#include "config/schema.hpp"

#include <algorithm>
#include <cassert>
#include <type_traits>

#include "config/rules.hpp"
#include "config/suggest.hpp"
#include "config/units.hpp"

namespace vigil::config {

namespace {

// -- field access -------------------------------------------------------------

// A left fold over member pointers: at<&options::node, &node_options::http>
// reaches x.node.http.
template <auto... Members>
field_pointer field_at(options& x) {
  return &(x.*....*Members);
}

template <auto... Members>
const_field_pointer const_field_at(const options& x) {
  return &(x.*....*Members);
}

template <auto... Members>
using field_type = std::remove_cvref_t<decltype((
  std::declval<options&>().*....*Members))>;

template <auto... Members>
option::spec make(std::string_view key, value_kind kind,
                  std::string_view description) {
  option::spec s;
  s.key = key;
  s.kind = kind;
  s.description = description;
  s.field = &field_at<Members...>;
  s.const_field = &const_field_at<Members...>;
  return s;
}

constexpr uint64_t kib = 1ull << 10;
constexpr uint64_t gib = 1ull << 30;
constexpr uint64_t second = 1000;
constexpr uint64_t minute = 60 * second;
constexpr uint64_t hour = 60 * minute;
constexpr uint64_t day = 24 * hour;

template <auto... Members>
option unsigned_option(std::string_view key, std::string_view description,
                       uint64_t min, uint64_t max) {
  using type = field_type<Members...>;
  static_assert(std::is_same_v<type, uint32_t>
                || std::is_same_v<type, uint64_t>);
  assert(max <= std::numeric_limits<type>::max());
  auto s = make<Members...>(key, value_kind::unsigned_integer, description);
  s.min = min;
  s.max = max;
  return option{s};
}

template <auto... Members>
option bool_option(std::string_view key, std::string_view description) {
  static_assert(std::is_same_v<field_type<Members...>, bool>);
  return option{make<Members...>(key, value_kind::boolean, description)};
}

template <auto... Members>
option bytes_option(std::string_view key, std::string_view description,
                    uint64_t min, uint64_t max) {
  static_assert(std::is_same_v<field_type<Members...>, uint64_t>);
  auto s = make<Members...>(key, value_kind::byte_size, description);
  s.min = min;
  s.max = max;
  return option{s};
}

template <auto... Members>
option real_option(std::string_view key, std::string_view description,
                   double min, bool min_open, double max, bool max_open) {
  static_assert(std::is_same_v<field_type<Members...>, double>);
  auto s = make<Members...>(key, value_kind::real, description);
  s.real_min = min;
  s.real_min_open = min_open;
  s.real_max = max;
  s.real_max_open = max_open;
  return option{s};
}

template <auto... Members>
option duration_option(std::string_view key, std::string_view description,
                       uint64_t min_ms, uint64_t max_ms, uint64_t step = 1) {
  static_assert(std::is_same_v<field_type<Members...>, duration>);
  auto s = make<Members...>(key, value_kind::duration, description);
  s.min = min_ms;
  s.max = max_ms;
  s.step = step;
  return option{s};
}

template <auto... Members>
option string_option(std::string_view key, std::string_view description,
                     string_rule rule) {
  static_assert(std::is_same_v<field_type<Members...>, std::string>);
  auto s = make<Members...>(key, value_kind::string, description);
  s.rule = rule;
  // Bearer tokens are the only credentials among the options.
  s.secret = rule == string_rule::token;
  return option{s};
}

template <auto... Members>
option choice_option(std::string_view key, std::string_view description,
                     std::span<const std::string_view> choices) {
  static_assert(std::is_same_v<field_type<Members...>, std::string>);
  auto s = make<Members...>(key, value_kind::choice, description);
  s.rule = string_rule::choice;
  s.choices = choices;
  return option{s};
}

template <auto... Members>
option host_port_option(std::string_view key, std::string_view description,
                        uint16_t min_port) {
  static_assert(std::is_same_v<field_type<Members...>, host_port>);
  auto s = make<Members...>(key, value_kind::host_port, description);
  s.rule = string_rule::host_port;
  s.min_port = min_port;
  return option{s};
}

template <auto... Members>
option list_option(std::string_view key, std::string_view description,
                   string_rule rule, uint64_t min_items, uint64_t max_items,
                   std::span<const std::string_view> choices = {},
                   uint16_t min_port = 0) {
  static_assert(
    std::is_same_v<field_type<Members...>, std::vector<std::string>>);
  auto s = make<Members...>(key, value_kind::string_list, description);
  s.rule = rule;
  s.min = min_items;
  s.max = max_items;
  s.choices = choices;
  s.min_port = min_port;
  return option{s};
}

// -- the table ----------------------------------------------------------------

using O = options;
using N = node_options;
using S = supervision_options;
using I = ingest_options;
using D = detection_options;
using Z = zscore_options;
using E = ewma_options;
using C = cusum_options;
using RA = ramp_options;
using V = novelty_options;
using W = seasonal_options;
using L = log_detection_options;
using P = precursor_options;
using LK = likelihood_options;
using IF = iforest_options;
using Y = security_options;
using CO = correlation_options;
using TO = topology_options;
using RO = rca_options;
using SO = suppression_options;
using RM = remediation_options;
using RL = remediation_limits;
using NT = notifier_options;
using LM = llm_options;
using K = cluster_options;

std::vector<option> make_schema() {
  std::vector<option> xs{
    // -- node --
    string_option<&O::node, &N::id>(
      "node.id",
      "The node's name in the cluster; empty means generate one on first "
      "start and keep it in <data_dir>/node.id.",
      string_rule::node_id),
    string_option<&O::node, &N::data_dir>(
      "node.data_dir",
      "Directory where RocksDB, the admin token and the node id live.",
      string_rule::non_empty),
    host_port_option<&O::node, &N::http>(
      "node.http",
      "Address of the HTTP front door; port 0 picks any free port.", 0),
    host_port_option<&O::node, &N::cluster>(
      "node.cluster",
      "CAF endpoint for the console and other nodes; port 0 picks any free "
      "port.",
      0),
    string_option<&O::node, &N::playbooks_dir>(
      "node.playbooks_dir", "Directory of playbook YAML files.",
      string_rule::non_empty),
    choice_option<&O::node, &N::log_level>(
      "node.log_level",
      "Least severe log messages written; less severe ones are dropped.",
      log_levels),
    unsigned_option<&O::node, &N::http_threads>(
      "node.http_threads",
      "Threads serving HTTP and decoding request bodies; 0 means one per "
      "core.",
      0, 1024),
    unsigned_option<&O::node, &N::worker_threads>(
      "node.worker_threads",
      "Threads of the actor scheduler; 0 means one per core.", 0, 1024),
    choice_option<&O::node, &N::scheduler>(
      "node.scheduler",
      "How the actor scheduler shares work: sharing (one queue, idle "
      "threads sleep until work comes: least CPU below saturation) or "
      "work_stealing (a queue per thread, idle threads poll the others).",
      schedulers),
    duration_option<&O::node, &N::shutdown_timeout>(
      "node.shutdown_timeout",
      "How long a graceful stop waits for in-flight work.", 100, hour),
    // -- node.supervision --
    unsigned_option<&O::node, &N::supervision, &S::max_restarts>(
      "node.supervision.max_restarts",
      "Restarts allowed per child within the period before its supervisor "
      "gives up and escalates; 0 escalates at the first crash.",
      0, 10000),
    duration_option<&O::node, &N::supervision, &S::period>(
      "node.supervision.period", "The window restarts are counted in.",
      second, day),
    duration_option<&O::node, &N::supervision, &S::backoff_initial>(
      "node.supervision.backoff_initial",
      "First restart delay; it doubles with every restart in the window.", 0,
      minute),
    duration_option<&O::node, &N::supervision, &S::backoff_max>(
      "node.supervision.backoff_max",
      "Longest restart delay; at least backoff_initial.", 0, hour),
    // -- ingest --
    bytes_option<&O::ingest, &I::max_body_bytes>(
      "ingest.max_body_bytes",
      "Largest accepted request body, as sent (compressed).", kib, gib),
    bytes_option<&O::ingest, &I::max_decoded_bytes>(
      "ingest.max_decoded_bytes",
      "Largest accepted body after decompression, checked before inflating; "
      "at least max_body_bytes.",
      kib, 4 * gib),
    list_option<&O::ingest, &I::service_labels>(
      "ingest.service_labels",
      "Labels (remote write, alerts) naming a sample's service, in order of "
      "preference; OTLP always uses the resource attribute service.name.",
      string_rule::label_name, 1, 16),
    string_option<&O::ingest, &I::default_service>(
      "ingest.default_service",
      "Service for items that carry none of the service labels.",
      string_rule::non_empty),
    unsigned_option<&O::ingest, &I::max_queued_samples>(
      "ingest.max_queued_samples",
      "Samples queued between ingest and detectors, node-wide, before ingest "
      "answers 503.",
      1, 1'000'000'000),
    unsigned_option<&O::ingest, &I::max_queued_samples_per_shard>(
      "ingest.max_queued_samples_per_shard",
      "Samples queued for one shard before ingest answers 503, so one slow "
      "service cannot hold the whole queue; at most max_queued_samples.",
      1, 1'000'000'000),
    duration_option<&O::ingest, &I::retry_after>(
      "ingest.retry_after",
      "Retry-After sent with 429 and 503 answers; HTTP counts it in whole "
      "seconds.",
      second, hour, second),
    unsigned_option<&O::ingest, &I::rate_limit>(
      "ingest.rate_limit",
      "Node-wide ingest rate limit in items per second, answered with 429 "
      "above it; 0 means unlimited.",
      0, 1'000'000'000),
    unsigned_option<&O::ingest, &I::rate_burst>(
      "ingest.rate_burst", "Burst allowance of the rate limit, in items.", 1,
      1'000'000'000),
    unsigned_option<&O::ingest, &I::max_connections>(
      "ingest.max_connections",
      "Open HTTP connections at most; more are refused.", 1, 1'000'000),
    duration_option<&O::ingest, &I::read_timeout>(
      "ingest.read_timeout",
      "A request must arrive completely within this time.", 100, hour),
    duration_option<&O::ingest, &I::idle_timeout>(
      "ingest.idle_timeout",
      "Idle keep-alive connections are closed after this time.", 100, day),
    // -- detection --
    list_option<&O::detection, &D::detectors>(
      "detection.detectors", "Detectors run on every series, by name.",
      string_rule::choice, 1, known_detectors.size(), known_detectors),
    unsigned_option<&O::detection, &D::min_votes>(
      "detection.min_votes",
      "A sample is anomalous when at least this many warm detectors agree; "
      "at most the number of detectors.",
      1, known_detectors.size()),
    list_option<&O::detection, &D::rules>(
      "detection.rules",
      "Per-metric detectors, GLOB=DETECTOR[,DETECTOR...][:VOTES]; a series "
      "takes the first rule its metric name matches, the others use "
      "detectors and min_votes (VOTES defaults to the smaller of min_votes "
      "and the rule's detector count); the default rules add ramp to the "
      "default detectors for memory and heap gauges, which leak.",
      string_rule::detector_rule, 0, 64),
    unsigned_option<&O::detection, &D::warmup_samples>(
      "detection.warmup_samples",
      "Samples a series needs before its detectors may vote.", 2, 1'000'000),
    unsigned_option<&O::detection, &D::recovery_samples>(
      "detection.recovery_samples",
      "Consecutive normal samples that end an anomalous stretch.", 1, 100'000),
    duration_option<&O::detection, &D::reference_step>(
      "detection.reference_step",
      "The sampling step the detection sample counts and per-sample weights "
      "are meant for; a service sampled more often has its series averaged "
      "over blocks of about this step, at most 60 samples each, and the "
      "detectors judge the means (0 = off).",
      0, day),
    duration_option<&O::detection, &D::hold_max>(
      "detection.hold_max",
      "A stretch lasts while its values stay outside the band expected at "
      "its onset, even after the detectors adapted, for at most this long "
      "(event time; 0 = recovery follows the detectors alone).",
      0, 30 * day),
    unsigned_option<&O::detection, &D::confirm_samples>(
      "detection.confirm_samples",
      "An anomaly lasting this many samples is re-announced once (phase "
      "ongoing) as a persisting anomaly, scored by the mean score of those "
      "samples (each the ensemble's or, while detection.hold_max holds the "
      "stretch, its distance from the band expected at the onset if higher) "
      "or its own if higher (0 = only at the re-emit interval).",
      0, 100'000),
    duration_option<&O::detection, &D::reemit_interval>(
      "detection.reemit_interval",
      "An ongoing anomaly is re-announced at most this often, in event "
      "time.",
      second, day),
    duration_option<&O::detection, &D::series_ttl>(
      "detection.series_ttl",
      "A series with no sample for this long (event time, relative to its "
      "service's newest sample) is dropped.",
      minute, 30 * day),
    duration_option<&O::detection, &D::snapshot_interval>(
      "detection.snapshot_interval",
      "Detector state is written to storage this often (wall clock) and at "
      "shutdown, so a crash loses at most this much learning.",
      second, day),
    unsigned_option<&O::detection, &D::recent_anomalies>(
      "detection.recent_anomalies",
      "Anomalies kept for GET /api/v1/anomalies; 0 keeps none.", 0,
      1'000'000),
    unsigned_option<&O::detection, &D::refractory_samples>(
      "detection.refractory_samples",
      "After a series' ensemble calls a value anomalous, its scores stay "
      "below the anomaly threshold for this many samples, so one event is "
      "scored once; 0 turns this off.",
      0, 1'000'000),
    // -- detection.zscore --
    unsigned_option<&O::detection, &D::zscore, &Z::window>(
      "detection.zscore.window", "Values in the rolling window.", 2, 10'000),
    real_option<&O::detection, &D::zscore, &Z::threshold>(
      "detection.zscore.threshold",
      "Votes anomalous above this many standard deviations.", 0, true, 100,
      false),
    // -- detection.ewma --
    real_option<&O::detection, &D::ewma, &E::alpha>(
      "detection.ewma.alpha", "Weight of the newest value.", 0, true, 1,
      false),
    real_option<&O::detection, &D::ewma, &E::threshold>(
      "detection.ewma.threshold", "Band half-width in standard deviations.",
      0, true, 100, false),
    // -- detection.cusum --
    real_option<&O::detection, &D::cusum, &C::drift>(
      "detection.cusum.drift", "Slack per sample, in standard deviations.", 0,
      false, 100, false),
    real_option<&O::detection, &D::cusum, &C::threshold>(
      "detection.cusum.threshold",
      "Decision interval: votes anomalous when a sum exceeds it.", 0, true,
      1000, false),
    real_option<&O::detection, &D::cusum, &C::alpha>(
      "detection.cusum.alpha",
      "Weight of the newest value in the slow reference mean.", 0, true, 1,
      false),
    // -- detection.ramp --
    unsigned_option<&O::detection, &D::ramp, &RA::span>(
      "detection.ramp.span", "Values in each of the two spans compared.", 1,
      10'000),
    real_option<&O::detection, &D::ramp, &RA::threshold>(
      "detection.ramp.threshold",
      "Votes anomalous when the rise is this many standard deviations from "
      "its usual value.",
      0, true, 1000, false),
    real_option<&O::detection, &D::ramp, &RA::alpha>(
      "detection.ramp.alpha",
      "Weight of the newest rise in its mean and variance.", 0, true, 1,
      false),
    // -- detection.novelty --
    unsigned_option<&O::detection, &D::novelty, &V::levels>(
      "detection.novelty.levels",
      "Quantisation levels of the series' observed range.", 2, 64),
    unsigned_option<&O::detection, &D::novelty, &V::depth>(
      "detection.novelty.depth",
      "Longest pattern, in consecutive quantised values; levels^depth must "
      "stay at most 4096.",
      1, 12),
    real_option<&O::detection, &D::novelty, &V::extreme_margin>(
      "detection.novelty.extreme_margin",
      "A value beyond the observed range by more than this many band widths "
      "is new by itself, whatever bands it falls into afterwards.",
      0, false, 1000, false),
    unsigned_option<&O::detection, &D::novelty, &V::day_slots>(
      "detection.novelty.day_slots",
      "The day is cut into this many slots (UTC); a band in a slot on a "
      "weekday or weekend day is one more pattern, so a value at an hour or "
      "on a day it never occurred at is new; 0 turns this off.",
      0, 1440),
    // -- detection.seasonal --
    unsigned_option<&O::detection, &D::seasonal, &W::day_slots>(
      "detection.seasonal.day_slots",
      "Slots of the hour-of-day profile (UTC).", 1, 1440),
    real_option<&O::detection, &D::seasonal, &W::threshold>(
      "detection.seasonal.threshold",
      "Votes anomalous when the residual exceeds this many robust standard "
      "deviations of the chosen model's residuals.",
      0, true, 100, false),
    real_option<&O::detection, &D::seasonal, &W::alpha>(
      "detection.seasonal.alpha",
      "Weight of a sample in the slot and day-of-week offsets it updates.", 0,
      true, 1, false),
    real_option<&O::detection, &D::seasonal, &W::clip>(
      "detection.seasonal.clip",
      "After warm-up a residual teaches the model at most as much as one of "
      "this many standard deviations.",
      0, true, 1000, false),
    real_option<&O::detection, &D::seasonal, &W::gain>(
      "detection.seasonal.gain",
      "A richer model (daily, then weekly) is chosen only when its mean "
      "squared residual is at most this fraction of the simpler one's.",
      0, true, 1, false),
    // -- detection.logs --
    choice_option<&O::detection, &D::logs, &L::format>(
      "detection.logs.format",
      "How log lines are parsed; auto recognises the format line by line.",
      log_line_formats),
    real_option<&O::detection, &D::logs, &L::similarity>(
      "detection.logs.similarity",
      "Share of a template's constant tokens a line must match to join it.",
      0, true, 1, false),
    unsigned_option<&O::detection, &D::logs, &L::max_templates>(
      "detection.logs.max_templates",
      "Templates kept per service; the least recently matched is dropped.",
      10, 1'000'000),
    duration_option<&O::detection, &D::logs, &L::bucket>(
      "detection.logs.bucket", "Width of one log rate bucket, in event time.",
      second, day),
    duration_option<&O::detection, &D::logs, &L::warmup>(
      "detection.logs.warmup",
      "Event time from a service's first line before log anomalies are "
      "judged.",
      0, 30 * day),
    unsigned_option<&O::detection, &D::logs, &L::warmup_lines>(
      "detection.logs.warmup_lines",
      "Lines a service needs before log anomalies are judged.", 0,
      100'000'000),
    unsigned_option<&O::detection, &D::logs, &L::min_spike_errors>(
      "detection.logs.min_spike_errors",
      "Error lines in one bucket before a spike may be reported.", 1,
      1'000'000),
    real_option<&O::detection, &D::logs, &L::spike_ratio>(
      "detection.logs.spike_ratio",
      "Errors in a bucket over the baseline that make a spike.", 1, false,
      1e6, false),
    real_option<&O::detection, &D::logs, &L::criticality>(
      "detection.logs.criticality",
      "Multiplies every log anomaly's score (the service's criticality).", 0,
      true, 1000, false),
    unsigned_option<&O::detection, &D::logs, &L::examples>(
      "detection.logs.examples", "Example lines a log anomaly carries.", 0,
      100),
    // -- detection.likelihood --
    bool_option<&O::detection, &D::likelihood, &LK::enabled>(
      "detection.likelihood.enabled",
      "Judge how unusual the recent average of the ensemble score is "
      "against its own history instead of using the score as it is."),
    unsigned_option<&O::detection, &D::likelihood, &LK::average>(
      "detection.likelihood.average",
      "Raw scores averaged before judging.", 1, 64),
    unsigned_option<&O::detection, &D::likelihood, &LK::memory>(
      "detection.likelihood.memory",
      "Samples of history the average is judged against (exponential "
      "memory).",
      2, 10'000'000),
    unsigned_option<&O::detection, &D::likelihood, &LK::warmup>(
      "detection.likelihood.warmup",
      "Samples before the likelihood speaks.", 0, 10'000'000),
    real_option<&O::detection, &D::likelihood, &LK::mean_floor>(
      "detection.likelihood.mean_floor",
      "Floor of the history's mean.", 0, false, 1, false),
    real_option<&O::detection, &D::likelihood, &LK::variance_floor>(
      "detection.likelihood.variance_floor",
      "Floor of the history's variance.", 0, true, 1, false),
    real_option<&O::detection, &D::likelihood, &LK::novelty_weight>(
      "detection.likelihood.novelty_weight",
      "A novelty detector's own score, times this, is a floor of the final "
      "score.",
      0, false, 1, false),
    // -- detection.iforest --
    list_option<&O::detection, &D::iforest, &IF::features>(
      "detection.iforest.features",
      "Metric-name globs, one feature each of the service's vector; a "
      "feature's value in a step is the mean of the matching series (counters "
      "as rates); empty turns the forest off.",
      string_rule::metric_glob, 0, 64),
    duration_option<&O::detection, &D::iforest, &IF::step>(
      "detection.iforest.step", "Event time one feature vector covers.",
      second, day),
    unsigned_option<&O::detection, &D::iforest, &IF::trees>(
      "detection.iforest.trees", "Trees per forest.", 1, 10'000),
    unsigned_option<&O::detection, &D::iforest, &IF::sample_size>(
      "detection.iforest.sample_size",
      "Vectors each tree is built from (psi).", 2, 1 << 20),
    unsigned_option<&O::detection, &D::iforest, &IF::window>(
      "detection.iforest.window", "Recent vectors kept for training.", 2,
      1 << 20),
    unsigned_option<&O::detection, &D::iforest, &IF::min_samples>(
      "detection.iforest.min_samples", "Vectors before the first model.", 2,
      1 << 20),
    unsigned_option<&O::detection, &D::iforest, &IF::retrain_every>(
      "detection.iforest.retrain_every",
      "Retrain after this many new vectors.", 1, 1 << 30),
    real_option<&O::detection, &D::iforest, &IF::threshold_quantile>(
      "detection.iforest.threshold_quantile",
      "The training window's score quantile that calibrates to 0.5.", 0.5,
      true, 1, true),
    // -- detection.precursors --
    list_option<&O::detection, &D::precursors, &P::limits>(
      "detection.precursors.limits",
      "Which series have a limit: GLOB=NUMBER, or GLOB=METRIC for the value "
      "of METRIC with the same labels (0 there means no limit); a metric "
      "takes the first rule its name matches; empty turns precursors off.",
      string_rule::limit_rule, 0, 256),
    duration_option<&O::detection, &D::precursors, &P::horizon>(
      "detection.precursors.horizon",
      "Warn when a limit is forecast to be reached within this much event "
      "time.",
      minute, 30 * day),
    duration_option<&O::detection, &D::precursors, &P::window>(
      "detection.precursors.window",
      "Event time a trend is estimated over.", minute, 7 * day),
    real_option<&O::detection, &D::precursors, &P::min_significance>(
      "detection.precursors.min_significance",
      "The rise over the window must be this many robust standard "
      "deviations of the residuals around the trend line.",
      0, true, 1000, false),
    duration_option<&O::detection, &D::precursors, &P::reemit>(
      "detection.precursors.reemit",
      "An open warning is re-announced with a fresh forecast this often, in "
      "event time.",
      second, day),
    unsigned_option<&O::detection, &D::precursors, &P::max_series>(
      "detection.precursors.max_series",
      "Series one service follows for a trend at most.", 1, 10'000'000),
    real_option<&O::detection, &D::precursors, &P::saturation>(
      "detection.precursors.saturation",
      "A series at or above this share of the limit its companion series "
      "reports (GLOB=METRIC, above 0) for "
      "detection.precursors.saturated_samples samples in a row has reached "
      "it and is warned at once, scoring 1 (0 = off).",
      0, false, 1, false),
    unsigned_option<&O::detection, &D::precursors, &P::saturated_samples>(
      "detection.precursors.saturated_samples",
      "Samples in a row at the limit before it is reported.", 1, 1000),
    // -- security --
    string_option<&O::security, &Y::admin_token>(
      "security.admin_token",
      "Bearer token for /api/v1/* except ingest; empty means read "
      "admin_token_file, or generate one into <data_dir>/admin.token on "
      "first start.",
      string_rule::token),
    string_option<&O::security, &Y::admin_token_file>(
      "security.admin_token_file",
      "File holding the admin token; empty means <data_dir>/admin.token; "
      "not together with admin_token.",
      string_rule::any),
    string_option<&O::security, &Y::ingest_token>(
      "security.ingest_token",
      "Bearer token the ingest endpoints require; empty, with no "
      "ingest_token_file either, leaves ingest open.",
      string_rule::token),
    string_option<&O::security, &Y::ingest_token_file>(
      "security.ingest_token_file",
      "File holding the ingest token; not together with ingest_token.",
      string_rule::any),
    // -- correlation --
    unsigned_option<&O::correlation, &CO::partitions>(
      "correlation.partitions",
      "Correlator partitions; every correlation domain belongs to one.", 1,
      256),
    string_option<&O::correlation, &CO::domain_label>(
      "correlation.domain_label",
      "Series label whose value is the correlation domain, such as team; "
      "empty means the topology component of the service (services "
      "without edges share one domain and group by time).",
      string_rule::any),
    duration_option<&O::correlation, &CO::group_window>(
      "correlation.group_window",
      "A symptom joins an open incident of its domain at most this long "
      "after the incident's newest symptom.",
      second, day),
    unsigned_option<&O::correlation, &CO::open_min_services>(
      "correlation.open_min_services",
      "A new incident opens once anomalies of this many distinct services of "
      "a domain arrive within open_wait, or an anomaly persists, or an alert "
      "fires; 1 lets every anomaly open one.",
      1, 1000),
    duration_option<&O::correlation, &CO::open_wait>(
      "correlation.open_wait",
      "How long anomalies wait for corroboration by other services.", second,
      hour),
    bool_option<&O::correlation, &CO::persisting_only>(
      "correlation.persisting_only",
      "Only persisting evidence (an anomaly re-announced by its detector, an "
      "alert, a log error spike, a forecast) opens an incident and keeps it "
      "taking new symptoms; blips only join open incidents (replaces "
      "open_min_services when on)."),
    unsigned_option<&O::correlation, &CO::adjacency_hops>(
      "correlation.adjacency_hops",
      "How far a neighbour reaches for correlation.adjacency: 1 = a caller "
      "or callee, 2 = also theirs (a fault may pass a quiet service).",
      1, 2),
    bool_option<&O::correlation, &CO::link_by_onset>(
      "correlation.link_by_onset",
      "With correlation.adjacency, a neighbour links a new service to an "
      "incident only while its symptom began within group_window (the "
      "front of a spreading fault), and two incidents merge only when they "
      "opened within group_window of each other and touch, so a long noisy "
      "incident does not absorb a new fault."),
    bool_option<&O::correlation, &CO::link_by_persisting>(
      "correlation.link_by_persisting",
      "With correlation.adjacency, a neighbour's metric anomaly links a new "
      "service to an incident only once it persisted (alerts, log events "
      "and forecasts always link); a blip joins but links nothing, "
      "so noise does not chain an incident along a large estate."),
    bool_option<&O::correlation, &CO::rejoin_while_anomalous>(
      "correlation.rejoin_while_anomalous",
      "With correlation.adjacency, a service already in an incident links "
      "its new anomalies to it only while one of its symptoms there is "
      "still anomalous (log events: seen within group_window); once all "
      "recovered, it joins again only through its "
      "neighbours, so a blip that joined a noise incident does not pull "
      "the service's later fault into it."),
    bool_option<&O::correlation, &CO::adjacency>(
      "correlation.adjacency",
      "Inside a domain, a service with known neighbours joins an incident "
      "only through itself or a neighbour with a recent symptom, and only "
      "neighbours corroborate each other; services outside the topology "
      "group by domain alone."),
    duration_option<&O::correlation, &CO::restart_settle>(
      "correlation.restart_settle",
      "A metric anomaly of a service that began within a minute of its own "
      "deploy, rollback or restart opens an incident only if it lasts this "
      "long after that change (it joins an open one at once); 0 turns "
      "this off.",
      0, day),
    duration_option<&O::correlation, &CO::max_span>(
      "correlation.max_span",
      "An incident takes new symptoms for at most this long after it "
      "opened, so an old simmering incident cannot swallow a new fault; 0 "
      "means no limit.",
      0, 7 * day),
    duration_option<&O::correlation, &CO::resolve_after>(
      "correlation.resolve_after",
      "An incident whose symptoms all recovered resolves after this long "
      "without a new one.",
      second, day),
    real_option<&O::correlation, &CO::min_score>(
      "correlation.min_score",
      "Anomalies scoring below this open no incident and join one only when "
      "their service is already in it; they stay listed as anomalies.",
      0, false, 1, false),
    list_option<&O::correlation, &CO::classification>(
      "correlation.classification",
      "Rules typing incidents by the metrics of their symptoms, first match "
      "per symptom; the type most symptoms vote for wins.",
      string_rule::classification_rule, 0, 256),
    unsigned_option<&O::correlation, &CO::max_incidents>(
      "correlation.max_incidents",
      "Incidents kept per partition; the oldest resolved ones go first, "
      "open ones never.",
      10, 10'000'000),
    unsigned_option<&O::correlation, &CO::max_symptoms>(
      "correlation.max_symptoms",
      "Distinct symptoms one incident keeps; more are counted.", 1,
      1'000'000),
    unsigned_option<&O::correlation, &CO::max_timeline>(
      "correlation.max_timeline",
      "Timeline entries one incident keeps; more are counted.", 10,
      1'000'000),
    duration_option<&O::correlation, &CO::rank_interval>(
      "correlation.rank_interval",
      "How often, in wall-clock time, incidents with new evidence are "
      "ranked again.",
      10, minute),
    // -- topology --
    duration_option<&O::topology, &TO::edge_ttl>(
      "topology.edge_ttl",
      "A learned edge not seen in traces for this long is removed; static "
      "edges stay.",
      second, 30 * day),
    unsigned_option<&O::topology, &TO::max_services>(
      "topology.max_services", "Services the graph holds at most.", 1,
      10'000'000),
    unsigned_option<&O::topology, &TO::max_edges>(
      "topology.max_edges", "Edges the graph holds at most.", 1,
      100'000'000),
    list_option<&O::topology, &TO::edges>(
      "topology.edges",
      "Static edges, merged with those learned from traces.",
      string_rule::edge_rule, 0, 100'000),
    // -- rca --
    duration_option<&O::rca, &RO::change_lookback>(
      "rca.change_lookback",
      "How long before a service's first anomaly a deploy or config change "
      "still counts as evidence against it.",
      0, day),
    unsigned_option<&O::rca, &RO::max_candidates>(
      "rca.max_candidates", "Root-cause candidates listed per incident.", 1,
      100),
    bool_option<&O::rca, &RO::persisting_only>(
      "rca.persisting_only",
      "When some services of an incident have persisting anomalies (not "
      "blips), rank only those, from the onset of their first persisting "
      "anomaly."),
    list_option<&O::rca, &RO::traffic_metrics>(
      "rca.traffic_metrics",
      "Metric-name globs of request volume; a callee whose only anomalies "
      "when its caller went bad are of these does not explain the caller "
      "(traffic flows from callers to callees, failures back).",
      string_rule::metric_glob, 0, 64),
    list_option<&O::rca, &RO::load_metrics>(
      "rca.load_metrics",
      "Metric-name globs of utilisation that follows demand; an anomaly of "
      "one that began within rca.load_slack of a traffic anomaly of the "
      "same service is load sent to it and counts as traffic, not as "
      "failing (it neither explains a caller nor dates the service, and a "
      "service with nothing but traffic is explained by its callers and "
      "not by its own changes).",
      string_rule::metric_glob, 0, 64),
    duration_option<&O::rca, &RO::load_slack>(
      "rca.load_slack",
      "How close the onsets of a utilisation anomaly and a traffic anomaly "
      "of one service must be for rca.load_metrics to call it load.",
      0, 5 * minute),
    // -- remediation --
    bool_option<&O::remediation, &RM::enabled>(
      "remediation.enabled",
      "Match incidents to playbooks at all; false means notify and escalate "
      "only."),
    bool_option<&O::remediation, &RM::kill_switch>(
      "remediation.kill_switch",
      "Refuse every action; each refusal is audited."),
    unsigned_option<&O::remediation, &RM::max_autonomy>(
      "remediation.max_autonomy",
      "Highest autonomy level any playbook runs at: 1 notify, 2 diagnose, 3 "
      "safe actions, 4 actions needing approval.",
      1, 4),
    list_option<&O::remediation, &RM::autonomy_caps>(
      "remediation.autonomy_caps",
      "Per-service caps on the autonomy level, first matching glob wins.",
      string_rule::autonomy_cap_rule, 0, 1024),
    choice_option<&O::remediation, &RM::min_confidence>(
      "remediation.min_confidence",
      "The least root-cause confidence a playbook runs on (medium or high); "
      "below it the incident goes to a human (docs/benchmarks.md has how "
      "often each level was right on simulated faults).",
      confidence_levels),
    list_option<&O::remediation, &RM::approvers>(
      "remediation.approvers",
      "People who may decide approvals, NAME=TOKEN_FILE each; when set, an "
      "approval is decided only with one of these tokens, the decider is "
      "the token's owner and never the requester.",
      string_rule::approver_rule, 0, 1024),
    duration_option<&O::remediation, &RM::action_timeout>(
      "remediation.action_timeout",
      "Timeout of a step that names none.", second, hour),
    unsigned_option<&O::remediation, &RM::retries>(
      "remediation.retries",
      "Retries of a failed step; a timed-out step is not retried.", 0, 10),
    duration_option<&O::remediation, &RM::retry_backoff>(
      "remediation.retry_backoff",
      "Delay before the first retry, doubled for each further one.", 10,
      10 * minute),
    duration_option<&O::remediation, &RM::approval_timeout>(
      "remediation.approval_timeout",
      "A pending approval expires into an escalation to a human after this.",
      minute, 7 * day),
    list_option<&O::remediation, &RM::shell_env>(
      "remediation.shell_env",
      "Environment variables of vigild that a shell step's process sees; "
      "nothing else is passed.",
      string_rule::label_name, 0, 256),
    list_option<&O::remediation, &RM::http_allow_hosts>(
      "remediation.http_allow_hosts",
      "Host names http steps may call; an empty list refuses every http "
      "step.",
      string_rule::non_empty, 0, 1024),
    bool_option<&O::remediation, &RM::watch_playbooks>(
      "remediation.watch_playbooks",
      "Reload the playbooks when a file in their directory changes."),
    string_option<&O::remediation, &RM::kubernetes_api>(
      "remediation.kubernetes_api",
      "Kubernetes API server for kubernetes steps as https://HOST:PORT; "
      "empty means the in-cluster service account.",
      string_rule::any),
    string_option<&O::remediation, &RM::kubernetes_token_file>(
      "remediation.kubernetes_token_file",
      "File holding the bearer token for kubernetes_api, read again for "
      "every action.",
      string_rule::any),
    string_option<&O::remediation, &RM::kubernetes_ca_file>(
      "remediation.kubernetes_ca_file",
      "CA bundle that signs the certificate of kubernetes_api; empty means "
      "the system's CAs.",
      string_rule::any),
    unsigned_option<&O::remediation, &RM::limits, &RL::max_restarts_per_hour>(
      "remediation.limits.max_restarts_per_hour",
      "Restarting actions run in any hour across all services.", 0,
      100'000),
    real_option<&O::remediation, &RM::limits, &RL::max_scale_factor>(
      "remediation.limits.max_scale_factor",
      "Largest factor a scale step may multiply the replicas by.", 1, false,
      1000, false),
    unsigned_option<&O::remediation, &RM::limits,
                    &RL::max_concurrent_actions>(
      "remediation.limits.max_concurrent_actions",
      "Actions running at once on a node; more wait their turn.", 1, 1000),
    list_option<&O::remediation, &RM::limits, &RL::approval_required_for>(
      "remediation.limits.approval_required_for",
      "Action names or incident types whose steps always need a human's "
      "approval.",
      string_rule::non_empty, 0, 1024),
    bool_option<&O::remediation, &RM::limits, &RL::dry_run>(
      "remediation.limits.dry_run",
      "Record every step of every playbook without running it."),
    // -- notifiers --
    list_option<&O::notifiers, &NT::receivers>(
      "notifiers.receivers",
      "Receivers as NAME KIND URL [OPTION=VALUE ...]: KIND webhook, slack, "
      "pagerduty or opsgenie; options min_severity=N, services=GLOB[,GLOB], "
      "events=opened,escalated,action,acknowledged,resolved, key_file=PATH, "
      "key_env=VAR.",
      string_rule::receiver_rule, 0, 256),
    duration_option<&O::notifiers, &NT::retry_initial>(
      "notifiers.retry_initial",
      "First retry delay of a failed delivery, doubled per attempt.", 10,
      hour),
    duration_option<&O::notifiers, &NT::retry_max>(
      "notifiers.retry_max", "Longest retry delay.", second, day),
    duration_option<&O::notifiers, &NT::max_age>(
      "notifiers.max_age",
      "A notification not delivered within this long is dropped and "
      "counted.",
      minute, 30 * day),
    unsigned_option<&O::notifiers, &NT::rate_per_minute>(
      "notifiers.rate_per_minute",
      "Deliveries per receiver per minute; more wait in the outbox.", 1,
      1'000'000),
    duration_option<&O::notifiers, &NT::timeout>(
      "notifiers.timeout", "Timeout of one delivery.", 100, 10 * minute),
    unsigned_option<&O::notifiers, &NT::digest_after>(
      "notifiers.digest_after",
      "A webhook or Slack receiver with more notifications than this "
      "waiting gets action and escalation notices folded into digests of "
      "up to 100; 0 means never.",
      0, 1'000'000),
    unsigned_option<&O::notifiers, &NT::max_outbox>(
      "notifiers.max_outbox",
      "Notifications the outbox holds at most; beyond it the oldest are "
      "dropped and counted.",
      100, 100'000'000),
    // -- llm --
    choice_option<&O::llm, &LM::provider>(
      "llm.provider",
      "Who writes incident summaries: empty for the built-in template, "
      "openai for an OpenAI-compatible chat completions API, anthropic for "
      "the Anthropic Messages API.",
      llm_providers),
    string_option<&O::llm, &LM::endpoint>(
      "llm.endpoint", "Full URL of the chat completions or messages API.",
      string_rule::any),
    string_option<&O::llm, &LM::model>("llm.model", "Model name.",
                                       string_rule::any),
    string_option<&O::llm, &LM::api_key_file>(
      "llm.api_key_file", "File holding the API key.", string_rule::any),
    string_option<&O::llm, &LM::api_key_env>(
      "llm.api_key_env", "Environment variable holding the API key.",
      string_rule::any),
    duration_option<&O::llm, &LM::timeout>(
      "llm.timeout", "Timeout of one request; the template summary stays "
      "when it passes.", second, 10 * minute),
    unsigned_option<&O::llm, &LM::max_tokens>(
      "llm.max_tokens", "Longest answer in tokens.", 16, 8192),
    // -- suppression --
    unsigned_option<&O::suppression, &SO::flap_max_opens>(
      "suppression.flap_max_opens",
      "A symptom that opened this many incidents within flap_window opens "
      "no more (it still joins open ones); 0 turns damping off.",
      0, 1000),
    duration_option<&O::suppression, &SO::flap_window>(
      "suppression.flap_window", "The window flap damping counts in.",
      minute, 7 * day),
    unsigned_option<&O::suppression, &SO::max_silences>(
      "suppression.max_silences",
      "Silences and maintenance windows held at most.", 1, 1'000'000),
    // -- cluster --
    list_option<&O::cluster, &K::join>(
      "cluster.join",
      "Seeds to join, as HOST:PORT of other nodes' cluster endpoints; empty "
      "means a single-node cluster.",
      string_rule::host_port, 0, 256, {}, 1),
    unsigned_option<&O::cluster, &K::shards>(
      "cluster.shards",
      "Fixed number of shards services hash onto; must be the same on every "
      "node.",
      1, 65536),
    duration_option<&O::cluster, &K::heartbeat_interval>(
      "cluster.heartbeat_interval",
      "How often a node tells every other member it is alive.", 50,
      10 * second),
    duration_option<&O::cluster, &K::suspect_after>(
      "cluster.suspect_after",
      "Silence after which a member is suspect; it keeps its shards.", 100,
      minute),
    duration_option<&O::cluster, &K::down_after>(
      "cluster.down_after",
      "Silence after which a member is down and its shards move to others.",
      200, 10 * minute),
    duration_option<&O::cluster, &K::lease>(
      "cluster.lease",
      "How long the control node may act after sending a heartbeat that a "
      "majority of the members echoed back; below down_after.",
      100, 10 * minute),
    duration_option<&O::cluster, &K::handoff_delay>(
      "cluster.handoff_delay",
      "How long a member that came up waits before it owns shards, while the "
      "current owners send it their detector state.",
      0, minute),
    unsigned_option<&O::cluster, &K::forward_batch>(
      "cluster.forward_batch",
      "Samples forwarded to another node in one message at most.", 1,
      1'000'000),
    duration_option<&O::cluster, &K::forward_delay>(
      "cluster.forward_delay",
      "Longest a forwarded sample waits for its batch to fill.", 1, second),
    string_option<&O::cluster, &K::tls_certificate>(
      "cluster.tls_certificate",
      "PEM certificate of this node for TLS between nodes; with tls_key and "
      "tls_ca, or none of them.",
      string_rule::any),
    string_option<&O::cluster, &K::tls_key>(
      "cluster.tls_key", "PEM private key of tls_certificate.",
      string_rule::any),
    string_option<&O::cluster, &K::tls_ca>(
      "cluster.tls_ca",
      "PEM CA that signed every node's certificate; peers are checked "
      "against it.",
      string_rule::any),
  };
  return xs;
}

constexpr section section_table[] = {
  {"node", "Identity, addresses and process-level settings."},
  {"node.supervision",
   "Restart policy of every supervisor (OTP-style intensity and period)."},
  {"ingest", "The HTTP ingest endpoints and admission control."},
  {"detection", "Per-series streaming detectors and their consensus."},
  {"detection.zscore", "Rolling z-score over the last `window` values."},
  {"detection.ewma", "Exponentially weighted mean and variance band."},
  {"detection.cusum", "Two-sided CUSUM on standardized residuals."},
  {"detection.ramp",
   "Rise between the means of the last two spans of values, against the "
   "usual rise: a slope that lasts (a leak, a filling disk)."},
  {"detection.novelty",
   "Share of the recent value patterns never seen before on the series."},
  {"detection.likelihood",
   "Anomaly likelihood: how unusual the recent ensemble score is against "
   "its history."},
  {"detection.iforest",
   "Isolation Forest over each service's feature vector, trained in the "
   "background."},
  {"detection.precursors",
   "Trends towards a limit, warned about before the limit is reached."},
  {"detection.logs",
   "Log parsing, template mining, new-template and error-spike anomalies."},
  {"detection.seasonal",
   "Level + hour-of-day profile + day-of-week offset, each used when the "
   "data shows it pays."},
  {"correlation", "Grouping of anomalies and alerts into incidents."},
  {"topology",
   "The service dependency graph learned from traces and static edges."},
  {"rca", "Root-cause ranking on the dependency graph."},
  {"remediation", "Playbook execution, its safety limits and approvals."},
  {"remediation.limits",
   "The global safety envelope, checked right before every step."},
  {"notifiers", "Slack, PagerDuty, OpsGenie and webhook receivers."},
  {"llm", "Optional language-model summaries of incidents."},
  {"suppression", "Silences, maintenance windows and flap damping."},
  {"security", "Tokens for the admin API and the ingest endpoints."},
  {"cluster", "Membership and sharding."},
};

bool is_wildcard(const std::string& host) {
  return host == "0.0.0.0" || host == "::";
}

constexpr cross_check cross_check_table[] = {
  {"llm.provider", "llm.model",
   [](const options& x) -> std::optional<std::string> {
     const auto& l = x.llm;
     if (l.provider.empty() || (!l.endpoint.empty() && !l.model.empty()))
       return std::nullopt;
     return "llm.provider " + l.provider + " needs llm.endpoint and "
            + "llm.model";
   },
   "an endpoint and a model whenever llm.provider is set"},
  {"detection.iforest.trees", "detection.iforest.sample_size",
   [](const options& x) -> std::optional<std::string> {
     const auto& f = x.detection.iforest;
     // Every tree holds up to 2 * sample_size - 1 nodes, indexed by int32.
     if (uint64_t{f.trees} * (2 * uint64_t{f.sample_size} - 1)
         <= 100'000'000)
       return std::nullopt;
     return std::to_string(f.trees) + " trees of "
            + std::to_string(f.sample_size)
            + " samples would need more than 100M nodes";
   },
   "trees * (2 * sample_size - 1) <= 100000000"},
  {"detection.iforest.min_samples", "detection.iforest.window",
   [](const options& x) -> std::optional<std::string> {
     const auto& f = x.detection.iforest;
     if (f.min_samples <= f.window)
       return std::nullopt;
     return std::to_string(f.window)
            + " is smaller than detection.iforest.min_samples ("
            + std::to_string(f.min_samples) + ")";
   },
   ">= detection.iforest.min_samples"},
  {"detection.novelty.levels", "detection.novelty.depth",
   [](const options& x) -> std::optional<std::string> {
     const auto& n = x.detection.novelty;
     uint64_t cells = 1;
     for (uint32_t i = 0; i < n.depth && cells <= 4096; ++i)
       cells *= n.levels;
     if (cells <= 4096)
       return std::nullopt;
     return "detection.novelty.levels^depth = " + std::to_string(n.levels)
            + "^" + std::to_string(n.depth)
            + " exceeds 4096 patterns per length";
   },
   "levels^depth <= 4096"},
  {"node.http", "node.cluster",
   [](const options& x) -> std::optional<std::string> {
     const auto& a = x.node.http;
     const auto& b = x.node.cluster;
     if (a.port == 0 || a.port != b.port)
       return std::nullopt;
     if (a.host != b.host && !is_wildcard(a.host) && !is_wildcard(b.host))
       return std::nullopt;
     return to_string(b) + " uses the port of node.http (" + to_string(a)
            + "); give the two endpoints different ports";
   },
   "a port other than node.http's, or port 0"},
  {"node.supervision.backoff_initial", "node.supervision.backoff_max",
   [](const options& x) -> std::optional<std::string> {
     const auto& s = x.node.supervision;
     if (s.backoff_max >= s.backoff_initial)
       return std::nullopt;
     return format_duration(s.backoff_max)
            + " is shorter than node.supervision.backoff_initial ("
            + format_duration(s.backoff_initial) + ")";
   },
   ">= node.supervision.backoff_initial"},
  {"ingest.max_body_bytes", "ingest.max_decoded_bytes",
   [](const options& x) -> std::optional<std::string> {
     const auto& i = x.ingest;
     if (i.max_decoded_bytes >= i.max_body_bytes)
       return std::nullopt;
     return format_byte_size(i.max_decoded_bytes)
            + " is smaller than ingest.max_body_bytes ("
            + format_byte_size(i.max_body_bytes)
            + "); a body never shrinks when decoded";
   },
   ">= ingest.max_body_bytes"},
  {"ingest.max_queued_samples", "ingest.max_queued_samples_per_shard",
   [](const options& x) -> std::optional<std::string> {
     const auto& i = x.ingest;
     if (i.max_queued_samples_per_shard <= i.max_queued_samples)
       return std::nullopt;
     return std::to_string(i.max_queued_samples_per_shard)
            + " exceeds ingest.max_queued_samples ("
            + std::to_string(i.max_queued_samples) + ")";
   },
   "<= ingest.max_queued_samples"},
  {"detection.detectors", "detection.min_votes",
   [](const options& x) -> std::optional<std::string> {
     const auto& d = x.detection;
     if (d.min_votes <= d.detectors.size())
       return std::nullopt;
     return std::to_string(d.min_votes)
            + " exceeds the number of detectors in detection.detectors ("
            + std::to_string(d.detectors.size()) + ")";
   },
   "1..the number of detection.detectors"},
  {"security.admin_token", "security.admin_token_file",
   [](const options& x) -> std::optional<std::string> {
     const auto& s = x.security;
     if (s.admin_token.empty() || s.admin_token_file.empty())
       return std::nullopt;
     return std::string{"is set together with security.admin_token; set "
                        "only one of them"};
   },
   "empty when security.admin_token is set"},
  {"cluster.down_after", "cluster.lease",
   [](const options& x) -> std::optional<std::string> {
     const auto& c = x.cluster;
     if (c.lease < c.down_after)
       return std::nullopt;
     return "is not below cluster.down_after ("
            + std::to_string(c.down_after.count())
            + " ms): a cut-off control node could still act after another "
              "took over";
   },
   "below cluster.down_after"},
  {"cluster.heartbeat_interval", "cluster.suspect_after",
   [](const options& x) -> std::optional<std::string> {
     const auto& c = x.cluster;
     if (c.heartbeat_interval < c.suspect_after
         && c.suspect_after < c.down_after)
       return std::nullopt;
     return std::string{"must lie between cluster.heartbeat_interval and "
                        "cluster.down_after"};
   },
   "heartbeat_interval < suspect_after < down_after"},
  {"cluster.tls_certificate", "cluster.tls_key",
   [](const options& x) -> std::optional<std::string> {
     const auto& c = x.cluster;
     int set = !c.tls_certificate.empty() + !c.tls_key.empty()
               + !c.tls_ca.empty();
     if (set == 0 || set == 3)
       return std::nullopt;
     return std::string{"TLS between nodes needs cluster.tls_certificate, "
                        "cluster.tls_key and cluster.tls_ca together; a "
                        "partial TLS config is refused"};
   },
   "all of tls_certificate, tls_key, tls_ca, or none"},
  {"security.ingest_token", "security.ingest_token_file",
   [](const options& x) -> std::optional<std::string> {
     const auto& s = x.security;
     if (s.ingest_token.empty() || s.ingest_token_file.empty())
       return std::nullopt;
     return std::string{"is set together with security.ingest_token; set "
                        "only one of them"};
   },
   "empty when security.ingest_token is set"},
};

// -- values -------------------------------------------------------------------

// One option's value, independent of the field's exact integer width.
using value = std::variant<bool, uint64_t, int64_t, double, std::string,
                           duration, host_port, std::vector<std::string>>;

value load(const option& opt, const options& x) {
  return std::visit(
    [](auto* ptr) -> value {
      using type = std::remove_cvref_t<decltype(*ptr)>;
      if constexpr (std::is_same_v<type, uint32_t>)
        return uint64_t{*ptr};
      else
        return *ptr;
    },
    opt.field(x));
}

void store(const option& opt, options& x, value v) {
  std::visit(
    [&v](auto* ptr) {
      using type = std::remove_cvref_t<decltype(*ptr)>;
      if constexpr (std::is_same_v<type, uint32_t>)
        *ptr = static_cast<uint32_t>(std::get<uint64_t>(v));
      else
        *ptr = std::move(std::get<type>(v));
    },
    opt.field(x));
}

std::string quote(std::string_view text) {
  // Appending, rather than "'" + std::string{...}, sidesteps a false
  // -Wrestrict in GCC 12.
  std::string out;
  out.reserve(text.size() + 2);
  out += '\'';
  out += text;
  out += '\'';
  return out;
}

std::string join_words(std::span<const std::string_view> words,
                       std::string_view last_separator) {
  std::string out;
  for (size_t i = 0; i < words.size(); ++i) {
    if (i > 0)
      out += i + 1 == words.size() ? last_separator : ", ";
    out += words[i];
  }
  return out;
}

bool is_label_name(std::string_view text) {
  if (text.empty() || (text[0] >= '0' && text[0] <= '9'))
    return false;
  return std::all_of(text.begin(), text.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
           || (c >= '0' && c <= '9') || c == '_';
  });
}

// Checks one string (or list item) against the option's rule.
std::optional<std::string> check_string(const option::spec& s,
                                        std::string_view text) {
  switch (s.rule) {
    case string_rule::any:
      return std::nullopt;
    case string_rule::non_empty:
      if (text.empty())
        return "must not be empty";
      return std::nullopt;
    case string_rule::node_id:
      if (text.size() > 64)
        return quote(text) + " is longer than 64 characters";
      for (char c : text)
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
              || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
          return quote(text) + " contains " + quote(std::string_view{&c, 1})
                 + "; node ids use letters, digits, '.', '_' and '-'";
      return std::nullopt;
    case string_rule::token:
      for (char c : text)
        if (c < 0x21 || c > 0x7e)
          return std::string{
            "contains a space or a non-printable character; bearer tokens "
            "are printable ASCII"};
      return std::nullopt;
    case string_rule::label_name:
      if (!is_label_name(text))
        return quote(text) + " is not a label name";
      return std::nullopt;
    case string_rule::choice: {
      if (std::find(s.choices.begin(), s.choices.end(), text)
          != s.choices.end())
        return std::nullopt;
      auto msg = quote(text) + " is not a legal value";
      auto near = nearest(text, s.choices, typo_tolerance(text));
      if (!near.empty())
        msg += "; " + did_you_mean(near);
      return msg;
    }
    case string_rule::metric_glob:
      if (!is_metric_glob(text))
        return quote(text)
               + " is not a metric-name glob (letters, digits, '_', ':', "
                 "'*', '?')";
      return std::nullopt;
    case string_rule::detector_rule:
      if (auto r = parse_detector_rule(text); !r)
        return rule_error_text(r.error());
      return std::nullopt;
    case string_rule::limit_rule:
      if (auto r = parse_limit_rule(text); !r)
        return rule_error_text(r.error());
      return std::nullopt;
    case string_rule::classification_rule:
      if (auto r = parse_classification_rule(text); !r)
        return rule_error_text(r.error());
      return std::nullopt;
    case string_rule::edge_rule:
      if (auto r = parse_edge_rule(text); !r)
        return rule_error_text(r.error());
      return std::nullopt;
    case string_rule::autonomy_cap_rule:
      if (auto r = parse_autonomy_cap(text); !r)
        return rule_error_text(r.error());
      return std::nullopt;
    case string_rule::receiver_rule:
      if (auto r = parse_receiver(text); !r)
        return rule_error_text(r.error());
      return std::nullopt;
    case string_rule::approver_rule:
      if (auto r = parse_approver(text); !r)
        return rule_error_text(r.error());
      return std::nullopt;
    case string_rule::host_port: {
      auto hp = parse_host_port(text);
      if (!hp)
        return hp.error;
      if (hp.value->port < s.min_port)
        return quote(text) + ": port " + std::to_string(hp.value->port)
               + " is not allowed here";
      return std::nullopt;
    }
  }
  return std::nullopt;
}

std::string render_unsigned(value_kind kind, uint64_t x) {
  switch (kind) {
    case value_kind::duration:
      return format_duration(duration{static_cast<int64_t>(x)});
    case value_kind::byte_size:
      return format_byte_size(x);
    default:
      return std::to_string(x);
  }
}

std::optional<std::string> check_range(const option::spec& s, uint64_t x) {
  if (x < s.min)
    return render_unsigned(s.kind, x) + " is below the minimum "
           + render_unsigned(s.kind, s.min);
  if (x > s.max)
    return render_unsigned(s.kind, x) + " is above the maximum "
           + render_unsigned(s.kind, s.max);
  if (x % s.step != 0)
    return render_unsigned(s.kind, x) + " is not a multiple of "
           + render_unsigned(s.kind, s.step);
  return std::nullopt;
}

std::optional<std::string> check_list(const option::spec& s,
                                      const std::vector<std::string>& xs,
                                      size_t* bad_item) {
  for (size_t i = 0; i < xs.size(); ++i) {
    if (auto err = check_string(s, xs[i])) {
      *bad_item = i;
      return err;
    }
    for (size_t j = 0; j < i; ++j)
      if (xs[j] == xs[i]) {
        *bad_item = i;
        return quote(xs[i]) + " is listed twice";
      }
  }
  *bad_item = xs.size();
  if (xs.size() < s.min)
    return xs.empty() ? std::string{"is empty"}
                      : "has " + std::to_string(xs.size())
                          + " items, fewer than "
                          + std::to_string(s.min);
  if (xs.size() > s.max)
    return "has " + std::to_string(xs.size()) + " items, more than "
           + std::to_string(s.max);
  return std::nullopt;
}

std::optional<std::string> check_value(const option::spec& s,
                                       const value& v) {
  switch (s.kind) {
    case value_kind::boolean:
      return std::nullopt;
    case value_kind::unsigned_integer:
    case value_kind::byte_size:
      return check_range(s, std::get<uint64_t>(v));
    case value_kind::duration: {
      auto ms = std::get<duration>(v).count();
      if (ms < 0)
        return format_duration(std::get<duration>(v)) + " is negative";
      return check_range(s, static_cast<uint64_t>(ms));
    }
    case value_kind::signed_integer: {
      auto x = std::get<int64_t>(v);
      if (x < s.signed_min)
        return std::to_string(x) + " is below the minimum "
               + std::to_string(s.signed_min);
      if (x > s.signed_max)
        return std::to_string(x) + " is above the maximum "
               + std::to_string(s.signed_max);
      return std::nullopt;
    }
    case value_kind::real: {
      auto x = std::get<double>(v);
      bool low = s.real_min_open ? !(x > s.real_min) : !(x >= s.real_min);
      bool high = s.real_max_open ? !(x < s.real_max) : !(x <= s.real_max);
      if (low || high)
        return format_real(x) + " is out of range";
      return std::nullopt;
    }
    case value_kind::string:
    case value_kind::choice:
      return check_string(s, std::get<std::string>(v));
    case value_kind::host_port: {
      const auto& hp = std::get<host_port>(v);
      if (hp.host.empty())
        return std::string{"the host is empty"};
      if (hp.port < s.min_port)
        return "port " + std::to_string(hp.port) + " is not allowed here";
      return std::nullopt;
    }
    case value_kind::string_list: {
      size_t ignored = 0;
      return check_list(s, std::get<std::vector<std::string>>(v), &ignored);
    }
  }
  return std::nullopt;
}

// Parses the text of a scalar into the option's value type.
parse_result<value> parse_scalar(const option::spec& s, std::string_view text) {
  auto wrap = [](auto r) {
    if (!r)
      return parse_result<value>::fail(std::move(r.error));
    return parse_result<value>::ok(value{std::move(*r.value)});
  };
  switch (s.kind) {
    case value_kind::boolean:
      return wrap(parse_bool(text));
    case value_kind::unsigned_integer:
      return wrap(parse_unsigned(text));
    case value_kind::signed_integer:
      return wrap(parse_signed(text));
    case value_kind::real:
      return wrap(parse_real(text));
    case value_kind::duration:
      return wrap(parse_duration(text));
    case value_kind::byte_size:
      return wrap(parse_byte_size(text));
    case value_kind::host_port:
      return wrap(parse_host_port(text));
    case value_kind::string:
    case value_kind::choice:
      return parse_result<value>::ok(value{std::string{text}});
    case value_kind::string_list:
      break;
  }
  return parse_result<value>::fail("expected a list");
}

std::string_view shape_name(raw_value::shape x) {
  switch (x) {
    case raw_value::shape::null:
      return "nothing";
    case raw_value::shape::scalar:
      return "a single value";
    case raw_value::shape::sequence:
      return "a list";
    case raw_value::shape::map:
      return "a map";
  }
  return "?";
}

// Words YAML 1.1 or 1.2 read as booleans or null when unquoted.
bool is_reserved_word(std::string_view text) {
  static constexpr std::string_view words[]
    = {"true", "false", "yes", "no", "on", "off", "null", "y", "n", "~"};
  auto lower = [](char c) {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
  };
  return std::any_of(std::begin(words), std::end(words), [&](auto w) {
    return w.size() == text.size()
           && std::equal(w.begin(), w.end(), text.begin(),
                         [&](char a, char b) { return a == lower(b); });
  });
}

} // namespace

// -- value_kind -----------------------------------------------------------------

std::string_view to_string(value_kind x) {
  switch (x) {
    case value_kind::boolean:
      return "true or false";
    case value_kind::unsigned_integer:
    case value_kind::signed_integer:
      return "a whole number";
    case value_kind::real:
      return "a number";
    case value_kind::string:
      return "a string";
    case value_kind::choice:
      return "one word";
    case value_kind::duration:
      return "a duration";
    case value_kind::byte_size:
      return "a byte size";
    case value_kind::host_port:
      return "HOST:PORT";
    case value_kind::string_list:
      return "a list";
  }
  return "?";
}

raw_value raw_value::scalar(std::string text, position pos) {
  raw_value x;
  x.form = shape::scalar;
  x.pos = pos;
  x.text = std::move(text);
  return x;
}

// -- option ---------------------------------------------------------------------

std::string_view option::name() const noexcept {
  return leaf_key(spec_.key);
}

std::string_view option::section() const noexcept {
  return parent_key(spec_.key);
}

std::string option::legal() const {
  const auto& s = spec_;
  auto range = [&](uint64_t lo, uint64_t hi) {
    if (hi == std::numeric_limits<uint64_t>::max())
      return ">= " + render_unsigned(s.kind, lo);
    return render_unsigned(s.kind, lo) + ".." + render_unsigned(s.kind, hi);
  };
  auto item = [&]() -> std::string {
    switch (s.rule) {
      case string_rule::any:
        return "any text";
      case string_rule::non_empty:
        return "any non-empty text";
      case string_rule::node_id:
        return "empty, or up to 64 letters, digits, '.', '_' and '-'";
      case string_rule::token:
        return "empty, or printable ASCII without spaces";
      case string_rule::label_name:
        return "label names ([a-zA-Z_][a-zA-Z0-9_]*)";
      case string_rule::choice:
        return join_words(s.choices, " or ");
      case string_rule::limit_rule:
        return "GLOB=NUMBER or GLOB=METRIC";
      case string_rule::detector_rule:
        return "GLOB=DETECTOR[,DETECTOR...][:VOTES]";
      case string_rule::metric_glob:
        return "metric-name globs (letters, digits, '_', ':', '*', '?')";
      case string_rule::classification_rule:
        return "GLOB=TYPE";
      case string_rule::edge_rule:
        return "CALLER->CALLEE";
      case string_rule::autonomy_cap_rule:
        return "SERVICE_GLOB=LEVEL, LEVEL 1..4";
      case string_rule::receiver_rule:
        return "NAME KIND URL [OPTION=VALUE ...], KIND webhook, slack, "
               "pagerduty or opsgenie";
      case string_rule::approver_rule:
        return "NAME=TOKEN_FILE";
      case string_rule::host_port:
        return "HOST:PORT or [IPv6]:PORT, port "
               + std::to_string(s.min_port) + "..65535"
               + (s.min_port == 0 ? ", 0 = any free port" : "");
    }
    return {};
  };
  switch (s.kind) {
    case value_kind::boolean:
      return "true or false";
    case value_kind::unsigned_integer:
    case value_kind::byte_size:
      return range(s.min, s.max);
    case value_kind::duration:
      return range(s.min, s.max)
             + (s.step == second ? ", whole seconds" : "");
    case value_kind::signed_integer:
      return std::to_string(s.signed_min) + ".."
             + std::to_string(s.signed_max);
    case value_kind::real: {
      std::string out = "a number";
      if (s.real_min != std::numeric_limits<double>::lowest())
        out += (s.real_min_open ? " > " : " >= ") + format_real(s.real_min);
      if (s.real_max != std::numeric_limits<double>::max())
        out += (s.real_min != std::numeric_limits<double>::lowest()
                  ? " and"
                  : "")
               + std::string{s.real_max_open ? " < " : " <= "}
               + format_real(s.real_max);
      return out;
    }
    case value_kind::string:
    case value_kind::choice:
    case value_kind::host_port:
      return item();
    case value_kind::string_list: {
      auto count = s.min == 0 ? "at most " + std::to_string(s.max)
                              : std::to_string(s.min) + " to "
                                  + std::to_string(s.max);
      std::string what;
      switch (s.rule) {
        case string_rule::choice:
          what = "of " + join_words(s.choices, ", ");
          break;
        case string_rule::label_name:
          what = "label names ([a-zA-Z_][a-zA-Z0-9_]*)";
          break;
        case string_rule::host_port:
          what = "HOST:PORT or [IPv6]:PORT entries with port "
                 + std::to_string(s.min_port) + "..65535";
          break;
        default:
          what = "items, each " + item();
          break;
      }
      return "a list: " + count + " " + what + ", no duplicates";
    }
  }
  return {};
}

std::string option::render(const options& x) const {
  auto v = load(*this, x);
  switch (spec_.kind) {
    case value_kind::boolean:
      return std::get<bool>(v) ? "true" : "false";
    case value_kind::unsigned_integer:
    case value_kind::byte_size:
      return render_unsigned(spec_.kind, std::get<uint64_t>(v));
    case value_kind::signed_integer:
      return std::to_string(std::get<int64_t>(v));
    case value_kind::real:
      return format_real(std::get<double>(v));
    case value_kind::duration:
      return format_duration(std::get<duration>(v));
    case value_kind::string:
    case value_kind::choice:
      return yaml_scalar(std::get<std::string>(v));
    case value_kind::host_port:
      return yaml_scalar(to_string(std::get<host_port>(v)));
    case value_kind::string_list: {
      std::string out = "[";
      const auto& xs = std::get<std::vector<std::string>>(v);
      for (size_t i = 0; i < xs.size(); ++i) {
        if (i > 0)
          out += ", ";
        out += yaml_scalar(xs[i], true);
      }
      out += ']';
      return out;
    }
  }
  return {};
}

std::vector<std::string> option::render_items(const options& x) const {
  std::vector<std::string> out;
  if (spec_.kind != value_kind::string_list)
    return out;
  auto v = load(*this, x);
  for (const auto& item : std::get<std::vector<std::string>>(v))
    out.push_back(yaml_scalar(item, true));
  return out;
}

std::string option::default_value() const {
  static const options defaults;
  return render(defaults);
}

std::optional<value_error> option::assign(options& x,
                                          const raw_value& v) const {
  const auto& s = spec_;
  auto fail = [&](std::string message, position pos) {
    return std::optional<value_error>{value_error{std::move(message), pos}};
  };
  auto wrong_shape = [&] {
    return fail("expected " + std::string{to_string(s.kind)} + ", got "
                  + std::string{shape_name(v.form)},
                v.pos);
  };
  if (s.kind == value_kind::string_list) {
    if (v.form == raw_value::shape::scalar)
      return fail("expected a list such as [a, b], got "
                    + std::string{shape_name(v.form)},
                  v.pos);
    if (v.form == raw_value::shape::map)
      return wrong_shape();
    // A missing value reads as the empty list, as YAML tools usually do.
    std::vector<std::string> items;
    for (const auto& item : v.items)
      items.push_back(item.text);
    size_t bad = items.size();
    if (auto err = check_list(s, items, &bad))
      return fail(std::move(*err), bad < v.items.size() ? v.items[bad].pos
                                                        : v.pos);
    store(*this, x, value{std::move(items)});
    return std::nullopt;
  }
  if (v.form == raw_value::shape::sequence || v.form == raw_value::shape::map)
    return wrong_shape();
  if (v.form == raw_value::shape::null) {
    // Only text has an obvious empty value; a missing number is a mistake.
    if (s.kind != value_kind::string)
      return fail("has no value; expected " + std::string{to_string(s.kind)},
                  v.pos);
  }
  auto parsed = parse_scalar(s, v.text);
  if (!parsed)
    return fail(std::move(parsed.error), v.pos);
  if (auto err = check_value(s, *parsed.value))
    return fail(std::move(*err), v.pos);
  store(*this, x, std::move(*parsed.value));
  return std::nullopt;
}

std::optional<std::string> option::check(const options& x) const {
  return check_value(spec_, load(*this, x));
}

// -- the schema -------------------------------------------------------------------

std::span<const option> schema() {
  static const std::vector<option> table = make_schema();
  return table;
}

std::span<const section> sections() {
  return section_table;
}

std::span<const cross_check> cross_checks() {
  return cross_check_table;
}

std::span<const std::string_view> all_keys() {
  static const std::vector<std::string_view> keys = [] {
    std::vector<std::string_view> out;
    for (const auto& sec : sections()) {
      out.push_back(sec.key);
      for (const auto& opt : schema())
        if (opt.section() == sec.key)
          out.push_back(opt.key());
    }
    return out;
  }();
  return keys;
}

const option* find_option(std::string_view key) {
  for (const auto& opt : schema())
    if (opt.key() == key)
      return &opt;
  return nullptr;
}

const section* find_section(std::string_view key) {
  for (const auto& sec : sections())
    if (sec.key == key)
      return &sec;
  return nullptr;
}

std::string_view parent_key(std::string_view key) {
  auto dot = key.rfind('.');
  return dot == std::string_view::npos ? std::string_view{}
                                       : key.substr(0, dot);
}

std::string_view leaf_key(std::string_view key) {
  auto dot = key.rfind('.');
  return dot == std::string_view::npos ? key : key.substr(dot + 1);
}

std::vector<std::string_view> suggest_keys(std::string_view key) {
  auto leaf = leaf_key(key);
  // A typo in the key: compare whole dotted keys.
  auto near = nearest(key, all_keys(), typo_tolerance(leaf));
  if (!near.empty())
    return near;
  // A key placed in the wrong section: the same name lives elsewhere.
  size_t leaf_tolerance = leaf.size() >= 6 ? 1 : 0;
  std::vector<std::string_view> out;
  size_t best = leaf_tolerance + 1;
  for (auto candidate : all_keys()) {
    if (candidate == key)
      continue;
    auto d = edit_distance(leaf, leaf_key(candidate));
    if (d < best) {
      best = d;
      out.clear();
    }
    if (d == best)
      out.push_back(candidate);
  }
  return out;
}

std::string yaml_scalar(std::string_view text, bool in_flow) {
  auto plain_char = [&](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
           || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '/'
           || c == '-' || (c == ':' && !in_flow);
  };
  bool plain = !text.empty() && std::all_of(text.begin(), text.end(), plain_char)
               && text.front() != '-' && text.front() != ':'
               && text.back() != ':' && !is_reserved_word(text)
               && !parse_real(text).value.has_value()
               && !(text.size() > 1 && text.front() == '0'
                    && (text[1] == 'x' || text[1] == 'o'));
  if (plain)
    return std::string{text};
  std::string out = "\"";
  for (char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          static constexpr char hex[] = "0123456789abcdef";
          out += "\\x";
          out += hex[(c >> 4) & 0xf];
          out += hex[c & 0xf];
        } else {
          out += c;
        }
    }
  }
  out += '"';
  return out;
}

} // namespace vigil::config
