#pragma once

// vigil-eval logs: runs every line of a file through the log pipeline
// (parse, then template mining) and prints `line,template_id,template`.

#include <iosfwd>
#include <string>

#include "actors/detector/log_templates.hpp"

namespace vigil::eval {

/// Mines the lines of `input` read as `format` ("auto", "json", ...) and
/// writes one CSV row per line to `out` (1-based line number, the template
/// id, the template's final text). Returns the process exit code.
int run_logs(const std::string& input, const std::string& format,
             const detector::log_template_options& opts, std::ostream& out);

} // namespace vigil::eval
