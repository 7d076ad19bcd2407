#include "messages/errc.hpp"

#include <caf/message.hpp>

namespace vigil {

std::string to_string(errc x) {
  switch (x) {
    case errc::none:
      return "none";
    case errc::malformed:
      return "malformed";
    case errc::too_large:
      return "too_large";
    case errc::unsupported_media_type:
      return "unsupported_media_type";
    case errc::unauthorized:
      return "unauthorized";
    case errc::overloaded:
      return "overloaded";
    case errc::rate_limited:
      return "rate_limited";
    case errc::unavailable:
      return "unavailable";
    case errc::storage_failure:
      return "storage_failure";
    case errc::invalid_config:
      return "invalid_config";
    case errc::not_found:
      return "not_found";
    case errc::restart_budget_exhausted:
      return "restart_budget_exhausted";
    case errc::shutting_down:
      return "shutting_down";
    case errc::internal:
      return "internal";
  }
  return "errc(" + std::to_string(static_cast<int>(x)) + ")";
}

std::string render(const caf::error& err) {
  if (!err)
    return "no error";
  if (err.category() != caf::atom("vigil"))
    return caf::to_string(err);
  auto& ctx = err.context();
  std::string parts;
  for (size_t i = 0; i < ctx.size(); ++i) {
    std::string part = ctx.match_element<std::string>(i)
                         ? ctx.get_as<std::string>(i)
                         : ctx.stringify(i);
    if (part.empty())
      continue;
    parts += parts.empty() ? part : " (" + part + ")";
  }
  auto name = to_string(static_cast<errc>(err.code()));
  return parts.empty() ? name : name + ": " + parts;
}

std::string render_errc(uint8_t code, caf::atom_value,
                        const caf::message& context) {
  return "vigil: "
         + render(caf::error{code, caf::atom("vigil"), context});
}

} // namespace vigil
