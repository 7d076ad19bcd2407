#pragma once

// Incident grouping, pure logic: the symptoms of one fault (anomalies of
// many series and services) folded into one incident, keyed by correlation
// domain (the topology component of the service, or a configured label)
// and time; deduplicated by fingerprint; typed by classification rules;
// auto-resolved when every symptom recovered and stayed quiet. Event time
// only; the correlator actor persists and publishes what this decides.

#include <algorithm>
#include <cstdint>
#include <deque>
#include <functional>
#include <unordered_map>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <caf/expected.hpp>

#include "messages/anomaly.hpp"
#include "messages/incidents.hpp"

namespace vigil::correlator {

/// Grouping and lifecycle knobs.
struct incident_options {
  /// A new symptom joins an open incident of its domain when it comes at
  /// most this long after the incident's newest symptom. Default: 5 min.
  int64_t group_window_ms = 5 * 60'000;
  /// An incident takes new evidence for at most this long after it
  /// opened; later symptoms open a new incident (an old, simmering
  /// incident must not swallow a new fault). 0 = no limit. Default: 30 min.
  int64_t max_span_ms = 30 * 60'000;
  /// An incident whose symptoms all recovered resolves after this long
  /// with no new symptom. Default: 10 min.
  int64_t resolve_after_ms = 10 * 60'000;
  /// "METRIC_GLOB=TYPE" rules, first match wins; the incident takes the
  /// type its symptoms vote for most. E.g. "*memory*=high_memory_usage".
  std::vector<std::string> classification;
  /// Incidents kept (open and recently closed); the oldest closed go
  /// first. Default: 10000.
  size_t max_incidents = 10'000;
  /// Symptoms (fingerprints) one incident keeps. Default: 5000.
  size_t max_symptoms = 5'000;
  /// Timeline entries one incident keeps; later ones are counted.
  /// Default: 1000.
  size_t max_timeline = 1'000;
  /// Anomalies scoring below this open no incident and join one only when
  /// their service is already part of it (weak evidence strengthens, never
  /// starts). Default: 0 (every anomaly counts).
  double min_score = 0;
  /// Corroboration: a new incident opens once anomalies of this many
  /// distinct services of a domain arrived within `open_wait`, or when an
  /// anomaly persists (its detector re-announces it), or for an alert. A
  /// lone blip of one service opens nothing. 1 = every anomaly opens.
  /// Default: 1 (the node's configuration asks for 2).
  uint32_t open_min_services = 1;
  /// Default: 2 min.
  int64_t open_wait_ms = 2 * 60'000;
  /// Only persisting evidence (an ongoing anomaly, an alert, a log error
  /// spike, a forecast) opens an incident and extends its group window;
  /// blips join open incidents only. Replaces open_min_services when on.
  /// Default: false.
  bool persisting_only = false;
  /// Topology adjacency: a service with known neighbours joins an open
  /// incident only when it or a direct neighbour is already in it with a
  /// recent symptom (within group_window), and held onsets corroborate
  /// each other only between neighbours. A service without known
  /// neighbours counts every service as one: it groups by time, by the
  /// same link rules. Default: false (domain only).
  bool adjacency = false;
  /// How far "neighbour" reaches for adjacency: 1 = caller or callee,
  /// 2 = also their neighbours (a fault may pass a service that stays
  /// quiet). Default: 1.
  uint32_t adjacency_hops = 1;
  /// With adjacency: a neighbour links a new service to an incident while
  /// its symptom *began* within group_window (the front of a spreading
  /// fault), not merely while it still fires; and two incidents merge only
  /// when they also opened within group_window of each other. A long
  /// incident kept open by noise then does not absorb a new fault next to
  /// it. Default: false (still firing links; any overlap merges).
  bool link_by_onset = false;
  /// With adjacency: a neighbour's metric symptom links a new service only
  /// once it persisted (other kinds always); blips join but link nothing.
  /// Default: false.
  bool link_by_persisting = false;
  /// With adjacency: a service's own symptoms in an incident link its new
  /// ones to it only while one of them is still anomalous (not recovered;
  /// a log event, which announces no recovery: seen within group_window).
  /// Once all recovered, the service went back to normal; its next anomaly
  /// joins the incident only through its neighbours, like a newcomer's, so
  /// a blip that joined a noise incident does not pull the service's later,
  /// unrelated fault into it. Default: false (any earlier symptom links,
  /// however long ago it recovered).
  bool rejoin_while_anomalous = false;
  /// Flap damping: a symptom that already opened this many incidents
  /// within `flap_window` opens no more (it still joins open ones).
  /// 0 = off. Default: 3.
  uint32_t flap_max_opens = 3;
  /// Default: 1 h.
  int64_t flap_window_ms = 60 * 60'000;
  /// Changes of a service this long before it joins an incident go on the
  /// incident's timeline. Default: 30 min.
  int64_t change_lookback_ms = 30 * 60'000;
  /// A restart settles: a metric anomaly of a service that began within
  /// restart_window after its own deploy, rollback or restart (or
  /// restart_grace before it: the change may be reported late) opens no
  /// incident until this long after that change, and then only if it has
  /// not recovered by then. It joins an open incident at once. A fresh
  /// heap, a warm-up or a few failed requests then open nothing; a bad
  /// release still opens, `restart_settle` later, or at once through its
  /// alerts, log error spikes or its neighbours. 0 = off. Default: 0.
  int64_t restart_settle_ms = 0;
  /// Default: 60 s.
  int64_t restart_window_ms = 60'000;
  /// Default: 30 s.
  int64_t restart_grace_ms = 30'000;
  /// Anomalies held while their restart settles, at most; beyond, the
  /// oldest is folded in as it is. Default: 1000.
  size_t max_settling = 1'000;
};

enum class incident_status : uint8_t { open, acknowledged, mitigated,
                                       resolved };
const char* to_string(incident_status x);

/// Severity on the scale of CONTRACT §3: 1 (info) .. 5 (critical).
enum class incident_severity : uint8_t { info = 1, low = 2, warning = 3,
                                         high = 4, critical = 5 };
const char* to_string(incident_severity x);

/// One distinct symptom of an incident: a series (or log template) of a
/// service.
struct symptom {
  std::string fingerprint;
  std::string service;
  std::string metric;
  anomaly_kind kind = anomaly_kind::metric;
  int64_t first_ms = 0;
  int64_t last_ms = 0;
  double max_score = 0;
  uint64_t events = 0;
  bool recovered = false;
  /// Onset of the current anomalous stretch (event time).
  int64_t active_since_ms = 0;
  /// Largest |deviation| any detector measured (standard deviations).
  double max_deviation = 0;
  /// Onset of its first anomalous stretch that persisted (its detector
  /// re-announced it: phase ongoing); 0 while it has only been blips.
  int64_t sustained_since_ms = 0;
  /// Time anomalous in its stretches that ended (recovered).
  int64_t ended_ms = 0;
  /// Event time it last recovered (meaningful while `recovered`).
  int64_t recovered_ms = 0;
  /// End of its stretches before the latest: the recovery just before its
  /// latest onset (`active_since_ms`); 0 while it has had one stretch.
  int64_t earlier_until_ms = 0;
  std::string series;
  /// Detectors that voted on the strongest event.
  std::vector<std::string> detectors;
};

/// The ranking's evidence per service (sorted by service) folded from an
/// incident's symptoms: earliest onset, strongest score and deviation,
/// earliest persisting onset, events, metric names or anomaly kinds.
/// Every symptom counts, recovered ones included: detectors adapt to a
/// lasting shift and call it recovered, and the service that went bad first
/// is the one that recovers first.
/// Metrics matching a glob of `traffic_metrics` are marked as traffic, and
/// so are those matching a glob of `load_metrics` (utilisation, such as
/// CPU) whose first onset lies within `load_slack_ms` of a traffic
/// symptom's of the same service: load sent to it, not a failure of it.
std::vector<rca_evidence>
evidence_of(const std::vector<symptom>& symptoms,
            const std::vector<std::string>& traffic_metrics = {},
            const std::vector<std::string>& load_metrics = {},
            int64_t load_slack_ms = 0);

struct incident {
  uint64_t id = 0;
  std::string domain;
  std::string type;
  incident_status status = incident_status::open;
  incident_severity severity = incident_severity::warning;
  /// When its first symptom began (the incident is dated by it).
  int64_t opened_ms = 0;
  /// Event time of the evidence that opened it: when Vigil knew, which
  /// MTTD measures from opened_ms; earlier evidence that could have
  /// opened it, arriving after it, moves it back (so it does not depend on
  /// which detector shard ran first). 0 = not known (incidents stored
  /// before it was kept).
  int64_t detected_ms = 0;
  int64_t last_evidence_ms = 0;
  /// Newest persisting evidence (see incident_options::persisting_only);
  /// 0 when unknown (then last_evidence_ms stands in).
  int64_t last_persisting_ms = 0;
  int64_t resolved_ms = 0;
  /// Symptoms by fingerprint, in first-seen order.
  std::vector<symptom> symptoms;
  /// Symptoms beyond max_symptoms, counted but not kept.
  uint64_t dropped_symptoms = 0;
  /// What happened, in event-time order of arrival.
  std::vector<timeline_entry> timeline;
  uint64_t dropped_timeline = 0;
  /// The newest ranking (empty candidates until ranked).
  rca_result root_cause;
  /// Folded into this incident (set on the absorbed one).
  uint64_t merged_into = 0;
  /// Newest event time anything changed.
  int64_t updated_ms = 0;
  /// Playbook steps run or refused for it, by first report.
  std::vector<action_view> actions;
  /// A summary written by a language model (empty: the template's).
  std::string summary;

  /// The services involved, sorted, each once.
  std::vector<std::string> services() const;
  bool closed() const { return status == incident_status::resolved; }
};

/// What folding one anomaly did.
struct fold_result {
  uint64_t incident = 0;
  /// A new incident was opened for it.
  bool opened = false;
  /// A symptom not seen in the incident before.
  bool new_symptom = false;
  /// A service not in the incident before.
  bool new_service = false;
  /// Would have opened an incident, but was suppressed (silence or
  /// maintenance) or damped (flapping).
  bool suppressed = false;
  bool damped = false;
  /// Below min_score with nothing of its service open: not folded.
  bool weak = false;
  /// A blip (not persisting evidence) with no incident to join, under
  /// persisting_only: not folded.
  bool blip = false;
  /// Held until another service corroborates it (open_min_services).
  bool pending = false;
  /// Held while its service's restart settles (restart_settle).
  bool settling = false;
};

/// What `remap` did.
struct remap_result {
  /// Incidents whose domain changed.
  std::vector<uint64_t> moved;
  /// (absorbed, into) pairs.
  std::vector<std::pair<uint64_t, uint64_t>> merged;
};

/// Checks a classification rule ("GLOB=TYPE").
caf::expected<std::pair<std::string, std::string>>
parse_classification(std::string_view text);

class incident_book {
public:
  explicit incident_book(incident_options opts = {});

  /// Folds an anomaly of correlation domain `domain` in. Recovered events
  /// only mark their symptom recovered; they never open an incident, and
  /// neither does a `suppressed` one (it may still join an open incident).
  /// Returns what happened (incident 0 for a recovery of nothing known).
  fold_result fold(const anomaly_event& ev, const std::string& domain,
                   bool suppressed = false);

  /// Notes a change event: it goes on the timeline of every open incident
  /// of its domain, and is remembered (bounded) for incidents its service
  /// joins later.
  void add_change(const change_event& c, const std::string& domain);

  /// Remembered changes of `services` with from_ms <= ts <= to_ms.
  std::vector<change_event>
  changes_of(const std::vector<std::string>& services, int64_t from_ms,
             int64_t to_ms) const;

  /// Recomputes each open incident's domain with `domain_of` (a service ->
  /// domain lookup) from its symptoms' services (the domain most symptoms
  /// share), then merges open incidents of one domain whose time spans
  /// are within the group window: the older id absorbs the newer.
  template <class F>
  remap_result remap(F&& domain_of) {
    for (auto& [id, inc] : incidents_)
      if (!inc.closed())
        redomain(inc, domain_of);
    // Held anomalies join or open incidents of their service's domain now.
    for (auto& h : settling_)
      h.domain = domain_of(h.ev.service);
    return merge_same_domain();
  }

  /// Takes an incident over from another book (a partition hand-off),
  /// merging it into an open incident of its domain when one is near.
  /// Returns the id it lives under now.
  uint64_t adopt(incident inc);
  /// Puts back an incident read from storage, as it was (not dirty);
  /// ids handed out later are above it.
  void restore(incident inc);
  /// Forgets an incident (handed to another book); whether it was here.
  bool release(uint64_t id);

  /// Records a ranking; a new top candidate goes on the timeline.
  /// Returns false for an unknown or absorbed incident.
  bool set_root_cause(uint64_t id, rca_result r);

  /// Records a playbook step's state (a new one, or a newer state of one
  /// known by id); a changed status goes on the timeline at `ts_ms`.
  /// Returns false for an unknown incident.
  bool record_action(const action_view& a, int64_t ts_ms);

  /// Adds a line from the playbook engine to the timeline; false for an
  /// unknown incident.
  bool add_note(const incident_note& n);

  /// Keeps a model-written summary; false for an unknown incident.
  bool set_summary(uint64_t id, std::string text);

  /// Advances event time: folds in the anomalies whose restart has
  /// settled (restart_settle) and resolves incidents whose symptoms all
  /// recovered and that saw nothing for resolve_after. Returns the ids
  /// resolved.
  std::vector<uint64_t> tick(int64_t now_ms);

  /// Anomalies held while their service's restart settles.
  size_t settling_count() const { return settling_.size(); }
  /// Forgets the held anomalies whose domain `gone` says left this book
  /// (another partition hears of their service now); returns how many.
  /// Their next re-announcement decides where it goes.
  template <class F>
  size_t forget_settling_if(F&& gone) {
    return std::erase_if(settling_, [&](const settling& h) {
      return gone(h.domain);
    });
  }
  /// Incidents opened since this book was made (some open on a tick, when
  /// a held anomaly settles).
  uint64_t opened_total() const { return opened_total_; }

  /// Lifecycle moves by a person: acknowledge, mitigate, resolve. Refused
  /// (errc::malformed naming the move) for an unknown id or a move back.
  caf::expected<void> set_status(uint64_t id, incident_status to,
                                 int64_t now_ms, const std::string& by = {},
                                 const std::string& comment = {});

  const incident* find(uint64_t id) const;
  incident* find(uint64_t id);
  /// Incidents, newest first; open ones only when `open_only`.
  std::vector<const incident*> list(bool open_only) const;
  size_t open_count() const;

  /// Incidents whose ranking is stale (new service, merge, change) since
  /// the last call.
  std::vector<uint64_t> take_rank_dirty();
  /// Incidents changed since the last call (ids), for persistence.
  std::vector<uint64_t> take_dirty();
  /// Marks an incident changed again (a write that failed).
  void touch(uint64_t id) { dirty_.push_back(id); }
  /// Ids removed since the last call (released or trimmed).
  std::vector<uint64_t> take_removed();

  /// Replaces the service adjacency (undirected: caller and callee are
  /// each other's neighbours).
  void set_neighbours(
    std::unordered_map<std::string, std::vector<std::string>> xs) {
    neighbours_ = std::move(xs);
  }

  /// Sets where new ids come from (shared by the partitions of a node);
  /// by default 1, 2, 3, ...
  void set_id_source(std::function<uint64_t()> next) {
    next_id_fn_ = std::move(next);
  }

private:
  incident* open_in(const std::string& domain, int64_t ts_ms,
                    const std::string& service);
  incident* holding(const std::string& fp, const std::string& domain,
                    int64_t ts_ms);
  bool still_anomalous(const symptom& s, int64_t ts_ms) const;
  bool linked(const incident& inc, const std::string& service,
              int64_t ts_ms) const;
  /// Whether `b` is within adjacency_hops of `a`; always, when `a` has no
  /// known neighbours.
  bool adjacent(const std::string& a, const std::string& b) const;
  uint64_t merge_linked(incident& inc, int64_t ts_ms);
  void classify(incident& inc) const;
  void rate(incident& inc) const;
  void note(incident& inc, timeline_entry e);
  void absorb(incident& into, incident& from);
  void trim();
  bool flapping(const std::string& fp, int64_t ts_ms);
  fold_result fold_one(const anomaly_event& ev, const std::string& domain,
                       bool suppressed);
  /// When the restart `ev` began with settles (restart_settle), or 0 when
  /// it is no restart's effect or the restart has settled.
  int64_t settles_at(const anomaly_event& ev) const;
  /// Folds in held anomalies: those settled by `now_ms`, and with
  /// `joining` also those of `domain` that an open incident now takes.
  void release_settling(int64_t now_ms, const std::string* joining);
  /// Whether a service of `b` is linked to `a` at `ts_ms` (see linked).
  bool touches(const incident& a, const incident& b, int64_t ts_ms) const;
  /// With link_by_onset, whether the two opened within the group window of
  /// each other (halves of one fault do; a new fault next to a simmering
  /// incident does not); always true otherwise.
  bool opened_together(const incident& a, const incident& b) const;
  remap_result merge_same_domain();
  template <class F>
  void redomain(incident& inc, F& domain_of) {
    std::map<std::string, size_t> votes;
    for (const auto& s : inc.symptoms)
      ++votes[domain_of(s.service)];
    if (votes.empty())
      return;
    auto best = std::max_element(votes.begin(), votes.end(),
                                 [](const auto& a, const auto& b) {
                                   return a.second < b.second;
                                 });
    if (best->first != inc.domain) {
      inc.domain = best->first;
      dirty_.push_back(inc.id);
      moved_.push_back(inc.id);
    }
  }

  incident_options opts_;
  std::vector<std::pair<std::string, std::string>> rules_;
  std::map<uint64_t, incident> incidents_;
  uint64_t next_id_ = 1;
  std::function<uint64_t()> next_id_fn_;
  std::vector<uint64_t> dirty_;
  std::vector<uint64_t> removed_;
  std::vector<uint64_t> moved_;
  std::vector<uint64_t> rank_dirty_;
  /// Recent changes, oldest first (bounded).
  std::deque<std::pair<std::string, change_event>> changes_;
  std::unordered_map<std::string, std::vector<std::string>> neighbours_;
  /// Per domain: onsets waiting for corroboration, oldest first.
  std::unordered_map<std::string, std::deque<anomaly_event>> pending_;
  /// Set while held onsets are folded in after corroboration: the first
  /// opens a new incident (`target_`), the others join it.
  bool corroborated_ = false;
  uint64_t target_ = 0;
  /// Per fingerprint: event times it opened an incident (flap damping).
  std::unordered_map<std::string, std::deque<int64_t>> opens_;
  /// Anomalies held while their restart settles, oldest first: the newest
  /// event of each fingerprint, its domain and when it may open.
  struct settling {
    std::string fingerprint;
    std::string domain;
    anomaly_event ev;
    int64_t due_ms = 0;
  };
  std::vector<settling> settling_;
  /// Per service: its newest deploy, rollback or restart, while it may
  /// still hold anomalies back (restart_settle).
  std::unordered_map<std::string, int64_t> last_restart_;
  /// Set while held anomalies are folded in (they are not held again).
  bool releasing_ = false;
  uint64_t opened_total_ = 0;
};

} // namespace vigil::correlator
