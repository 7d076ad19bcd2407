#include "tools/vigil-eval/logs.hpp"

#include <fstream>
#include <iostream>
#include <unordered_map>
#include <vector>

#include "actors/detector/log_parse.hpp"

namespace vigil::eval {

namespace {

void csv_field(std::ostream& out, const std::string& s) {
  out << '"';
  for (char c : s) {
    if (c == '"')
      out << "\"\"";
    else if (c == '\n' || c == '\r')
      out << ' ';
    else
      out << c;
  }
  out << '"';
}

} // namespace

int run_logs(const std::string& input, const std::string& format,
             const detector::log_template_options& opts, std::ostream& out) {
  auto fmt = detector::log_format_from(format);
  if (!fmt) {
    std::cerr << "vigil-eval logs: unknown format '" << format
              << "' (auto|json|logfmt|syslog|access|log4j|python|text)\n";
    return 2;
  }
  std::ifstream in{input, std::ios::binary};
  if (!in) {
    std::cerr << "vigil-eval logs: cannot read " << input << "\n";
    return 1;
  }
  detector::template_miner miner{opts};
  std::vector<uint64_t> ids;
  // Final text of every template, kept here too because the miner may have
  // evicted a template by the end of the file.
  std::unordered_map<uint64_t, std::string> texts;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r')
      line.pop_back();
    auto parsed = detector::parse_log_line(line, *fmt);
    auto m = miner.add(detector::mining_text(parsed));
    ids.push_back(m.id);
    if (m.created || m.changed) {
      if (auto* t = miner.find(m.id))
        texts[m.id] = t->text();
    }
  }
  out << "line,template_id,template\n";
  for (size_t i = 0; i < ids.size(); ++i) {
    out << (i + 1) << ',' << detector::template_id_text(ids[i]) << ',';
    csv_field(out, texts[ids[i]]);
    out << '\n';
  }
  out.flush();
  return out ? 0 : 1;
}

} // namespace vigil::eval
