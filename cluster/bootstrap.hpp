#pragma once

#include <chrono>
#include <string>

#include <caf/actor.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/expected.hpp>

namespace vigil::cluster {

/// The application identifier nodes exchange on connect: a node of another
/// build (whose messages would not deserialize the same) refuses to talk.
std::string app_identifier(const std::string& version);

/// Loads CAF's middleman and sets its node-to-node options in `cfg`: the
/// version gate and CAF's own connection heartbeat and timeout.
void configure_middleman(caf::actor_system_config& cfg,
                         const std::string& version,
                         std::chrono::milliseconds heartbeat,
                         std::chrono::milliseconds timeout);

/// Publishes `entry` (the admin actor) on HOST:PORT of the CAF middleman;
/// port 0 picks one. Returns the bound port.
caf::expected<uint16_t> publish_entry(caf::actor_system& sys,
                                      const caf::actor& entry,
                                      const std::string& host, uint16_t port);

} // namespace vigil::cluster
