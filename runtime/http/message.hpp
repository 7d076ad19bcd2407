#pragma once

// The request and response a route handler sees, and the small text helpers
// (JSON error bodies, percent-decoding) every part of the HTTP layer uses.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/verb.hpp>

namespace vigil::http {

/// An HTTP request method (Beast's enumeration; `verb::unknown` for methods
/// Beast does not know).
using verb = boost::beast::http::verb;

/// A list of header names and values, in the order they are sent.
using header_list = std::vector<std::pair<std::string, std::string>>;

/// Who may call a route; checked from the headers BEFORE the body is read.
enum class access {
  /// Anyone (health checks, /metrics).
  open,
  /// Senders of telemetry; the ingest token when one is configured.
  ingest,
  /// Operators; the admin token.
  admin,
  /// Operators or people named as approvers: the admin token or a token
  /// the node knows a person by (the handler decides what each may do).
  approver,
};

/// Returns "open", "ingest" or "admin".
std::string_view to_string(access x);

/// One complete request as a route handler sees it.
struct request {
  /// The method, `verb::unknown` for methods Beast does not know.
  verb method = verb::unknown;
  /// The request target as sent, e.g. "/api/v1/logs?service=a%20b".
  std::string target;
  /// The target without the query, percent-decoded, e.g. "/api/v1/logs".
  std::string path;
  /// The query parameters in order, percent-decoded ('+' is a space).
  std::vector<std::pair<std::string, std::string>> query;
  /// Values of the `{name}` segments of the matched route, percent-decoded.
  std::unordered_map<std::string, std::string> params;
  /// All request headers.
  boost::beast::http::fields headers;
  /// The body, de-chunked; may hold arbitrary bytes.
  std::string body;
  /// The peer address as "ip:port" ("[ip]:port" for IPv6).
  std::string remote;

  /// Returns the value of header `name` (case-insensitive), "" if absent.
  /// The view points into `headers`.
  std::string_view header(std::string_view name) const;

  /// Returns the first value of query parameter `key`, if present.
  std::optional<std::string> query_param(std::string_view key) const;
};

/// The answer a handler gives; the server adds Content-Length, Server and
/// Connection.
struct response {
  /// The status code; 200..999 (1xx codes are reserved to the server).
  unsigned status = 200;
  /// Content-Type of `body`; not sent when empty or for 204 and 304.
  std::string content_type = "application/json";
  /// The body; dropped for 204 and 304.
  std::string body;
  /// Extra headers, e.g. Retry-After. Values with CR or LF are dropped.
  header_list headers;

  /// Returns a response with status `code` and the JSON body
  /// `{"error":error,"detail":detail}`.
  static response error(unsigned code, std::string_view error,
                        std::string_view detail);
};

/// Completes a request. Callable from ANY thread, exactly once: later calls
/// are ignored (and debug-logged). Dropping the last copy without calling it
/// answers 500, so a forgotten request never hangs its connection.
using responder = std::function<void(response)>;

/// Serves one route. Runs on an I/O thread and must not block; it may respond
/// synchronously or later from another thread. The request stays valid for as
/// long as any copy of the responder exists. A handler that throws makes the
/// server answer 500 (unless it already responded).
using handler = std::function<void(request&, responder)>;

/// Returns `{"error":"<error>","detail":"<detail>"}`, both JSON-escaped.
std::string json_error(std::string_view error, std::string_view detail);

/// Appends `x` to `out` as a JSON string literal, quotes included. Control
/// characters are escaped and invalid UTF-8 becomes U+FFFD, so the result is
/// valid JSON for any input bytes.
void append_json_string(std::string& out, std::string_view x);

/// Percent-decodes `x`; with `plus_is_space` a '+' becomes ' ' (query
/// strings). A '%' not followed by two hex digits is kept as it is.
std::string percent_decode(std::string_view x, bool plus_is_space = false);

/// Splits a query string ("a=1&b=x%20y") into decoded key/value pairs; a key
/// without '=' gets an empty value, empty pieces are skipped.
std::vector<std::pair<std::string, std::string>>
parse_query(std::string_view query);

} // namespace vigil::http
