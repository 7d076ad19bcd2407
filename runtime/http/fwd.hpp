#pragma once

// Forward declarations of the HTTP layer, for headers that only pass these
// types around.

namespace vigil::http {

enum class access;
struct request;
struct response;
struct route_options;
struct route_match;
class router;
struct server_options;
struct server_hooks;
class server;
struct client_response;
class client;

} // namespace vigil::http
