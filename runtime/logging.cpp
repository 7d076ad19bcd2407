#include "runtime/logging.hpp"

#include <string>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

namespace vigil {

void set_log_level(std::string_view level) {
  spdlog::set_level(spdlog::level::from_str(std::string{level}));
}

void setup_logging(std::string_view level) {
  auto logger = spdlog::stderr_color_mt("vigil");
  spdlog::set_default_logger(logger);
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %^%-5l%$ %v");
  set_log_level(level);
  spdlog::flush_on(spdlog::level::warn);
}

} // namespace vigil
