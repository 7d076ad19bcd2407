#pragma once

// Internal to config/: small helpers every YAML reader here shares (the
// configuration loader and the playbook loader).

#include <string>
#include <string_view>

#include <yaml-cpp/yaml.h>

#include "config/schema.hpp"

namespace vigil::config {

/// The 1-based place of `mark` (yaml-cpp counts from 0 and uses -1 for "no
/// position"); zeros when unknown.
position position_of(const YAML::Mark& mark);

/// The 1-based place where `node` starts.
position position_of(const YAML::Node& node);

/// "a list", "a map", "a single value" or "nothing", for messages.
std::string_view node_kind(const YAML::Node& node);

/// A hint to add to yaml-cpp's terse syntax message when the cause at
/// 1-based `line` of `yaml` is a common one (tabs); empty otherwise.
std::string syntax_hint(std::string_view yaml, int line);

} // namespace vigil::config
