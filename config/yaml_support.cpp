#include "config/yaml_support.hpp"

#include <sstream>

namespace vigil::config {

position position_of(const YAML::Mark& mark) {
  if (mark.line < 0 || mark.column < 0)
    return {};
  return {mark.line + 1, mark.column + 1};
}

position position_of(const YAML::Node& node) {
  return position_of(node.Mark());
}

std::string_view node_kind(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a map";
    case YAML::NodeType::Scalar:
      return "a single value";
    default:
      return "nothing";
  }
}

std::string syntax_hint(std::string_view yaml, int line) {
  if (line < 1)
    return {};
  std::istringstream in{std::string{yaml}};
  std::string text;
  for (int i = 0; i < line && std::getline(in, text); ++i)
    ; // skip to the line
  auto indent = text.substr(0, text.find_first_not_of(" \t"));
  if (indent.find('\t') != std::string::npos)
    return "; tabs are not allowed for indentation, use spaces";
  return {};
}

} // namespace vigil::config
