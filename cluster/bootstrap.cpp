#include "cluster/bootstrap.hpp"

#include <caf/actor_system.hpp>
#include <caf/io/middleman.hpp>

#include "messages/errc.hpp"

namespace vigil::cluster {

std::string app_identifier(const std::string& version) {
  return "vigil-" + version;
}

void configure_middleman(caf::actor_system_config& cfg,
                         const std::string& version,
                         std::chrono::milliseconds heartbeat,
                         std::chrono::milliseconds timeout) {
  cfg.load<caf::io::middleman>();
  cfg.set("middleman.app-identifiers",
          std::vector<std::string>{app_identifier(version)});
  // Off by default in CAF 0.17: without them a hung peer's connection never
  // ends. Vigil's own membership heartbeat judges members; these close
  // connections nobody answers on.
  cfg.set("middleman.heartbeat-interval", caf::timespan{heartbeat});
  cfg.set("middleman.connection-timeout", caf::timespan{timeout});
}

caf::expected<uint16_t> publish_entry(caf::actor_system& sys,
                                      const caf::actor& entry,
                                      const std::string& host, uint16_t port) {
  // SO_REUSEADDR: a restarted node rebinds its port while connections of
  // its previous run linger in TIME_WAIT (a live listener still refuses).
  auto res = sys.middleman().publish(entry, port, host.c_str(), true);
  if (!res)
    return caf::make_error(errc::unavailable,
                           "cannot listen on cluster address " + host + ":"
                             + std::to_string(port),
                           sys.render(res.error()));
  return *res;
}

} // namespace vigil::cluster
