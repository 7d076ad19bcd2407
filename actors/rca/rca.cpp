#include "actors/rca/rca.hpp"

#include <algorithm>
#include <map>

#include <caf/actor_registry.hpp>
#include <caf/actor_system.hpp>
#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>
#include <spdlog/spdlog.h>

#include "messages/errc.hpp"
#include "runtime/clock.hpp"

namespace vigil::rca {

namespace {

rca_result to_result(const ranking& r, const rca_request& req) {
  rca_result out;
  out.incident = req.incident;
  for (const auto& c : r.candidates)
    out.candidates.push_back(
      {c.service, c.score, c.evidence, static_cast<uint64_t>(c.blast_radius)});
  out.confidence_level = to_string(r.confidence);
  out.confidence = r.confidence_score;
  out.confidence_reason = r.confidence_reason;
  out.ranked_at_ms = req.window_end_ms;
  return out;
}

// Service -> domain for every service in a component of two or more:
// the domain is the component's first service by name. Sorted by service.
std::vector<attribute> domains_of(const service_graph& g) {
  auto ids = g.component_ids();
  std::map<uint32_t, std::vector<std::string>> members;
  for (size_t v = 0; v < ids.size(); ++v)
    members[ids[v]].push_back(g.name(static_cast<service_graph::vertex>(v)));
  std::vector<attribute> out;
  for (auto& [id, names] : members) {
    if (names.size() < 2)
      continue;
    auto first = *std::min_element(names.begin(), names.end());
    for (auto& n : names)
      out.push_back({std::move(n), first});
  }
  std::sort(out.begin(), out.end(),
            [](const attribute& a, const attribute& b) { return a.key < b.key; });
  return out;
}

// Key of the saved graph in the meta column.
constexpr std::string_view graph_key = "rca.graph";

topology_snapshot snapshot_of(const service_graph& g) {
  topology_snapshot snap;
  for (auto& e : g.edges()) {
    snap.services.push_back(e.caller);
    snap.services.push_back(e.callee);
    topology_edge_stats out;
    out.caller = e.caller;
    out.callee = e.callee;
    out.calls = e.stats.calls;
    out.errors = e.stats.errors;
    out.latency_mean_ms = e.stats.latency_mean_ms;
    out.latency_p95_ms = e.stats.latency_p95_ms;
    out.last_seen_ms = e.stats.last_seen_ms;
    out.is_static = e.stats.is_static;
    out.learned = e.stats.learned;
    snap.edges.push_back(std::move(out));
  }
  std::sort(snap.services.begin(), snap.services.end());
  snap.services.erase(std::unique(snap.services.begin(), snap.services.end()),
                      snap.services.end());
  return snap;
}

void save_graph(rca_actor::stateful_pointer<rca_state> self) {
  auto& st = self->state;
  if (!st.cfg.store)
    return;
  auto snap = snapshot_of(*st.graph);
  std::vector<char> buf;
  caf::binary_serializer sink{self->system(), buf};
  if (auto err = sink(snap)) {
    spdlog::error("rca: cannot encode the service graph: {}",
                  self->system().render(err));
    return;
  }
  if (auto err = st.cfg.store->put(storage::column::meta, graph_key,
                                   std::string_view{buf.data(), buf.size()}))
    spdlog::error("rca: cannot save the service graph: {}", render(err));
}

void restore_graph(rca_actor::stateful_pointer<rca_state> self,
                   storage::store& db) {
  auto bytes = db.get(storage::column::meta, graph_key);
  if (!bytes || !*bytes)
    return;
  std::vector<char> buf((*bytes)->begin(), (*bytes)->end());
  caf::binary_deserializer source{self->system(), buf};
  topology_snapshot snap;
  if (auto err = source(snap)) {
    spdlog::warn("rca: the saved service graph is unreadable; starting "
                 "without it: {}",
                 self->system().render(err));
    return;
  }
  size_t n = 0;
  for (auto& e : snap.edges) {
    edge_view v;
    v.caller = e.caller;
    v.callee = e.callee;
    v.stats.calls = e.calls;
    v.stats.errors = e.errors;
    v.stats.latency_mean_ms = e.latency_mean_ms;
    v.stats.latency_p95_ms = e.latency_p95_ms;
    v.stats.last_seen_ms = e.last_seen_ms;
    v.stats.is_static = e.is_static;
    v.stats.learned = e.learned;
    n += self->state.graph->restore_edge(v) ? 1 : 0;
  }
  spdlog::info("rca: restored a service graph of {} edges", n);
}

void push_domains(rca_actor::stateful_pointer<rca_state> self) {
  auto& st = self->state;
  auto& g = *st.graph;
  std::tuple<size_t, size_t, uint64_t> shape{
    g.service_count(), g.edge_count(), g.counters().aged_edges};
  if (shape == st.shape)
    return;
  st.shape = shape;
  save_graph(self);
  auto domains = domains_of(g);
  bool same = domains.size() == st.domains.size()
              && std::equal(domains.begin(), domains.end(), st.domains.begin(),
                            [](const attribute& a, const attribute& b) {
                              return a.key == b.key && a.value == b.value;
                            });
  // Edges matter too (adjacency), not only the components.
  if (same && std::get<1>(shape) == st.sent_edges)
    return;
  st.sent_edges = std::get<1>(shape);
  st.domains = std::move(domains);
  auto corr = caf::actor_cast<correlator_actor>(
    self->system().registry().get(st.cfg.correlator_key));
  if (!corr) {
    // Try again next time.
    st.shape = {};
    return;
  }
  domain_map m;
  m.version = ++st.domains_version;
  m.entries = st.domains;
  for (auto& e : g.edges())
    m.links.push_back({std::move(e.caller), std::move(e.callee)});
  self->send(corr, atom::domains_v, std::move(m));
}

} // namespace

rank_input input_of(rca_request& req) {
  rank_input in;
  in.anomalous = std::move(req.anomalous);
  in.changes = std::move(req.changes);
  in.window_start_ms = req.window_start_ms;
  in.window_end_ms = req.window_end_ms;
  return in;
}

rca_actor::behavior_type rca(rca_actor::stateful_pointer<rca_state> self,
                             rca_config cfg) {
  auto& st = self->state;
  st.load = cfg.load;
  st.graph = std::make_unique<service_graph>(cfg.graph);
  if (!cfg.static_edges.empty()) {
    topology_update u;
    u.edges = cfg.static_edges;
    st.graph->add_static(u);
  }
  if (cfg.metrics) {
    auto& spans = cfg.metrics->counters(
      "vigil_spans_received_total", "Spans received, by status.", {"status"});
    st.spans = &spans.with({"ok"});
    st.error_spans = &spans.with({"error"});
    st.edges = &cfg.metrics->counter_(
      "vigil_topology_edges_received_total", "Static topology edges received.");
    st.rank_seconds
      = &cfg.metrics
           ->histograms("vigil_rca_rank_seconds",
                        "Time to rank one incident's root-cause candidates.",
                        {}, {0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1})
           .with({});
  }
  st.cfg = std::move(cfg);
  if (st.cfg.store)
    restore_graph(self, *st.cfg.store);
  self->send(self, atom::tick_v);
  return {
    [self](atom::ingest, span_batch& batch) {
      if (auto& load = self->state.load)
        load->release(load->rca_slot(), batch.spans.size());
      for (auto& s : batch.spans) {
        auto* c = s.status == static_cast<uint8_t>(span_status::error)
                    ? self->state.error_spans
                    : self->state.spans;
        if (c)
          c->inc();
      }
      self->state.graph->add_spans(batch.spans);
    },
    [self](atom::ingest, topology_update& update) {
      if (auto& load = self->state.load)
        load->release(load->rca_slot(), update.edges.size());
      if (self->state.edges)
        self->state.edges->inc(update.edges.size());
      self->state.graph->add_static(update);
      push_domains(self);
    },
    [self](atom::query) -> topology_snapshot {
      return snapshot_of(*self->state.graph);
    },
    [self](atom::rank, rca_request& req) -> rca_result {
      auto& st = self->state;
      auto t0 = mono_ns();
      auto in = input_of(req);
      auto r = rank(*st.graph, in, st.cfg.ranker);
      if (st.rank_seconds)
        st.rank_seconds->observe(static_cast<double>(mono_ns() - t0) / 1e9);
      auto out = to_result(r, req);
      out.baseline = nearest_anomalous_ancestor(*st.graph, in);
      return out;
    },
    [self](atom::tick) {
      push_domains(self);
      self->delayed_send(self, self->state.cfg.domain_interval, atom::tick_v);
    },
  };
}

} // namespace vigil::rca
