#pragma once

// Errors of the codecs. Every failure is a `caf::error` of category "vigil"
// with exactly two strings as context: what is wrong, and where it is
// ("timeseries[12].labels[3]: byte 1834", "line 17, field \"value\"",
// "$.alerts[2].startsAt").

#include <string>

#include <caf/error.hpp>
#include <caf/make_message.hpp>

#include "messages/errc.hpp"

namespace vigil::codec {

/// A codec failure taken apart for the HTTP layer.
struct codec_error {
  /// `errc::malformed`, `errc::too_large` or `errc::unsupported_media_type`
  /// for codec errors; `errc::internal` for an error of a foreign category.
  errc code = errc::none;
  /// What is wrong, for humans.
  std::string message;
  /// Where in the input; may be empty.
  std::string where;

  /// Returns the HTTP status for `code` (400, 413, 415; 500 otherwise).
  int http_status() const noexcept;
};

/// Takes `err` apart. Robust against errors that do not carry two strings:
/// the message then is the rendered context and `where` is empty.
codec_error describe(const caf::error& err);

/// Returns an `errc::malformed` error (HTTP 400).
caf::error malformed(std::string message, std::string where);

/// Returns an `errc::too_large` error (HTTP 413).
caf::error too_large(std::string message, std::string where);

/// Returns an `errc::unsupported_media_type` error (HTTP 415).
caf::error unsupported_media_type(std::string message, std::string where);

} // namespace vigil::codec
