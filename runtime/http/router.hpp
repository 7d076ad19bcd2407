#pragma once

// Maps a method and a path to a handler. Patterns are literal segments and
// `{name}` segments ("/api/v1/incidents/{id}/ack"); the router knows nothing
// about Vigil's endpoints, the node registers them.

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "runtime/http/message.hpp"

namespace vigil::http {

/// How the server treats requests for one route.
struct route_options {
  /// Label for metrics and hooks, e.g. "remote_write". Default: "" (the
  /// pattern is used).
  std::string endpoint;
  /// Who may call the route; checked before the body is read.
  /// Default: admin.
  access who = access::admin;
  /// Largest body accepted, as sent on the wire (de-chunked); larger ones
  /// get 413 without being read. Default: 1 MiB.
  uint64_t max_body_bytes = 1 << 20;
};

/// The outcome of looking up a method and path.
struct route_match {
  /// What the lookup found.
  enum class kind {
    /// A route for the method and path: `options`, `fn` and `params` are set.
    found,
    /// Routes for the path exist, but none for the method: see `allowed`.
    method_not_allowed,
    /// No route for the path.
    not_found,
  };
  /// What the lookup found.
  kind result = kind::not_found;
  /// The matched route's options; points into the router.
  const route_options* options = nullptr;
  /// The matched route's handler; points into the router.
  const handler* fn = nullptr;
  /// Values of the `{name}` segments, percent-decoded.
  std::unordered_map<std::string, std::string> params;
  /// For `method_not_allowed`: the methods the path has, in the order added.
  std::vector<verb> allowed;
};

/// A set of routes; fill it before starting the server, which then only reads
/// it (so lookups from many threads are safe).
class router {
public:
  /// Adds a route. `pattern` starts with '/'; a segment that is exactly
  /// `{name}` matches any one segment and binds it to `name`. Throws
  /// std::invalid_argument for a malformed pattern, `verb::unknown`, a
  /// parameter name used twice, or a method + pattern already added.
  void add(verb method, std::string pattern, route_options options, handler fn);

  /// Looks up `raw_path`, the target's path still percent-encoded (so an
  /// encoded '/' stays inside its segment). Literal segments win over
  /// `{param}` segments at the first position where candidates differ.
  route_match match(verb method, std::string_view raw_path) const;

  /// Returns the number of routes.
  size_t size() const { return routes_.size(); }

private:
  struct segment {
    std::string text; // literal text, or the parameter name
    bool is_param = false;
  };

  struct route {
    verb method;
    std::string pattern;
    std::vector<segment> segments;
    route_options options;
    handler fn;
  };

  std::vector<route> routes_;
};

} // namespace vigil::http
