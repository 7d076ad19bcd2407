#pragma once

// Runs the program of a remediation `shell` action, pure logic (no actors).
// Despite the action's name there is no shell: argv goes to execve as given,
// so text filled in from alerts can never become a command. The child gets
// its own session and process group, /dev/null as stdin, one pipe for
// stdout and stderr, only the environment it is handed and no other file
// descriptor. On timeout or cancel its whole group gets SIGTERM, then
// SIGKILL after a grace; whatever it leaves running in its group when it
// exits is stopped the same way; it is always reaped. Safe to call from many
// threads at once.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <map>
#include <string>
#include <sys/types.h>
#include <vector>

#include <caf/expected.hpp>

namespace vigil::executor {

/// What to run and within which limits.
struct process_spec {
  /// The program and its arguments, each element passed on as one argument
  /// exactly as written. argv[0] must be an absolute path: there is no PATH
  /// search and never a shell. Default: empty (refused).
  std::vector<std::string> argv;
  /// The child's complete environment; nothing is inherited from this
  /// process (see `allowed_environment`). Default: empty.
  std::map<std::string, std::string> env;
  /// How long the program may run before it is stopped. Default: 30 s.
  std::chrono::milliseconds timeout{30000};
  /// Time between SIGTERM and SIGKILL when the program is stopped.
  /// Default: 2 s.
  std::chrono::milliseconds kill_grace{2000};
  /// Bytes of output (stdout and stderr together) kept; the rest is read
  /// and thrown away. Default: 64 KiB.
  size_t max_output = 64 * 1024;
  /// Absolute directory the program starts in; empty means "/".
  /// Default: empty.
  std::string working_dir;
};

/// How a run ended and what it printed.
struct process_result {
  /// The exit status when the program exited; -1 when a signal killed it or
  /// it never started.
  int exit_code = -1;
  /// The signal that killed the program; 0 when it exited.
  int signal = 0;
  /// Whether the program was stopped because it ran past its timeout.
  bool timed_out = false;
  /// Whether the program was stopped (or never started) because the cancel
  /// flag was set.
  bool canceled = false;
  /// Whether output beyond `max_output` was discarded.
  bool truncated = false;
  /// The first `max_output` bytes of stdout and stderr, interleaved in the
  /// order the program wrote them.
  std::string output;
  /// Wall time from spawn to reap.
  std::chrono::milliseconds elapsed{0};
  /// The child's pid, which is also its process group and session id (for
  /// logs; the pid is free again once this is returned). 0 if not started.
  pid_t pid = 0;

  /// Whether the program exited with 0 on its own (no timeout, no cancel).
  bool succeeded() const;
};

/// Runs `spec.argv` to completion, timeout or cancellation and returns how
/// it ended; a program that runs and fails is a result, not an error.
/// `cancel`, when given, is checked while the program runs (every 20 ms at
/// most); once true the program is stopped like on timeout. Errors, each
/// naming what is wrong: `malformed` for a bad spec (empty argv, argv[0]
/// not absolute, a NUL byte in an argument, environment entry or the
/// working dir, a bad variable name, a negative duration) or a program that
/// cannot be executed (no permission, not a binary or `#!` script);
/// `not_found` when the program or the working dir does not exist;
/// `unavailable` when the system is out of processes, descriptors or memory
/// (retryable); `internal` when the child was reaped behind our back (a
/// SIGCHLD handler or SIG_IGN elsewhere in the process).
[[nodiscard]] caf::expected<process_result>
run_process(const process_spec& spec,
            const std::atomic<bool>* cancel = nullptr);

/// Builds a child environment: the variables of this process whose names
/// are in `allow` (exact names, unset ones skipped), then `extra`, which
/// wins on a clash; nothing else. Reads the environment with getenv, so it
/// must not race with setenv/putenv on another thread.
std::map<std::string, std::string>
allowed_environment(const std::vector<std::string>& allow,
                    const std::map<std::string, std::string>& extra);

} // namespace vigil::executor
