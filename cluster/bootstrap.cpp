#include "cluster/bootstrap.hpp"

#include <fstream>
#include <utility>

#include <caf/actor_system.hpp>
#include <caf/io/middleman.hpp>
#include <caf/openssl/manager.hpp>
#include <caf/openssl/publish.hpp>

#include "messages/errc.hpp"

namespace vigil::cluster {

std::string app_identifier(const std::string& version) {
  return "vigil-" + version;
}

caf::error check_tls(const tls_files& tls) {
  if (!tls.enabled())
    return {};
  for (auto [file, key] : {std::pair{&tls.certificate, "tls_certificate"},
                           std::pair{&tls.key, "tls_key"},
                           std::pair{&tls.ca, "tls_ca"}}) {
    std::ifstream in{*file};
    if (!in)
      return caf::make_error(errc::invalid_config,
                             std::string{"cluster."} + key + ": cannot read "
                               + *file);
  }
  return {};
}

void configure_middleman(caf::actor_system_config& cfg,
                         const std::string& version,
                         std::chrono::milliseconds heartbeat,
                         std::chrono::milliseconds timeout,
                         const tls_files& tls) {
  cfg.load<caf::io::middleman>();
  if (tls.enabled()) {
    cfg.load<caf::openssl::manager>();
    cfg.set("openssl.certificate", tls.certificate);
    cfg.set("openssl.key", tls.key);
    cfg.set("openssl.cafile", tls.ca);
  }
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
                                      const std::string& host, uint16_t port,
                                      bool tls) {
  // SO_REUSEADDR: a restarted node rebinds its port while connections of
  // its previous run linger in TIME_WAIT (a live listener still refuses).
  auto res = tls ? caf::openssl::publish(entry, port, host.c_str(), true)
                 : sys.middleman().publish(entry, port, host.c_str(), true);
  if (!res)
    return caf::make_error(errc::unavailable,
                           "cannot listen on cluster address " + host + ":"
                             + std::to_string(port),
                           sys.render(res.error()));
  return *res;
}

caf::actor connector(caf::actor_system& sys, bool tls) {
  return caf::actor_cast<caf::actor>(
    tls ? sys.openssl_manager().actor_handle()
        : sys.middleman().actor_handle());
}

} // namespace vigil::cluster
