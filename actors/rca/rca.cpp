#include "actors/rca/rca.hpp"

#include <algorithm>

namespace vigil::rca {

rca_actor::behavior_type rca(rca_actor::stateful_pointer<rca_state> self,
                             rca_config cfg) {
  self->state.load = std::move(cfg.load);
  self->state.graph = std::make_unique<service_graph>(cfg.graph);
  if (cfg.metrics) {
    auto& spans = cfg.metrics->counters(
      "vigil_spans_received_total", "Spans received, by status.", {"status"});
    self->state.spans = &spans.with({"ok"});
    self->state.error_spans = &spans.with({"error"});
    self->state.edges = &cfg.metrics->counter_(
      "vigil_topology_edges_received_total", "Static topology edges received.");
  }
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
    },
    [self](atom::query) -> topology_snapshot {
      auto& g = *self->state.graph;
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
      snap.services.erase(
        std::unique(snap.services.begin(), snap.services.end()),
        snap.services.end());
      return snap;
    },
  };
}

} // namespace vigil::rca
