#include "actors/rca/rca.hpp"

namespace vigil::rca {

rca_actor::behavior_type rca(rca_actor::stateful_pointer<rca_state> self,
                             rca_config cfg) {
  self->state.load = cfg.load;
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
    },
    [self](atom::ingest, topology_update& update) {
      if (auto& load = self->state.load)
        load->release(load->rca_slot(), update.edges.size());
      if (self->state.edges)
        self->state.edges->inc(update.edges.size());
    },
  };
}

} // namespace vigil::rca
