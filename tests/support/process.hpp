#pragma once

// Runs real programs (vigild, Prometheus, Alertmanager) for integration
// tests: spawn with arguments, read stdout lines, signal, wait with a
// deadline. Every wait has a deadline.

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace vigil::test {

/// A child process with its stdout readable line by line and its stderr in
/// a file.
class process {
public:
  /// Starts `argv[0]` with `argv`; stderr goes to `stderr_path`.
  process(std::vector<std::string> argv, std::string stderr_path);
  ~process();
  process(const process&) = delete;
  process& operator=(const process&) = delete;

  /// Whether the child was started.
  bool started() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }

  /// Reads stdout until a line starting with `prefix` or the deadline.
  std::optional<std::string> wait_for_line(const std::string& prefix,
                                           std::chrono::milliseconds deadline);

  /// Sends `sig`.
  void signal(int sig);

  /// Waits for the child to exit; its exit code, or 128+signal, or nothing
  /// on timeout.
  std::optional<int> wait(std::chrono::milliseconds deadline);

  /// Kills (SIGKILL) and reaps the child if it still runs.
  void kill_now();

  /// Everything the child wrote to stderr so far.
  std::string stderr_text() const;

private:
  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  std::string buffer_;
  std::string stderr_path_;
  std::optional<int> status_;
};

} // namespace vigil::test
