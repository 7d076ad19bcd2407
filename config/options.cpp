#include "config/options.hpp"

namespace vigil {

std::string to_string(const host_port& x) {
  if (x.host.find(':') != std::string::npos)
    return "[" + x.host + "]:" + std::to_string(x.port);
  return x.host + ":" + std::to_string(x.port);
}

} // namespace vigil
