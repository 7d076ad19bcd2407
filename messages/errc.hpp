#pragma once

#include <cstdint>
#include <string>

#include <caf/error.hpp>
#include <caf/make_message.hpp>
#include <caf/message.hpp>

namespace vigil {

/// Vigil's error codes, carried in `caf::error` with category "vigil".
/// Append-only; `none = 0` means "no error" and is never used for a failure.
enum class errc : uint8_t {
  none = 0,
  /// The input is malformed (bad syntax, bad field, bad encoding).
  malformed,
  /// The input exceeds a configured size limit.
  too_large,
  /// The content type or content encoding is not supported.
  unsupported_media_type,
  /// The caller did not present a valid token.
  unauthorized,
  /// The node is shedding load; retry later.
  overloaded,
  /// The caller exceeded its rate limit; retry later.
  rate_limited,
  /// The target shard or actor is (re)starting; retry later.
  unavailable,
  /// A storage operation failed.
  storage_failure,
  /// A configuration value is invalid.
  invalid_config,
  /// The requested object does not exist.
  not_found,
  /// A child exceeded its restart budget and the supervisor gave up.
  restart_budget_exhausted,
  /// The node is shutting down.
  shutting_down,
  /// An invariant did not hold; a bug.
  internal,
};

/// Returns the name of `x`, e.g. "overloaded".
std::string to_string(errc x);

/// Renders any error for humans without an actor system: for Vigil's own
/// errors "code: what (where)", else CAF's rendering.
std::string render(const caf::error& err);

/// Renders a `caf::error` of category "vigil" for `actor_system::render`.
std::string render_errc(uint8_t code, caf::atom_value category,
                        const caf::message& context);

} // namespace vigil

CAF_ERROR_CODE_ENUM(vigil::errc, "vigil")
