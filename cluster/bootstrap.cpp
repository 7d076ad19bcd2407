#include "cluster/bootstrap.hpp"

#include <caf/actor_system.hpp>
#include <caf/io/middleman.hpp>

#include "messages/errc.hpp"

namespace vigil::cluster {

std::string app_identifier(const std::string& version) {
  return "vigil-" + version;
}

void configure_middleman(caf::actor_system_config& cfg,
                         const std::string& version) {
  cfg.load<caf::io::middleman>();
  cfg.set("middleman.app-identifiers",
          std::vector<std::string>{app_identifier(version)});
}

caf::expected<uint16_t> publish_entry(caf::actor_system& sys,
                                      const caf::actor& entry,
                                      const std::string& host, uint16_t port) {
  auto res = sys.middleman().publish(entry, port, host.c_str(), false);
  if (!res)
    return caf::make_error(errc::unavailable,
                           "cannot listen on cluster address " + host + ":"
                             + std::to_string(port),
                           sys.render(res.error()));
  return *res;
}

} // namespace vigil::cluster
