#pragma once

#include <string>

#include <caf/actor.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/expected.hpp>

namespace vigil::cluster {

/// The application identifier nodes exchange on connect: a node of another
/// build (whose messages would not deserialize the same) refuses to talk.
std::string app_identifier(const std::string& version);

/// Loads CAF's middleman and sets its node-to-node options in `cfg`.
void configure_middleman(caf::actor_system_config& cfg,
                         const std::string& version);

/// Publishes `entry` (the admin actor) on HOST:PORT of the CAF middleman;
/// port 0 picks one. Returns the bound port.
caf::expected<uint16_t> publish_entry(caf::actor_system& sys,
                                      const caf::actor& entry,
                                      const std::string& host, uint16_t port);

} // namespace vigil::cluster
