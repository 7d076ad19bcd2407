#include "actors/rca/service_graph.hpp"

#include <algorithm>
#include <tuple>
#include <utility>

namespace vigil::rca {

namespace {

std::string span_key(std::string_view trace_id, std::string_view span_id) {
  std::string key;
  key.reserve(trace_id.size() + 1 + span_id.size());
  key.append(trace_id);
  key.push_back('/');
  key.append(span_id);
  return key;
}

int64_t event_ms(const span_record& s) {
  return (s.end_ns != 0 ? s.end_ns : s.start_ns) / 1'000'000;
}

double duration_ms(const span_record& s) {
  if (s.end_ns <= s.start_ns)
    return 0;
  return static_cast<double>(s.end_ns - s.start_ns) / 1e6;
}

} // namespace

service_graph::service_graph(graph_options opts) : opts_(opts) {
  // A zero bound would make every input a drop; treat it as "one".
  opts_.max_known_spans = std::max<size_t>(opts_.max_known_spans, 1);
  opts_.latency_alpha = std::clamp(opts_.latency_alpha, 1e-6, 1.0);
}

void service_graph::add_spans(const std::vector<span_record>& spans) {
  for (const auto& s : spans)
    add_span(s);
}

void service_graph::add_span(const span_record& s) {
  ++counters_.spans;
  auto ts = event_ms(s);
  auto key = span_key(s.trace_id, s.span_id);
  bool error = s.status == static_cast<uint8_t>(span_status::error);
  auto dur = duration_ms(s);
  // Join to the parent when it is known; otherwise wait for it.
  if (!s.parent_span_id.empty()) {
    auto parent_key = span_key(s.trace_id, s.parent_span_id);
    if (auto i = known_.find(parent_key); i != known_.end()) {
      if (i->second.service != s.service)
        record_call(i->second.service, s.service, ts, dur, error);
    } else {
      if (pending_count_ >= opts_.max_pending && !pending_order_.empty()) {
        // Newer children are likelier to meet their parent than old ones.
        drop_pending_front();
        ++counters_.dropped_pending;
      }
      if (opts_.max_pending > 0) {
        auto seq = next_seq_++;
        pending_[parent_key].push_back({seq, s.service, ts, dur, error});
        pending_order_.push_back({std::move(parent_key), seq, ts});
        ++pending_count_;
      } else {
        ++counters_.dropped_pending;
      }
    }
  }
  // Children that arrived before this span now find their parent.
  if (auto i = pending_.find(key); i != pending_.end()) {
    for (auto& child : i->second) {
      --pending_count_;
      if (child.service != s.service) {
        ++counters_.late_joins;
        record_call(s.service, child.service, child.ts_ms, child.duration_ms,
                    child.error);
      }
    }
    // Their entries in pending_order_ go stale and are skipped on expiry.
    pending_.erase(i);
  }
  if (auto [i, added] = known_.try_emplace(key, known_span{s.service, ts});
      added)
    known_order_.emplace_back(std::move(key), ts);
  if (ts > now_ms_)
    advance(ts);
  else
    expire_spans();
}

bool service_graph::add_static_edge(std::string_view caller,
                                    std::string_view callee) {
  if (caller == callee || caller.empty() || callee.empty())
    return false;
  auto u = vertex_of(caller);
  auto v = vertex_of(callee);
  if (!u || !v)
    return false;
  auto [e, found] = boost::edge(*u, *v, graph_);
  if (!found) {
    if (edge_count() >= opts_.max_edges) {
      ++counters_.dropped_edges;
      return false;
    }
    e = boost::add_edge(*u, *v, graph_).first;
  }
  graph_[e].is_static = true;
  return true;
}

bool service_graph::restore_edge(const edge_view& x) {
  if (!add_static_edge(x.caller, x.callee))
    return false;
  auto u = vertex_of(x.caller);
  auto v = vertex_of(x.callee);
  auto [e, found] = boost::edge(*u, *v, graph_);
  if (found)
    graph_[e] = x.stats;
  if (x.stats.last_seen_ms > now_ms_)
    now_ms_ = x.stats.last_seen_ms;
  return found;
}

size_t service_graph::add_static(const topology_update& update) {
  size_t n = 0;
  for (const auto& e : update.edges)
    n += add_static_edge(e.caller, e.callee) ? 1 : 0;
  return n;
}

void service_graph::advance(int64_t now_ms) {
  if (now_ms > now_ms_)
    now_ms_ = now_ms;
  expire_spans();
  // A full edge scan is O(E); run it once per 1/16 of the TTL of event time,
  // so an edge lives at most ttl * 17/16.
  auto step = std::max<int64_t>(opts_.edge_ttl_ms / 16, 1);
  if (now_ms_ - last_edge_scan_ms_ >= step) {
    last_edge_scan_ms_ = now_ms_;
    expire_edges();
  }
}

void service_graph::drop_pending_front() {
  auto ref = std::move(pending_order_.front());
  pending_order_.pop_front();
  auto i = pending_.find(ref.parent_key);
  if (i == pending_.end())
    return; // joined already
  auto& kids = i->second;
  // Children of one parent are appended in arrival order, as are their refs.
  if (!kids.empty() && kids.front().seq == ref.seq) {
    kids.erase(kids.begin());
    --pending_count_;
  }
  if (kids.empty())
    pending_.erase(i);
}

void service_graph::expire_spans() {
  auto span_cutoff = now_ms_ - opts_.known_span_ttl_ms;
  while (!known_order_.empty()
         && (known_order_.front().second < span_cutoff
             || known_.size() > opts_.max_known_spans)) {
    if (known_order_.front().second >= span_cutoff)
      ++counters_.forgotten_spans;
    known_.erase(known_order_.front().first);
    known_order_.pop_front();
  }
  auto pending_cutoff = now_ms_ - opts_.pending_ttl_ms;
  while (!pending_order_.empty()
         && pending_order_.front().ts_ms < pending_cutoff) {
    auto before = pending_count_;
    drop_pending_front();
    if (pending_count_ < before)
      ++counters_.expired_pending;
  }
}

void service_graph::expire_edges() {
  auto cutoff = now_ms_ - opts_.edge_ttl_ms;
  auto before = edge_count();
  boost::remove_edge_if(
    [&](const graph_type::edge_descriptor& e) {
      const auto& st = graph_[e];
      return !st.is_static && st.last_seen_ms < cutoff;
    },
    graph_);
  if (auto removed = before - edge_count(); removed > 0) {
    counters_.aged_edges += removed;
    compact_due_ = true;
  }
}

void service_graph::compact() {
  compact_due_ = false;
  // Vertex removal renumbers a vecS graph; rebuilding keeps it simple and
  // O(V + E), and only runs when the service bound is reached after ageing.
  graph_type fresh;
  std::vector<vertex> remap(boost::num_vertices(graph_), vertex(-1));
  by_name_.clear();
  for (auto v : boost::make_iterator_range(boost::vertices(graph_))) {
    if (boost::out_degree(v, graph_) + boost::in_degree(v, graph_) == 0)
      continue;
    remap[v] = boost::add_vertex(graph_[v], fresh);
    by_name_.emplace(graph_[v].name, remap[v]);
  }
  for (auto e : boost::make_iterator_range(boost::edges(graph_)))
    boost::add_edge(remap[boost::source(e, graph_)],
                    remap[boost::target(e, graph_)], graph_[e], fresh);
  graph_.swap(fresh);
}

std::optional<service_graph::vertex>
service_graph::vertex_of(std::string_view service) {
  if (auto i = by_name_.find(std::string{service}); i != by_name_.end())
    return i->second;
  if (service_count() >= opts_.max_services && compact_due_)
    compact();
  if (service_count() >= opts_.max_services) {
    ++counters_.dropped_services;
    return std::nullopt;
  }
  auto v = boost::add_vertex(vertex_data{std::string{service}}, graph_);
  by_name_.emplace(std::string{service}, v);
  return v;
}

void service_graph::record_call(const std::string& caller,
                                const std::string& callee, int64_t ts_ms,
                                double dur_ms, bool error) {
  ++counters_.calls;
  if (caller.empty() || callee.empty())
    return;
  auto u = vertex_of(caller);
  auto v = vertex_of(callee);
  if (!u || !v)
    return;
  auto [e, found] = boost::edge(*u, *v, graph_);
  if (!found) {
    if (edge_count() >= opts_.max_edges) {
      ++counters_.dropped_edges;
      return;
    }
    e = boost::add_edge(*u, *v, graph_).first;
  }
  auto& st = graph_[e];
  ++st.calls;
  if (error)
    ++st.errors;
  if (st.calls == 1) {
    st.latency_mean_ms = dur_ms;
    st.latency_p95_ms = dur_ms;
  } else {
    st.latency_mean_ms += opts_.latency_alpha * (dur_ms - st.latency_mean_ms);
    // Stochastic quantile tracking: step up 19 units when a call is above
    // the estimate, down 1 when below; that balances where 5% of calls lie
    // above it. The unit scales with the mean so it suits microseconds and
    // seconds alike.
    auto unit = opts_.latency_alpha * 0.1 * std::max(st.latency_mean_ms, 1e-3);
    st.latency_p95_ms += dur_ms > st.latency_p95_ms ? 19 * unit : -unit;
    st.latency_p95_ms = std::max(st.latency_p95_ms, 0.0);
  }
  st.last_seen_ms = std::max(st.last_seen_ms, ts_ms);
  st.learned = true;
}

std::optional<service_graph::vertex>
service_graph::find(std::string_view service) const {
  if (auto i = by_name_.find(std::string{service}); i != by_name_.end())
    return i->second;
  return std::nullopt;
}

std::vector<std::string>
service_graph::callees(std::string_view service) const {
  std::vector<std::string> out;
  if (auto v = find(service))
    for (auto w : boost::make_iterator_range(
           boost::adjacent_vertices(*v, graph_)))
      out.push_back(graph_[w].name);
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string>
service_graph::callers(std::string_view service) const {
  std::vector<std::string> out;
  if (auto v = find(service))
    for (auto e : boost::make_iterator_range(boost::in_edges(*v, graph_)))
      out.push_back(graph_[boost::source(e, graph_)].name);
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string>
service_graph::component(std::string_view service) const {
  auto start = find(service);
  if (!start)
    return {std::string{service}};
  std::vector<bool> seen(service_count(), false);
  std::vector<vertex> todo{*start};
  seen[*start] = true;
  std::vector<std::string> out;
  while (!todo.empty()) {
    auto v = todo.back();
    todo.pop_back();
    out.push_back(graph_[v].name);
    auto visit = [&](vertex w) {
      if (!seen[w]) {
        seen[w] = true;
        todo.push_back(w);
      }
    };
    for (auto e : boost::make_iterator_range(boost::out_edges(v, graph_)))
      visit(boost::target(e, graph_));
    for (auto e : boost::make_iterator_range(boost::in_edges(v, graph_)))
      visit(boost::source(e, graph_));
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<uint32_t> service_graph::component_ids() const {
  constexpr auto none = static_cast<uint32_t>(-1);
  std::vector<uint32_t> ids(service_count(), none);
  uint32_t next = 0;
  std::vector<vertex> todo;
  for (vertex s = 0; s < ids.size(); ++s) {
    if (ids[s] != none)
      continue;
    ids[s] = next;
    todo.push_back(s);
    while (!todo.empty()) {
      auto v = todo.back();
      todo.pop_back();
      auto visit = [&](vertex w) {
        if (ids[w] == none) {
          ids[w] = next;
          todo.push_back(w);
        }
      };
      for (auto e : boost::make_iterator_range(boost::out_edges(v, graph_)))
        visit(boost::target(e, graph_));
      for (auto e : boost::make_iterator_range(boost::in_edges(v, graph_)))
        visit(boost::source(e, graph_));
    }
    ++next;
  }
  return ids;
}

std::vector<edge_view> service_graph::edges() const {
  std::vector<edge_view> out;
  out.reserve(edge_count());
  for (auto e : boost::make_iterator_range(boost::edges(graph_)))
    out.push_back({graph_[boost::source(e, graph_)].name,
                   graph_[boost::target(e, graph_)].name, graph_[e]});
  std::sort(out.begin(), out.end(), [](const auto& x, const auto& y) {
    return std::tie(x.caller, x.callee) < std::tie(y.caller, y.callee);
  });
  return out;
}

std::optional<edge_stats> service_graph::edge(std::string_view caller,
                                              std::string_view callee) const {
  auto u = find(caller);
  auto v = find(callee);
  if (!u || !v)
    return std::nullopt;
  auto [e, found] = boost::edge(*u, *v, graph_);
  if (!found)
    return std::nullopt;
  return graph_[e];
}

} // namespace vigil::rca
