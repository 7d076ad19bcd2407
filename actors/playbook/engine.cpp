#include "actors/playbook/engine.hpp"
#include "messages/labels.hpp"

#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>

#include <caf/actor_registry.hpp>
#include <caf/event_based_actor.hpp>
#include <spdlog/spdlog.h>

#include "messages/errc.hpp"
#include "runtime/clock.hpp"
#include "runtime/codec/series.hpp"
#include "runtime/hash.hpp"
#include "runtime/storage/action_codec.hpp"

namespace vigil::playbooks {

namespace {

using self_ptr = playbook_actor::stateful_pointer<engine_state>;

constexpr size_t max_recent = 1000;
// Notices kept while no notifier is up.
constexpr size_t max_unsent = 10'000;
// Ticks the notices read back from the audit log wait for the correlator
// (their incident's facts) and the notifier before they go as they are.
constexpr uint32_t renotify_patience = 10;
constexpr auto ask_timeout = std::chrono::seconds{10};
// Changes to the playbook directory settle for this long before a reload,
// so an editor's write-rename-delete dance is one reload.
constexpr int64_t watch_settle_ms = 500;
const char* meta_next_action = "actions.next_id";

correlator_actor correlator(self_ptr self) {
  return caf::actor_cast<correlator_actor>(
    self->system().registry().get(self->state.cfg.correlator_key));
}

void announce(self_ptr self, uint64_t incident, const std::string& event,
              const std::string& text, std::string key);

// The notice of a step's new state, and its key: one per step and state.
std::string action_text(const action_view& a) {
  return action_label(a.id) + " " + a.playbook + "/" + a.step + " ("
         + a.action + "): " + a.status
         + (a.reason.empty() ? "" : " - " + a.reason);
}

std::string action_key(const action_view& a) {
  return "action/" + std::to_string(a.id) + "/" + a.status;
}

// What a step is known by to the systems it changes: unique per step
// (action ids are never reused; the start time sets apart a data dir begun
// anew), the same for every retry of it.
std::string idempotency_key(const action_view& a) {
  return "vigil-" + action_label(a.id) + "-" + incident_label(a.incident) + "-"
         + std::to_string(a.started_ms);
}

// An escalation's key: its incident and its words.
std::string escalation_key(uint64_t incident, const std::string& why) {
  hasher h;
  h.add(why);
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx",
                static_cast<unsigned long long>(h.finish()));
  return "escalated/" + std::to_string(incident) + "/" + hex;
}

// Writes one audit record; false when it could not be stored, in which
// case the caller must not act.
bool audit(self_ptr self, const std::string& kind, const action_view& a,
           const std::string& detail = {}) {
  auto& st = self->state;
  if (!st.cfg.audit)
    return true;
  storage::audit_entry e;
  e.kind = kind;
  e.actor = a.by.empty() ? "vigil" : a.by;
  e.incident_id = a.incident;
  e.action_id = a.id;
  e.playbook = a.playbook;
  e.playbook_version = a.playbook_version;
  e.step = a.step;
  e.service = a.service;
  e.action = a.action;
  e.status = a.status;
  e.detail = detail.empty() ? a.reason : detail;
  if (auto r = st.cfg.audit->append(std::move(e)); !r) {
    spdlog::error("playbook engine: cannot write the audit log: {}",
                  render(r.error()));
    return false;
  }
  return true;
}

void remember(self_ptr self, const action_view& a) {
  auto& st = self->state;
  auto it = std::find_if(st.recent.begin(), st.recent.end(),
                         [&](const action_view& x) { return x.id == a.id; });
  if (it != st.recent.end())
    *it = a;
  else
    st.recent.push_back(a);
  while (st.recent.size() > max_recent)
    st.recent.pop_front();
  if (st.actions_total)
    st.actions_total->with({a.action, a.status}).inc();
  if (auto c = correlator(self))
    self->send(c, atom::action_v, a);
  if (a.status != "running")
    announce(self, a.incident, "action", action_text(a), action_key(a));
}

void note(self_ptr self, uint64_t incident, const std::string& service,
          std::string text, const std::string& kind = "action") {
  if (auto c = correlator(self)) {
    incident_note n;
    n.incident = incident;
    // 0: the partition stamps it with its event time, like the actions, so
    // the timeline keeps the order things happened in.
    n.ts_ms = 0;
    n.kind = kind;
    n.service = service;
    n.text = std::move(text);
    self->send(c, atom::note_v, std::move(n));
  }
}

// Hands one notice to the notifier, or keeps it until there is one (the
// notifier of a freshly started control subtree may not be up yet).
void send_notice(self_ptr self, incident_notice n) {
  auto& st = self->state;
  auto notifier = caf::actor_cast<notifier_actor>(
    self->system().registry().get(st.cfg.notifier_key));
  if (!notifier) {
    if (st.unsent.size() >= max_unsent) {
      spdlog::error("{}: no notifier, and {} notices wait already; '{}' "
                    "dropped",
                    incident_label(n.incident), st.unsent.size(), n.event);
      return;
    }
    st.unsent.push_back(std::move(n));
    return;
  }
  auto incident = n.incident;
  auto event = n.event;
  self->request(notifier, ask_timeout, atom::notify_v, std::move(n))
    .then([](uint32_t) {},
          [incident, event](const caf::error& err) {
            spdlog::error("{}: notification '{}' not stored: {}",
                          incident_label(incident), event, render(err));
          });
}

void send_unsent(self_ptr self) {
  auto& st = self->state;
  if (st.unsent.empty()
      || !self->system().registry().get(st.cfg.notifier_key))
    return;
  auto xs = std::move(st.unsent);
  st.unsent.clear();
  for (auto& n : xs)
    send_notice(self, std::move(n));
}

// The facts a notice carries about its incident.
void fill_facts(incident_notice& n, const incident_view& inc) {
  n.severity = inc.severity;
  n.status = inc.status;
  n.type = inc.type;
  n.title = inc.title;
  if (!inc.root_cause.candidates.empty()
      && inc.root_cause.confidence_level != "unknown")
    n.service = inc.root_cause.candidates.front().service;
  else if (!inc.services.empty() && n.service.empty())
    n.service = inc.services.front();
}

// Tells the receivers (through the notifier's outbox) about an incident.
// `key` names the notice (see incident_notice::key).
void announce(self_ptr self, uint64_t incident, const std::string& event,
              const std::string& text, std::string key) {
  auto& st = self->state;
  if (st.cfg.notifier_key == caf::atom(""))
    return;
  auto it = st.announced.find(incident);
  incident_notice n = it != st.announced.end() ? it->second : incident_notice{};
  n.incident = incident;
  n.event = event;
  n.text = text;
  n.ts_ms = wall_ms();
  n.key = std::move(key);
  send_notice(self, std::move(n));
}

// Says again, once the correlator and the notifier are up, the notices of
// what the audit log read back at start holds (each with its key, so the
// notifier stores only those the previous run did not get to).
void renotify(self_ptr self) {
  auto& st = self->state;
  if (st.renotify.empty())
    return;
  auto& reg = self->system().registry();
  bool ready = reg.get(st.cfg.notifier_key) && reg.get(st.cfg.correlator_key);
  if (!ready && ++st.renotify_waits < renotify_patience)
    return;
  auto xs = std::move(st.renotify);
  st.renotify.clear();
  std::map<uint64_t, std::vector<incident_notice>> by_incident;
  for (auto& n : xs)
    by_incident[n.incident].push_back(std::move(n));
  for (auto& [id, ns] : by_incident) {
    auto c = correlator(self);
    if (!c) {
      for (auto& n : ns)
        send_notice(self, std::move(n));
      continue;
    }
    self->request(c, ask_timeout, atom::get_v, id)
      .then(
        [self, ns](incident_view& inc) mutable {
          for (auto& n : ns) {
            fill_facts(n, inc);
            send_notice(self, std::move(n));
          }
        },
        [self, ns](const caf::error&) mutable {
          for (auto& n : ns)
            send_notice(self, std::move(n));
        });
  }
}

// Asks the summarizer (when a language model is configured) to write the
// incident's summary.
void summarize(self_ptr self, uint64_t incident) {
  auto& st = self->state;
  if (st.cfg.summarizer_key == caf::atom(""))
    return;
  auto s = caf::actor_cast<summarizer_actor>(
    self->system().registry().get(st.cfg.summarizer_key));
  if (s)
    self->send(s, atom::summary_v, incident);
}

// Follows an incident's life for the receivers: opened when first seen
// ranked (so the page names the likely cause and the right type; ranking
// follows the opening within a rank interval), acknowledged and resolved
// when a view says so.
void track(self_ptr self, const incident_view& inc) {
  auto& st = self->state;
  if (inc.merged_into != 0)
    return;
  auto it = st.announced.find(inc.id);
  if (it == st.announced.end()
      && (inc.status == "resolved" || inc.root_cause.candidates.empty()))
    return; // never announced and nothing to say yet
  bool fresh = it == st.announced.end();
  auto& n = st.announced[inc.id];
  auto before = fresh ? std::string{} : n.status;
  fill_facts(n, inc);
  // Keyed by incident: a restarted engine (or a new control node) sees
  // every open incident as fresh, and its receivers hear of it once.
  auto id = std::to_string(inc.id);
  if (fresh) {
    announce(self, inc.id, "opened",
             inc.title + ": " + std::to_string(inc.services.size())
               + " services affected",
             "opened/" + id);
    summarize(self, inc.id);
  }
  if (inc.status == "acknowledged" && before != "acknowledged")
    announce(self, inc.id, "acknowledged",
             incident_label(inc.id) + " acknowledged", "acknowledged/" + id);
  if (inc.status == "resolved") {
    announce(self, inc.id, "resolved", incident_label(inc.id) + " resolved",
             "resolved/" + id);
    summarize(self, inc.id);
    st.announced.erase(inc.id);
  }
}

void escalate(self_ptr self, uint64_t incident, const std::string& service,
              const std::string& reason, const std::string& why) {
  auto& st = self->state;
  if (st.escalations)
    st.escalations->with({reason}).inc();
  action_view a;
  a.incident = incident;
  a.service = service;
  a.status = "escalated";
  a.reason = why;
  audit(self, "escalated", a);
  note(self, incident, service, "escalated to a human: " + why,
       "notification");
  announce(self, incident, "escalated", why, escalation_key(incident, why));
  spdlog::warn("{} escalated to a human: {}", incident_label(incident), why);
}

// The step an audit record is about (without its status and reason).
action_view action_of(const storage::audit_entry& e) {
  action_view a;
  a.id = e.action_id;
  a.incident = e.incident_id;
  a.playbook = e.playbook;
  a.playbook_version = e.playbook_version;
  a.step = e.step;
  a.service = e.service;
  a.action = e.action;
  return a;
}

// What the engine did before this start, read back from the audit log (its
// newest `recover_records` records): incidents it already handled are not
// handled again (no second run after a crash); restarts and runs of the
// last hour count against the limits and cooldowns again; a step that
// started and never ended was cut off by the crash, so it is marked
// interrupted, audited and escalated — never run again on its own, since
// it may have taken effect.
void recover(self_ptr self) {
  constexpr size_t recover_records = 100'000;
  constexpr int64_t hour_ms = 3'600'000;
  auto& st = self->state;
  if (!st.cfg.audit)
    return;
  auto xs = st.cfg.audit->tail(recover_records);
  if (!xs) {
    spdlog::error("playbook engine: cannot read the audit log back ({}); "
                  "limits start from zero",
                  render(xs.error()));
    return;
  }
  auto now = wall_ms();
  std::map<uint64_t, storage::audit_entry> open_steps;
  std::set<std::pair<uint64_t, std::string>> runs;
  static const std::set<std::string> handling
    = {"action_started", "action_refused", "run_refused", "escalated",
       "approval_requested", "action_dry_run", "action_finished",
       "action_failed"};
  // What the receivers were told of the last hour: said again below.
  static const std::set<std::string> step_notices
    = {"action_refused", "run_refused",  "approval_requested",
       "action_dry_run", "action_failed", "action_fenced",
       "action_finished", "action_interrupted", "denied",
       "approval_expired"};
  for (auto& e : *xs) {
    if (e.incident_id != 0 && now - e.ts_ms < hour_ms) {
      incident_notice n;
      n.incident = e.incident_id;
      n.ts_ms = e.ts_ms;
      if (e.action_id != 0 && step_notices.count(e.kind)) {
        auto a = action_of(e);
        a.status = e.status;
        a.reason = e.detail;
        n.event = "action";
        n.text = action_text(a);
        n.key = action_key(a);
        st.renotify.push_back(std::move(n));
      } else if (e.kind == "escalated") {
        n.event = "escalated";
        n.text = e.detail;
        n.key = escalation_key(e.incident_id, e.detail);
        st.renotify.push_back(std::move(n));
      }
    }
    // An escalation for an uncertain root cause leaves the incident open
    // to a run once a surer ranking comes; every other handling closes it.
    // So does one that no playbook matched: a later ranking may name
    // another cause (in a cluster, evidence from other nodes arrives in
    // any order).
    if (e.incident_id != 0 && handling.count(e.kind)
        && !(e.kind == "escalated"
             && (e.detail.rfind("root cause confidence is", 0) == 0
                 || e.detail.rfind("no playbook matches", 0) == 0)))
      st.handled.insert(e.incident_id);
    if (e.action_id != 0)
      st.next_action = std::max(st.next_action, e.action_id + 1);
    if (e.kind == "action_started") {
      if (now - e.ts_ms < hour_ms) {
        if (auto kind = parse_action_kind(e.action))
          st.envelope->remember_step(*kind, e.ts_ms);
        if (runs.insert({e.incident_id, e.playbook}).second)
          st.envelope->remember_run(e.playbook, e.service, e.ts_ms);
      }
      open_steps[e.action_id] = e;
    } else if (e.kind == "action_finished" || e.kind == "action_failed"
               || e.kind == "action_interrupted") {
      open_steps.erase(e.action_id);
    }
  }
  for (auto& [id, e] : open_steps) {
    auto a = action_of(e);
    a.status = "failed";
    a.reason = "interrupted: vigil stopped while this step ran; it may or "
               "may not have taken effect, check by hand";
    a.started_ms = e.ts_ms;
    a.ended_ms = now;
    audit(self, "action_interrupted", a);
    remember(self, a);
    escalate(self, a.incident, a.service, "interrupted",
             action_label(id) + " (" + a.action + ") was cut off by a "
               + "restart of vigil; it is not run again on its own");
  }
  if (!open_steps.empty() || !runs.empty())
    spdlog::warn("playbook engine: read back {} runs of the last hour and {} "
                 "interrupted step(s) from the audit log",
                 runs.size(), open_steps.size());
}

uint64_t next_action_id(self_ptr self) {
  auto& st = self->state;
  auto id = st.next_action++;
  if (st.cfg.store)
    // Not synced on its own: the audit record written right after is, and
    // RocksDB's WAL is ordered, so the id is durable before it is used.
    (void) st.cfg.store->put(storage::column::meta, meta_next_action,
                             std::to_string(st.next_action));
  return id;
}

action_view new_action(self_ptr self, const run_state& run,
                       const playbook_step* step, uint64_t id = 0) {
  action_view a;
  a.id = id != 0 ? id : next_action_id(self);
  a.incident = run.incident;
  a.playbook = run.book.name;
  a.playbook_version = run.book.version;
  a.step = step ? step->name : "-";
  a.action = step ? std::string{to_string(step->action)} : "-";
  a.service = run.service;
  a.by = "vigil";
  return a;
}

void finish_run(self_ptr self, run_state& run, const std::string& outcome) {
  auto& st = self->state;
  run.finished = true;
  if (st.runs_total)
    st.runs_total->with({run.book.name, outcome}).inc();
}

void advance(self_ptr self, run_state& run);

// Follows the playbook's on_failure after a failed step or a failed
// verification.
void on_failure(self_ptr self, run_state& run, const std::string& why) {
  switch (run.book.on_failure) {
    case on_failure_policy::continue_:
      if (run.verify_deadline_ms == 0 && run.next_step < run.book.steps.size()) {
        note(self, run.incident, run.service,
             why + "; on_failure is continue, going on");
        advance(self, run);
        return;
      }
      break;
    case on_failure_policy::rollback: {
      if (run.rolling_back)
        break; // an undo failed: a human takes over from here
      // Undo what succeeded, newest first, with each step's declared
      // undo; every undo passes the envelope and the audit log like any
      // step. A step without an undo is named in the escalation.
      std::vector<playbook_step> undo;
      for (auto i = run.succeeded.rbegin(); i != run.succeeded.rend(); ++i) {
        const auto& s = run.book.steps[*i];
        if (s.undo.empty())
          run.not_undone.push_back(s.name);
        else
          undo.push_back(s.undo.front());
      }
      run.rolling_back = true;
      run.rollback_cause = why;
      run.verify_deadline_ms = 0; // nothing left to verify
      run.book.steps = std::move(undo);
      run.next_step = 0;
      note(self, run.incident, run.service,
           why + "; on_failure is rollback: undoing "
             + std::to_string(run.book.steps.size()) + " step(s)");
      advance(self, run);
      return;
    }
    case on_failure_policy::escalate:
      break;
  }
  escalate(self, run.incident, run.service, "failed", why);
  finish_run(self, run, "failed");
}

step_request request_of(const run_state& run, const playbook_step& step,
                        bool approved) {
  step_request r;
  r.book = &run.book;
  r.step = &step;
  r.service = run.service;
  r.incident_type = run.incident_type;
  r.approved = approved;
  if (auto it = step.with.find("factor");
      it != step.with.end() && it->second.type == step_value::kind::number)
    r.scale_factor = it->second.number;
  r.absolute_replicas = step.with.count("replicas") > 0;
  return r;
}

// Fills the step's templates; the error names the variable.
caf::expected<action_job> make_job(self_ptr self, const run_state& run,
                                   const playbook_step& step,
                                   const action_view& a) {
  auto& st = self->state;
  auto it = st.incidents.find(run.incident);
  incident_view inc = it != st.incidents.end() ? it->second : incident_view{};
  inc.id = run.incident;
  inc.type = run.incident_type;
  auto vars = run_variables(inc, run.service);
  action_job job;
  job.action = a;
  job.timeout_ms
    = step.timeout ? step.timeout->count() : st.cfg.remediation.action_timeout.count();
  job.retries = st.cfg.remediation.retries;
  job.backoff_ms = st.cfg.remediation.retry_backoff.count();
  job.env_allow = st.cfg.remediation.shell_env;
  job.allow_hosts = st.cfg.remediation.http_allow_hosts;
  job.kube_server = st.cfg.remediation.kubernetes_api;
  job.kube_token_file = st.cfg.remediation.kubernetes_token_file;
  job.kube_ca_file = st.cfg.remediation.kubernetes_ca_file;
  job.max_scale_factor = st.cfg.remediation.limits.max_scale_factor;
  for (const auto& [key, value] : step.with) {
    switch (value.type) {
      case step_value::kind::string: {
        auto r = render_template(value.text, vars);
        if (!r)
          return r.error();
        job.params.push_back({key, std::move(*r)});
        break;
      }
      case step_value::kind::number: {
        char buf[64];
        std::snprintf(buf, sizeof buf, "%.17g", value.number);
        job.params.push_back({key, buf});
        break;
      }
      case step_value::kind::boolean:
        job.params.push_back({key, value.flag ? "true" : "false"});
        break;
      case step_value::kind::list:
        for (const auto& item : value.items) {
          auto r = render_template(item, vars);
          if (!r)
            return r.error();
          if (key == "argv")
            job.argv.push_back(std::move(*r));
          else
            job.params.push_back({key, std::move(*r)});
        }
        break;
      case step_value::kind::map:
        for (const auto& [k, v] : value.map) {
          auto r = render_template(v, vars);
          if (!r)
            return r.error();
          job.params.push_back({key + "." + k, std::move(*r)});
        }
        break;
    }
  }
  return job;
}

// Stores a pending approval durably; false when it could not be stored
// (then nobody is asked: the step is refused instead).
bool store_pending(self_ptr self, const storage::stored_action& x) {
  auto& st = self->state;
  if (!st.cfg.store)
    return true;
  if (auto err = st.cfg.store->put(storage::column::approvals,
                                   storage::big_endian_key(x.view.id),
                                   encode(x), true)) {
    spdlog::error("playbook engine: cannot store approval {}: {}",
                  action_label(x.view.id), render(err));
    return false;
  }
  return true;
}

void drop_pending(self_ptr self, uint64_t id) {
  auto& st = self->state;
  if (st.cfg.store)
    if (auto err = st.cfg.store->erase(storage::column::approvals,
                                       storage::big_endian_key(id), true))
      spdlog::error("playbook engine: cannot remove approval {}: {}",
                    action_label(id), render(err));
}

// Runs the next step of `run`, or starts verification after the last.
void advance(self_ptr self, run_state& run) {
  auto& st = self->state;
  while (!run.finished && run.current == 0 && !run.waiting) {
    if (run.next_step >= run.book.steps.size() && run.rolling_back) {
      std::string text = "rolled back after: " + run.rollback_cause;
      if (!run.not_undone.empty()) {
        text += "; no undo declared for";
        for (const auto& n : run.not_undone)
          text += " " + n;
      }
      escalate(self, run.incident, run.service, "rolled_back", text);
      finish_run(self, run, "rolled_back");
      return;
    }
    if (run.next_step >= run.book.steps.size()) {
      if (run.only_dry) {
        note(self, run.incident, run.service,
             "playbook " + run.book.name
               + " finished as a dry run; nothing was changed");
        escalate(self, run.incident, run.service, "dry_run",
                 "playbook " + run.book.name
                   + " only recorded its steps (dry run)");
        finish_run(self, run, "dry_run");
        return;
      }
      run.verify_deadline_ms = wall_ms() + run.book.verify_within.count();
      note(self, run.incident, run.service,
           "playbook " + run.book.name + " done; waiting up to "
             + std::to_string(run.book.verify_within.count() / 1000)
             + "s for recovery");
      return;
    }
    const auto& step = run.book.steps[run.next_step];
    bool approved = run.approved_action != 0;
    auto req = request_of(run, step, approved);
    // The control node whose lease lapsed for a moment (a slow heartbeat
    // under load) keeps the step waiting; it runs once the lease is back,
    // or is refused below if another node took over meanwhile.
    if (st.cfg.fence && st.cfg.in_charge && st.cfg.in_charge()
        && !st.cfg.fence().empty()) {
      run.waiting = true;
      return;
    }
    auto v = st.envelope->admit_step(req, wall_ms());
    if (v.kind == verdict_kind::wait) {
      run.waiting = true;
      return;
    }
    // An approved step keeps its id; the approver is who decided.
    auto a = new_action(self, run, &step, run.approved_action);
    if (approved) {
      a.by = run.approved_by;
      run.approved_action = 0;
    }
    a.reason = v.reason;
    switch (v.kind) {
      case verdict_kind::refused_limit:
        a.status = "refused_limit";
        audit(self, "action_refused", a);
        remember(self, a);
        escalate(self, run.incident, run.service, "refused", v.reason);
        finish_run(self, run, "refused");
        return;
      case verdict_kind::needs_approval: {
        a.status = "pending_approval";
        storage::stored_action x;
        x.view = a;
        x.requested_ms = wall_ms();
        x.expires_ms
          = x.requested_ms + st.cfg.remediation.approval_timeout.count();
        x.incident_type = run.incident_type;
        x.step_index = run.next_step;
        // Stored and audited before anyone is asked.
        if (!store_pending(self, x)
            || !audit(self, "approval_requested", a)) {
          drop_pending(self, a.id);
          a.status = "refused_limit";
          a.reason = "the approval could not be stored, so nobody was "
                     "asked";
          remember(self, a);
          escalate(self, run.incident, run.service, "audit", a.reason);
          finish_run(self, run, "failed");
          return;
        }
        st.approvals.request(std::move(x));
        remember(self, a);
        run.current = a.id;
        escalate(self, run.incident, run.service, "approval",
                 action_label(a.id) + " (" + a.action + " " + a.step
                   + ") needs approval");
        return;
      }
      case verdict_kind::dry_run:
        a.status = "dry_run";
        a.started_ms = a.ended_ms = wall_ms();
        audit(self, "action_dry_run", a);
        remember(self, a);
        ++run.next_step;
        continue;
      case verdict_kind::run:
      case verdict_kind::wait:
        break;
    }
    auto job = make_job(self, run, step, a);
    if (!job) {
      a.status = "failed";
      a.reason = "cannot fill the step's templates: " + render(job.error());
      audit(self, "action_failed", a);
      remember(self, a);
      ++run.next_step;
      on_failure(self, run, a.reason);
      return;
    }
    if (st.cfg.fence) {
      // In a cluster only the control node acts, and only while it knows
      // it still is one (its lease); a node that was paused or cut off
      // leaves the step to the node that took over. Nothing is escalated
      // from here: that node owns the incident now.
      if (auto why = st.cfg.fence(); !why.empty()) {
        a.status = "refused";
        a.reason = "fenced: " + why;
        a.ended_ms = wall_ms();
        audit(self, "action_fenced", a);
        remember(self, a);
        finish_run(self, run, "fenced");
        return;
      }
    }
    a.status = "running";
    a.started_ms = wall_ms();
    a.epoch = st.cfg.epoch ? st.cfg.epoch() : 0;
    a.idempotency_key = idempotency_key(a);
    job->action = a;
    // Audit before acting: no record, no action. The record names the
    // epoch and key the step runs with.
    if (!audit(self, "action_started", a,
               (a.reason.empty() ? std::string{} : a.reason + "; ")
                 + "epoch " + std::to_string(a.epoch) + ", idempotency key "
                 + a.idempotency_key)) {
      a.status = "failed";
      a.reason = "the audit log cannot be written, so nothing was run";
      remember(self, a);
      escalate(self, run.incident, run.service, "audit", a.reason);
      finish_run(self, run, "failed");
      return;
    }
    // In a cluster the record must outlive this node before the step
    // runs: otherwise a failover right now would not know it ran.
    if (st.cfg.held && !st.cfg.held()) {
      a.status = "failed";
      a.reason = "the audit record was not confirmed by another cluster "
                 "member within 2 s, so nothing was run";
      a.ended_ms = wall_ms();
      audit(self, "action_failed", a);
      remember(self, a);
      escalate(self, run.incident, run.service, "replication", a.reason);
      finish_run(self, run, "failed");
      return;
    }
    st.envelope->step_started(req, wall_ms());
    run.only_dry = false;
    run.current = a.id;
    st.in_flight[a.id] = a;
    remember(self, a);
    auto exec = st.cfg.spawn_executor(self, std::move(*job),
                                      caf::actor_cast<playbook_actor>(self));
    if (!exec) {
      // The factory could not start anything: the step failed.
      action_view failed = a;
      failed.status = "failed";
      failed.reason = "no executor could be started";
      failed.ended_ms = wall_ms();
      self->send(self, atom::done_v, failed);
    } else {
      // An executor that dies without answering fails its step (down
      // handler below).
      st.executors[exec.address()] = a.id;
      self->monitor(exec);
    }
    return;
  }
}

// Starts a run for a newly ranked incident, or escalates.
void consider(self_ptr self, const incident_view& inc) {
  auto& st = self->state;
  if (st.handled.count(inc.id) || inc.status != "open"
      || inc.merged_into != 0)
    return;
  const auto& rc = inc.root_cause;
  if (rc.candidates.empty())
    return; // not ranked yet
  const auto& service = rc.candidates.front().service;
  bool sure_enough
    = rc.confidence_level == "high"
      || (rc.confidence_level == "medium"
          && st.cfg.remediation.min_confidence != "high");
  if (!sure_enough) {
    // Acting on a guess is worse than waking someone; a later, surer
    // ranking may still start a run.
    if (st.told_uncertain.insert(inc.id).second)
      escalate(self, inc.id, service, "uncertain",
               "root cause confidence is " + rc.confidence_level
                 + " (below remediation.min_confidence "
                 + st.cfg.remediation.min_confidence
                 + "); no automatic action");
    return;
  }
  if (!st.cfg.remediation.enabled) {
    st.handled.insert(inc.id);
    escalate(self, inc.id, service, "disabled",
             "remediation is disabled (remediation.enabled: false)");
    return;
  }
  const playbook* book = nullptr;
  for (const auto& p : st.books)
    if (matches(p, inc.type, service, static_cast<int>(inc.severity),
                incident_labels(inc, service))) {
      book = &p;
      break;
    }
  if (!book) {
    // Escalated once per cause; a later ranking that names another cause
    // (or type) is considered again.
    auto cause = inc.type + "\x1f" + service;
    auto& told = st.told_no_match[inc.id];
    if (told != cause) {
      told = cause;
      escalate(self, inc.id, service, "no_playbook",
               "no playbook matches a " + inc.type + " incident in "
                 + service);
    }
    return;
  }
  st.handled.insert(inc.id);
  st.told_no_match.erase(inc.id);
  run_state run;
  run.incident = inc.id;
  run.book = *book;
  run.service = service;
  run.incident_type = inc.type;
  auto v = st.envelope->admit_run(run.book, service, wall_ms());
  if (v.kind != verdict_kind::run) {
    auto a = new_action(self, run, nullptr);
    a.status = "refused_limit";
    a.reason = v.reason;
    audit(self, "run_refused", a);
    remember(self, a);
    escalate(self, inc.id, service, "refused", v.reason);
    if (st.runs_total)
      st.runs_total->with({run.book.name, "refused"}).inc();
    return;
  }
  st.envelope->run_started(run.book, service, wall_ms());
  note(self, inc.id, service,
       "playbook " + run.book.name + " (version " + run.book.version
         + ") matched; autonomy "
         + std::to_string(st.envelope->effective_autonomy(run.book, service)));
  auto [it, _] = st.runs.emplace(inc.id, std::move(run));
  advance(self, it->second);
}

bool recovered(const incident_view& inc) {
  if (inc.status == "resolved" || inc.status == "mitigated")
    return true;
  if (inc.symptoms.empty())
    return false;
  return std::all_of(inc.symptoms.begin(), inc.symptoms.end(),
                     [](const incident_symptom& s) { return s.recovered; });
}

void verified(self_ptr self, run_state& run) {
  auto& st = self->state;
  finish_run(self, run, "succeeded");
  note(self, run.incident, run.service,
       "recovery verified after playbook " + run.book.name);
  auto c = correlator(self);
  if (!c)
    return;
  auto id = run.incident;
  for (const char* to : {"mitigated", "resolved"}) {
    incident_command cmd;
    cmd.id = id;
    cmd.to = to;
    cmd.by = "vigil";
    cmd.comment = "recovery verified after playbook " + run.book.name;
    // 0: at the partition's event time, like the rest of the timeline.
    cmd.now_ms = 0;
    self->request(c, ask_timeout, atom::incident_v, std::move(cmd))
      .then([](const incident_view&) {},
            [id, to](const caf::error& err) {
              // A person may have moved it already; that is fine.
              spdlog::info("{}: not marked {}: {}", incident_label(id), to,
                           render(err));
            });
  }
  (void) st;
}

void drop_finished(engine_state& st) {
  for (auto it = st.runs.begin(); it != st.runs.end();)
    if (it->second.finished)
      it = st.runs.erase(it);
    else
      ++it;
}

void resume_waiting(self_ptr self) {
  auto& st = self->state;
  for (auto& [id, run] : st.runs)
    if (run.waiting && !run.finished) {
      run.waiting = false;
      advance(self, run);
      if (run.waiting)
        break; // still no slot: keep the order
    }
}

void open_watch(engine_state& st) {
  if (!st.cfg.remediation.watch_playbooks || st.cfg.dir.empty())
    return;
  st.watch_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (st.watch_fd < 0) {
    spdlog::warn("playbook engine: no inotify ({}); reload with SIGHUP or "
                 "the API",
                 std::strerror(errno));
    return;
  }
  if (inotify_add_watch(st.watch_fd, st.cfg.dir.c_str(),
                        IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM
                          | IN_DELETE | IN_CREATE)
      < 0) {
    spdlog::warn("playbook engine: cannot watch {} ({}); reload with SIGHUP "
                 "or the API",
                 st.cfg.dir, std::strerror(errno));
    ::close(st.watch_fd);
    st.watch_fd = -1;
  }
}

// Whether the directory changed since the last call (drains the events).
bool dir_changed(engine_state& st) {
  if (st.watch_fd < 0)
    return false;
  bool any = false;
  alignas(inotify_event) char buf[4096];
  for (;;) {
    auto n = ::read(st.watch_fd, buf, sizeof buf);
    if (n <= 0)
      break;
    any = true;
  }
  return any;
}

// Ends a step that will not run (denied, expired, or its playbook is gone)
// and escalates.
void end_unapproved(self_ptr self, action_view a, const std::string& kind,
                    const std::string& why) {
  auto& st = self->state;
  if (a.ended_ms == 0)
    a.ended_ms = wall_ms();
  audit(self, kind, a);
  remember(self, a);
  if (auto it = st.runs.find(a.incident); it != st.runs.end()) {
    it->second.current = 0;
    finish_run(self, it->second, a.status);
  }
  escalate(self, a.incident, a.service, a.status, why);
}

caf::result<action_view> decide(self_ptr self, const approval_decision& d) {
  auto& st = self->state;
  auto x = st.approvals.decide(d.action, d.approve, d.by, d.comment,
                               wall_ms());
  if (!x)
    return x.error();
  drop_pending(self, d.action);
  auto a = x->view;
  if (!d.approve) {
    end_unapproved(self, a, "denied",
                   action_label(a.id) + " denied by " + d.by
                     + (d.comment.empty() ? "" : ": " + d.comment));
    return a;
  }
  audit(self, "approved", a);
  // The run may be gone (a restart): rebuild it from the stored request,
  // but only under the very playbook version that was approved.
  auto it = st.runs.find(a.incident);
  if (it == st.runs.end()) {
    const playbook* book = nullptr;
    for (const auto& p : st.books)
      if (p.name == a.playbook && p.version == a.playbook_version)
        book = &p;
    if (!book || x->step_index >= book->steps.size()) {
      a.status = "expired";
      a.reason = "playbook " + a.playbook + " changed since the request";
      end_unapproved(self, a, "approval_expired",
                     action_label(a.id) + ": " + a.reason + "; ask again");
      return a;
    }
    run_state run;
    run.incident = a.incident;
    run.book = *book;
    run.service = a.service;
    run.incident_type = x->incident_type;
    run.next_step = x->step_index;
    it = st.runs.emplace(a.incident, std::move(run)).first;
  }
  auto& run = it->second;
  run.current = 0;
  run.approved_action = a.id;
  run.approved_by = d.by;
  advance(self, run);
  // The step as it stands now (running, refused by a limit, ...).
  for (auto r = st.recent.rbegin(); r != st.recent.rend(); ++r)
    if (r->id == a.id)
      return *r;
  return a;
}

void expire_approvals(self_ptr self) {
  auto& st = self->state;
  for (auto& x : st.approvals.expire(wall_ms())) {
    drop_pending(self, x.view.id);
    end_unapproved(self, x.view, "approval_expired",
                   action_label(x.view.id)
                     + ": nobody approved it in time; a human must decide "
                       "what to do");
  }
}

reload_report reload(self_ptr self, const std::string& by) {
  auto& st = self->state;
  auto loaded = load_playbooks(st.cfg.dir);
  if (!loaded.ok()) {
    reload_report r;
    for (const auto& e : loaded.errors)
      r.errors.push_back(e.to_string());
    action_view a;
    a.by = by;
    audit(self, "playbooks_refused", a,
          std::to_string(r.errors.size()) + " errors; kept the old set");
    spdlog::error("playbook reload refused, keeping the old set:\n{}",
                  loaded.message());
    return r;
  }
  auto r = diff_sets(st.books, loaded.playbooks);
  for (const auto& p : loaded.playbooks)
    if (std::find(r.added.begin(), r.added.end(), p.name) != r.added.end()
        || std::find(r.changed.begin(), r.changed.end(), p.name)
             != r.changed.end()) {
      action_view a;
      a.playbook = p.name;
      a.playbook_version = p.version;
      a.by = by;
      audit(self, "playbook_loaded", a, p.file);
    }
  for (const auto& name : r.removed) {
    action_view a;
    a.playbook = name;
    a.by = by;
    audit(self, "playbook_removed", a);
  }
  st.books = std::move(loaded.playbooks);
  spdlog::info("playbooks reloaded: {} added, {} changed, {} removed, {} "
               "unchanged",
               r.added.size(), r.changed.size(), r.removed.size(),
               r.unchanged);
  return r;
}

} // namespace

engine_state::~engine_state() {
  if (watch_fd >= 0)
    ::close(watch_fd);
}

playbook_info info_of(const playbook& p) {
  playbook_info x;
  x.name = p.name;
  x.description = p.description;
  x.file = p.file;
  x.version = p.version;
  x.autonomy = static_cast<uint32_t>(p.autonomy);
  x.requires_approval = p.requires_approval;
  x.dry_run = p.dry_run;
  x.incident_types = p.incident_types;
  x.services = p.services;
  x.min_severity = static_cast<uint32_t>(p.min_severity);
  for (const auto& s : p.steps)
    x.steps.push_back(s.name + " (" + std::string{to_string(s.action)} + ")");
  return x;
}

reload_report diff_sets(const std::vector<playbook>& before,
                        const std::vector<playbook>& after) {
  reload_report r;
  r.ok = true;
  std::map<std::string, std::string> old;
  for (const auto& p : before)
    old[p.name] = p.version;
  for (const auto& p : after) {
    auto it = old.find(p.name);
    if (it == old.end())
      r.added.push_back(p.name);
    else if (it->second != p.version)
      r.changed.push_back(p.name);
    else
      ++r.unchanged;
    if (it != old.end())
      old.erase(it);
  }
  for (const auto& [name, _] : old)
    r.removed.push_back(name);
  return r;
}

std::map<std::string, std::string> incident_labels(const incident_view& inc,
                                                   const std::string& service) {
  std::map<std::string, std::string> common;
  bool first = true;
  for (const auto& s : inc.symptoms) {
    if (s.service != service)
      continue;
    std::map<std::string, std::string> mine;
    for (auto& [k, v] : codec::series_labels(s.series))
      mine.emplace(std::move(k), std::move(v));
    if (first) {
      common = std::move(mine);
      first = false;
      continue;
    }
    for (auto it = common.begin(); it != common.end();) {
      auto m = mine.find(it->first);
      it = m == mine.end() || m->second != it->second ? common.erase(it)
                                                      : std::next(it);
    }
  }
  return common;
}

std::map<std::string, std::string> run_variables(const incident_view& inc,
                                                 const std::string& service) {
  auto labels = incident_labels(inc, service);
  std::map<std::string, std::string> vars{
    {"service", service},
    {"incident.id", incident_label(inc.id)},
    {"incident.type", inc.type},
    {"incident.severity", std::to_string(inc.severity)},
    {"incident.title", inc.title}};
  // The Kubernetes namespace: the label the series carry, else "default".
  std::string ns = "default";
  for (const char* key : {"namespace", "k8s_namespace_name", "kubernetes_namespace"})
    if (auto it = labels.find(key); it != labels.end() && !it->second.empty()) {
      ns = it->second;
      break;
    }
  vars["namespace"] = ns;
  for (auto& [k, v] : labels)
    vars["labels." + k] = v;
  return vars;
}

playbook_actor::behavior_type
engine(playbook_actor::stateful_pointer<engine_state> self,
       engine_config cfg) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  st.books = st.cfg.initial;
  st.envelope = std::make_unique<safety_envelope>(st.cfg.remediation);
  if (st.cfg.metrics) {
    st.actions_total = &st.cfg.metrics->counters(
      "vigil_actions_total", "Playbook steps by action and final status.",
      {"action", "status"});
    st.runs_total = &st.cfg.metrics->counters(
      "vigil_playbook_runs_total", "Playbook runs by outcome.",
      {"playbook", "outcome"});
    st.escalations = &st.cfg.metrics->counters(
      "vigil_escalations_total", "Incidents handed to a human, by reason.",
      {"reason"});
  }
  if (st.cfg.store) {
    if (auto v = st.cfg.store->get(storage::column::meta, meta_next_action);
        v && *v)
      st.next_action = std::max<uint64_t>(1, std::strtoull((*v)->c_str(),
                                                           nullptr, 10));
    // Pending approvals survive a restart.
    (void) st.cfg.store->scan(storage::column::approvals, "",
                              [&](std::string_view, std::string_view bytes) {
                                storage::stored_action x;
                                if (decode(bytes, x)) {
                                  st.handled.insert(x.view.incident);
                                  st.next_action = std::max(
                                    st.next_action, x.view.id + 1);
                                  st.approvals.restore(std::move(x));
                                }
                                return true;
                              });
  }
  recover(self);
  for (const auto& p : st.books) {
    action_view a;
    a.playbook = p.name;
    a.playbook_version = p.version;
    audit(self, "playbook_loaded", a, p.file);
  }
  open_watch(st);
  self->set_down_handler([self](caf::down_msg& msg) {
    auto& st = self->state;
    auto it = st.executors.find(msg.source);
    if (it == st.executors.end())
      return;
    auto id = it->second;
    st.executors.erase(it);
    auto fl = st.in_flight.find(id);
    if (fl == st.in_flight.end())
      return; // it answered first
    auto a = fl->second;
    a.status = "failed";
    a.reason = "the executor stopped without an answer: "
               + self->system().render(msg.reason);
    a.ended_ms = wall_ms();
    self->send(self, atom::done_v, std::move(a));
  });
  self->send(self, atom::tick_v);
  return {
    [self](atom::incident, incident_view& inc) {
      auto& st = self->state;
      auto id = inc.id;
      track(self, inc);
      st.incidents[id] = inc;
      auto it = st.runs.find(id);
      if (it == st.runs.end()) {
        consider(self, st.incidents[id]);
      } else if (auto& run = it->second;
                 run.verify_deadline_ms > 0 && !run.finished
                 && recovered(inc)) {
        verified(self, run);
      }
      drop_finished(st);
      // Views of incidents nobody acts on are not kept.
      if (!st.runs.count(id))
        st.incidents.erase(id);
    },
    [self](atom::done, action_view& a) {
      auto& st = self->state;
      auto fl = st.in_flight.find(a.id);
      if (fl == st.in_flight.end())
        return; // already failed by a down message
      st.in_flight.erase(fl);
      st.envelope->step_finished();
      if (a.ended_ms == 0)
        a.ended_ms = wall_ms();
      audit(self, "action_finished", a);
      remember(self, a);
      auto it = st.runs.find(a.incident);
      if (it != st.runs.end() && it->second.current == a.id) {
        auto& run = it->second;
        run.current = 0;
        if (a.status == "succeeded" && !run.rolling_back)
          run.succeeded.push_back(run.next_step);
        ++run.next_step;
        if (a.status == "succeeded")
          advance(self, run);
        else
          on_failure(self, run,
                     action_label(a.id) + " " + a.step + " " + a.status
                       + (a.reason.empty() ? "" : ": " + a.reason));
      }
      resume_waiting(self);
      drop_finished(st);
    },
    [self](atom::list) {
      std::vector<playbook_info> out;
      for (const auto& p : self->state.books)
        out.push_back(info_of(p));
      return out;
    },
    [self](atom::reload) { return reload(self, "api"); },
    [self](atom::configure, bool on, const std::string& by) {
      auto& st = self->state;
      st.envelope->set_kill_switch(on);
      action_view a;
      a.by = by;
      a.status = on ? "on" : "off";
      audit(self, "kill_switch", a,
            on ? "every action is refused until released"
               : "actions allowed again within the limits");
      spdlog::warn("kill switch {} by {}", on ? "thrown" : "released", by);
      return st.envelope->kill_switch();
    },
    [self](atom::approval) {
      std::vector<action_view> out;
      for (const auto& [id, x] : self->state.approvals.pending())
        out.push_back(x.view);
      return out;
    },
    [self](atom::approval,
           const approval_decision& d) -> caf::result<action_view> {
      return decide(self, d);
    },
    [self](atom::action, atom::get, uint32_t limit) {
      auto& st = self->state;
      std::vector<action_view> out;
      for (auto it = st.recent.rbegin();
           it != st.recent.rend() && out.size() < limit; ++it)
        out.push_back(*it);
      return out;
    },
    [self](atom::tick) {
      auto& st = self->state;
      auto now = wall_ms();
      for (auto& [id, run] : st.runs)
        if (!run.finished && run.verify_deadline_ms > 0
            && now > run.verify_deadline_ms)
          on_failure(self, run,
                     "no recovery within "
                       + std::to_string(run.book.verify_within.count() / 1000)
                       + "s of playbook " + run.book.name);
      expire_approvals(self);
      if (dir_changed(st))
        st.dir_changed_ms = now;
      if (st.dir_changed_ms > 0 && now - st.dir_changed_ms >= watch_settle_ms) {
        st.dir_changed_ms = 0;
        reload(self, "watch");
      }
      resume_waiting(self);
      drop_finished(st);
      send_unsent(self);
      renotify(self);
      self->delayed_send(self, st.cfg.tick, atom::tick_v);
    },
  };
}

} // namespace vigil::playbooks
