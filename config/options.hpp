#pragma once

// Every Vigil option with its default. The YAML loader (config/loader.hpp)
// fills these from vigil.yaml and flags; actors receive the structs they need
// by value at spawn and never read global configuration.
//
// Keep config/vigil.yaml (the commented reference) in step: a unit test checks
// that it parses to exactly these defaults and names every key.

#include <array>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace vigil {

using duration = std::chrono::milliseconds;

/// A host and port, e.g. 127.0.0.1:8470. Port 0 = any free port.
struct host_port {
  std::string host;
  uint16_t port = 0;
  friend bool operator==(const host_port&, const host_port&) = default;
};

/// Renders `x` as HOST:PORT (IPv6 hosts in brackets).
std::string to_string(const host_port& x);

/// node.supervision: restart policy of every supervisor (OTP intensity/period).
struct supervision_options {
  /// Restarts allowed per child within `period` before the supervisor gives
  /// up and escalates to its own supervisor. Default: 5.
  uint32_t max_restarts = 5;
  /// The window restarts are counted in. Default: 60s.
  duration period{60000};
  /// First restart delay; doubles per restart in the window. Default: 100ms.
  duration backoff_initial{100};
  /// Longest restart delay. Default: 5s.
  duration backoff_max{5000};
  friend bool operator==(const supervision_options&,
                         const supervision_options&)
    = default;
};

/// node: identity, addresses and process-level settings.
struct node_options {
  /// The node's name in the cluster. Empty: generated on first start and kept
  /// in <data_dir>/node.id. Default: "".
  std::string id;
  /// Where RocksDB, the admin token and the node id live.
  /// Default: "./vigil-data".
  std::string data_dir = "./vigil-data";
  /// HTTP front door. Default: 127.0.0.1:8470.
  host_port http{"127.0.0.1", 8470};
  /// CAF endpoint for the console and other nodes. Default: 127.0.0.1:8471.
  host_port cluster{"127.0.0.1", 8471};
  /// Directory of playbook YAML files. Default: "./playbooks".
  std::string playbooks_dir = "./playbooks";
  /// trace, debug, info, warn or error. Default: "info".
  std::string log_level = "info";
  /// Threads serving HTTP and decoding request bodies; 0 = one per core.
  /// Default: 0.
  uint32_t http_threads = 0;
  /// Threads of the actor scheduler; 0 = one per core. Default: 0.
  uint32_t worker_threads = 0;
  /// The actor scheduler: "sharing" (one queue; idle threads sleep until
  /// work comes) or "work_stealing" (a queue per thread; idle threads poll
  /// the others'). Default: "sharing".
  std::string scheduler = "sharing";
  /// How long a graceful stop waits for in-flight work. Default: 10s.
  duration shutdown_timeout{10000};
  /// Restart policy of every supervisor.
  supervision_options supervision;
  friend bool operator==(const node_options&, const node_options&) = default;
};

/// ingest: the HTTP ingest endpoints and admission control.
struct ingest_options {
  /// Largest accepted request body, as sent (compressed). Default: 16 MiB.
  uint64_t max_body_bytes = 16ull << 20;
  /// Largest accepted body after decompression; checked before inflating.
  /// Default: 64 MiB.
  uint64_t max_decoded_bytes = 64ull << 20;
  /// Labels (remote write, alerts) naming a sample's service, in order of
  /// preference. OTLP always uses the resource attribute service.name.
  /// Default: [service, job].
  std::vector<std::string> service_labels{"service", "job"};
  /// Service for items that carry none of the service labels.
  /// Default: "unknown".
  std::string default_service = "unknown";
  /// Samples queued between ingest and detectors, node-wide, before ingest
  /// answers 503. Default: 2000000.
  uint64_t max_queued_samples = 2'000'000;
  /// Samples queued for one shard before ingest answers 503, so one slow
  /// service cannot hold the whole queue. Default: 250000.
  uint64_t max_queued_samples_per_shard = 250'000;
  /// Retry-After sent with 429 and 503 answers. Default: 1s.
  duration retry_after{1000};
  /// Node-wide ingest rate limit in items per second (429 above it);
  /// 0 = unlimited. Default: 0.
  uint64_t rate_limit = 0;
  /// Burst allowance of the rate limit, in items. Default: 100000.
  uint64_t rate_burst = 100'000;
  /// Open HTTP connections at most; more are refused. Default: 1024.
  uint32_t max_connections = 1024;
  /// A request must arrive completely within this time. Default: 30s.
  duration read_timeout{30000};
  /// Idle keep-alive connections are closed after this time. Default: 120s.
  duration idle_timeout{120000};
  friend bool operator==(const ingest_options&, const ingest_options&)
    = default;
};

/// Every detector `detection.detectors` may name. A new detector adds its name
/// here (and its option struct below); the loader and the reference config
/// follow from this list.
inline constexpr auto known_detectors
  = std::to_array<std::string_view>(
    {"zscore", "ewma", "cusum", "novelty", "seasonal", "ramp"});

/// The legal values of `node.log_level`, most verbose first.
/// The llm.provider values ("" = the template summary).
inline constexpr auto llm_providers
  = std::to_array<std::string_view>({"", "openai", "anthropic"});

inline constexpr auto confidence_levels
  = std::to_array<std::string_view>({"medium", "high"});

inline constexpr auto schedulers
  = std::to_array<std::string_view>({"sharing", "work_stealing"});

inline constexpr auto log_levels = std::to_array<std::string_view>(
  {"trace", "debug", "info", "warn", "error"});

/// detection.zscore: rolling z-score over the last `window` values.
struct zscore_options {
  /// Values in the rolling window. Default: 60.
  uint32_t window = 60;
  /// Votes anomalous above this many standard deviations. Default: 3.
  double threshold = 3.0;
  friend bool operator==(const zscore_options&, const zscore_options&)
    = default;
};

/// detection.ewma: exponentially weighted mean/variance band.
struct ewma_options {
  /// Weight of the newest value. Default: 0.1.
  double alpha = 0.1;
  /// Band half-width in standard deviations. Default: 3.
  double threshold = 3.0;
  friend bool operator==(const ewma_options&, const ewma_options&) = default;
};

/// detection.novelty: how many of the recent value patterns were never seen
/// before on this series.
struct novelty_options {
  /// Quantisation levels of the series' observed range. Default: 6.
  uint32_t levels = 6;
  /// Longest pattern, in consecutive quantised values; levels^depth must
  /// stay at most 4096. Default: 4.
  uint32_t depth = 4;
  /// A value beyond the observed range by more than this many band widths
  /// is new by itself (score 1), whatever bands it falls into afterwards.
  /// Default: 0.5.
  double extreme_margin = 0.5;
  /// The day is cut into this many slots (UTC); "band b in slot s on a
  /// weekday / weekend day" is one more pattern, so a value at an hour or
  /// on a day it never occurred at is new. 0 = off. Default: 24.
  uint32_t day_slots = 24;
  friend bool operator==(const novelty_options&, const novelty_options&)
    = default;
};

/// detection.seasonal: a level plus an hour-of-day profile plus a
/// day-of-week offset, each used only when the data shows it pays.
struct seasonal_options {
  /// Slots the day profile has (UTC): 48 = half hours. Default: 48.
  uint32_t day_slots = 48;
  /// Votes anomalous when the residual exceeds this many robust standard
  /// deviations of the chosen model's residuals. Default: 4.
  double threshold = 4.0;
  /// Weight of a sample in the slot (and day-of-week) offsets it updates.
  /// Default: 0.05.
  double alpha = 0.05;
  /// After warm-up a residual teaches the model at most as much as one of
  /// this many standard deviations, so anomalies barely move it.
  /// Default: 8.
  double clip = 8.0;
  /// A richer model (daily, then weekly) is chosen only when its mean
  /// squared residual is at most this fraction of the simpler one's.
  /// Default: 0.8.
  double gain = 0.8;
  friend bool operator==(const seasonal_options&, const seasonal_options&)
    = default;
};

/// The line formats `detection.logs.format` (and `?format=` of
/// POST /api/v1/logs) accept.
inline constexpr auto log_line_formats = std::to_array<std::string_view>(
  {"auto", "json", "logfmt", "syslog", "access", "log4j", "python", "text"});

/// detection.logs: log parsing, template mining and log anomalies.
struct log_detection_options {
  /// How lines are parsed: auto recognises the format per line.
  /// Default: auto.
  std::string format = "auto";
  /// Share of a template's constant tokens a line must match to join it.
  /// Default: 0.75.
  double similarity = 0.75;
  /// Templates kept per service; the least recently matched is dropped.
  /// Default: 5000.
  uint32_t max_templates = 5000;
  /// Width of one rate bucket, event time. Default: 1m.
  duration bucket{60000};
  /// Event time from a service's first line before log anomalies are
  /// judged. Default: 10m.
  duration warmup{600000};
  /// Lines a service needs before log anomalies are judged. Default: 100.
  uint32_t warmup_lines = 100;
  /// Error lines in one bucket before a spike may be reported. Default: 10.
  uint32_t min_spike_errors = 10;
  /// Errors in a bucket over the baseline that make a spike. Default: 5.
  double spike_ratio = 5.0;
  /// Multiplies every log anomaly's score (the service's criticality).
  /// Default: 1.
  double criticality = 1.0;
  /// Example lines an anomaly carries. Default: 3.
  uint32_t examples = 3;
  friend bool operator==(const log_detection_options&,
                         const log_detection_options&)
    = default;
};

/// detection.precursors: trends towards a limit, warned about before the
/// limit is reached.
struct precursor_options {
  /// Which series have a limit: "GLOB=NUMBER" or "GLOB=METRIC" (the limit
  /// is the value of METRIC with the same labels; 0 there means none). A
  /// metric takes the first rule its name matches; empty = off.
  /// Default: the cAdvisor memory limit, free memory and disk towards 0,
  /// open file descriptors and pooled database connections towards their
  /// maximum, *_ratio towards 1.
  std::vector<std::string> limits{
    "container_memory_working_set_bytes=container_spec_memory_limit_bytes",
    "container_memory_usage_bytes=container_spec_memory_limit_bytes",
    "node_memory_MemAvailable_bytes=0",
    "node_filesystem_avail_bytes=0",
    "process_open_fds=process_max_fds",
    "db_connections_in_use=db_connections_max",
    "go_sql_stats_connections_in_use=go_sql_stats_connections_max_open",
    "hikaricp_connections_active=hikaricp_connections_max",
    "*_ratio=1"};
  /// Warn when the limit is forecast within this much event time.
  /// Default: 2h.
  duration horizon{7'200'000};
  /// Event time the trend is estimated over. Default: 1h.
  duration window{3'600'000};
  /// The rise over the window must be this many robust standard deviations
  /// of the residuals around the trend line. Default: 3.
  double min_significance = 3.0;
  /// An open warning is re-announced with a fresh forecast this often
  /// (event time). Default: 10m.
  duration reemit{600'000};
  /// Series one service follows at most. Default: 10000.
  uint32_t max_series = 10'000;
  /// A series at or above this share of the limit its companion series
  /// reports (GLOB=METRIC rules, limit above 0) for `saturated_samples`
  /// samples in a row has reached it (a pool with every connection in
  /// use): warned at once, scoring 1, whatever its trend. 0 = off.
  /// Default: 0.95.
  double saturation = 0.95;
  /// Samples in a row at the limit before it is reported. Default: 3.
  uint32_t saturated_samples = 3;
  friend bool operator==(const precursor_options&, const precursor_options&)
    = default;
};

/// detection.likelihood: turns the ensemble's raw score into how unusual
/// its recent average is against its own history (anomaly likelihood), so
/// a series that is always a little surprising stops scoring high.
struct likelihood_options {
  /// Off: the ensemble score is used as it is. Default: false.
  bool enabled = false;
  /// Raw scores averaged before judging. Default: 3.
  uint32_t average = 3;
  /// Samples of history the average is judged against (exponential
  /// memory). Default: 500.
  uint32_t memory = 500;
  /// Samples before the likelihood speaks. Default: 300.
  uint32_t warmup = 300;
  /// Floors of the history's mean and variance. Defaults: 0.03, 0.0003.
  double mean_floor = 0.03;
  double variance_floor = 0.0003;
  /// A `novelty` detector's own score, times this, is a floor of the
  /// final score. Default: 0.7.
  double novelty_weight = 0.7;
  friend bool operator==(const likelihood_options&, const likelihood_options&)
    = default;
};

/// detection.iforest: an Isolation Forest over each service's feature
/// vector (one value per feature glob per step), trained in the background.
struct iforest_options {
  /// Metric-name globs, one feature each (e.g. latency, error rate,
  /// throughput, saturation): a feature's value in a step is the mean of
  /// the values of the service's series that match it (counters as rates).
  /// Empty = off. Default: [].
  std::vector<std::string> features;
  /// Event time one feature vector covers. Default: 1m.
  duration step{60000};
  /// Trees per forest. Default: 100.
  uint32_t trees = 100;
  /// Vectors each tree is built from (psi). Default: 256.
  uint32_t sample_size = 256;
  /// Recent vectors kept for training. Default: 2048.
  uint32_t window = 2048;
  /// Vectors before the first model. Default: 256.
  uint32_t min_samples = 256;
  /// Retrain after this many new vectors. Default: 1024.
  uint32_t retrain_every = 1024;
  /// The training window's score quantile that calibrates to 0.5.
  /// Default: 0.995.
  double threshold_quantile = 0.995;
  friend bool operator==(const iforest_options&, const iforest_options&)
    = default;
};

/// detection.cusum: two-sided CUSUM on standardized residuals.
struct cusum_options {
  /// Slack per sample, in standard deviations. Default: 0.5.
  double drift = 0.5;
  /// Decision interval: votes anomalous when a sum exceeds it. Default: 5.
  double threshold = 5.0;
  /// Weight of the newest value in the slow reference mean. Default: 0.01.
  double alpha = 0.01;
  friend bool operator==(const cusum_options&, const cusum_options&)
    = default;
};

/// detection.ramp: the rise between a series' last two spans of values,
/// against the history of that rise.
struct ramp_options {
  /// Values in each of the two spans compared. Default: 20.
  uint32_t span = 20;
  /// Votes anomalous when the rise is this many standard deviations from
  /// its usual value. Default: 5.
  double threshold = 5.0;
  /// Weight of the newest rise in its mean and variance. Default: 0.01.
  double alpha = 0.01;
  friend bool operator==(const ramp_options&, const ramp_options&)
    = default;
};

/// detection: per-series streaming detectors and their consensus.
struct detection_options {
  /// Detectors run on every series, by name. Default: [zscore, ewma, cusum].
  std::vector<std::string> detectors{"zscore", "ewma", "cusum"};
  /// A sample is anomalous when at least this many warm detectors agree.
  /// Default: 2.
  uint32_t min_votes = 2;
  /// Samples a series needs before its detectors may vote. Default: 30.
  uint32_t warmup_samples = 30;
  /// Consecutive normal samples that end an anomalous stretch. Default: 5.
  uint32_t recovery_samples = 5;
  /// The sampling step the sample counts and per-sample weights here are
  /// meant for. A service sampled more often (the median gap of its first
  /// samples) has every series averaged over blocks of reference_step /
  /// step samples (rounded, at most 60), and the detectors judge the
  /// means, so windows, weights, confirmation and recovery keep their
  /// meaning in event time. A longer step is judged sample by sample.
  /// 0 = off. Default: 10s.
  duration reference_step{10000};
  /// A stretch lasts while its values stay outside the band the detectors
  /// expected at its onset, even once they have adapted to the new level,
  /// for at most this long (event time); then the new level is accepted as
  /// normal. 0 = recovery follows the detectors alone. Default: 1h.
  duration hold_max{3600000};
  /// An anomaly that lasts this many samples is re-announced once
  /// (phase ongoing) then: a persisting anomaly, not a blip. Its score is
  /// the mean over those samples (or its own if higher), each counted with
  /// the ensemble's score or, while hold_max holds the stretch, its
  /// distance from the band expected at the onset if higher: the adaptive
  /// detectors have absorbed part of a lasting shift by then, and
  /// correlation.min_score judges the stretch, not its last sample. 0 =
  /// only at the re-emit interval. Default: 3.
  uint32_t confirm_samples = 3;
  /// An ongoing anomaly is re-announced at most this often (event time).
  /// Default: 5m.
  duration reemit_interval{300000};
  /// A series with no sample for this long (event time, relative to its
  /// service's newest sample) is dropped. Default: 1h.
  duration series_ttl{3600000};
  /// Detector state is written to storage this often (wall clock) and at
  /// shutdown; a crash loses at most this much learning. Default: 30s.
  duration snapshot_interval{30000};
  /// Per-metric detectors: "GLOB=DETECTOR[,DETECTOR...][:VOTES]"; a
  /// series takes the first rule its metric name matches, the others use
  /// `detectors` and `min_votes` (VOTES defaults to the smaller of
  /// min_votes and the rule's detector count). Default: memory and heap
  /// gauges add `ramp` to the default detectors, so a leak is seen by its
  /// slope.
  std::vector<std::string> rules{"*memory*=zscore,ewma,cusum,ramp:2",
                                 "*heap*=zscore,ewma,cusum,ramp:2"};
  /// Anomalies kept for GET /api/v1/anomalies. Default: 10000.
  uint32_t recent_anomalies = 10000;
  /// After a series' ensemble calls a value anomalous, its scores stay
  /// below the anomaly threshold for this many samples, so one event is
  /// scored once; 0 = off. Onset and recovery of anomalies are unaffected.
  /// Default: 0.
  uint32_t refractory_samples = 0;
  zscore_options zscore;
  ewma_options ewma;
  cusum_options cusum;
  ramp_options ramp;
  novelty_options novelty;
  seasonal_options seasonal;
  likelihood_options likelihood;
  iforest_options iforest;
  log_detection_options logs;
  precursor_options precursors;
  friend bool operator==(const detection_options&, const detection_options&)
    = default;
};

/// correlation: anomalies and alerts folded into incidents.
struct correlation_options {
  /// Correlator partitions; each correlation domain belongs to one.
  /// Default: 4.
  uint32_t partitions = 4;
  /// Series label whose value is the correlation domain (e.g. "team");
  /// empty = the topology component of the service. Default: "".
  std::string domain_label;
  /// A symptom joins an open incident of its domain at most this long
  /// after the incident's newest symptom. Default: 5m.
  duration group_window{300'000};
  /// A new incident opens once anomalies of this many distinct services of
  /// a domain arrive within open_wait, or an anomaly persists, or an alert
  /// fires; 1 = every anomaly may open one. Default: 2.
  uint32_t open_min_services = 2;
  /// Default: 2m.
  duration open_wait{120'000};
  /// Only persisting evidence opens an incident and keeps it taking new
  /// symptoms: an anomaly its detector re-announced (detection.
  /// confirm_samples), an alert, a log error spike, a forecast. Blips join
  /// an open incident but neither open nor extend one, so the noise of a
  /// large estate does not hold an incident open for the next fault.
  /// Replaces open_min_services when on. Default: true.
  bool persisting_only = true;
  /// Group by topology adjacency inside a domain: a service with known
  /// neighbours joins an incident only through itself or a neighbour with
  /// a recent symptom (see adjacency_hops). Default: true.
  bool adjacency = true;
  /// How far a neighbour reaches for adjacency: 1 = a caller or callee,
  /// 2 = also theirs (a fault may pass a service that stays quiet).
  /// Default: 2.
  uint32_t adjacency_hops = 2;
  /// With adjacency: a neighbour links a new service to an incident only
  /// while its symptom began within group_window (the front of a spreading
  /// fault), not merely while it still fires, and two incidents merge only
  /// when they opened within group_window of each other and touch; a long
  /// incident kept open by noise then does not absorb a new fault.
  /// Default: true.
  bool link_by_onset = true;
  /// With adjacency: a neighbour's metric anomaly links a new service only
  /// once it persisted (alerts, log events and forecasts always
  /// do); a blip joins an incident but links nothing to it, so noise
  /// does not chain a large estate's incident along. Default: true.
  bool link_by_persisting = true;
  /// With adjacency: a service's own symptoms in an incident link its new
  /// ones to it only while one is still anomalous (log events: seen
  /// within group_window); once all recovered, its next
  /// anomaly joins only through its neighbours, like a newcomer's.
  /// Default: true.
  bool rejoin_while_anomalous = true;
  /// A metric anomaly of a service that began within a minute of its own
  /// deploy, rollback or restart opens no incident until this long after
  /// that change, and only if it has not recovered by then; it joins an
  /// open incident at once. A restart's fresh heap, warm-up and first
  /// failed requests then open nothing; a bad release opens this much
  /// later, or at once through its alerts, log error spikes or its
  /// neighbours. 0 = off. Default: 5m.
  duration restart_settle{300'000};
  /// An incident takes new symptoms for at most this long after it
  /// opened; later ones open a new incident. 0 = no limit. Default: 30m.
  duration max_span{1'800'000};
  /// An incident whose symptoms all recovered resolves after this long
  /// without a new one. Default: 10m.
  duration resolve_after{600'000};
  /// Anomalies scoring below this open no incident; they join one only
  /// when their service is already in it. Default: 0.8.
  double min_score = 0.8;
  /// "METRIC_GLOB=TYPE" rules typing incidents, first match per symptom.
  std::vector<std::string> classification{
    "*memory*=high_memory_usage",
    "*heap*=high_memory_usage",
    "*connections*=database_connection_exhaustion",
    "*pool*=database_connection_exhaustion",
    "*5xx*=high_error_rate_5xx",
    "*error*=high_error_rate_5xx",
    "*latency*=high_latency",
    "*duration*=high_latency",
    "*cpu*=high_cpu_usage"};
  /// Incidents kept per partition (open ones are never dropped).
  /// Default: 10000.
  uint32_t max_incidents = 10'000;
  /// Distinct symptoms one incident keeps. Default: 5000.
  uint32_t max_symptoms = 5'000;
  /// Timeline entries one incident keeps. Default: 1000.
  uint32_t max_timeline = 1'000;
  /// How often (wall clock) incidents with new evidence are ranked again.
  /// Default: 500ms.
  duration rank_interval{500};
  friend bool operator==(const correlation_options&,
                         const correlation_options&)
    = default;
};

/// topology: the service dependency graph.
struct topology_options {
  /// A learned edge not seen in traces for this long is removed.
  /// Default: 15m.
  duration edge_ttl{900'000};
  /// Services held at most. Default: 10000.
  uint32_t max_services = 10'000;
  /// Edges held at most. Default: 50000.
  uint32_t max_edges = 50'000;
  /// Static edges "CALLER->CALLEE", merged with the learned ones.
  std::vector<std::string> edges;
  friend bool operator==(const topology_options&, const topology_options&)
    = default;
};

/// rca: root-cause ranking.
struct rca_options {
  /// How long before a service's anomaly onset a change still counts as
  /// evidence. Default: 30m.
  duration change_lookback{1'800'000};
  /// Candidates listed per incident. Default: 10.
  uint32_t max_candidates = 10;
  /// When some services of an incident have persisting anomalies, rank
  /// only those (blips ride along in long incidents). Default: true.
  bool persisting_only = true;
  /// Metric-name globs of request volume: a callee's traffic anomaly is
  /// what its callers send it, so it explains none of them.
  std::vector<std::string> traffic_metrics{
    "*request_rate*", "*requests_per_second*", "*_rps", "*_qps",
    "*throughput*"};
  /// Metric-name globs of utilisation that follows demand: a symptom of
  /// one that began within load_slack of a traffic symptom of the same
  /// service is load sent to it, counted as traffic, not as failing.
  std::vector<std::string> load_metrics{"*cpu*"};
  /// Utilisation lags a gradual change of request volume by a scrape or
  /// two. Default: 30s.
  duration load_slack{30'000};
  friend bool operator==(const rca_options&, const rca_options&) = default;
};

/// suppression: silences, maintenance windows, flap damping.
struct suppression_options {
  /// A symptom that opened this many incidents within flap_window opens
  /// no more (it still joins open ones); 0 = no damping. Default: 3.
  uint32_t flap_max_opens = 3;
  /// Default: 1h.
  duration flap_window{3'600'000};
  /// Silences and maintenance windows held at most. Default: 10000.
  uint32_t max_silences = 10'000;
  friend bool operator==(const suppression_options&,
                         const suppression_options&)
    = default;
};

/// remediation.limits: the global part of the safety envelope.
struct remediation_limits {
  /// Restarting actions (kubernetes.restart_pods, rollout_restart) run
  /// across all services in any hour; 0 = none allowed. Default: 10.
  uint32_t max_restarts_per_hour = 10;
  /// Largest factor a scale step may multiply replicas by. Default: 3.
  double max_scale_factor = 3.0;
  /// Actions running at once on a node. Default: 4.
  uint32_t max_concurrent_actions = 4;
  /// Action names ("kubernetes.rollback") or incident types whose steps
  /// always need a human's approval. Default: [kubernetes.rollback].
  std::vector<std::string> approval_required_for{"kubernetes.rollback"};
  /// Every step of every playbook is only recorded, never run.
  /// Default: false.
  bool dry_run = false;
  friend bool operator==(const remediation_limits&, const remediation_limits&)
    = default;
};

/// remediation: playbooks, executors, approvals.
struct remediation_options {
  /// Match incidents to playbooks at all; false = notify and escalate only.
  /// Default: true.
  bool enabled = true;
  /// Refuse every action (the kill switch); also settable at run time.
  /// Default: false.
  bool kill_switch = false;
  /// Highest autonomy level any playbook may use. Default: 4.
  uint32_t max_autonomy = 4;
  /// The least root-cause confidence a playbook runs on, medium or high;
  /// below it the incident is escalated. Default: medium.
  std::string min_confidence = "medium";
  /// "SERVICE_GLOB=LEVEL" caps, first match per service. Default: [].
  std::vector<std::string> autonomy_caps;
  /// Timeout of a step that names none. Default: 60s.
  duration action_timeout{60'000};
  /// Retries of a failed step (not of a timed-out one). Default: 2.
  uint32_t retries = 2;
  /// First retry delay, doubled per retry. Default: 1s.
  duration retry_backoff{1'000};
  /// A pending approval expires into an escalation after this. Default: 15m.
  duration approval_timeout{900'000};
  /// People who may decide approvals, "NAME=TOKEN_FILE"; when set, only
  /// their tokens decide one, as themselves. Default: [].
  std::vector<std::string> approvers;
  /// Parent environment variables a shell step's process sees.
  /// Default: [PATH, LANG].
  std::vector<std::string> shell_env{"PATH", "LANG"};
  /// Hosts `http` steps may call; empty = none. Default: [].
  std::vector<std::string> http_allow_hosts;
  /// Reload playbooks when their directory changes (inotify).
  /// Default: true.
  bool watch_playbooks = true;
  /// Kubernetes API server for kubernetes.* steps, https://HOST:PORT;
  /// empty = the in-cluster service account. Default: "".
  std::string kubernetes_api;
  /// Bearer token file for kubernetes_api (re-read on every action).
  /// Default: "".
  std::string kubernetes_token_file;
  /// CA bundle that signs kubernetes_api's certificate; empty = the
  /// system's CAs. Default: "".
  std::string kubernetes_ca_file;
  remediation_limits limits;
  friend bool operator==(const remediation_options&,
                         const remediation_options&)
    = default;
};

/// notifiers: where incidents are announced, through a durable outbox.
struct notifier_options {
  /// Receivers, "NAME KIND URL [OPTION=VALUE ...]"; KIND is webhook,
  /// slack, pagerduty or opsgenie; options min_severity, services, events,
  /// key_file, key_env. Default: [].
  std::vector<std::string> receivers;
  /// First retry delay of a failed delivery, doubled per attempt.
  /// Default: 1s.
  duration retry_initial{1'000};
  /// Longest retry delay. Default: 5m.
  duration retry_max{300'000};
  /// A notification not delivered within this long is dropped (counted).
  /// Default: 24h.
  duration max_age{86'400'000};
  /// Deliveries per receiver per minute; more wait. Default: 600.
  uint32_t rate_per_minute = 600;
  /// Timeout of one delivery. Default: 10s.
  duration timeout{10'000};
  /// Notifications the outbox holds at most; beyond it the oldest
  /// undelivered ones are dropped (counted). Default: 100000.
  uint32_t max_outbox = 100'000;
  /// A chat receiver (webhook, slack) with more than this many
  /// notifications waiting gets action and escalation notices folded into
  /// digests of up to 100; 0 = never. Default: 20.
  uint32_t digest_after = 20;
  friend bool operator==(const notifier_options&, const notifier_options&)
    = default;
};

/// llm: incident summaries written by a language model.
struct llm_options {
  /// "" (off: the template summary), "openai" (any OpenAI-compatible chat
  /// completions API) or "anthropic" (Messages API). Default: "".
  std::string provider;
  /// Full URL, e.g. https://api.openai.com/v1/chat/completions or
  /// https://api.anthropic.com/v1/messages. Default: "".
  std::string endpoint;
  /// Model name. Default: "".
  std::string model;
  /// The API key, from a file or an environment variable. Default: "".
  std::string api_key_file;
  std::string api_key_env;
  /// Timeout of one request. Default: 20s.
  duration timeout{20'000};
  /// Longest answer, in tokens. Default: 400.
  uint32_t max_tokens = 400;
  friend bool operator==(const llm_options&, const llm_options&) = default;
};

/// security: tokens.
struct security_options {
  /// Bearer token for /api/v1/* (but ingest). Empty: read admin_token_file,
  /// or generate one into <data_dir>/admin.token on first start. Default: "".
  std::string admin_token;
  /// File holding the admin token. Default: "" (<data_dir>/admin.token).
  std::string admin_token_file;
  /// Bearer token ingest endpoints require; empty = open. Default: "".
  std::string ingest_token;
  /// File holding the ingest token. Default: "".
  std::string ingest_token_file;
  friend bool operator==(const security_options&, const security_options&)
    = default;
};

/// cluster: membership and sharding.
struct cluster_options {
  /// Seeds to join (HOST:PORT of other nodes' cluster endpoints); empty = a
  /// single-node cluster. Default: [].
  std::vector<std::string> join;
  /// Fixed number of shards services hash onto; the same on every node.
  /// Default: 256.
  uint32_t shards = 256;
  /// How often a node tells every other member it is alive. Default: 250 ms.
  duration heartbeat_interval{250};
  /// Silence after which a member is suspect (still owns its shards).
  /// Default: 1 s.
  duration suspect_after{1000};
  /// Silence after which a member is down and its shards move. Default: 2 s.
  duration down_after{2000};
  /// How long the control node may act after it last heard from a majority
  /// of the members; shorter than down_after, so a node that was paused or
  /// cut off stops acting before another takes over. Default: 1.5 s.
  duration lease{1500};
  /// How long a member that came up waits before it owns shards, while
  /// the current owners send it their detector state. Default: 1 s.
  duration handoff_delay{1000};
  /// Samples forwarded to another node in one message at most; a batch
  /// goes out when full or after forward_delay. Default: 2000.
  uint32_t forward_batch = 2000;
  /// Longest a forwarded sample waits for its batch to fill. Default:
  /// 100 ms.
  duration forward_delay{100};
  /// TLS between nodes: certificate, key and CA (PEM files), all or none.
  std::string tls_certificate;
  std::string tls_key;
  std::string tls_ca;
  friend bool operator==(const cluster_options&, const cluster_options&)
    = default;
};

/// The whole configuration.
struct options {
  node_options node;
  ingest_options ingest;
  detection_options detection;
  correlation_options correlation;
  topology_options topology;
  rca_options rca;
  remediation_options remediation;
  notifier_options notifiers;
  llm_options llm;
  suppression_options suppression;
  security_options security;
  cluster_options cluster;
  friend bool operator==(const options&, const options&) = default;
};

} // namespace vigil
