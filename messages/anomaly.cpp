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

const char* to_string(anomaly_kind x) {
  switch (x) {
    case anomaly_kind::metric:
      return "metric";
    case anomaly_kind::log_new_template:
      return "log_new_template";
    case anomaly_kind::log_error_spike:
      return "log_error_spike";
    case anomaly_kind::predictive:
      return "predictive";
    case anomaly_kind::alert:
      return "alert";
  }
  return "unknown";
}

} // namespace vigil
