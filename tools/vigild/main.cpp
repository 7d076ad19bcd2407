// vigild: one Vigil node. See CONTRACT §2 for flags, defaults, the ready
// line and signals.
//
// Exit codes: 0 graceful stop; 1 runtime failure (cannot bind, storage in
// use, supervision tree gave up); 2 bad flags or configuration.

#include <signal.h>

#include <cstdio>
#include <iostream>

#include <spdlog/spdlog.h>

#include "config/flags.hpp"
#include "config/loader.hpp"
#include "messages/errc.hpp"
#include "runtime/logging.hpp"
#include "tools/node/node.hpp"

namespace {

int run(int argc, char** argv) {
  auto parsed = vigil::parse_flags(argc, argv);
  if (!parsed.ok()) {
    std::cerr << "vigild: " << parsed.message() << "\n"
              << "run 'vigild --help' for usage\n";
    return 2;
  }
  auto& f = parsed.value;
  if (f.help) {
    std::cout << vigil::usage();
    return 0;
  }
  if (f.version) {
    std::cout << "vigild " << VIGIL_VERSION << "\n";
    return 0;
  }
  if (f.print_config) {
    std::cout << vigil::reference_config();
    return 0;
  }
  auto resolved = vigil::resolve_options(f);
  if (!resolved.ok()) {
    std::cerr << "vigild: " << resolved.message() << "\n";
    return 2;
  }
  vigil::setup_logging(resolved.opts.node.log_level);
  // Signals are taken synchronously by this thread; every thread the node
  // starts inherits the mask and never sees them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  auto node = vigil::node::node::start(resolved.opts);
  if (!node) {
    auto err = node.error();
    std::cerr << "vigild: cannot start: " << vigil::render(err) << "\n";
    return 1;
  }
  auto& n = **node;
  std::cout << n.ready_line() << std::endl;
  spdlog::info("{}", n.ready_line());
  for (;;) {
    timespec tick{0, 200'000'000};
    int sig = sigtimedwait(&signals, nullptr, &tick);
    if (n.failed()) {
      spdlog::critical("stopping: the supervision tree gave up");
      n.stop();
      return 1;
    }
    if (sig == SIGTERM || sig == SIGINT) {
      spdlog::info("received {}; stopping", sig == SIGTERM ? "SIGTERM"
                                                          : "SIGINT");
      n.stop();
      spdlog::info("stopped");
      return 0;
    }
    if (sig == SIGHUP) {
      auto again = vigil::resolve_options(f);
      if (!again.ok()) {
        spdlog::error("reload refused, keeping the running config: {}",
                      again.message());
        continue;
      }
      spdlog::info("reloaded: {}", n.reload(again.opts));
    }
  }
}

} // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "vigild: fatal: " << e.what() << "\n";
    return 1;
  }
}
