#pragma once

// Reading GET /api/v1/cluster answers in the cluster tests.

#include <string>

#include <nlohmann/json.hpp>

namespace vigil::test {

/// State of node `id` in a cluster view; empty when absent.
inline std::string state_in(const nlohmann::json& view,
                            const std::string& id) {
  if (!view.is_object())
    return {};
  for (auto& n : view["nodes"])
    if (n["id"] == id)
      return n["state"].get<std::string>();
  return {};
}

} // namespace vigil::test
