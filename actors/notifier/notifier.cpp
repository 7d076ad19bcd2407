#include "actors/notifier/notifier.hpp"
#include "messages/labels.hpp"

#include <algorithm>
#include <limits>
#include <cctype>
#include <optional>
#include <set>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include <curl/curl.h>
#include <spdlog/spdlog.h>

#include "messages/errc.hpp"
#include "runtime/clock.hpp"

namespace vigil::notifier {

namespace {

// Per delivery pass and receiver, so one busy receiver cannot starve the
// others or the mailbox.
constexpr int max_per_pass = 256;
constexpr int64_t hour_ms = 3'600'000;
// How long a notice's key keeps a second one with the same key out: far
// longer than an engine reads its audit log back (an hour).
constexpr int64_t remember_notices_ms = 7 * 24 * hour_ms;

std::string trim(std::string s) {
  auto not_space = [](unsigned char c) { return !std::isspace(c); };
  s.erase(s.begin(), std::find_if(s.begin(), s.end(), not_space));
  s.erase(std::find_if(s.rbegin(), s.rend(), not_space).base(), s.end());
  return s;
}

std::optional<event_kind> event_named(std::string_view name) {
  for (auto k : {event_kind::opened, event_kind::escalated, event_kind::action,
                 event_kind::acknowledged, event_kind::resolved})
    if (to_string(k) == name)
      return k;
  return std::nullopt;
}

size_t discard(char*, size_t size, size_t n, void*) {
  return size * n;
}

struct outcome {
  bool ok = false;
  /// Worth trying again (network, 5xx, 429); else dropped.
  bool retry = false;
  std::string error;
};

outcome perform(CURL* h, const http_request& req, int64_t timeout_ms) {
  curl_easy_reset(h);
  curl_slist* headers = nullptr;
  for (const auto& [k, v] : req.headers)
    headers = curl_slist_append(headers, (k + ": " + v).c_str());
  curl_easy_setopt(h, CURLOPT_URL, req.url.c_str());
  curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req.method.c_str());
  curl_easy_setopt(h, CURLOPT_POSTFIELDS, req.body.c_str());
  curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, static_cast<long>(req.body.size()));
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout_ms));
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
  auto rc = curl_easy_perform(h);
  curl_slist_free_all(headers);
  outcome out;
  if (rc != CURLE_OK) {
    out.retry = true;
    out.error = curl_easy_strerror(rc);
    return out;
  }
  long code = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
  if (code >= 200 && code < 300) {
    out.ok = true;
    return out;
  }
  out.error = "HTTP " + std::to_string(code);
  // A request the receiver refuses as malformed will never pass: dropped
  // and counted rather than retried for a day. Auth errors may be fixed by
  // an operator, so they are retried.
  out.retry = code >= 500 || code == 429 || code == 401 || code == 403
              || code == 404 || code == 408;
  return out;
}

http_request request_for(const receiver& r, const notification& n) {
  switch (r.kind) {
    case receiver_kind::webhook:
      return webhook_request(n, r.rule.url, r.rule.name, r.key);
    case receiver_kind::slack:
      return slack_request(n, r.rule.url);
    case receiver_kind::pagerduty:
      return pagerduty_request(n, r.rule.url, r.key);
    case receiver_kind::opsgenie:
      return opsgenie_request(n, r.rule.url, r.key);
  }
  return {};
}

bool foldable(const outbox_entry& e) {
  return e.note.event == event_kind::action
         || e.note.event == event_kind::escalated;
}

void deliver(notifier_state& st) {
  auto now = wall_ms();
  const auto& o = st.cfg.opts;
  while (!st.unreplicated.empty() && st.cfg.held
         && st.cfg.held(st.unreplicated.front().second))
    st.unreplicated.pop_front();
  auto blocked_from = st.unreplicated.empty()
                        ? std::numeric_limits<uint64_t>::max()
                        : st.unreplicated.front().first;
  for (auto& lr : st.receivers) {
    // Token bucket: rate_per_minute, bursts up to a second's worth (at
    // least one).
    double rate = o.rate_per_minute / 60'000.0; // per ms
    double burst = std::max(1.0, o.rate_per_minute / 60.0);
    lr.tokens = std::min(burst, lr.tokens + (now - lr.refilled_ms) * rate);
    lr.refilled_ms = now;
    for (int i = 0; i < max_per_pass; ++i) {
      auto* e = st.box->head(lr.r.rule.name);
      if (!e || e->next_ms > now || e->seq >= blocked_from)
        break;
      auto label = lr.r.rule.name;
      if (now - e->note.ts_ms > o.max_age.count()) {
        spdlog::error("notifier {}: dropping {} {} after {} attempts: too "
                      "old (last error: {})",
                      label, e->note.incident_id, to_string(e->note.event),
                      e->attempts, e->last_error);
        if (st.sent)
          st.sent->with({label, "expired"}).inc();
        st.box->remove(e->seq);
        continue;
      }
      // A storm at a chat receiver: fold the run of action and escalation
      // notices at the head into one digest (pagers dedup by key).
      std::vector<outbox_entry*> run;
      bool chat = lr.r.kind == receiver_kind::webhook
                  || lr.r.kind == receiver_kind::slack;
      if (chat && o.digest_after > 0
          && st.box->pending(lr.r.rule.name) > o.digest_after && foldable(*e))
        run = st.box->run_from_head(lr.r.rule.name, now, 100,
                                    [blocked_from](const outbox_entry& x) {
                                      return x.seq < blocked_from
                                             && foldable(x);
                                    });
      std::optional<notification> digest;
      if (run.size() >= 2)
        digest = make_digest({run.begin(), run.end()}, st.cfg.node);
      else
        run.clear();
      auto req = request_for(lr.r, digest ? *digest : e->note);
      if (req.url.empty()) {
        // Nothing this receiver wants to hear (e.g. a step for a pager).
        st.box->remove(e->seq);
        continue;
      }
      if (lr.tokens < 1)
        break;
      lr.tokens -= 1;
      auto res = perform(static_cast<CURL*>(lr.curl), req, o.timeout.count());
      if (res.ok) {
        if (st.sent) {
          st.sent->with({label, "delivered"}).inc();
          if (!run.empty())
            st.sent->with({label, "digested"}).inc(run.size());
        }
        if (run.empty()) {
          st.box->remove(e->seq);
        } else {
          std::vector<uint64_t> seqs;
          for (auto* x : run)
            seqs.push_back(x->seq);
          for (auto seq : seqs)
            st.box->remove(seq);
        }
        continue;
      }
      if (!res.retry) {
        spdlog::error("notifier {}: {} {} refused ({}); dropped", label,
                      e->note.incident_id, to_string(e->note.event),
                      res.error);
        if (st.sent)
          st.sent->with({label, "refused"}).inc();
        st.box->remove(e->seq);
        continue;
      }
      if (st.sent)
        st.sent->with({label, "retried"}).inc();
      if (e->attempts == 0)
        spdlog::warn("notifier {}: {} failed ({}); retrying with backoff",
                     label, e->note.incident_id, res.error);
      auto delay = backoff_ms(e->attempts, o.retry_initial.count(),
                              o.retry_max.count());
      st.box->retry(e->seq, now + delay, res.error);
      // In order per receiver: nothing behind it goes first.
      break;
    }
  }
  if (st.pending)
    st.pending->set(static_cast<double>(st.box->size()));
}

} // namespace

caf::expected<std::vector<receiver>>
make_receivers(const notifier_options& opts) {
  std::vector<receiver> out;
  for (const auto& text : opts.receivers) {
    auto rule = parse_receiver(text);
    if (!rule)
      return rule.error();
    receiver r;
    r.rule = std::move(*rule);
    if (r.rule.kind == "webhook")
      r.kind = receiver_kind::webhook;
    else if (r.rule.kind == "slack")
      r.kind = receiver_kind::slack;
    else if (r.rule.kind == "pagerduty")
      r.kind = receiver_kind::pagerduty;
    else
      r.kind = receiver_kind::opsgenie;
    if (!r.rule.key_file.empty()) {
      std::ifstream in{r.rule.key_file};
      if (!in)
        return caf::make_error(errc::invalid_config,
                               "notifiers.receivers: " + r.rule.name
                                 + ": cannot read key_file "
                                 + r.rule.key_file);
      std::stringstream ss;
      ss << in.rdbuf();
      r.key = trim(ss.str());
    } else if (!r.rule.key_env.empty()) {
      const char* v = std::getenv(r.rule.key_env.c_str());
      r.key = v ? trim(v) : std::string{};
    }
    if (r.key.empty() && (r.kind == receiver_kind::pagerduty
                          || r.kind == receiver_kind::opsgenie
                          || !r.rule.key_file.empty()
                          || !r.rule.key_env.empty()))
      return caf::make_error(errc::invalid_config,
                             "notifiers.receivers: " + r.rule.name
                               + ": the key is empty ("
                               + (r.rule.key_file.empty()
                                    ? "variable " + r.rule.key_env
                                    : "file " + r.rule.key_file)
                               + ")");
    for (const auto& other : out)
      if (other.rule.name == r.rule.name)
        return caf::make_error(errc::invalid_config,
                               "notifiers.receivers: the name "
                                 + r.rule.name + " is used twice");
    out.push_back(std::move(r));
  }
  return out;
}

bool routes_to(const receiver& r, const notification& n) {
  // Resolutions and acknowledgements go wherever the incident went, or a
  // page would stay open; the severity filter only gates new noise.
  bool closing = n.event == event_kind::resolved
                 || n.event == event_kind::acknowledged;
  if (!closing && n.severity < r.rule.min_severity)
    return false;
  if (!r.rule.events.empty()
      && std::find(r.rule.events.begin(), r.rule.events.end(),
                   to_string(n.event))
           == r.rule.events.end())
    return false;
  if (!r.rule.services.empty()
      && std::none_of(r.rule.services.begin(), r.rule.services.end(),
                      [&](const std::string& g) {
                        return glob_match(g, n.service);
                      }))
    return false;
  return true;
}

notification make_digest(const std::vector<const outbox_entry*>& xs,
                         const std::string& source) {
  notification d;
  d.event = event_kind::digest;
  d.dedup_key = "vigil-digest";
  d.source = source;
  d.severity = 1;
  std::set<uint64_t> incidents;
  for (const auto* x : xs) {
    d.severity = std::max(d.severity, x->note.severity);
    d.ts_ms = std::max(d.ts_ms, x->note.ts_ms);
    incidents.insert(x->note.incident);
    auto line = x->note.incident_id + " " + std::string{to_string(x->note.event)}
                + ": " + x->note.text;
    if (line.size() > 200)
      line = truncate_utf8(line, 200);
    d.text += line + "\n";
  }
  if (incidents.size() == 1) {
    d.incident = xs.front()->note.incident;
    d.incident_id = xs.front()->note.incident_id;
    d.service = xs.front()->note.service;
    d.type = xs.front()->note.type;
  }
  d.title = std::to_string(xs.size()) + " notifications about "
            + std::to_string(incidents.size())
            + (incidents.size() == 1 ? " incident" : " incidents")
            + " (storm digest)";
  return d;
}

int64_t backoff_ms(uint32_t attempts, int64_t initial_ms, int64_t max_ms) {
  int64_t d = initial_ms;
  for (uint32_t i = 0; i < attempts && d < max_ms; ++i)
    d *= 2;
  return std::min(d, max_ms);
}

notifier_state::~notifier_state() {
  for (auto& lr : receivers)
    if (lr.curl)
      curl_easy_cleanup(static_cast<CURL*>(lr.curl));
}

notifier_actor::behavior_type
notifier(notifier_actor::stateful_pointer<notifier_state> self,
         notifier_config cfg) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  for (auto& r : st.cfg.receivers) {
    notifier_state::live_receiver lr;
    lr.r = r;
    lr.curl = curl_easy_init();
    lr.tokens = 1;
    lr.refilled_ms = wall_ms();
    st.receivers.push_back(std::move(lr));
  }
  st.box = std::make_unique<outbox>(st.cfg.store, st.cfg.opts.max_outbox);
  if (auto n = st.box->load(); !n)
    spdlog::error("notifier: cannot read the outbox: {}", render(n.error()));
  else if (*n > 0)
    spdlog::error("notifier: dropped {} unreadable outbox entries", *n);
  spdlog::debug("notifier: {} notices said before", st.box->marks());
  if (st.box->size() > 0)
    spdlog::info("notifier: {} notifications from before the restart are "
                 "still to deliver",
                 st.box->size());
  if (st.cfg.metrics) {
    st.sent = &st.cfg.metrics->counters(
      "vigil_notifications_total",
      "Notification deliveries by receiver and outcome (delivered, "
      "retried, refused, expired, evicted, duplicate).",
      {"receiver", "status"});
    st.pending = &st.cfg.metrics->gauge_(
      "vigil_notifications_pending", "Notifications in the outbox.");
  }
  self->send(self, atom::tick_v);
  return {
    [self](atom::notify, const incident_notice& x) -> caf::result<uint32_t> {
      auto& st = self->state;
      if (!x.key.empty() && st.box->marked(x.key)) {
        // Said before (an engine reading its audit log back): stored once.
        if (st.sent)
          st.sent->with({"outbox", "duplicate"}).inc();
        return uint32_t{0};
      }
      notification n;
      auto ev = event_named(x.event);
      if (!ev)
        return caf::make_error(errc::malformed,
                               "unknown notification event '" + x.event
                                 + "'");
      n.event = *ev;
      n.incident = x.incident;
      n.incident_id = incident_label(x.incident);
      n.dedup_key = "vigil-" + n.incident_id;
      n.severity = x.severity;
      n.status = x.status;
      n.type = x.type;
      n.title = x.title;
      n.service = x.service;
      n.text = x.text;
      n.ts_ms = x.ts_ms != 0 ? x.ts_ms : wall_ms();
      n.source = st.cfg.node;
      std::vector<std::pair<std::string, notification>> xs;
      for (const auto& lr : st.receivers)
        if (routes_to(lr.r, n))
          xs.emplace_back(lr.r.rule.name, n);
      uint64_t dropped = 0;
      auto first = st.box->next_seq();
      if (auto err = st.box->add(xs, dropped, x.key, wall_ms()))
        return err;
      if (st.cfg.written && !xs.empty())
        st.unreplicated.emplace_back(first, st.cfg.written());
      if (dropped > 0 && st.sent)
        st.sent->with({"outbox", "evicted"}).inc(dropped);
      if (st.pending)
        st.pending->set(static_cast<double>(st.box->size()));
      return static_cast<uint32_t>(xs.size());
    },
    [self](atom::tick) {
      auto& st = self->state;
      if (!st.cfg.may_deliver || st.cfg.may_deliver())
        deliver(st);
      if (auto now = wall_ms(); now - st.marks_pruned_ms >= hour_ms) {
        st.marks_pruned_ms = now;
        st.box->forget_marks_before(now - remember_notices_ms);
      }
      self->delayed_send(self, st.cfg.tick, atom::tick_v);
    },
  };
}

} // namespace vigil::notifier
