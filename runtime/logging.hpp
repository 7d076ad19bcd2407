#pragma once

#include <string_view>

namespace vigil {

/// Sends spdlog's default logger to stderr with Vigil's line format and the
/// given level (trace, debug, info, warn, error). Unknown levels mean info.
void setup_logging(std::string_view level);

/// Changes the level of the default logger (SIGHUP reload).
void set_log_level(std::string_view level);

} // namespace vigil
