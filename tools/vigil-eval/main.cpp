// vigil-eval: evaluation harnesses that drive the same detector code as
// vigild by replay in event time (CONTRACT §5).
//
//   vigil-eval nab --data DIR --out DIR [--config FILE]
//   vigil-eval logs --input FILE [--format auto|json|logfmt|...]
//   vigil-eval rca --case DIR [--config FILE] [--dump FILE]
//   vigil-eval rank --dump FILE --case DIR [--config FILE] [--weights W]

#include <cstring>
#include <iostream>
#include <map>
#include <string>

#include "config/loader.hpp"
#include "tools/vigil-eval/logs.hpp"
#include "tools/vigil-eval/nab.hpp"
#include "tools/vigil-eval/rank.hpp"
#include "tools/vigil-eval/rca.hpp"

namespace {

int usage(int code) {
  (code == 0 ? std::cout : std::cerr)
    << "usage: vigil-eval nab --data DIR --out DIR [--config FILE]\n"
       "       vigil-eval logs --input FILE [--format FORMAT]\n"
       "       vigil-eval rca --case DIR [--config FILE] [--dump FILE]\n"
       "       vigil-eval rank --dump FILE --case DIR [--config FILE]\n"
       "                       [--weights W]\n"
       "  nab   replay every <category>/<name>.csv under DIR through the\n"
       "        detectors (detection section of FILE, else the defaults)\n"
       "        and write OUT/vigil/<category>/vigil_<name>.csv\n"
       "  logs  run every line of FILE through the log pipeline and print\n"
       "        CSV line,template_id,template; FORMAT is auto (default),\n"
       "        json, logfmt, syslog, access, log4j, python or text\n"
       "  rca   replay one RCA case through a node started in this process\n"
       "        and print {\"incidents\",\"ranking\"} for the strongest\n"
       "        incident the engine opened inside the case window (one still\n"
       "        anomalous, then a service anomalous longest, then most\n"
       "        services), and (storm) for\n"
       "        the one most services first went into inside the window;\n"
       "        --dump writes every incident of the node (services,\n"
       "        anomalies, timeline, ranking) and the learned topology to\n"
       "        FILE as JSON\n"
       "  rank  rank again, without a node, the incident rca scores in a\n"
       "        dump it wrote, with the case's changes and the rca options\n"
       "        of FILE; prints the ranking with each signal; W is seven\n"
       "        weights: isolation,earliness,propagation,pagerank,change,\n"
       "        magnitude,persistence (defaults\n"
       "        0.25,0.25,0.15,0.20,0.25,0.25,0.60)\n";
  return code;
}

} // namespace

int main(int argc, char** argv) {
  if (argc < 2)
    return usage(2);
  std::string cmd = argv[1];
  if (cmd == "-h" || cmd == "--help")
    return usage(0);
  std::map<std::string, std::string> args;
  for (int i = 2; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--", 0) != 0 || i + 1 >= argc) {
      std::cerr << "vigil-eval: unexpected argument '" << a << "'\n";
      return usage(2);
    }
    args[a.substr(2)] = argv[++i];
  }
  vigil::options opts;
  if (auto it = args.find("config"); it != args.end()) {
    auto loaded = vigil::load_config_file(it->second);
    if (!loaded.ok()) {
      std::cerr << "vigil-eval: " << loaded.message() << "\n";
      return 2;
    }
    opts = loaded.opts;
  }
  if (cmd == "nab") {
    if (!args.count("data") || !args.count("out")) {
      std::cerr << "vigil-eval nab: --data and --out are required\n";
      return usage(2);
    }
    return vigil::eval::run_nab(args["data"], args["out"], opts.detection);
  }
  if (cmd == "rca") {
    if (!args.count("case")) {
      std::cerr << "vigil-eval rca: --case is required\n";
      return usage(2);
    }
    if (!args.count("config"))
      opts.node.log_level = "warn";
    return vigil::eval::run_rca(args["case"], opts,
                                 args.count("dump") ? args["dump"] : "");
  }
  if (cmd == "rank") {
    if (!args.count("dump") || !args.count("case")) {
      std::cerr << "vigil-eval rank: --dump and --case are required\n";
      return usage(2);
    }
    return vigil::eval::run_rank(args["dump"], args["case"], opts,
                                 args.count("weights") ? args["weights"]
                                                       : "");
  }
  if (cmd == "logs") {
    if (!args.count("input")) {
      std::cerr << "vigil-eval logs: --input is required\n";
      return usage(2);
    }
    auto format = args.count("format") ? args["format"] : "auto";
    return vigil::eval::run_logs(args["input"], format, {}, std::cout);
  }
  std::cerr << "vigil-eval: unknown command '" << cmd << "'\n";
  return usage(2);
}
