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

/// PEM files of TLS between nodes; all empty = plain TCP.
struct tls_files {
  std::string certificate;
  std::string key;
  std::string ca;
  bool enabled() const { return !certificate.empty(); }
};

/// Checks that every file of an enabled `tls` is readable; the error names
/// the file.
caf::error check_tls(const tls_files& tls);

/// Loads CAF's middleman and sets its node-to-node options in `cfg`: the
/// version gate, CAF's own connection heartbeat and timeout and, with
/// `tls` enabled, libcaf_openssl with the certificate, key and CA (peers
/// must present a certificate the CA signed).
void configure_middleman(caf::actor_system_config& cfg,
                         const std::string& version,
                         std::chrono::milliseconds heartbeat,
                         std::chrono::milliseconds timeout,
                         const tls_files& tls = {});

/// Publishes `entry` (the membership actor) on HOST:PORT, over TLS when
/// enabled; port 0 picks one. Returns the bound port.
caf::expected<uint16_t> publish_entry(caf::actor_system& sys,
                                      const caf::actor& entry,
                                      const std::string& host, uint16_t port,
                                      bool tls = false);

/// The actor that opens connections to other nodes (TLS or plain).
caf::actor connector(caf::actor_system& sys, bool tls);

} // namespace vigil::cluster
