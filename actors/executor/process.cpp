#include "actors/executor/process.hpp"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <fcntl.h>
#include <memory>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <string_view>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <system_error>
#include <unistd.h>
#include <utility>

#include "messages/errc.hpp"

namespace vigil::executor {

namespace {

using clock_type = std::chrono::steady_clock;
using std::chrono::milliseconds;

// How often the cancel flag is looked at, and the child's exit where the
// kernel offers no pidfd to wait on.
constexpr milliseconds tick{20};

// Once the program has exited and its group is killed, how much longer the
// pipe may stay open: a process that moved to a session of its own may hold
// it forever, and it is not ours to wait for.
constexpr milliseconds drain_after_exit{200};

// Longer durations count as this much, so deadlines never overflow.
constexpr milliseconds longest = std::chrono::days{365};

// Bytes taken from the pipe per wake-up.
constexpr size_t read_chunk = 64 * 1024;

std::string describe(int err) {
  return std::generic_category().message(err);
}

// `text` quoted for an error message: control bytes (newlines from hostile
// templates, NULs) become '?', and long values are cut.
std::string shown(std::string_view text) {
  constexpr size_t limit = 120;
  std::string out{"'"};
  for (size_t i = 0; i < text.size() && i < limit; ++i) {
    auto c = static_cast<unsigned char>(text[i]);
    out += (c < 0x20 || c == 0x7f) ? '?' : text[i];
  }
  if (text.size() > limit)
    out += "...";
  out += "'";
  return out;
}

caf::error fail(errc code, std::string what) {
  return caf::make_error(code, std::move(what));
}

milliseconds capped(milliseconds x) {
  return std::min(x, longest);
}

bool has_nul(std::string_view x) {
  return x.find('\0') != std::string_view::npos;
}

caf::error validate(const process_spec& spec) {
  if (spec.argv.empty())
    return fail(errc::malformed, "argv is empty");
  const auto& program = spec.argv[0];
  for (size_t i = 0; i < spec.argv.size(); ++i)
    if (has_nul(spec.argv[i])) {
      std::string what{"argv["};
      what.append(std::to_string(i)).append("] contains a NUL byte: ");
      what.append(shown(spec.argv[i]));
      return fail(errc::malformed, std::move(what));
    }
  if (program.empty() || program.front() != '/') {
    std::string what{"argv[0] is not an absolute path: "};
    what.append(shown(program));
    return fail(errc::malformed, std::move(what));
  }
  for (const auto& [name, value] : spec.env) {
    if (name.empty() || name.find('=') != std::string::npos || has_nul(name)) {
      std::string what{"environment variable name is empty or contains "
                       "'=' or a NUL byte: "};
      what.append(shown(name));
      return fail(errc::malformed, std::move(what));
    }
    if (has_nul(value)) {
      std::string what{"environment variable "};
      what.append(shown(name)).append(" contains a NUL byte");
      return fail(errc::malformed, std::move(what));
    }
  }
  if (!spec.working_dir.empty()
      && (spec.working_dir.front() != '/' || has_nul(spec.working_dir))) {
    std::string what{"working dir is not an absolute path: "};
    what.append(shown(spec.working_dir));
    return fail(errc::malformed, std::move(what));
  }
  if (spec.timeout.count() < 0)
    return fail(errc::malformed, "timeout is negative");
  if (spec.kill_grace.count() < 0)
    return fail(errc::malformed, "kill_grace is negative");
  return {};
}

bool is_resource_shortage(int err) {
  return err == EAGAIN || err == ENOMEM || err == EMFILE || err == ENFILE;
}

caf::error setup_error(const char* step, int err) {
  std::string what{"cannot run a process ("};
  what.append(step).append("): ").append(describe(err));
  return fail(is_resource_shortage(err) ? errc::unavailable : errc::internal,
              std::move(what));
}

bool is_usable_dir(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)
         && ::access(path.c_str(), X_OK) == 0;
}

// Turns a posix_spawn failure into an error naming its cause. The child
// reports chdir and execve failures with the same errno values, so a bad
// working dir is told apart by looking at it afterwards.
caf::error spawn_error(int err, const process_spec& spec) {
  const auto& program = spec.argv[0];
  // ETXTBSY: the program file is still open for writing (being deployed).
  if (is_resource_shortage(err) || err == ETXTBSY) {
    std::string what{"cannot start "};
    what.append(shown(program)).append(": ").append(describe(err));
    return fail(errc::unavailable, std::move(what));
  }
  bool missing = err == ENOENT || err == ENOTDIR;
  if (!spec.working_dir.empty() && !is_usable_dir(spec.working_dir)) {
    std::string what{"working dir "};
    what.append(shown(spec.working_dir)).append(" is not usable: ");
    what.append(describe(err));
    return fail(missing ? errc::not_found : errc::malformed, std::move(what));
  }
  std::string what{"cannot execute "};
  what.append(shown(program)).append(": ").append(describe(err));
  return fail(missing ? errc::not_found : errc::malformed, std::move(what));
}

// Closes its descriptor on destruction.
class unique_fd {
public:
  unique_fd() = default;
  explicit unique_fd(int fd) : fd_(fd) {}
  unique_fd(const unique_fd&) = delete;
  unique_fd& operator=(const unique_fd&) = delete;
  ~unique_fd() { reset(); }
  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }
  void reset() {
    // Never retried on EINTR: Linux releases the descriptor regardless, and
    // a retry could close one another thread just opened.
    if (fd_ >= 0)
      ::close(fd_);
    fd_ = -1;
  }

private:
  int fd_ = -1;
};

// The file actions and attributes of one posix_spawn call.
class spawn_setup {
public:
  spawn_setup() {
    actions_ok_ = posix_spawn_file_actions_init(&actions_) == 0;
    attr_ok_ = posix_spawnattr_init(&attr_) == 0;
  }
  spawn_setup(const spawn_setup&) = delete;
  spawn_setup& operator=(const spawn_setup&) = delete;
  ~spawn_setup() {
    if (actions_ok_)
      posix_spawn_file_actions_destroy(&actions_);
    if (attr_ok_)
      posix_spawnattr_destroy(&attr_);
  }

  // Prepares a child that writes to `out_fd` and starts in `dir`; returns 0
  // or an errno value.
  int prepare(int out_fd, const char* dir) {
    if (!actions_ok_ || !attr_ok_)
      return ENOMEM;
    // The dup2s come first: should the pipe end be 0, 1 or 2 (this process
    // running with closed standard streams), it is copied before /dev/null
    // takes fd 0, and a dup2 onto itself clears close-on-exec.
    if (int rc = posix_spawn_file_actions_adddup2(&actions_, out_fd, 1))
      return rc;
    if (int rc = posix_spawn_file_actions_adddup2(&actions_, out_fd, 2))
      return rc;
    if (int rc = posix_spawn_file_actions_addopen(&actions_, 0, "/dev/null",
                                                  O_RDONLY, 0))
      return rc;
    if (int rc = posix_spawn_file_actions_addchdir_np(&actions_, dir))
      return rc;
    // Descriptors opened elsewhere in this process without O_CLOEXEC (or
    // while another thread spawns) must not reach the program.
    if (int rc = posix_spawn_file_actions_addclosefrom_np(&actions_, 3))
      return rc;
    // Blocked signals and ignored dispositions survive execve; the program
    // starts with neither (SIGPIPE ignored here would change how `yes |
    // head` style pipelines in it behave).
    sigset_t none;
    sigemptyset(&none);
    if (int rc = posix_spawnattr_setsigmask(&attr_, &none))
      return rc;
    sigset_t all;
    sigfillset(&all);
    sigdelset(&all, SIGKILL);
    sigdelset(&all, SIGSTOP);
    if (int rc = posix_spawnattr_setsigdefault(&attr_, &all))
      return rc;
    // A session of its own makes the child a process group leader (pgid =
    // pid) that cannot leave its group, and keeps it away from any terminal.
    short flags
      = POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
    return posix_spawnattr_setflags(&attr_, flags);
  }

  const posix_spawn_file_actions_t* actions() const { return &actions_; }
  const posix_spawnattr_t* attributes() const { return &attr_; }

private:
  posix_spawn_file_actions_t actions_;
  posix_spawnattr_t attr_;
  bool actions_ok_ = false;
  bool attr_ok_ = false;
};

// Kills and reaps the child if run_process leaves early (an unexpected
// failure, an exception), so no path leaves a process or a zombie behind.
class child_guard {
public:
  explicit child_guard(pid_t pid) : pid_(pid) {}
  child_guard(const child_guard&) = delete;
  child_guard& operator=(const child_guard&) = delete;
  ~child_guard() {
    if (pid_ <= 0)
      return;
    ::kill(-pid_, SIGKILL);
    while (::waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
    }
  }
  void release() { pid_ = 0; }

private:
  pid_t pid_;
};

enum class child_state { running, exited, lost };

// Looks at the child without reaping it: as long as it is an unreaped
// zombie its pid, and so its process group id, cannot be handed to anyone
// else, which keeps kill(-pid, ...) aimed at our group only.
child_state peek(pid_t pid) {
  for (;;) {
    siginfo_t info{};
    if (::waitid(P_PID, static_cast<id_t>(pid), &info,
                 WEXITED | WNOHANG | WNOWAIT)
        == 0)
      return info.si_pid == pid ? child_state::exited : child_state::running;
    if (errno != EINTR)
      return child_state::lost;
  }
}

int poll_timeout(clock_type::time_point now, clock_type::time_point wake) {
  if (wake == clock_type::time_point::max())
    return -1;
  if (wake <= now)
    return 0;
  // Rounded up: rounding down would wake early and spin until the instant.
  auto ms = std::chrono::ceil<milliseconds>(wake - now).count();
  return static_cast<int>(std::min<int64_t>(ms, INT_MAX));
}

// Takes one chunk from the pipe into `result`, keeping at most `limit`
// bytes and dropping the rest; closes `out` at EOF or on a read error.
void read_some(unique_fd& out, char* buf, size_t limit,
               process_result& result) {
  auto got = ::read(out.get(), buf, read_chunk);
  if (got > 0) {
    auto n = static_cast<size_t>(got);
    auto room = limit - std::min(limit, result.output.size());
    auto keep = std::min(n, room);
    result.output.append(buf, keep);
    if (keep < n)
      result.truncated = true;
  } else if (got == 0 || (errno != EINTR && errno != EAGAIN)) {
    out.reset();
  }
}

// A descriptor that polls readable once `pid` has exited, or -1 where the
// kernel (before 5.3) or a seccomp filter refuses. Called through syscall():
// glibc 2.36's <sys/pidfd.h> declares pidfd_open without C linkage.
int open_pidfd(pid_t pid) {
#ifdef SYS_pidfd_open
  return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
#else
  return -1;
#endif
}

std::vector<char*> pointers(const std::vector<std::string>& xs) {
  std::vector<char*> out;
  out.reserve(xs.size() + 1);
  for (const auto& x : xs)
    out.push_back(const_cast<char*>(x.c_str()));
  out.push_back(nullptr);
  return out;
}

} // namespace

bool process_result::succeeded() const {
  return exit_code == 0 && signal == 0 && !timed_out && !canceled;
}

caf::expected<process_result> run_process(const process_spec& spec,
                                          const std::atomic<bool>* cancel) {
  if (auto err = validate(spec))
    return err;
  process_result result;
  if (cancel != nullptr && cancel->load()) {
    result.canceled = true;
    return result;
  }
  auto argv = pointers(spec.argv);
  std::vector<std::string> env_entries;
  env_entries.reserve(spec.env.size());
  for (const auto& [name, value] : spec.env) {
    std::string entry{name};
    entry.append("=").append(value);
    env_entries.push_back(std::move(entry));
  }
  auto envp = pointers(env_entries);
  // O_CLOEXEC from the start: a thread spawning something else at this
  // moment must not hand our write end to its child, or our EOF would wait
  // for that child.
  int ends[2];
  if (::pipe2(ends, O_CLOEXEC) != 0)
    return setup_error("pipe", errno);
  unique_fd out{ends[0]};
  unique_fd in{ends[1]};
  // Only our end is non-blocking; the child's end stays blocking.
  int fl = ::fcntl(out.get(), F_GETFL);
  if (fl < 0 || ::fcntl(out.get(), F_SETFL, fl | O_NONBLOCK) < 0)
    return setup_error("fcntl", errno);
  spawn_setup setup;
  const char* dir = spec.working_dir.empty() ? "/" : spec.working_dir.c_str();
  if (int rc = setup.prepare(in.get(), dir))
    return setup_error("posix_spawn attributes", rc);
  auto start = clock_type::now();
  pid_t pid = 0;
  // posix_spawn, unlike posix_spawnp, neither searches PATH nor retries a
  // file without `#!` through /bin/sh; glibc reports execve's errno here.
  int rc = ::posix_spawn(&pid, argv[0], setup.actions(), setup.attributes(),
                         argv.data(), envp.data());
  // Until our copy of the write end is closed, the pipe never reaches EOF.
  in.reset();
  if (rc != 0)
    return spawn_error(rc, spec);
  child_guard guard{pid};
  result.pid = pid;
  // Without a pidfd the child's exit is looked for in ticks.
  unique_fd exit_fd{open_pidfd(pid)};
  std::unique_ptr<char[]> buf{new char[read_chunk]};
  auto deadline = start + capped(spec.timeout);
  // The group is stopped in two steps, on timeout, on cancel, and when the
  // program exits with others of its group still around: SIGTERM to all,
  // then SIGKILL once the grace is over or the pipe is closed (nobody left
  // to write to it, so no reason to wait). The leader stays an unreaped
  // zombie until the end, so its pid, the group id, cannot be handed to a
  // stranger while we still send signals to it.
  bool exited = false;
  bool terminated = false;
  bool killed = false;
  clock_type::time_point kill_at;
  clock_type::time_point give_up;
  auto terminate = [&](clock_type::time_point now) {
    terminated = true;
    ::kill(-pid, SIGTERM);
    kill_at = now + capped(spec.kill_grace);
  };
  for (;;) {
    auto now = clock_type::now();
    if (!exited) {
      auto state = peek(pid);
      if (state == child_state::lost) {
        // Someone else reaped it; the pid may belong to a stranger now, so
        // no more signals.
        guard.release();
        std::string what{"the child running "};
        what.append(shown(spec.argv[0]))
          .append(" was reaped elsewhere in this process");
        return fail(errc::internal, std::move(what));
      }
      if (state == child_state::exited) {
        exited = true;
        // Whatever the program left running in its group goes with it: an
        // action never leaves processes behind.
        if (!terminated)
          terminate(now);
      }
    }
    if (!terminated) {
      if (now >= deadline)
        result.timed_out = true;
      else if (cancel != nullptr && cancel->load())
        result.canceled = true;
      if (result.timed_out || result.canceled)
        terminate(now);
    }
    if (terminated && !killed && (now >= kill_at || (exited && !out))) {
      ::kill(-pid, SIGKILL);
      killed = true;
      give_up = now + drain_after_exit;
    }
    if (exited && killed && (!out || now >= give_up))
      break;
    // Once SIGKILL is sent and the leader still lives there is no limit:
    // it cannot outlive SIGKILL, and it must be reaped however long the
    // kernel takes to let it go.
    auto wake = clock_type::time_point::max();
    if (!terminated)
      wake = deadline;
    else if (!killed)
      wake = kill_at;
    else if (exited)
      wake = give_up;
    bool watch_cancel = cancel != nullptr && !terminated;
    bool watch_exit_in_ticks = !exited && !exit_fd;
    if (watch_cancel || watch_exit_in_ticks)
      wake = std::min(wake, now + tick);
    pollfd fds[2];
    nfds_t n = 0;
    if (out)
      fds[n++] = pollfd{out.get(), POLLIN, 0};
    if (!exited && exit_fd)
      fds[n++] = pollfd{exit_fd.get(), POLLIN, 0};
    int ready = ::poll(fds, n, poll_timeout(now, wake));
    if (ready < 0) {
      if (errno == EINTR)
        continue;
      return setup_error("poll", errno);
    }
    // One read per wake-up, so a child that never stops writing cannot keep
    // us from the deadline checks above.
    if (out && fds[0].revents != 0)
      read_some(out, buf.get(), spec.max_output, result);
  }
  int status = 0;
  for (;;) {
    if (::waitpid(pid, &status, 0) == pid)
      break;
    if (errno != EINTR) {
      guard.release();
      std::string what{"the child running "};
      what.append(shown(spec.argv[0]))
        .append(" could not be reaped: ")
        .append(describe(errno));
      return fail(errc::internal, std::move(what));
    }
  }
  guard.release();
  result.elapsed
    = std::chrono::duration_cast<milliseconds>(clock_type::now() - start);
  if (WIFEXITED(status))
    result.exit_code = WEXITSTATUS(status);
  else if (WIFSIGNALED(status))
    result.signal = WTERMSIG(status);
  return result;
}

std::map<std::string, std::string>
allowed_environment(const std::vector<std::string>& allow,
                    const std::map<std::string, std::string>& extra) {
  std::map<std::string, std::string> out;
  for (const auto& name : allow) {
    // getenv would read a name with '=' as a prefix match of "NAME=VALUE".
    if (name.empty() || name.find('=') != std::string::npos || has_nul(name))
      continue;
    if (const char* value = std::getenv(name.c_str()))
      out[name] = value;
  }
  for (const auto& [name, value] : extra)
    out.insert_or_assign(name, value);
  return out;
}

} // namespace vigil::executor
