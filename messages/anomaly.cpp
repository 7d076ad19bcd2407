#include "messages/anomaly.hpp"

namespace vigil {

const char* to_string(anomaly_phase x) {
  switch (x) {
    case anomaly_phase::onset:
      return "onset";
    case anomaly_phase::ongoing:
      return "ongoing";
    case anomaly_phase::recovered:
      return "recovered";
  }
  return "unknown";
}

} // namespace vigil
