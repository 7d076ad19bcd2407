#pragma once

// Test helpers shared by every suite: fixture paths, temporary directories
// and waiting on a condition with a deadline (never a bare sleep).

#include <chrono>
#include <filesystem>
#include <functional>
#include <string>

namespace vigil::test {

/// Absolute path of `name` in tests/fixtures/.
std::string fixture_path(const std::string& name);

/// Returns the whole file at `path`; fails the test when unreadable.
std::string read_file(const std::string& path);

/// Returns the whole fixture `name`.
std::string read_fixture(const std::string& name);

/// A fresh directory under the system temp dir, removed on destruction.
class temp_dir {
public:
  temp_dir();
  ~temp_dir();
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::string str() const { return path_.string(); }

private:
  std::filesystem::path path_;
};

/// What a command run through the shell printed and how it ended.
struct run_result {
  /// The exit status; -1 when it did not exit normally or did not start.
  int exit_code = -1;
  std::string out;
};

/// Runs `command` with /bin/sh (popen), capturing its standard output to
/// the end; the command must bound itself.
run_result run_command(const std::string& command);

/// Polls `condition` every `poll` until it holds or `deadline` passes.
/// Returns whether it held.
bool wait_until(const std::function<bool()>& condition,
                std::chrono::milliseconds deadline,
                std::chrono::milliseconds poll = std::chrono::milliseconds{
                  20});

} // namespace vigil::test
