// The C++ half of tools/bench.d/iforest_vs_sklearn.py: fits Vigil's
// Isolation Forest on a CSV file (one sample per line, numbers only, no
// header), writes each row's anomaly score to another CSV file, and prints
// one JSON line with the fit time and the scoring time per sample (one row
// per call, and the batch call). Not a Google Benchmark: the Python script
// needs the scores of exactly the rows it gave, and sklearn's timing is
// taken the same way on the same rows.
//
//   bench-detector_iforest_compare --data X.csv --scores S.csv
//     [--seed 1] [--trees 100] [--psi 256] [--timing-rows 10000]
//     [--repeat 5]

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "actors/detector/iforest.hpp"
#include "messages/errc.hpp"

using namespace vigil::detector;

namespace {

[[noreturn]] void usage(const std::string& why) {
  std::cerr << "detector_iforest_compare: " << why
            << "\nusage: --data X.csv --scores S.csv [--seed N] [--trees N]"
               " [--psi N] [--timing-rows N] [--repeat N]\n";
  std::exit(2);
}

/// Reads a numeric CSV; every line must have the same number of fields.
Eigen::MatrixXd read_csv(const std::string& path) {
  std::ifstream in{path};
  if (!in)
    usage("cannot read " + path);
  std::vector<double> values;
  size_t cols = 0;
  size_t rows = 0;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty())
      continue;
    std::stringstream fields{line};
    std::string field;
    size_t n = 0;
    while (std::getline(fields, field, ',')) {
      values.push_back(std::strtod(field.c_str(), nullptr));
      ++n;
    }
    if (rows == 0)
      cols = n;
    else if (n != cols)
      usage(path + ": line " + std::to_string(rows + 1) + " has "
            + std::to_string(n) + " fields, expected " + std::to_string(cols));
    ++rows;
  }
  Eigen::MatrixXd x(rows, cols);
  for (size_t r = 0; r < rows; ++r)
    for (size_t c = 0; c < cols; ++c)
      x(static_cast<Eigen::Index>(r), static_cast<Eigen::Index>(c))
        = values[r * cols + c];
  return x;
}

/// This thread's CPU time in ms: the machine is shared, and wall time would
/// count the other processes' turns (the Python side uses
/// time.thread_time for the same reason).
double cpu_ms() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3
         + static_cast<double>(ts.tv_nsec) * 1e-6;
}

double ms_since(double t0) {
  return cpu_ms() - t0;
}

} // namespace

int main(int argc, char** argv) {
  std::string data;
  std::string scores;
  iforest_params params;
  size_t timing_rows = 10000;
  int repeat = 5;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (i + 1 >= argc)
      usage("missing value for " + arg);
    std::string value = argv[++i];
    if (arg == "--data")
      data = value;
    else if (arg == "--scores")
      scores = value;
    else if (arg == "--seed")
      params.seed = std::stoull(value);
    else if (arg == "--trees")
      params.trees = static_cast<uint32_t>(std::stoul(value));
    else if (arg == "--psi")
      params.sample_size = static_cast<uint32_t>(std::stoul(value));
    else if (arg == "--timing-rows")
      timing_rows = std::stoul(value);
    else if (arg == "--repeat")
      repeat = std::stoi(value);
    else
      usage("unknown argument " + arg);
  }
  if (data.empty() || scores.empty())
    usage("--data and --scores are required");
  auto x = read_csv(data);
  auto t0 = cpu_ms();
  auto forest = isolation_forest::fit(x, params);
  double fit_ms = ms_since(t0);
  if (!forest) {
    std::cerr << "fit failed: " << vigil::render(forest.error()) << "\n";
    return 1;
  }
  std::vector<double> s(static_cast<size_t>(x.rows()));
  forest->score(x, s.data());
  {
    std::ofstream out{scores};
    out.precision(17);
    for (auto v : s)
      out << v << "\n";
    if (!out)
      usage("cannot write " + scores);
  }
  // Timing set: the data's rows repeated up to timing_rows, row-major, the
  // same rows sklearn is timed on.
  auto d = forest->dims();
  std::vector<double> rows(timing_rows * d);
  for (size_t r = 0; r < timing_rows; ++r)
    for (size_t c = 0; c < d; ++c)
      rows[r * d + c] = x(static_cast<Eigen::Index>(r % x.rows()),
                          static_cast<Eigen::Index>(c));
  Eigen::MatrixXd batch(static_cast<Eigen::Index>(timing_rows),
                        static_cast<Eigen::Index>(d));
  for (size_t r = 0; r < timing_rows; ++r)
    for (size_t c = 0; c < d; ++c)
      batch(static_cast<Eigen::Index>(r), static_cast<Eigen::Index>(c))
        = rows[r * d + c];
  std::vector<double> out(timing_rows);
  double single_ms = 1e300;
  double batch_ms = 1e300;
  double sink = 0;
  // Best of `repeat`: the machine is shared, the minimum is the least
  // disturbed run.
  for (int k = 0; k < repeat; ++k) {
    t0 = cpu_ms();
    for (size_t r = 0; r < timing_rows; ++r)
      sink += forest->score(rows.data() + r * d);
    single_ms = std::min(single_ms, ms_since(t0));
    t0 = cpu_ms();
    forest->score(batch, out.data());
    batch_ms = std::min(batch_ms, ms_since(t0));
    sink += out[0];
  }
  // Fit again a few times for a steadier fit time.
  for (int k = 1; k < repeat; ++k) {
    t0 = cpu_ms();
    auto again = isolation_forest::fit(x, params);
    fit_ms = std::min(fit_ms, ms_since(t0));
    sink += static_cast<double>(again->nodes());
  }
  auto per
    = [&](double ms) { return ms * 1e6 / static_cast<double>(timing_rows); };
  std::printf("{\"rows\": %zu, \"dims\": %zu, \"nodes\": %zu, "
              "\"fit_ms\": %.4f, \"score_ns_per_sample\": %.1f, "
              "\"batch_ns_per_sample\": %.1f, \"sink\": %.3g}\n",
              static_cast<size_t>(x.rows()), d, forest->nodes(), fit_ms,
              per(single_ms), per(batch_ms), sink);
  return 0;
}
