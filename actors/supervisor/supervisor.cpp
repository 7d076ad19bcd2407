#include "actors/supervisor/supervisor.hpp"

#include <caf/actor_registry.hpp>
#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/exit_reason.hpp>
#include <spdlog/spdlog.h>

#include "messages/atoms.hpp"
#include "messages/errc.hpp"

namespace vigil::supervisor {

namespace {

using self_ptr = caf::stateful_actor<supervisor_state>*;

bool is_normal(const caf::error& reason) {
  return !reason || reason == caf::exit_reason::normal
         || reason == caf::exit_reason::user_shutdown;
}

void start_child(self_ptr self, size_t index) {
  auto& c = self->state.children[index];
  c.handle = c.spec.start(self);
  c.running = true;
  ++c.generation;
  // A monitor, not a link: in CAF 0.17 a linked child killed with
  // exit_reason::kill would kill us too (kill cannot be trapped).
  self->monitor(c.handle);
  (*self->state.live)[index] = c.handle;
  if (c.spec.registry_key)
    self->system().registry().put(*c.spec.registry_key, c.handle);
}

// Stops the highest-indexed running child; called again as each one exits
// until none is left, then the supervisor exits with the stop reason. A
// child that does not exit within `timeout` is killed.
void stop_next(self_ptr self, duration timeout) {
  auto& children = self->state.children;
  for (auto i = children.size(); i-- > 0;) {
    auto& c = children[i];
    if (c.running) {
      self->send_exit(c.handle, caf::exit_reason::user_shutdown);
      self->delayed_send(self, timeout, atom::drain_v,
                         static_cast<uint64_t>(i), c.generation);
      return;
    }
  }
  self->quit(self->state.stop_reason);
}

} // namespace

caf::behavior supervisor_actor(self_ptr self, supervisor_options opts) {
  for (auto& spec : opts.children)
    self->state.children.push_back(
      {std::move(spec), caf::actor{}, restart_budget{opts.policy}});
  auto name = opts.name;
  auto shutdown_timeout = opts.shutdown_timeout;
  auto metrics = opts.metrics;
  self->set_exit_handler([=](caf::exit_msg& msg) {
    auto& children = self->state.children;
    auto from_child = std::any_of(children.begin(), children.end(), [&](auto& c) {
      return c.handle && c.handle.address() == msg.source;
    });
    // Children are monitored, not linked; an exit from one is unexpected and
    // handled by the down message.
    if (from_child)
      return;
    // From our parent (or whoever else): stop everything.
    if (!self->state.stopping) {
      self->state.stopping = true;
      self->state.stop_reason = msg.reason;
      stop_next(self, shutdown_timeout);
    }
  });
  self->set_down_handler([=](caf::down_msg& msg) {
    auto& children = self->state.children;
    auto it = std::find_if(children.begin(), children.end(), [&](auto& c) {
      return c.running && c.handle.address() == msg.source;
    });
    if (it == children.end())
      return;
    auto& c = *it;
    c.running = false;
    if (c.spec.registry_key) {
      auto current = self->system().registry().get(*c.spec.registry_key);
      if (current == caf::actor_cast<caf::strong_actor_ptr>(c.handle))
        self->system().registry().erase(*c.spec.registry_key);
    }
    c.handle = nullptr;
    (*self->state.live)[it - children.begin()] = nullptr;
    if (self->state.stopping) {
      stop_next(self, shutdown_timeout);
      return;
    }
    bool restart = c.spec.restart == restart_kind::permanent
                   || (c.spec.restart == restart_kind::transient
                       && !is_normal(msg.reason));
    if (!restart)
      return;
    auto delay = c.budget.on_crash(self->clock().now());
    if (!delay) {
      spdlog::error("{}: child {} exceeded {} restarts in {} ms ({}); "
                    "escalating",
                    name, c.spec.name, c.budget.policy().max_restarts,
                    c.budget.policy().period.count(),
                    self->system().render(msg.reason));
      self->state.stopping = true;
      self->state.stop_reason = caf::make_error(
        errc::restart_budget_exhausted, name + "/" + c.spec.name);
      stop_next(self, shutdown_timeout);
      return;
    }
    ++c.restarts;
    if (metrics)
      metrics
        ->counters("vigil_actor_restarts_total",
                   "Actors restarted by their supervisor, by actor kind.",
                   {"actor"})
        .with({c.spec.kind})
        .inc();
    spdlog::warn("{}: child {} exited ({}); restarting in {} ms", name,
                 c.spec.name, self->system().render(msg.reason),
                 delay->count());
    auto index = static_cast<uint64_t>(it - children.begin());
    self->delayed_send(self, *delay, atom::restart_v, index, c.generation);
  });
  // Children never outlive their supervisor, however it ends.
  self->state.live = std::make_shared<std::vector<caf::actor>>(
    self->state.children.size());
  self->attach_functor([live = self->state.live] {
    for (auto& child : *live)
      if (child)
        caf::anon_send_exit(child, caf::exit_reason::user_shutdown);
  });
  for (size_t i = 0; i < self->state.children.size(); ++i)
    start_child(self, i);
  return {
    [=](atom::restart, uint64_t index, uint64_t generation) {
      auto& children = self->state.children;
      if (self->state.stopping || index >= children.size())
        return;
      auto& c = children[index];
      if (c.running || c.generation != generation)
        return;
      start_child(self, index);
    },
    [=](atom::drain, uint64_t index, uint64_t generation) {
      // The stop timeout of a child fired: kill it if it is still the one we
      // asked to stop.
      auto& children = self->state.children;
      if (index >= children.size())
        return;
      auto& c = children[index];
      if (!c.running || c.generation != generation)
        return;
      spdlog::warn("{}: child {} did not stop within {} ms; killing it",
                   name, c.spec.name, shutdown_timeout.count());
      self->send_exit(c.handle, caf::exit_reason::kill);
    },
    [=](atom::status) {
      std::vector<std::string> lines;
      for (auto& c : self->state.children)
        lines.push_back(c.spec.name + (c.running ? " running" : " down")
                        + " restarts=" + std::to_string(c.restarts));
      return lines;
    },
  };
}

} // namespace vigil::supervisor
