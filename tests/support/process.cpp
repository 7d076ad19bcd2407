#include "tests/support/process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <thread>

#include "tests/support/support.hpp"

namespace vigil::test {

process::process(std::vector<std::string> argv, std::string stderr_path)
  : stderr_path_(std::move(stderr_path)) {
  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0)
    return;
  int err = ::open(stderr_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
                   0644);
  pid_ = fork();
  if (pid_ == 0) {
    // Die with the test, even if it is killed: no orphaned servers.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    dup2(out[1], 1);
    if (err >= 0)
      dup2(err, 2);
    // Signals blocked in the test's threads must not stay blocked here.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    std::vector<char*> args;
    for (auto& a : argv)
      args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  ::close(out[1]);
  if (err >= 0)
    ::close(err);
  stdout_fd_ = out[0];
}

process::~process() {
  kill_now();
  if (stdout_fd_ >= 0)
    ::close(stdout_fd_);
}

std::optional<std::string>
process::wait_for_line(const std::string& prefix,
                       std::chrono::milliseconds deadline) {
  auto until = std::chrono::steady_clock::now() + deadline;
  for (;;) {
    for (auto nl = buffer_.find('\n'); nl != std::string::npos;
         nl = buffer_.find('\n')) {
      auto line = buffer_.substr(0, nl);
      buffer_.erase(0, nl + 1);
      if (line.rfind(prefix, 0) == 0)
        return line;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      until - std::chrono::steady_clock::now());
    if (left.count() <= 0 || stdout_fd_ < 0)
      return std::nullopt;
    pollfd p{stdout_fd_, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left.count())) <= 0)
      return std::nullopt;
    char buf[4096];
    auto n = ::read(stdout_fd_, buf, sizeof(buf));
    if (n <= 0)
      return std::nullopt;
    buffer_.append(buf, static_cast<size_t>(n));
  }
}

void process::signal(int sig) {
  if (pid_ > 0 && !status_)
    ::kill(pid_, sig);
}

std::optional<int> process::wait(std::chrono::milliseconds deadline) {
  if (status_)
    return status_;
  if (pid_ <= 0)
    return std::nullopt;
  auto until = std::chrono::steady_clock::now() + deadline;
  for (;;) {
    int st = 0;
    auto r = waitpid(pid_, &st, WNOHANG);
    if (r == pid_) {
      status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
      return status_;
    }
    if (std::chrono::steady_clock::now() >= until)
      return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds{10});
  }
}

void process::kill_now() {
  if (pid_ > 0 && !status_) {
    ::kill(pid_, SIGKILL);
    wait(std::chrono::seconds{10});
  }
}

std::string process::stderr_text() const {
  return read_file(stderr_path_);
}

} // namespace vigil::test
