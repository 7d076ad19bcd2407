#include "actors/rca/ranker.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <map>
#include <optional>
#include <tuple>
#include <unordered_map>

namespace vigil::rca {

const char* to_string(confidence_level x) {
  switch (x) {
    case confidence_level::low:
      return "low";
    case confidence_level::medium:
      return "medium";
    case confidence_level::high:
      return "high";
    default:
      return "unknown";
  }
}

namespace {

constexpr int32_t absent = -1;

/// An anomalous service with its local index data.
struct node {
  service_evidence ev;
  std::optional<service_graph::vertex> v;
  std::vector<int32_t> callees; // anomalous callees (local indices)
  std::vector<int32_t> callers; // anomalous callers (local indices)
  /// A candidate; false for a service that only blipped while others
  /// persisted (it still counts as a symptom another explains).
  bool candidate = true;
  /// Its symptoms set aside as its restart's passing effects.
  size_t restart_aside = 0;
};

std::string fmt_time(int64_t ms) {
  std::time_t secs = ms / 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string fmt_span(int64_t ms) {
  auto a = ms < 0 ? -ms : ms;
  char buf[32];
  if (a < 120'000)
    std::snprintf(buf, sizeof(buf), "%lld s", static_cast<long long>(a / 1000));
  else
    std::snprintf(buf, sizeof(buf), "%lld min",
                  static_cast<long long>(a / 60'000));
  return buf;
}

std::string fmt_num(double x) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.2f", x);
  return buf;
}

double kind_weight(const std::string& kind) {
  // Deploys, config and flag changes and rollbacks change behaviour;
  // scaling rarely breaks a service by itself.
  if (kind == "deploy" || kind == "config" || kind == "rollback"
      || kind == "feature_flag" || kind == "migration")
    return 1.0;
  if (kind == "scale")
    return 0.6;
  return 0.5;
}

/// Merges duplicate services and drops those outside the window; with
/// `persisting_only`, keeps only the services with a persisting anomaly
/// when there are any, dated by it.
std::vector<node> collect(const service_graph& graph, const rank_input& in,
                          bool persisting_only = false) {
  std::unordered_map<std::string, size_t> at;
  std::vector<node> nodes;
  for (const auto& e : in.anomalous) {
    if (e.service.empty())
      continue;
    if (in.window_start_ms != 0 && e.onset_ms < in.window_start_ms)
      continue;
    if (in.window_end_ms != 0 && e.onset_ms > in.window_end_ms)
      continue;
    auto [i, added] = at.try_emplace(e.service, nodes.size());
    if (added) {
      nodes.push_back({e, graph.find(e.service), {}, {}});
      continue;
    }
    fold_into(nodes[i->second].ev, e);
  }
  if (persisting_only
      && std::any_of(nodes.begin(), nodes.end(), [](const node& x) {
           return x.ev.sustained_onset_ms > 0;
         })) {
    for (auto& x : nodes) {
      x.candidate = x.ev.sustained_onset_ms > 0;
      if (x.candidate)
        x.ev.onset_ms = std::max(x.ev.onset_ms, x.ev.sustained_onset_ms);
    }
  }
  return nodes;
}

/// A restart's own effects — the new process's warm-up, a fresh heap, a
/// few failed requests — begin with it and pass: symptoms that began
/// within restart_window_ms of the service's own deploy, rollback or
/// restart and have recovered say nothing about where a fault started,
/// so they are set aside (their onset, and their time as failing). A
/// symptom that began with it and is still going on stays: a bad release.
/// Evidence made only of such symptoms is left as it is.
size_t set_restart_aside(service_evidence& ev,
                         const std::vector<const change_event*>& changes,
                         const ranker_options& opts) {
  if (ev.spans.empty() || opts.restart_window_ms <= 0)
    return 0;
  auto restart_effect = [&](const anomaly_span& s) {
    if (s.until_ms == 0)
      return false;
    return std::any_of(changes.begin(), changes.end(), [&](const auto* ch) {
      return starts_process(ch->kind)
             && s.from_ms >= ch->ts_ms - opts.change_grace_ms
             && s.from_ms <= ch->ts_ms + opts.restart_window_ms;
    });
  };
  std::vector<anomaly_span> kept;
  for (const auto& s : ev.spans)
    if (!restart_effect(s))
      kept.push_back(s);
  if (kept.empty() || kept.size() == ev.spans.size())
    return 0;
  auto aside = ev.spans.size() - kept.size();
  ev.spans = std::move(kept);
  return aside;
}

/// A service is dated by the first of its symptoms (those of its restart
/// set aside) that is failing, not by a change of the traffic it is sent
/// (what its callers do), unless that is all it has.
void date_by_failing(service_evidence& ev) {
  int64_t first = 0;
  for (bool traffic : {false, true}) {
    for (const auto& s : ev.spans)
      if (s.traffic == traffic && (first == 0 || s.from_ms < first))
        first = s.from_ms;
    if (first != 0)
      break;
  }
  ev.onset_ms = std::max(ev.onset_ms, first);
}

/// Fills callers/callees among the anomalous services.
void link(const service_graph& graph, std::vector<node>& nodes) {
  const auto& g = graph.graph();
  std::vector<int32_t> local(graph.service_count(), absent);
  for (size_t i = 0; i < nodes.size(); ++i)
    if (nodes[i].v)
      local[*nodes[i].v] = static_cast<int32_t>(i);
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (!nodes[i].v)
      continue;
    for (auto w : boost::make_iterator_range(
           boost::adjacent_vertices(*nodes[i].v, g))) {
      auto j = local[w];
      if (j == absent)
        continue;
      nodes[i].callees.push_back(j);
      nodes[j].callers.push_back(static_cast<int32_t>(i));
    }
  }
}

size_t count_upstream(const service_graph& graph, service_graph::vertex v) {
  const auto& g = graph.graph();
  std::vector<bool> seen(graph.service_count(), false);
  std::vector<service_graph::vertex> todo{v};
  seen[v] = true;
  size_t n = 0;
  while (!todo.empty()) {
    auto x = todo.back();
    todo.pop_back();
    for (auto e : boost::make_iterator_range(boost::in_edges(x, g))) {
      auto u = boost::source(e, g);
      if (!seen[u]) {
        seen[u] = true;
        ++n;
        todo.push_back(u);
      }
    }
  }
  return n;
}

} // namespace

ranking rank(const service_graph& graph, const rank_input& in,
             const ranker_options& opts) {
  ranking out;
  // Every symptom (blips too) is evidence of what a cause explains; only
  // candidates are ranked.
  auto all = collect(graph, in, opts.persisting_only);
  std::unordered_map<std::string, std::vector<const change_event*>> changes;
  for (const auto& ch : in.changes)
    changes[ch.service].push_back(&ch);
  for (auto& x : all) {
    if (auto it = changes.find(x.ev.service); it != changes.end())
      x.restart_aside = set_restart_aside(x.ev, it->second, opts);
    date_by_failing(x.ev);
  }
  link(graph, all);
  std::vector<node> nodes;
  std::vector<int32_t> at_all;
  std::vector<int32_t> local(all.size(), absent);
  for (size_t a = 0; a < all.size(); ++a)
    if (all[a].candidate) {
      local[a] = static_cast<int32_t>(nodes.size());
      nodes.push_back(
        {all[a].ev, all[a].v, {}, {}, true, all[a].restart_aside});
      at_all.push_back(static_cast<int32_t>(a));
    }
  const auto n = nodes.size();
  if (n == 0) {
    out.confidence_reason = "no anomalous service";
    return out;
  }
  // Links among the candidates, from those among all symptoms.
  for (size_t i = 0; i < n; ++i)
    for (auto j : all[at_all[i]].callees)
      if (local[j] != absent) {
        nodes[i].callees.push_back(local[j]);
        nodes[local[j]].callers.push_back(static_cast<int32_t>(i));
      }
  const auto slack = opts.onset_slack_ms;
  // How long each candidate has been anomalous, a stretch still going on
  // counted up to the incident's latest evidence: what a callee must match
  // to explain its caller, and signal (f), persistence.
  std::vector<int64_t> lasted(n, 0);
  int64_t longest = 0;
  for (size_t i = 0; i < n; ++i) {
    const auto& ev = nodes[i].ev;
    lasted[i] = ev.anomalous_ms;
    if (ev.active_since_ms > 0 && in.window_end_ms > ev.active_since_ms)
      lasted[i] = std::max(lasted[i], in.window_end_ms - ev.active_since_ms);
    longest = std::max(longest, lasted[i]);
  }
  auto explains = [&](int32_t callee, size_t caller) {
    // A callee explains its caller when it went bad first (or together),
    // was still failing when the caller went bad, and lasted a fair share
    // of the caller's time.
    return nodes[callee].ev.onset_ms <= nodes[caller].ev.onset_ms + slack
           && failing_at(nodes[callee].ev, nodes[caller].ev.onset_ms, slack)
           && static_cast<double>(lasted[callee])
                >= opts.explain_min_share
                     * static_cast<double>(lasted[caller]);
  };
  std::vector<candidate> cs(n);
  int64_t first = nodes[0].ev.onset_ms;
  int64_t last = first;
  double max_score = 0;
  double max_dev = 0;
  for (const auto& x : nodes) {
    first = std::min(first, x.ev.onset_ms);
    last = std::max(last, x.ev.onset_ms);
    max_score = std::max(max_score, x.ev.max_score);
    max_dev = std::max(max_dev, x.ev.max_deviation);
  }
  // Saturated at magnitude_cap_sigma: a near-constant series (no errors
  // at all, then one) divides by almost nothing, and its 10^9 sigma must
  // not shrink every other service's deviation to nothing.
  auto sigma = [&](double dev) {
    return std::log1p(std::min(dev, std::max(opts.magnitude_cap_sigma, 0.0)));
  };
  const auto top_sigma = sigma(max_dev);
  for (size_t i = 0; i < n; ++i)
    cs[i].magnitude = top_sigma > 0 ? sigma(nodes[i].ev.max_deviation)
                                        / top_sigma
                                    : 0;
  bool simultaneous = last - first <= slack;
  // (f) persistence, relative to the longest.
  for (size_t i = 0; i < n; ++i)
    cs[i].persistence = longest > 0 ? static_cast<double>(lasted[i])
                                        / static_cast<double>(longest)
                                    : 0.0;
  // A service whose symptoms (those of its restart set aside) are all
  // request volume, or load that came with it, is not failing: it gets
  // what its callers send, so they explain it, and its own change
  // explains nothing.
  std::vector<bool> only_traffic(n, false);
  for (size_t i = 0; i < n; ++i) {
    const auto& spans = nodes[i].ev.spans;
    only_traffic[i] = !spans.empty()
                      && std::all_of(spans.begin(), spans.end(),
                                     [](const anomaly_span& x) {
                                       return x.traffic;
                                     });
  }
  // (a) isolation and (b) earliness.
  for (size_t i = 0; i < n; ++i) {
    auto& c = cs[i];
    c.service = nodes[i].ev.service;
    c.onset_ms = nodes[i].ev.onset_ms;
    c.isolation = 1;
    // Half for a caller that went bad first and was still anomalous
    // then (one back to normal before has nothing to do with it).
    for (auto j : nodes[i].callers)
      if (nodes[j].ev.onset_ms + slack < nodes[i].ev.onset_ms
          && anomalous_at(nodes[j].ev, nodes[i].ev.onset_ms, slack))
        c.isolation = 0.5;
    for (auto j : nodes[i].callees)
      if (explains(j, i))
        c.isolation = 0;
    if (only_traffic[i])
      c.isolation = std::min(c.isolation, 0.5);
    // Decays with the time since the first onset (not with the share of
    // the incident's span: in a long incident a fault's first symptom and
    // a bystander's blip minutes later must not score alike).
    c.earliness
      = simultaneous
          ? 1.0
          : std::exp(-static_cast<double>(std::max<int64_t>(
                       c.onset_ms - first - slack, 0))
                     / static_cast<double>(
                       std::max<int64_t>(opts.earliness_decay_ms, 1)));
  }
  {
    // (c) propagation, what each candidate explains: the symptoms (blips
    // included) upstream of it that went bad no earlier than the callee
    // they are reached through and within the horizon (a caller suffers
    // when its callee fails, after it), and its own callees that went bad
    // after it (they see fewer or failing calls). Relative to the
    // candidate that explains most: in a long incident full of unrelated
    // symptoms every share of the whole is small.
    const auto horizon = opts.propagation_horizon_ms;
    std::vector<uint32_t> stamp(all.size(), 0);
    std::vector<int32_t> todo;
    std::vector<double> explained(n, 0);
    double top_explained = 0;
    for (size_t i = 0; i < n; ++i) {
      auto a = at_all[i];
      auto mark = static_cast<uint32_t>(i + 1);
      auto t0 = all[a].ev.onset_ms;
      stamp[a] = mark;
      todo.assign(1, a);
      size_t reached = 0;
      while (!todo.empty()) {
        auto x = todo.back();
        todo.pop_back();
        for (auto u : all[x].callers) {
          auto tu = all[u].ev.onset_ms;
          if (stamp[u] == mark || tu + slack < all[x].ev.onset_ms
              || tu > t0 + horizon || !failing_at(all[x].ev, tu, slack))
            continue;
          stamp[u] = mark;
          ++reached;
          todo.push_back(u);
        }
      }
      double down = 0;
      for (auto j : all[a].callees) {
        auto tj = all[j].ev.onset_ms;
        if (stamp[j] != mark && tj + slack >= t0 && tj <= t0 + horizon
            && anomalous_at(all[a].ev, tj, slack))
          down += 1;
      }
      cs[i].blast_radius = reached;
      explained[i] = static_cast<double>(reached) + down;
      top_explained = std::max(top_explained, explained[i]);
    }
    for (size_t i = 0; i < n; ++i)
      cs[i].propagation = top_explained > 0 ? explained[i] / top_explained
                                            : 0.0;
  }
  // (d) personalised PageRank on the anomalous subgraph, walking from
  // symptom (caller) towards cause (callee). A callee that went bad later
  // than its caller is a weak lead (weight 0.1); a service no callee
  // explains keeps mass on itself, so probable causes absorb the walk.
  std::vector<double> pr(n, 0.0);
  {
    std::vector<double> pers(n);
    double total = 0;
    for (size_t i = 0; i < n; ++i)
      total += pers[i] = max_dev > 0
                           ? 0.5 * std::max(nodes[i].ev.max_score, 0.0)
                               + 0.5 * cs[i].magnitude
                           : std::max(nodes[i].ev.max_score, 0.0);
    for (size_t i = 0; i < n; ++i)
      pers[i] = total > 0 ? pers[i] / total : 1.0 / static_cast<double>(n);
    std::vector<double> self(n), out_w(n);
    for (size_t i = 0; i < n; ++i) {
      self[i] = cs[i].isolation > 0 || nodes[i].callees.empty() ? 1.0 : 0.0;
      out_w[i] = self[i];
      for (auto j : nodes[i].callees)
        out_w[i] += explains(j, i) ? 1.0 : 0.1;
    }
    pr = pers;
    std::vector<double> next(n);
    for (int it = 0; it < opts.pagerank_iterations; ++it) {
      for (size_t i = 0; i < n; ++i)
        next[i] = (1 - opts.damping) * pers[i];
      for (size_t i = 0; i < n; ++i) {
        if (out_w[i] <= 0) {
          // Cannot happen (a node without callees keeps itself), but a
          // zero row must not leak mass.
          next[i] += opts.damping * pr[i];
          continue;
        }
        auto share = opts.damping * pr[i] / out_w[i];
        next[i] += share * self[i];
        for (auto j : nodes[i].callees)
          next[j] += share * (explains(j, i) ? 1.0 : 0.1);
      }
      double delta = 0;
      for (size_t i = 0; i < n; ++i)
        delta += std::abs(next[i] - pr[i]);
      pr.swap(next);
      if (delta < opts.pagerank_tolerance)
        break;
    }
    auto top = *std::max_element(pr.begin(), pr.end());
    for (size_t i = 0; i < n; ++i)
      cs[i].pagerank = top > 0 ? pr[i] / top : 0;
  }
  // (e) change events shortly before onset (none for a service with
  // nothing but traffic, see above).
  std::vector<std::string> change_text(n);
  std::vector<bool> change_before(n, false);
  for (size_t i = 0; i < n; ++i) {
    auto it = changes.find(cs[i].service);
    if (it == changes.end() || only_traffic[i])
      continue;
    for (const auto* ch : it->second) {
      auto before = cs[i].onset_ms - ch->ts_ms;
      if (before > opts.change_lookback_ms || before < -opts.change_grace_ms)
        continue;
      auto age = static_cast<double>(std::max<int64_t>(before, 0));
      auto lookback = static_cast<double>(std::max<int64_t>(
        opts.change_lookback_ms, 1));
      // A change after the onset cannot have caused it (bar clock skew);
      // it is often the response, or a restart that blipped.
      auto s = kind_weight(ch->kind) * (1.0 - 0.5 * age / lookback)
               * (before < 0 ? 0.25 : 1.0);
      if (s <= cs[i].change)
        continue;
      cs[i].change = s;
      change_before[i] = before >= 0;
      auto what = ch->kind.empty() ? std::string{"change"} : ch->kind;
      if (!ch->version.empty())
        what += " " + ch->version;
      change_text[i] = what + " " + fmt_span(before)
                       + (before >= 0 ? " before onset" : " after onset");
    }
  }
  // Combine.
  auto wsum = opts.w_isolation + opts.w_earliness + opts.w_propagation
              + opts.w_pagerank + opts.w_change
              + (max_dev > 0 ? opts.w_magnitude : 0.0)
              + (longest > 0 ? opts.w_persistence : 0.0);
  if (wsum <= 0)
    wsum = 1;
  for (size_t i = 0; i < n; ++i) {
    auto& c = cs[i];
    c.score = (opts.w_isolation * c.isolation + opts.w_earliness * c.earliness
               + opts.w_propagation * c.propagation
               + opts.w_pagerank * c.pagerank + opts.w_change * c.change
               + (max_dev > 0 ? opts.w_magnitude * c.magnitude : 0.0)
               + (longest > 0 ? opts.w_persistence * c.persistence : 0.0))
              / wsum;
    c.score = std::clamp(c.score, 0.0, 1.0);
    // Evidence, strongest first.
    if (!change_text[i].empty())
      c.evidence.push_back(change_text[i]);
    if (!nodes[i].v) {
      c.evidence.push_back("not in the topology: callees unknown");
    } else if (nodes[i].callees.empty()) {
      c.evidence.push_back("callees healthy");
    } else if (c.isolation > 0) {
      std::string later;
      for (auto j : nodes[i].callees)
        later += (later.empty() ? "" : ", ") + nodes[j].ev.service;
      c.evidence.push_back("anomalous callees started later (" + later + ")");
    } else {
      for (auto j : nodes[i].callees)
        if (explains(j, i)) {
          c.evidence.push_back("explained by anomalous callee "
                               + nodes[j].ev.service);
          break;
        }
    }
    if (c.isolation > 0 && c.isolation < 1)
      for (auto j : nodes[i].callers)
        if (nodes[j].ev.onset_ms + slack < c.onset_ms) {
          c.evidence.push_back("its caller " + nodes[j].ev.service
                               + " went bad first (a downstream effect?)");
          break;
        }
    if (!simultaneous && c.onset_ms - first <= slack)
      c.evidence.push_back("onset first at " + fmt_time(c.onset_ms));
    else if (simultaneous)
      c.evidence.push_back("onset at " + fmt_time(c.onset_ms)
                           + " together with all others");
    else
      c.evidence.push_back("onset " + fmt_span(c.onset_ms - first)
                           + " after the first");
    if (only_traffic[i])
      c.evidence.push_back("only the traffic it was sent changed");
    if (nodes[i].restart_aside > 0)
      c.evidence.push_back(std::to_string(nodes[i].restart_aside)
                           + " passing symptom"
                           + (nodes[i].restart_aside == 1 ? "" : "s")
                           + " of its restart set aside");
    if (c.blast_radius > 0)
      c.evidence.push_back(std::to_string(c.blast_radius)
                           + " anomalous services upstream");
    c.evidence.push_back("personalised PageRank " + fmt_num(pr[i]));
    if (lasted[i] > 0)
      c.evidence.push_back(
        "anomalous for " + fmt_span(lasted[i])
        + (nodes[i].ev.active_since_ms > 0 ? ", still" : ", recovered"));
    if (nodes[i].ev.max_deviation > opts.magnitude_cap_sigma)
      c.evidence.push_back("largest deviation over "
                           + fmt_num(opts.magnitude_cap_sigma)
                           + " sigma (counted as "
                           + fmt_num(opts.magnitude_cap_sigma) + ")");
    else if (nodes[i].ev.max_deviation > 0)
      c.evidence.push_back("largest deviation "
                           + fmt_num(nodes[i].ev.max_deviation) + " sigma");
    c.evidence.push_back("max anomaly score " + fmt_num(nodes[i].ev.max_score)
                         + " over "
                         + std::to_string(nodes[i].ev.anomaly_count)
                         + " anomalies");
  }
  std::sort(cs.begin(), cs.end(), [](const candidate& x, const candidate& y) {
    return std::tie(y.score, x.onset_ms, x.service)
           < std::tie(x.score, y.onset_ms, y.service);
  });
  // Confidence: say "unknown" rather than guess.
  const auto& top = cs.front();
  auto margin = top.score - (cs.size() > 1 ? cs[1].score : 0.0);
  bool any_isolated = std::any_of(cs.begin(), cs.end(), [](const auto& c) {
    return c.isolation > 0;
  });
  // A rival (an unexplained service) counts only if it lasted at least
  // half as long as the top candidate: one that went bad first and soon
  // recovered was a bystander's blip, not a second cause.
  auto rivals = [&](const candidate& c) {
    return c.isolation > 0 && c.persistence >= 0.5 * top.persistence;
  };
  const candidate* earlier_rival = nullptr;
  for (size_t k = 1; k < cs.size() && !earlier_rival; ++k)
    if (rivals(cs[k]) && cs[k].onset_ms < top.onset_ms - slack)
      earlier_rival = &cs[k];
  auto isolated = std::count_if(cs.begin(), cs.end(), [&](const auto& c) {
    return &c == &top ? c.isolation > 0 : rivals(c);
  });
  bool top_in_graph = graph.find(top.service).has_value();
  // Only a change before the onset can have caused it: one just after is
  // as likely a restart that blipped, or the response.
  bool top_change_before = false;
  for (size_t i = 0; i < n; ++i)
    if (nodes[i].ev.service == top.service)
      top_change_before = change_before[i];
  bool rival_change = top.change <= 0
                      && std::any_of(cs.begin() + 1, cs.end(),
                                     [](const auto& c) { return c.change > 0; });
  bool strictly_first = !simultaneous && top.onset_ms - first <= slack;
  for (const auto& c : cs)
    if (&c != &top && c.onset_ms - first <= slack)
      strictly_first = false;
  if (!any_isolated || top.isolation <= 0) {
    out.confidence = confidence_level::unknown;
    out.confidence_reason = "every anomalous service has an anomalous callee "
                            "that went bad no later (cycle?)";
  } else if (earlier_rival && top.change <= 0) {
    out.confidence = confidence_level::unknown;
    out.confidence_reason = "evidence conflicts: " + earlier_rival->service
                            + " went bad earlier with healthy callees";
  } else if (isolated >= 3) {
    // Several anomalous services that nothing downstream explains: more
    // than one cause, or noise riding along. Do not claim to know.
    out.confidence = confidence_level::low;
    out.confidence_reason = std::to_string(isolated)
                            + " lasting anomalous services with healthy "
                              "callees: several causes or noise";
  } else if (!top_in_graph || earlier_rival) {
    out.confidence = confidence_level::low;
    out.confidence_reason = !top_in_graph ? "top candidate not in topology"
                                          : "an earlier anomaly competes";
  } else if (margin >= opts.high_margin
             && (strictly_first || top_change_before)
             && !rival_change && isolated == 1) {
    out.confidence = confidence_level::high;
    out.confidence_reason = "clear lead, first onset or recent change";
  } else if (margin >= opts.medium_margin) {
    out.confidence = confidence_level::medium;
    out.confidence_reason = rival_change
                              ? "another candidate has a recent change"
                              : "lead without a strictly first onset or change";
  } else {
    out.confidence = confidence_level::low;
    out.confidence_reason = "candidates within " + fmt_num(margin)
                            + " of each other";
  }
  switch (out.confidence) {
    case confidence_level::high:
      out.confidence_score = top.score;
      break;
    case confidence_level::medium:
      out.confidence_score = 0.75 * top.score;
      break;
    case confidence_level::low:
      out.confidence_score = 0.5 * top.score;
      break;
    default:
      out.confidence_score = 0;
  }
  if (cs.size() > opts.max_candidates)
    cs.resize(opts.max_candidates);
  for (auto& c : cs)
    if (auto v = graph.find(c.service))
      c.upstream_callers = count_upstream(graph, *v);
  out.candidates = std::move(cs);
  return out;
}

std::vector<ranking> rank_by_component(const service_graph& graph,
                                       const rank_input& in,
                                       const ranker_options& opts) {
  auto ids = graph.component_ids();
  // Services outside the graph each form their own part.
  std::map<std::pair<uint32_t, std::string>, rank_input> parts;
  for (const auto& e : in.anomalous) {
    auto v = graph.find(e.service);
    auto key = v ? std::make_pair(ids[*v], std::string{})
                 : std::make_pair(static_cast<uint32_t>(-1), e.service);
    auto& part = parts[key];
    if (part.anomalous.empty()) {
      part.changes = in.changes;
      part.window_start_ms = in.window_start_ms;
      part.window_end_ms = in.window_end_ms;
    }
    part.anomalous.push_back(e);
  }
  std::vector<ranking> out;
  for (auto& [key, part] : parts) {
    auto r = rank(graph, part, opts);
    if (!r.candidates.empty())
      out.push_back(std::move(r));
  }
  std::stable_sort(out.begin(), out.end(), [](const auto& x, const auto& y) {
    return x.candidates.front().score > y.candidates.front().score;
  });
  return out;
}

std::string nearest_anomalous_ancestor(const service_graph& graph,
                                       const rank_input& in) {
  auto nodes = collect(graph, in);
  if (nodes.empty())
    return {};
  link(graph, nodes);
  auto better = [&](int32_t a, int32_t b) {
    const auto& x = nodes[a].ev;
    const auto& y = nodes[b].ev;
    return std::tie(y.max_score, x.onset_ms, x.service)
           < std::tie(x.max_score, y.onset_ms, y.service);
  };
  int32_t front = absent;
  for (int32_t i = 0; i < static_cast<int32_t>(nodes.size()); ++i)
    if (nodes[i].callers.empty() && (front == absent || better(i, front)))
      front = i;
  if (front == absent)
    for (int32_t i = 0; i < static_cast<int32_t>(nodes.size()); ++i)
      if (front == absent || better(i, front))
        front = i;
  std::vector<bool> seen(nodes.size(), false);
  std::vector<int32_t> level{front};
  seen[front] = true;
  while (!level.empty()) {
    int32_t best = absent;
    for (auto i : level)
      if (nodes[i].callees.empty() && (best == absent || better(i, best)))
        best = i;
    if (best != absent)
      return nodes[best].ev.service;
    std::vector<int32_t> next;
    for (auto i : level)
      for (auto j : nodes[i].callees)
        if (!seen[j]) {
          seen[j] = true;
          next.push_back(j);
        }
    level.swap(next);
  }
  return nodes[front].ev.service;
}

} // namespace vigil::rca
