#include "actors/correlator/correlator.hpp"

#include <algorithm>
#include <chrono>

#include <caf/actor_system.hpp>
#include <caf/actor_registry.hpp>
#include <caf/event_based_actor.hpp>
#include <spdlog/spdlog.h>

#include "actors/correlator/incident_codec.hpp"
#include "messages/errc.hpp"
#include "runtime/clock.hpp"
#include "runtime/codec/series.hpp"
#include "runtime/hash.hpp"

namespace vigil::correlator {

namespace {

using std::chrono::milliseconds;

constexpr auto ask_timeout = std::chrono::seconds{10};

incident_options book_options(const correlator_config& cfg) {
  incident_options o;
  o.group_window_ms = cfg.correlation.group_window.count();
  o.min_score = cfg.correlation.min_score;
  o.max_span_ms = cfg.correlation.max_span.count();
  o.open_min_services = cfg.correlation.open_min_services;
  o.open_wait_ms = cfg.correlation.open_wait.count();
  o.persisting_only = cfg.correlation.persisting_only;
  o.adjacency = cfg.correlation.adjacency;
  o.adjacency_hops = cfg.correlation.adjacency_hops;
  o.link_by_onset = cfg.correlation.link_by_onset;
  o.link_by_persisting = cfg.correlation.link_by_persisting;
  o.rejoin_while_anomalous = cfg.correlation.rejoin_while_anomalous;
  o.resolve_after_ms = cfg.correlation.resolve_after.count();
  o.classification = cfg.correlation.classification;
  o.max_incidents = std::max<size_t>(10, cfg.correlation.max_incidents);
  o.max_symptoms = cfg.correlation.max_symptoms;
  o.max_timeline = cfg.correlation.max_timeline;
  o.flap_max_opens = cfg.suppression.flap_max_opens;
  o.flap_window_ms = cfg.suppression.flap_window.count();
  o.change_lookback_ms = cfg.rca.change_lookback.count();
  o.restart_settle_ms = cfg.correlation.restart_settle.count();
  return o;
}

// Event time "now" of a partition: the newest event time seen, moved on by
// the wall time since, so quiet incidents still resolve.
int64_t event_now(const partition_state& st) {
  if (st.event_ms == 0)
    return 0;
  return st.event_ms + std::max<int64_t>(0, wall_ms() - st.event_wall_ms);
}

void seen(partition_state& st, int64_t ts_ms) {
  if (ts_ms >= event_now(st)) {
    st.event_ms = ts_ms;
    st.event_wall_ms = wall_ms();
  }
}

// Incidents opened since the last call, counted: by an anomaly, or on a
// tick by one that settled.
void count_opened(partition_state& st) {
  auto total = st.book->opened_total();
  if (st.opened && total > st.opened_reported)
    st.opened->inc(total - st.opened_reported);
  st.opened_reported = total;
}

void persist(partition_state& st) {
  auto dirty = st.book->take_dirty();
  auto removed = st.book->take_removed();
  if (st.cfg.store && (!dirty.empty() || !removed.empty())) {
    storage::write_batch b;
    for (auto id : dirty)
      if (const auto* inc = st.book->find(id))
        b.put(storage::column::incidents, storage::big_endian_key(id),
              encode(*inc));
    for (auto id : removed)
      b.erase(storage::column::incidents, storage::big_endian_key(id));
    if (auto err = st.cfg.store->write(b)) {
      spdlog::error("correlator partition {}: cannot store incidents: {}",
                    st.index, render(err));
      // Not stored, so not announced: the next persist tries again.
      for (auto id : dirty)
        st.book->touch(id);
      dirty.clear();
    }
  }
  // Stored first, announced second: the engine acts only on incidents that
  // survive a crash. It needs the symptoms (recovery), not the timeline.
  if (st.engine)
    for (auto id : dirty)
      if (const auto* inc = st.book->find(id); inc && inc->merged_into == 0) {
        auto v = to_view(*inc, false);
        v.timeline.clear();
        caf::anon_send(st.engine, atom::incident_v, std::move(v));
      }
  if (st.open_gauge) {
    auto open = static_cast<double>(st.book->open_count());
    st.open_gauge->add(open - st.open_reported);
    st.open_reported = open;
  }
  count_opened(st);
  if (st.settling_gauge) {
    auto held = static_cast<double>(st.book->settling_count());
    st.settling_gauge->add(held - st.settling_reported);
    st.settling_reported = held;
  }
}

rca_request request_for(const incident& inc, const incident_book& book,
                        const rca_options& rca) {
  auto lookback_ms = rca.change_lookback.count();
  rca_request req;
  req.incident = inc.id;
  req.window_start_ms = inc.opened_ms;
  req.window_end_ms = inc.last_evidence_ms;
  req.anomalous = evidence_of(inc.symptoms, rca.traffic_metrics,
                              rca.load_metrics, rca.load_slack.count());
  std::vector<std::string> services;
  for (const auto& e : req.anomalous)
    services.push_back(e.service);
  req.changes = book.changes_of(services, inc.opened_ms - lookback_ms,
                                inc.last_evidence_ms);
  return req;
}

void rank_due(partition_actor::stateful_pointer<partition_state> self) {
  auto& st = self->state;
  auto due = st.book->take_rank_dirty();
  due.insert(due.end(), st.rank_again.begin(), st.rank_again.end());
  st.rank_again.clear();
  std::sort(due.begin(), due.end());
  due.erase(std::unique(due.begin(), due.end()), due.end());
  if (due.empty())
    return;
  auto rca = caf::actor_cast<rca_actor>(
    self->system().registry().get(st.cfg.rca_key));
  for (auto id : due) {
    // Closed incidents are ranked too (a replay may close one before its
    // first ranking); absorbed ones are not.
    const auto* inc = st.book->find(id);
    if (!inc || inc->merged_into != 0)
      continue;
    if (std::find(st.ranking.begin(), st.ranking.end(), id)
        != st.ranking.end()) {
      st.rank_again.push_back(id);
      continue;
    }
    if (!rca) {
      st.rank_again.push_back(id);
      continue;
    }
    st.ranking.push_back(id);
    auto req = request_for(*inc, *st.book, st.cfg.rca);
    self->request(rca, ask_timeout, atom::rank_v, std::move(req))
      .then(
        [self, id](rca_result& r) {
          auto& st = self->state;
          std::erase(st.ranking, id);
          // Stored (and so replicated) before anyone is told of it.
          if (st.book->set_root_cause(id, std::move(r)))
            persist(st);
        },
        [self, id](const caf::error& err) {
          auto& st = self->state;
          std::erase(st.ranking, id);
          st.rank_again.push_back(id);
          spdlog::warn("correlator partition {}: ranking INC-{} failed: {}",
                       st.index, id, self->system().render(err));
        });
  }
}

void load(partition_state& st) {
  if (!st.cfg.store)
    return;
  size_t n = 0;
  size_t bad = 0;
  auto err = st.cfg.store->scan(
    storage::column::incidents, "",
    [&](std::string_view, std::string_view value) {
      incident inc;
      if (!decode(value, inc)) {
        ++bad;
        return true;
      }
      if (partition_of(inc.domain, st.count) == st.index) {
        st.book->restore(std::move(inc));
        ++n;
      }
      return true;
    });
  if (err)
    spdlog::error("correlator partition {}: cannot load incidents: {}",
                  st.index, render(err));
  if (bad > 0)
    spdlog::warn("correlator partition {}: {} unreadable incident records "
                 "skipped",
                 st.index, bad);
  if (n > 0)
    spdlog::info("correlator partition {}: {} incidents restored ({} open)",
                 st.index, n, st.book->open_count());
}

caf::expected<incident_status> status_named(const std::string& name) {
  if (name == "acknowledged")
    return incident_status::acknowledged;
  if (name == "mitigated")
    return incident_status::mitigated;
  if (name == "resolved")
    return incident_status::resolved;
  return caf::make_error(errc::malformed,
                         "unknown incident status '" + name + "'");
}

// Incident ids in the store are big-endian keys: the last one is the
// highest.
uint64_t highest_stored_id(storage::store* store) {
  uint64_t out = 0;
  if (!store)
    return out;
  auto err = store->scan(
    storage::column::incidents, "",
    [&](std::string_view key, std::string_view) {
      out = storage::from_big_endian_key(key);
      return false;
    },
    true);
  if (err)
    spdlog::error("correlator: cannot read incident ids: {}", render(err));
  return out;
}

// Collects one reply per partition and answers once.
template <class T>
struct gather {
  size_t pending = 0;
  std::vector<T> values;
  caf::error first_error;
  bool done = false;
};

} // namespace

uint32_t partition_of(const std::string& domain, uint32_t count) {
  if (count <= 1)
    return 0;
  return static_cast<uint32_t>(hash64(domain) % count);
}

const std::string&
domain_of(const std::unordered_map<std::string, std::string>& domains,
          const std::string& service) {
  auto it = domains.find(service);
  return it == domains.end() ? unconnected_domain : it->second;
}

label_set labels_of(const anomaly_event& ev) {
  label_set out{{"service", ev.service},
                {"metric", ev.metric},
                {"kind", to_string(ev.kind)}};
  for (auto& [name, value] : codec::series_labels(ev.series))
    if (name != "service" && name != "metric" && name != "kind")
      out.emplace_back(std::move(name), std::move(value));
  return out;
}

anomaly_event anomaly_of(const alert_record& a, int64_t received_ms,
                         const std::string& default_service) {
  anomaly_event ev;
  ev.kind = anomaly_kind::alert;
  ev.service = a.service.empty() ? default_service : a.service;
  std::string severity;
  for (const auto& l : a.labels) {
    if (l.key == "alertname")
      ev.metric = l.value;
    else if (l.key == "severity")
      severity = l.value;
  }
  if (ev.metric.empty())
    ev.metric = "alert";
  // The series text carries the alert's labels, written like every other
  // series text, so silences can match them.
  std::vector<codec::label_view> labels;
  for (uint32_t i = 0; i < a.labels.size(); ++i)
    if (a.labels[i].key != "alertname")
      labels.push_back({a.labels[i].key, a.labels[i].value, i});
  std::string text;
  codec::series_ref ref;
  codec::series_builder builder;
  ev.series = builder.append(text, ev.metric, labels, ref)
                ? text.substr(ref.offset, ref.size)
                : ev.metric;
  ev.template_id = a.fingerprint;
  bool resolved = a.status == "resolved";
  ev.phase = resolved ? anomaly_phase::recovered : anomaly_phase::onset;
  int64_t ts = resolved ? a.ends_at_ms : a.starts_at_ms;
  ev.ts_ms = ts > 0 ? ts : received_ms;
  ev.onset_ts_ms = a.starts_at_ms > 0 ? a.starts_at_ms : ev.ts_ms;
  ev.score = severity == "critical" || severity == "page" ? 1.0
             : severity == "warning" || severity == "high" ? 0.9
                                                           : 0.7;
  return ev;
}

// -- partition ----------------------------------------------------------------

partition_state::~partition_state() {
  // Last writes before the partition goes (stop or crash).
  if (book)
    persist(*this);
  // Its share of the gauges goes with it: a restarted partition reports
  // what it loads again.
  if (open_gauge)
    open_gauge->add(-open_reported);
  if (settling_gauge)
    settling_gauge->add(-settling_reported);
}

correlator_state::~correlator_state() {
  // Partitions keep themselves alive with their timer: stop them.
  for (auto& p : partitions)
    caf::anon_send_exit(p, caf::exit_reason::user_shutdown);
}

partition_actor::behavior_type
partition(partition_actor::stateful_pointer<partition_state> self,
          correlator_config cfg, uint32_t index, uint32_t count,
          std::shared_ptr<id_source> ids) {
  auto& st = self->state;
  st.index = index;
  st.count = count;
  st.cfg = std::move(cfg);
  st.ids = std::move(ids);
  st.book = std::make_unique<incident_book>(book_options(st.cfg));
  st.book->set_id_source([ids = st.ids] { return ids->next.fetch_add(1); });
  if (st.cfg.metrics) {
    st.open_gauge = &st.cfg.metrics->gauge_(
      "vigil_incidents_open",
      "Incidents not yet resolved (fed by the correlator).");
    st.opened = &st.cfg.metrics->counter_("vigil_incidents_total",
                                          "Incidents opened.");
    st.settling_gauge = &st.cfg.metrics->gauge_(
      "vigil_incidents_settling",
      "Anomalies held from opening an incident while their service's "
      "restart settles (correlation.restart_settle).");
    st.held_back = &st.cfg.metrics->counters(
      "vigil_incidents_held_back_total",
      "Anomalies that opened no incident, by reason (silenced, flapping, "
      "weak, blip, settling).",
      {"reason"});
  }
  load(st);
  persist(st);
  self->send(self, atom::tick_v);
  return {
    [self](atom::anomaly, anomaly_event& ev, std::string& domain,
           bool suppressed) {
      auto& st = self->state;
      seen(st, ev.ts_ms);
      auto r = st.book->fold(ev, domain, suppressed);
      count_opened(st);
      if (st.held_back
          && (r.suppressed || r.damped || r.weak || r.blip || r.settling))
        st.held_back
          ->with({r.suppressed ? "silenced"
                  : r.damped   ? "flapping"
                  : r.blip     ? "blip"
                  : r.settling ? "settling"
                               : "weak"})
          .inc();
    },
    [self](atom::ingest, change_event& c, std::string& domain) {
      auto& st = self->state;
      st.book->add_change(c, domain);
    },
    [self](atom::domains, domain_map& m) {
      auto& st = self->state;
      st.domains.clear();
      for (auto& e : m.entries)
        st.domains[e.key] = e.value;
      std::unordered_map<std::string, std::vector<std::string>> nb;
      for (auto& l : m.links) {
        nb[l.key].push_back(l.value);
        nb[l.value].push_back(l.key);
      }
      st.book->set_neighbours(std::move(nb));
      auto r = st.book->remap([&](const std::string& service) {
        return domain_of(st.domains, service);
      });
      // A held anomaly whose service went to another partition's domain
      // would never hear of its recovery here: forgotten, its next
      // re-announcement decides there.
      st.book->forget_settling_if([&](const std::string& domain) {
        return partition_of(domain, st.count) != st.index;
      });
      // Incidents whose domain now belongs to another partition move
      // there, through the front.
      auto front = caf::actor_cast<correlator_actor>(self->current_sender());
      for (auto id : r.moved) {
        const auto* inc = st.book->find(id);
        if (!inc || inc->closed() || !front
            || partition_of(inc->domain, st.count) == st.index)
          continue;
        auto record = encode(*inc);
        st.book->release(id);
        self->send(front, atom::adopt_v, std::move(record));
      }
      persist(st);
    },
    [self](atom::adopt, std::string& record) {
      auto& st = self->state;
      incident inc;
      if (!decode(record, inc)) {
        spdlog::error("correlator partition {}: unreadable hand-off",
                      st.index);
        return;
      }
      st.book->adopt(std::move(inc));
      persist(st);
    },
    [self](atom::query, const incident_query& q) {
      auto& st = self->state;
      persist(st);
      std::vector<incident_view> out;
      for (const auto* inc : st.book->list(q.open_only)) {
        if (out.size() >= q.limit)
          break;
        out.push_back(to_view(*inc, q.brief));
      }
      return out;
    },
    [self](atom::get, uint64_t id) -> caf::result<incident_view> {
      auto& st = self->state;
      persist(st);
      if (const auto* inc = st.book->find(id))
        return to_view(*inc, false);
      return caf::make_error(errc::not_found,
                             "no incident INC-" + std::to_string(id));
    },
    [self](atom::incident,
           const incident_command& cmd) -> caf::result<incident_view> {
      auto& st = self->state;
      if (!st.book->find(cmd.id))
        return caf::make_error(errc::not_found,
                               "no incident INC-" + std::to_string(cmd.id));
      auto to = status_named(cmd.to);
      if (!to)
        return to.error();
      // Event time of a person's move: their wall clock, but never before
      // the incident's own evidence.
      auto now = std::max(cmd.now_ms, event_now(st));
      if (auto r = st.book->set_status(cmd.id, *to, now, cmd.by, cmd.comment);
          !r)
        return r.error();
      persist(st);
      return to_view(*st.book->find(cmd.id), false);
    },
    [self](atom::action, const action_view& a) {
      auto& st = self->state;
      // On the timeline in event time, like everything else on it; the
      // action keeps its own wall-clock times.
      auto now = event_now(st);
      if (st.book->record_action(a, now > 0 ? now : wall_ms()))
        persist(st);
    },
    [self](atom::note, incident_note& n) {
      auto& st = self->state;
      if (n.ts_ms == 0) {
        auto now = event_now(st);
        n.ts_ms = now > 0 ? now : wall_ms();
      }
      if (st.book->add_note(n))
        persist(st);
    },
    [self](atom::summary, uint64_t id, std::string& text) {
      auto& st = self->state;
      if (st.book->set_summary(id, std::move(text)))
        persist(st);
    },
    [self](atom::tick) {
      auto& st = self->state;
      if (st.cfg.playbook_key != caf::atom(""))
        st.engine = caf::actor_cast<playbook_actor>(
          self->system().registry().get(st.cfg.playbook_key));
      if (auto now = event_now(st); now > 0)
        st.book->tick(now);
      rank_due(self);
      persist(st);
      self->delayed_send(self, st.cfg.correlation.rank_interval,
                         atom::tick_v);
    },
  };
}

// -- front --------------------------------------------------------------------

namespace {

void load_silences(correlator_state& st) {
  if (!st.cfg.store)
    return;
  auto err = st.cfg.store->scan(
    storage::column::silences, "",
    [&](std::string_view, std::string_view value) {
      silence_spec s;
      if (!decode(value, s))
        return true;
      if (auto r = apply(s, st.silences); !r)
        spdlog::warn("correlator: stored silence {} refused: {}", s.id,
                     render(r.error()));
      return true;
    });
  if (err)
    spdlog::error("correlator: cannot load silences: {}", render(err));
}

silence_spec spec_of(const silence& s) {
  silence_spec out;
  out.id = s.id;
  for (const auto& m : s.matchers)
    out.matchers.push_back(m.to_string());
  out.starts_ms = s.starts_ms;
  out.ends_ms = s.ends_ms;
  out.author = s.author;
  out.comment = s.comment;
  return out;
}

silence_spec spec_of(const maintenance_window& w) {
  silence_spec out;
  out.id = w.id;
  for (const auto& m : w.matchers)
    out.matchers.push_back(m.to_string());
  out.weekdays = w.weekdays;
  out.start_minute = w.start_minute;
  out.duration_minutes = w.duration_minutes;
  out.comment = w.comment;
  return out;
}

const std::string& domain_for(correlator_state& st, const anomaly_event& ev,
                              const label_set& labels) {
  if (!st.cfg.correlation.domain_label.empty())
    for (const auto& [k, v] : labels)
      if (k == st.cfg.correlation.domain_label && !v.empty())
        return v;
  return domain_of(st.domains, ev.service);
}

void route(correlator_actor::stateful_pointer<correlator_state> self,
           anomaly_event&& ev) {
  auto& st = self->state;
  // Labels are read from the series text only when something looks at
  // them.
  bool silences = !st.silences.silences().empty()
                  || !st.silences.windows().empty();
  label_set labels;
  if (silences || !st.cfg.correlation.domain_label.empty())
    labels = labels_of(ev);
  bool suppressed = silences && ev.phase != anomaly_phase::recovered
                    && st.silences.suppressed(labels, ev.ts_ms).has_value();
  if (suppressed && st.suppressed)
    st.suppressed->inc();
  auto domain = domain_for(st, ev, labels);
  auto& p = st.partitions[partition_of(domain, st.partitions.size())];
  self->send(p, atom::anomaly_v, std::move(ev), std::move(domain),
             suppressed);
}

// Asks every partition and answers with what `finish` makes of the
// replies; a partition that knows nothing answers not_found, which only
// counts when every partition says so.
template <class Reply, class Out, class Finish, class... Ts>
caf::result<Out>
fan_out(correlator_actor::stateful_pointer<correlator_state> self,
        Finish finish, Ts... xs) {
  auto rp = self->template make_response_promise<Out>();
  auto acc = std::make_shared<gather<Reply>>();
  acc->pending = self->state.partitions.size();
  auto settle = [acc, rp, finish]() mutable {
    if (acc->done || acc->pending > 0)
      return;
    acc->done = true;
    if (acc->values.empty() && acc->first_error)
      rp.deliver(acc->first_error);
    else
      finish(acc->values, rp);
  };
  for (auto& p : self->state.partitions)
    self->request(p, ask_timeout, xs...)
      .then(
        [acc, settle](Reply& x) mutable {
          acc->values.push_back(std::move(x));
          --acc->pending;
          settle();
        },
        [acc, settle](caf::error& err) mutable {
          // A real failure beats "not found".
          bool not_found = err.category() == caf::atom("vigil")
                           && err.code()
                                == static_cast<uint8_t>(errc::not_found);
          bool have_not_found
            = acc->first_error
              && acc->first_error.code()
                   == static_cast<uint8_t>(errc::not_found);
          if (!acc->first_error || (have_not_found && !not_found))
            acc->first_error = std::move(err);
          --acc->pending;
          settle();
        });
  return rp;
}

} // namespace

correlator_actor::behavior_type
correlator(correlator_actor::stateful_pointer<correlator_state> self,
           const correlator_config& cfg) {
  auto& st = self->state;
  st.cfg = cfg;
  st.load = cfg.load;
  st.silences = suppression_set{cfg.suppression.max_silences};
  st.log = std::make_unique<anomaly_log>(cfg.detection.recent_anomalies,
                                         cfg.store);
  if (auto err = st.log->load())
    spdlog::error("correlator: cannot load recent anomalies: {}",
                  self->system().render(err));
  load_silences(st);
  if (cfg.metrics) {
    st.anomalies_kept = &cfg.metrics->counter_(
      "vigil_anomalies_received_total",
      "Anomaly events received by the correlator.");
    st.alerts = &cfg.metrics->counters(
      "vigil_alerts_received_total",
      "Alertmanager alerts received, by alert status.", {"status"});
    st.changes = &cfg.metrics->counter_("vigil_changes_received_total",
                                        "Change events received.");
    st.suppressed = &cfg.metrics->counter_(
      "vigil_anomalies_silenced_total",
      "Anomalies and alerts a silence or maintenance window covered.");
  }
  auto ids = std::make_shared<id_source>();
  ids->next = highest_stored_id(cfg.store.get()) + 1;
  auto count = std::max<uint32_t>(1, cfg.correlation.partitions);
  for (uint32_t i = 0; i < count; ++i) {
    auto p = self->spawn(partition, cfg, i, count, ids);
    self->monitor(p);
    st.partitions.push_back(p);
  }
  // A partition that stops takes the correlator with it: the supervisor
  // restarts the whole, which reloads every incident from storage.
  self->set_down_handler([self](caf::down_msg& msg) {
    spdlog::error("correlator: a partition stopped: {}",
                  self->system().render(msg.reason));
    self->quit(msg.reason ? msg.reason
                          : caf::make_error(errc::internal,
                                            "a correlator partition stopped"));
  });
  return {
    [self](atom::anomaly, anomaly_event& ev) {
      auto& st = self->state;
      auto id = st.log->add(ev);
      ev.id = id;
      if (st.anomalies_kept)
        st.anomalies_kept->inc();
      route(self, std::move(ev));
    },
    [self](atom::ingest, alert_batch& batch) {
      auto& st = self->state;
      if (auto& load = st.load)
        load->release(load->correlator_slot(), batch.alerts.size());
      auto received_ms = batch.received_ns / 1'000'000;
      for (auto& a : batch.alerts) {
        if (st.alerts)
          st.alerts->with({a.status}).inc();
        auto ev = anomaly_of(a, received_ms > 0 ? received_ms : wall_ms(),
                             st.cfg.default_service);
        route(self, std::move(ev));
      }
    },
    [self](atom::ingest, change_batch& batch) {
      auto& st = self->state;
      if (auto& load = st.load)
        load->release(load->correlator_slot(), batch.changes.size());
      if (st.changes)
        st.changes->inc(batch.changes.size());
      for (auto& c : batch.changes) {
        const auto& domain = domain_of(st.domains, c.service);
        // Every partition hears of it: an incident elsewhere may gain the
        // service later, and the ranking wants its changes.
        for (auto& p : st.partitions)
          self->send(p, atom::ingest_v, c, domain);
      }
    },
    [self](atom::query, const anomaly_query& q) {
      return self->state.log->query(q);
    },
    [self](atom::query, const incident_query& q) {
      auto limit = q.limit;
      return fan_out<std::vector<incident_view>, std::vector<incident_view>>(
        self,
        [limit](std::vector<std::vector<incident_view>>& parts,
                caf::typed_response_promise<std::vector<incident_view>>&
                  rp) {
          std::vector<incident_view> all;
          for (auto& xs : parts)
            for (auto& x : xs)
              all.push_back(std::move(x));
          std::sort(all.begin(), all.end(),
                    [](const incident_view& a, const incident_view& b) {
                      return a.id > b.id;
                    });
          if (all.size() > limit)
            all.resize(limit);
          rp.deliver(std::move(all));
        },
        atom::query_v, q);
    },
    [self](atom::get, uint64_t id) {
      return fan_out<incident_view, incident_view>(
        self,
        [](std::vector<incident_view>& xs,
           caf::typed_response_promise<incident_view>& rp) {
          rp.deliver(std::move(xs.front()));
        },
        atom::get_v, id);
    },
    [self](atom::action, const action_view& a) {
      for (auto& p : self->state.partitions)
        self->send(p, atom::action_v, a);
    },
    [self](atom::note, const incident_note& n) {
      for (auto& p : self->state.partitions)
        self->send(p, atom::note_v, n);
    },
    [self](atom::summary, uint64_t id, const std::string& text) {
      for (auto& p : self->state.partitions)
        self->send(p, atom::summary_v, id, text);
    },
    [self](atom::incident, const incident_command& cmd) {
      return fan_out<incident_view, incident_view>(
        self,
        [](std::vector<incident_view>& xs,
           caf::typed_response_promise<incident_view>& rp) {
          rp.deliver(std::move(xs.front()));
        },
        atom::incident_v, cmd);
    },
    [self](atom::silence, atom::get) {
      auto& st = self->state;
      st.silences.expire(wall_ms());
      std::vector<silence_spec> out;
      for (const auto& s : st.silences.silences())
        out.push_back(spec_of(s));
      for (const auto& w : st.silences.windows())
        out.push_back(spec_of(w));
      return out;
    },
    [self](atom::silence, atom::put,
           silence_spec& s) -> caf::result<silence_spec> {
      auto& st = self->state;
      if (s.id.empty()) {
        // Unique across restarts: wall clock plus a counter.
        s.id = "SIL-" + std::to_string(wall_ms()) + "-"
               + std::to_string(++st.silence_seq);
      }
      if (auto r = apply(s, st.silences); !r)
        return r.error();
      if (st.cfg.store)
        if (auto err = st.cfg.store->put(storage::column::silences, s.id,
                                         encode(s), true)) {
          st.silences.remove(s.id);
          return err;
        }
      return s;
    },
    [self](atom::silence, const std::string& id) -> caf::result<bool> {
      auto& st = self->state;
      bool found = st.silences.remove(id);
      if (found && st.cfg.store)
        if (auto err = st.cfg.store->erase(storage::column::silences, id,
                                           true))
          return err;
      return found;
    },
    [self](atom::domains, domain_map& m) {
      auto& st = self->state;
      st.domains_version = m.version;
      st.domains.clear();
      for (const auto& e : m.entries)
        st.domains[e.key] = e.value;
      for (auto& p : st.partitions)
        self->send(p, atom::domains_v, m);
    },
    [self](atom::adopt, std::string& record) {
      auto& st = self->state;
      incident inc;
      if (!decode(record, inc))
        return;
      auto& p = st.partitions[partition_of(inc.domain, st.partitions.size())];
      self->send(p, atom::adopt_v, std::move(record));
    },
  };
}

} // namespace vigil::correlator
