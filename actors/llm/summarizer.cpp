#include "actors/llm/summarizer.hpp"

#include <caf/actor_registry.hpp>
#include <spdlog/spdlog.h>

#include "actors/llm/client.hpp"
#include "messages/errc.hpp"

namespace vigil::llm {

namespace {

constexpr auto ask_timeout = std::chrono::seconds{10};

// Edges touching the top candidates, "caller->callee".
std::vector<std::string> neighbours_of(const incident_view& inc,
                                       const topology_snapshot& g) {
  std::set<std::string> near;
  for (size_t i = 0; i < inc.root_cause.candidates.size() && i < 3; ++i)
    near.insert(inc.root_cause.candidates[i].service);
  std::vector<std::string> out;
  for (const auto& e : g.edges)
    if (near.count(e.caller) || near.count(e.callee))
      out.push_back(e.caller + "->" + e.callee);
  return out;
}

void write(summarizer_actor::stateful_pointer<summarizer_state> self,
           const incident_view& inc, const std::vector<std::string>& nb) {
  auto& st = self->state;
  auto req = make_request(st.cfg.opts, st.cfg.key, make_prompt(inc, nb));
  auto text = complete(st.cfg.opts, req);
  if (!text) {
    spdlog::warn("INC-{:06}: no model summary, keeping the template's: {}",
                 inc.id, render(text.error()));
    if (st.calls)
      st.calls->with({"failed"}).inc();
    return;
  }
  if (st.calls)
    st.calls->with({"ok"}).inc();
  auto c = caf::actor_cast<correlator_actor>(
    self->system().registry().get(st.cfg.correlator_key));
  if (c)
    self->send(c, atom::summary_v, inc.id, std::move(*text));
}

} // namespace

summarizer_actor::behavior_type
summarizer(summarizer_actor::stateful_pointer<summarizer_state> self,
           summarizer_config cfg) {
  self->state.cfg = std::move(cfg);
  if (self->state.cfg.metrics)
    self->state.calls = &self->state.cfg.metrics->counters(
      "vigil_llm_summaries_total",
      "Incident summaries asked of the language model, by outcome.",
      {"outcome"});
  return {
    [self](atom::summary, uint64_t id) {
      auto& st = self->state;
      if (!st.queued.insert(id).second)
        return; // already on its way
      auto c = caf::actor_cast<correlator_actor>(
        self->system().registry().get(st.cfg.correlator_key));
      if (!c) {
        st.queued.erase(id);
        return;
      }
      self->request(c, ask_timeout, atom::get_v, id)
        .then(
          [self, id](incident_view& inc) {
            auto rca = caf::actor_cast<rca_actor>(
              self->system().registry().get(self->state.cfg.rca_key));
            if (!rca) {
              write(self, inc, {});
              self->state.queued.erase(id);
              return;
            }
            self->request(rca, ask_timeout, atom::query_v)
              .then(
                [self, id, inc](topology_snapshot& g) {
                  write(self, inc, neighbours_of(inc, g));
                  self->state.queued.erase(id);
                },
                [self, id, inc](const caf::error&) {
                  write(self, inc, {});
                  self->state.queued.erase(id);
                });
          },
          [self, id](const caf::error& err) {
            spdlog::warn("INC-{:06}: cannot summarise: {}", id, render(err));
            self->state.queued.erase(id);
          });
    },
  };
}

} // namespace vigil::llm
