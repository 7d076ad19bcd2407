#include "messages/labels.hpp"

#include <cstdio>

namespace vigil {

namespace {

std::string label(const char* prefix, uint64_t id) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%s-%06llu", prefix,
                static_cast<unsigned long long>(id));
  return buf;
}

} // namespace

std::string incident_label(uint64_t id) {
  return label("INC", id);
}

std::string action_label(uint64_t id) {
  return label("ACT", id);
}

} // namespace vigil
