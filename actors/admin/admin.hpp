#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "messages/interfaces.hpp"
#include "runtime/http/client.hpp"

namespace vigil::admin {

/// What the admin actor needs: its node's status, and how to reach the
/// node's admin API (loopback HTTP with the admin token), which answers
/// every console command, so the console and the HTTP API cannot drift.
struct admin_config {
  node_status status;
  std::string api_host;
  uint16_t api_port = 0;
  std::string token;
};

/// What the admin actor owns: the config and one kept-alive API client.
struct admin_state {
  admin_config cfg;
  std::unique_ptr<http::client> api;
  static inline const char* name = "vigil.admin";
};

/// The admin console's entry point, published on the node's cluster port.
/// Spawn it detached: a console command is a blocking loopback call.
admin_actor::behavior_type admin(admin_actor::stateful_pointer<admin_state> self,
                                 admin_config cfg);

/// Whether `given` equals `expected`, in time independent of where they
/// differ (token checks).
bool same_token(const std::string& given, const std::string& expected);

} // namespace vigil::admin
