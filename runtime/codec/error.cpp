#include "runtime/codec/error.hpp"

#include <caf/atom.hpp>
#include <caf/message.hpp>

namespace vigil::codec {

int codec_error::http_status() const noexcept {
  switch (code) {
    case errc::malformed:
      return 400;
    case errc::too_large:
      return 413;
    case errc::unsupported_media_type:
      return 415;
    default:
      return 500;
  }
}

codec_error describe(const caf::error& err) {
  codec_error result;
  if (!err)
    return result;
  const auto& ctx = err.context();
  if (err.category() == caf::atom("vigil"))
    result.code = static_cast<errc>(err.code());
  else
    result.code = errc::internal;
  if (ctx.match_elements<std::string, std::string>()) {
    result.message = ctx.get_as<std::string>(0);
    result.where = ctx.get_as<std::string>(1);
  } else if (ctx.match_elements<std::string>()) {
    result.message = ctx.get_as<std::string>(0);
  } else if (!ctx.empty()) {
    result.message = caf::to_string(ctx);
  } else {
    result.message = caf::to_string(err.category()) + " error "
                     + std::to_string(err.code());
  }
  return result;
}

caf::error malformed(std::string message, std::string where) {
  return caf::make_error(errc::malformed, std::move(message),
                         std::move(where));
}

caf::error too_large(std::string message, std::string where) {
  return caf::make_error(errc::too_large, std::move(message),
                         std::move(where));
}

caf::error unsupported_media_type(std::string message, std::string where) {
  return caf::make_error(errc::unsupported_media_type, std::move(message),
                         std::move(where));
}

} // namespace vigil::codec
