#include "actors/correlator/correlator.hpp"

#include <caf/actor_system.hpp>
#include <spdlog/spdlog.h>

namespace vigil::correlator {

correlator_actor::behavior_type
correlator(correlator_actor::stateful_pointer<correlator_state> self,
           const correlator_config& cfg) {
  auto& st = self->state;
  st.load = cfg.load;
  st.log = std::make_unique<anomaly_log>(cfg.detection.recent_anomalies,
                                         cfg.store);
  if (auto err = st.log->load())
    spdlog::error("correlator: cannot load recent anomalies: {}",
                  self->system().render(err));
  if (cfg.metrics) {
    st.anomalies_kept = &cfg.metrics->counter_(
      "vigil_anomalies_received_total",
      "Anomaly events received by the correlator.");
    st.alerts = &cfg.metrics->counters(
      "vigil_alerts_received_total",
      "Alertmanager alerts received, by alert status.", {"status"});
    st.changes = &cfg.metrics->counter_("vigil_changes_received_total",
                                        "Change events received.");
  }
  return {
    [self](atom::anomaly, anomaly_event& ev) {
      self->state.log->add(std::move(ev));
      if (self->state.anomalies_kept)
        self->state.anomalies_kept->inc();
    },
    [self](atom::ingest, alert_batch& batch) {
      if (auto& load = self->state.load)
        load->release(load->correlator_slot(), batch.alerts.size());
      for (auto& a : batch.alerts) {
        if (self->state.alerts)
          self->state.alerts->with({a.status}).inc();
        spdlog::debug("alert {} {} service={}", a.fingerprint, a.status,
                      a.service);
      }
    },
    [self](atom::ingest, change_batch& batch) {
      if (auto& load = self->state.load)
        load->release(load->correlator_slot(), batch.changes.size());
      if (self->state.changes)
        self->state.changes->inc(batch.changes.size());
      for (auto& c : batch.changes)
        spdlog::debug("change {} {} {}", c.service, c.kind, c.version);
    },
    [self](atom::query, const anomaly_query& q) {
      return self->state.log->query(q);
    },
  };
}

} // namespace vigil::correlator
