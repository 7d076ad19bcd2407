#include "tools/vigil-eval/nab.hpp"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "actors/detector/series_table.hpp"
#include "messages/errc.hpp"
#include "runtime/hash.hpp"

namespace vigil::eval {

namespace {

namespace fs = std::filesystem;

struct row {
  std::string timestamp;
  int64_t ts_ms = 0;
  double value = 0;
};

// "2013-12-02 21:15:00" (UTC) -> ms since the epoch; -1 when malformed.
int64_t parse_timestamp(const std::string& text) {
  std::tm tm{};
  std::istringstream in{text};
  in >> std::get_time(&tm, "%Y-%m-%d %H:%M:%S");
  if (in.fail())
    return -1;
  return static_cast<int64_t>(timegm(&tm)) * 1000;
}

bool read_csv(const fs::path& path, std::vector<row>& rows,
              std::string& error) {
  std::ifstream in{path};
  if (!in) {
    error = "cannot read " + path.string();
    return false;
  }
  std::string line;
  size_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r')
      line.pop_back();
    if (line_no == 1 || line.empty())
      continue; // header
    auto comma = line.find(',');
    if (comma == std::string::npos) {
      error = path.string() + ":" + std::to_string(line_no)
              + ": expected timestamp,value";
      return false;
    }
    row r;
    r.timestamp = line.substr(0, comma);
    r.ts_ms = parse_timestamp(r.timestamp);
    char* end = nullptr;
    r.value = std::strtod(line.c_str() + comma + 1, &end);
    if (r.ts_ms < 0 || end == line.c_str() + comma + 1) {
      error = path.string() + ":" + std::to_string(line_no)
              + ": bad timestamp or value";
      return false;
    }
    rows.push_back(std::move(r));
  }
  return true;
}

// Replays one series through a fresh series table (as a detector actor
// would hold it) and returns one score per row.
std::vector<double> replay(const std::vector<row>& rows,
                           const std::shared_ptr<const detector::ensemble>& ens,
                           const detection_options& detection) {
  constexpr std::string_view text = "value";
  detector::series_table table{"nab", ens, detection};
  std::vector<double> scores;
  scores.reserve(rows.size());
  std::vector<anomaly_event> events;
  auto hash = hash64(text);
  constexpr size_t batch_size = 512;
  for (size_t i = 0; i < rows.size(); i += batch_size) {
    sample_batch b;
    b.service = "nab";
    b.texts = std::string{text};
    auto n = std::min(batch_size, rows.size() - i);
    for (size_t k = 0; k < n; ++k) {
      auto& r = rows[i + k];
      b.samples.push_back({hash, r.ts_ms, r.value, 0,
                           static_cast<uint32_t>(text.size()), 0});
    }
    table.ingest(b, events, &scores);
    events.clear();
  }
  return scores;
}

} // namespace

int run_nab(const std::string& data_dir, const std::string& out_dir,
            const detection_options& detection) {
  auto ens = detector::ensemble::make(detection);
  if (!ens) {
    std::cerr << "vigil-eval: " << render(ens.error()) << "\n";
    return 2;
  }
  std::vector<fs::path> files;
  std::error_code ec;
  for (auto& category : fs::directory_iterator{data_dir, ec}) {
    if (!category.is_directory())
      continue;
    for (auto& f : fs::directory_iterator{category.path()})
      if (f.path().extension() == ".csv")
        files.push_back(f.path());
  }
  if (ec || files.empty()) {
    std::cerr << "vigil-eval: no <category>/<name>.csv files under "
              << data_dir << "\n";
    return 2;
  }
  std::sort(files.begin(), files.end());
  auto t0 = std::chrono::steady_clock::now();
  size_t total_rows = 0;
  for (auto& path : files) {
    std::vector<row> rows;
    std::string error;
    if (!read_csv(path, rows, error)) {
      std::cerr << "vigil-eval: " << error << "\n";
      return 1;
    }
    auto scores = replay(rows, *ens, detection);
    auto category = path.parent_path().filename().string();
    auto dir = fs::path{out_dir} / "vigil" / category;
    fs::create_directories(dir);
    auto out_path = dir / ("vigil_" + path.filename().string());
    std::ofstream out{out_path};
    out << "timestamp,value,anomaly_score\n";
    char buf[64];
    for (size_t i = 0; i < rows.size(); ++i) {
      std::snprintf(buf, sizeof(buf), ",%.10g,%.6f\n", rows[i].value,
                    scores[i]);
      out << rows[i].timestamp << buf;
    }
    if (!out) {
      std::cerr << "vigil-eval: cannot write " << out_path << "\n";
      return 1;
    }
    total_rows += rows.size();
  }
  auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now()
                                            - t0)
                .count();
  std::cerr << "vigil-eval: " << files.size() << " files, " << total_rows
            << " rows in " << secs << " s\n";
  return 0;
}

} // namespace vigil::eval
