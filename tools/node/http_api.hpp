#pragma once

#include "runtime/http/router.hpp"
#include "runtime/http/server.hpp"

namespace vigil::node {

class node;

/// The HTTP API of CONTRACT §3 on top of a node: decoding at the edge,
/// requests to the node's actors, error mapping and self-metrics.
struct http_api {
  /// Every route of the node.
  static http::router make_router(node& n);
  /// Token checks and request/rejection counters.
  static http::server_hooks make_hooks(node& n);
};

} // namespace vigil::node
