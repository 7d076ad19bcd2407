#pragma once

#include <string>

#include "config/options.hpp"

namespace vigil::eval {

/// Replays every `<category>/<name>.csv` (timestamp,value) under `data_dir`
/// through the detectors configured in `detection`, in event time, and
/// writes `<out_dir>/vigil/<category>/vigil_<name>.csv` with
/// timestamp,value,anomaly_score (NAB's results layout). Returns a process
/// exit code; progress and errors go to stderr.
int run_nab(const std::string& data_dir, const std::string& out_dir,
            const detection_options& detection);

} // namespace vigil::eval
