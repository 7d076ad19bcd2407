// The shell action's process runner against real programs: exit codes,
// captured output, truncation, timeouts that reach grandchildren, SIGKILL
// after the grace, the environment allow-list, hostile arguments that must
// stay plain text, spawn errors, cancellation and concurrent runs.

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <set>
#include <signal.h>
#include <sstream>
#include <string>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include <gtest/gtest.h>

#include "actors/executor/process.hpp"
#include "messages/errc.hpp"
#include "tests/support/caf_test.hpp"
#include "tests/support/support.hpp"

using namespace vigil::executor;
using namespace std::chrono_literals;
using vigil::errc;

namespace {

namespace fs = std::filesystem;

process_spec spec_of(std::vector<std::string> argv) {
  process_spec spec;
  spec.argv = std::move(argv);
  spec.timeout = 10s;
  spec.kill_grace = 1s;
  return spec;
}

process_result run(const process_spec& spec,
                   const std::atomic<bool>* cancel = nullptr) {
  auto r = run_process(spec, cancel);
  EXPECT_TRUE(r) << vigil::render(r.error());
  return r ? *r : process_result{};
}

// Runs `script` with /bin/sh; the test, not the runner, chooses the shell.
process_spec sh(std::string script) {
  return spec_of({"/bin/sh", "-c", std::move(script)});
}

// Members of process group `pgid` that are still alive (zombies left to an
// init that does not reap them do not count), read from /proc.
std::vector<pid_t> live_members(pid_t pgid) {
  std::vector<pid_t> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator{"/proc", ec}) {
    auto name = entry.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != name.npos)
      continue;
    std::ifstream in{entry.path() / "stat"};
    std::string line;
    if (!std::getline(in, line))
      continue;
    // "pid (comm) state ppid pgrp ..."; comm may hold spaces and parens.
    auto close = line.rfind(')');
    if (close == std::string::npos)
      continue;
    std::istringstream rest{line.substr(close + 1)};
    char state = 0;
    pid_t ppid = 0;
    pid_t pgrp = 0;
    rest >> state >> ppid >> pgrp;
    if (pgrp == pgid && state != 'Z' && state != 'X')
      out.push_back(static_cast<pid_t>(std::stoi(name)));
  }
  return out;
}

bool group_is_gone(pid_t pgid) {
  return vigil::test::wait_until([&] { return live_members(pgid).empty(); },
                                 3s);
}

// Whether the runner reaped the child: it is no longer our child at all.
bool was_reaped(pid_t pid) {
  errno = 0;
  return ::waitpid(pid, nullptr, WNOHANG) < 0 && errno == ECHILD;
}

std::set<std::string> lines_of(const std::string& text) {
  std::set<std::string> out;
  std::istringstream in{text};
  for (std::string line; std::getline(in, line);)
    out.insert(line);
  return out;
}

} // namespace

// -- exit status and output ---------------------------------------------------

TEST(run_process, true_exits_with_zero_and_succeeds) {
  auto r = run(spec_of({"/bin/true"}));
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.signal, 0);
  EXPECT_FALSE(r.timed_out);
  EXPECT_TRUE(r.succeeded());
  EXPECT_GT(r.pid, 0);
  EXPECT_TRUE(was_reaped(r.pid));
}

TEST(run_process, false_exits_with_one_and_does_not_succeed) {
  auto r = run(spec_of({"/bin/false"}));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_FALSE(r.succeeded());
}

TEST(run_process, reports_the_exit_code_of_the_program) {
  auto r = run(sh("exit 7"));
  EXPECT_EQ(r.exit_code, 7);
  EXPECT_EQ(r.signal, 0);
  EXPECT_FALSE(r.succeeded());
}

TEST(run_process, reports_the_signal_that_killed_the_program) {
  auto r = run(sh("kill -KILL $$"));
  EXPECT_EQ(r.signal, SIGKILL);
  EXPECT_EQ(r.exit_code, -1);
  EXPECT_FALSE(r.timed_out);
  EXPECT_FALSE(r.succeeded());
}

TEST(run_process, captures_stdout_and_stderr_in_the_order_written) {
  auto r = run(sh("echo one; echo two >&2; echo three"));
  EXPECT_EQ(r.output, "one\ntwo\nthree\n");
  EXPECT_FALSE(r.truncated);
  EXPECT_TRUE(r.succeeded());
}

TEST(run_process, stdin_is_dev_null) {
  // Give this process a stdin that never ends (a pipe whose write end stays
  // open), so an inherited stdin would show and would hang `cat`.
  int saved = ::dup(0);
  int never_ends[2];
  ASSERT_EQ(::pipe(never_ends), 0);
  ::dup2(never_ends[0], 0);
  auto r = run(spec_of({"/usr/bin/readlink", "/proc/self/fd/0"}));
  auto spec = sh("cat; echo done");
  spec.timeout = 3s;
  auto cat = run(spec);
  ::dup2(saved, 0);
  ::close(saved);
  ::close(never_ends[0]);
  ::close(never_ends[1]);
  EXPECT_EQ(r.output, "/dev/null\n");
  EXPECT_EQ(cat.output, "done\n");
  EXPECT_FALSE(cat.timed_out);
}

TEST(run_process, descriptors_without_cloexec_do_not_reach_the_child) {
  vigil::test::temp_dir dir;
  auto leaked = (dir.path() / "leak-marker").string();
  // Opened the careless way, as some library in the process might.
  int fd = ::open(leaked.c_str(), O_WRONLY | O_CREAT, 0600);
  ASSERT_GE(fd, 0);
  auto r = run(spec_of({"/bin/ls", "-l", "/proc/self/fd/"}));
  ::close(fd);
  EXPECT_NE(r.output.find("/dev/null"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("leak-marker"), std::string::npos) << r.output;
}

TEST(run_process, starts_in_the_working_dir_or_in_root) {
  vigil::test::temp_dir dir;
  auto spec = spec_of({"/bin/pwd"});
  EXPECT_EQ(run(spec).output, "/\n");
  spec.working_dir = fs::canonical(dir.path()).string();
  EXPECT_EQ(run(spec).output, spec.working_dir + "\n");
}

TEST(run_process, child_leads_its_own_session_and_process_group) {
  // Fields 5 and 6 of /proc/<pid>/stat: process group and session.
  auto r = run(sh("read -r _ _ _ _ pgrp sid _ < /proc/$$/stat; "
                  "echo \"$pgrp $sid\""));
  auto pid = std::to_string(r.pid);
  EXPECT_EQ(r.output, pid + " " + pid + "\n");
}

// -- output limits
// --------------------------------------------------------------

TEST(run_process, keeps_output_up_to_the_limit_and_marks_the_rest) {
  auto spec = spec_of({"/usr/bin/printf", "abc"});
  spec.max_output = 3;
  auto exact = run(spec);
  EXPECT_EQ(exact.output, "abc");
  EXPECT_FALSE(exact.truncated);
  spec.max_output = 2;
  auto cut = run(spec);
  EXPECT_EQ(cut.output, "ab");
  EXPECT_TRUE(cut.truncated);
  spec.max_output = 0;
  auto none = run(spec);
  EXPECT_EQ(none.output, "");
  EXPECT_TRUE(none.truncated);
}

TEST(run_process, drains_megabytes_of_output_without_blocking_the_child) {
  auto spec = spec_of({"/usr/bin/head", "-c", "5000000", "/dev/zero"});
  spec.max_output = 1000;
  auto r = run(spec);
  // Had the pipe not been drained, head would block until the timeout.
  EXPECT_TRUE(r.succeeded());
  EXPECT_FALSE(r.timed_out);
  EXPECT_TRUE(r.truncated);
  EXPECT_EQ(r.output, std::string(1000, '\0'));
  EXPECT_LT(r.elapsed, 5s);
}

TEST(run_process, endless_writer_still_times_out) {
  auto spec = spec_of({"/usr/bin/yes"});
  spec.timeout = 300ms;
  spec.max_output = 100;
  auto r = run(spec);
  EXPECT_TRUE(r.timed_out);
  EXPECT_TRUE(r.truncated);
  EXPECT_EQ(r.output.size(), 100u);
  EXPECT_EQ(r.signal, SIGTERM);
  EXPECT_LT(r.elapsed, 5s);
}

// -- timeouts
// -------------------------------------------------------------------

TEST(run_process, timeout_stops_a_long_sleep_with_sigterm) {
  auto spec = spec_of({"/bin/sleep", "30"});
  spec.timeout = 200ms;
  auto r = run(spec);
  EXPECT_TRUE(r.timed_out);
  EXPECT_EQ(r.signal, SIGTERM);
  EXPECT_FALSE(r.succeeded());
  EXPECT_GE(r.elapsed, 200ms);
  EXPECT_LT(r.elapsed, 5s);
  EXPECT_TRUE(was_reaped(r.pid));
}

TEST(run_process, timeout_also_stops_grandchildren) {
  auto spec = sh("/bin/sleep 30 & wait");
  spec.timeout = 300ms;
  auto r = run(spec);
  EXPECT_TRUE(r.timed_out);
  EXPECT_LT(r.elapsed, 5s);
  EXPECT_TRUE(group_is_gone(r.pid));
}

TEST(run_process, child_ignoring_sigterm_is_killed_after_the_grace) {
  // The trap must be in place before the timeout hits, hence a whole
  // second: sh gets there in about a millisecond.
  auto spec = sh("trap '' TERM; /bin/sleep 30");
  spec.timeout = 1s;
  spec.kill_grace = 300ms;
  auto r = run(spec);
  EXPECT_TRUE(r.timed_out);
  EXPECT_EQ(r.signal, SIGKILL);
  EXPECT_GE(r.elapsed, 1300ms);
  EXPECT_LT(r.elapsed, 6s);
  EXPECT_TRUE(group_is_gone(r.pid));
}

TEST(run_process, stopping_gives_the_whole_group_sigterm_and_the_grace) {
  // The leader survives SIGTERM and waits for its child; the child exits
  // cleanly on SIGTERM. Only a SIGTERM to the group, not just the leader,
  // lets both finish without SIGKILL.
  vigil::test::temp_dir dir;
  auto inner = (dir.path() / "inner.sh").string();
  auto ready = (dir.path() / "ready").string();
  // Short sleeps in a loop: whenever the group's SIGTERM lands (in a
  // sleep, which it ends, or between commands), the trap runs next; a
  // long-lived sleeper forked just after the signal would outlive it.
  std::ofstream{inner} << "trap 'echo child got TERM; exit 0' TERM\n"
                          ": > \"$1\"\n"
                          "while :; do /bin/sleep 0.05; done\n";
  auto spec = spec_of({"/bin/sh", "-c",
                       "trap 'echo leader got TERM' TERM\n"
                       "/bin/sh \"$0\" \"$1\" &\n"
                       "wait; wait",
                       inner, ready});
  spec.timeout = 20s;
  spec.kill_grace = 5s;
  std::atomic<bool> cancel{false};
  process_result r;
  std::thread runner{[&] { r = run(spec, &cancel); }};
  bool up = vigil::test::wait_until([&] { return fs::exists(ready); }, 5s);
  cancel = true;
  runner.join();
  EXPECT_TRUE(up);
  EXPECT_TRUE(r.canceled);
  EXPECT_NE(r.output.find("child got TERM"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("leader got TERM"), std::string::npos) << r.output;
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_LT(r.elapsed, 4s) << "waited for the grace, so SIGKILL was needed";
  EXPECT_TRUE(group_is_gone(r.pid));
}

TEST(run_process, child_starts_with_no_blocked_or_ignored_signals) {
  // This process ignores SIGPIPE (as servers do) and the calling thread
  // blocks SIGUSR1; both would survive execve unless reset.
  struct sigaction ignore {};
  struct sigaction before {};
  ignore.sa_handler = SIG_IGN;
  ::sigaction(SIGPIPE, &ignore, &before);
  sigset_t usr1;
  sigset_t old_mask;
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  ::pthread_sigmask(SIG_BLOCK, &usr1, &old_mask);
  auto r
    = run(spec_of({"/bin/grep", "-E", "^Sig(Blk|Ign)", "/proc/self/status"}));
  ::pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  ::sigaction(SIGPIPE, &before, nullptr);
  // "SigBlk:\t<hex>\nSigIgn:\t<hex>\n", bit n-1 standing for signal n.
  std::istringstream in{r.output};
  std::string label;
  uint64_t blocked = ~uint64_t{0};
  uint64_t ignored = ~uint64_t{0};
  in >> label >> std::hex >> blocked >> label >> ignored;
  EXPECT_EQ(blocked, 0u) << r.output;
  // glibc's posix_spawn leaves its two internal signals (32 and 33, below
  // any SIGRTMIN a program can use) ignored; nothing else may be.
  constexpr uint64_t glibc_internal = (uint64_t{1} << 31) | (uint64_t{1} << 32);
  EXPECT_EQ(ignored & ~glibc_internal, 0u) << r.output;
}

TEST(run_process, processes_left_behind_die_when_the_program_exits) {
  // The background sleep keeps the pipe open; the run still ends with sh.
  auto r = run(sh("/bin/sleep 30 & echo started"));
  EXPECT_TRUE(r.succeeded());
  EXPECT_EQ(r.output, "started\n");
  EXPECT_LT(r.elapsed, 5s);
  EXPECT_TRUE(group_is_gone(r.pid));
}

// -- environment
// ------------------------------------------------------------------

TEST(allowed_environment, takes_only_allowed_names_and_lets_extra_win) {
  ::setenv("VIGIL_TEST_ALLOWED", "ok", 1);
  ::setenv("VIGIL_TEST_SECRET", "hunter2", 1);
  ::setenv("VIGIL_TEST_OVERRIDDEN", "parent", 1);
  ::unsetenv("VIGIL_TEST_UNSET");
  auto env = allowed_environment(
    {"VIGIL_TEST_ALLOWED", "VIGIL_TEST_OVERRIDDEN", "VIGIL_TEST_UNSET",
     // Exact names only: neither a prefix nor a pattern selects anything.
     "VIGIL_TEST_ALLOW", "VIGIL_TEST_*", "VIGIL_TEST_SECRET=hunter2", ""},
    {{"VIGIL_TEST_OVERRIDDEN", "extra"}, {"EXTRA", "1"}});
  std::map<std::string, std::string> want{{"VIGIL_TEST_ALLOWED", "ok"},
                                          {"VIGIL_TEST_OVERRIDDEN", "extra"},
                                          {"EXTRA", "1"}};
  EXPECT_EQ(env, want);
}

TEST(run_process, child_sees_exactly_the_given_environment) {
  ::setenv("VIGIL_TEST_ALLOWED", "ok", 1);
  ::setenv("VIGIL_TEST_SECRET", "hunter2", 1);
  auto spec = spec_of({"/usr/bin/env"});
  spec.env = allowed_environment({"VIGIL_TEST_ALLOWED"},
                                 {{"EXTRA", "with spaces; and $(stuff)"}});
  auto r = run(spec);
  EXPECT_EQ(lines_of(r.output),
            (std::set<std::string>{"VIGIL_TEST_ALLOWED=ok",
                                   "EXTRA=with spaces; and $(stuff)"}));
  EXPECT_EQ(r.output.find("hunter2"), std::string::npos);
  // Nothing is inherited when nothing is given.
  EXPECT_EQ(run(spec_of({"/usr/bin/env"})).output, "");
}

// -- hostile arguments
// --------------------------------------------------------------

TEST(run_process, hostile_arguments_stay_plain_text) {
  vigil::test::temp_dir dir;
  auto d = dir.str();
  std::vector<std::string> hostile{
    "; touch " + d + "/semicolon", "$(touch " + d + "/dollar)",
    "`touch " + d + "/backtick`",  "&& touch " + d + "/and",
    "|| touch " + d + "/or",       "| touch " + d + "/pipe",
    "x\ntouch " + d + "/newline",  "> " + d + "/redirect",
    "; touch relative-marker",     "$HOME *",
  };
  std::vector<std::string> argv{"/usr/bin/printf", "%s\\n"};
  argv.insert(argv.end(), hostile.begin(), hostile.end());
  auto spec = spec_of(argv);
  spec.working_dir = d;
  auto r = run(spec);
  std::string want;
  for (const auto& x : hostile)
    want += x + "\n";
  EXPECT_EQ(r.output, want);
  EXPECT_TRUE(r.succeeded());
  EXPECT_TRUE(fs::is_empty(dir.path())) << "a hostile argument ran";
}

TEST(run_process, option_like_arguments_are_just_arguments) {
  // As a later element an option is the program's business, and echo
  // prints it; it never turns into a separate command.
  auto r = run(spec_of({"/bin/echo", "safe", "--help", "-n", "--version"}));
  EXPECT_EQ(r.output, "safe --help -n --version\n");
  auto p = run(spec_of({"/usr/bin/printf", "%s\\n", "--help"}));
  EXPECT_EQ(p.output, "--help\n");
}

TEST(run_process, shell_syntax_in_the_program_path_names_no_program) {
  vigil::test::temp_dir dir;
  auto r
    = run_process(spec_of({"/bin/echo; touch " + dir.str() + "/marker", "x"}));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), errc::not_found);
  EXPECT_TRUE(fs::is_empty(dir.path()));
}

// -- spawn errors
// -------------------------------------------------------------------

TEST(run_process, refuses_an_empty_argv) {
  auto r = run_process(process_spec{});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), errc::malformed);
  EXPECT_NE(vigil::render(r.error()).find("argv is empty"), std::string::npos);
}

TEST(run_process, refuses_a_relative_program_path) {
  for (auto program : {"echo", "bin/echo", "./echo", ""}) {
    auto r = run_process(spec_of({program, "hi"}));
    ASSERT_FALSE(r) << program;
    EXPECT_EQ(r.error(), errc::malformed) << program;
    EXPECT_NE(vigil::render(r.error()).find("absolute"), std::string::npos)
      << vigil::render(r.error());
  }
}

TEST(run_process, reports_a_missing_program_as_not_found) {
  auto r = run_process(spec_of({"/nonexistent/vigil-no-such-program"}));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), errc::not_found);
  EXPECT_NE(vigil::render(r.error()).find("vigil-no-such-program"),
            std::string::npos)
    << vigil::render(r.error());
}

TEST(run_process, refuses_a_file_that_is_not_executable) {
  vigil::test::temp_dir dir;
  auto path = (dir.path() / "plain").string();
  std::ofstream{path} << "#!/bin/sh\necho ran\n";
  ::chmod(path.c_str(), 0644);
  auto r = run_process(spec_of({path}));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), errc::malformed);
  EXPECT_NE(vigil::render(r.error()).find("plain"), std::string::npos);
  // A directory is no program either.
  auto d = run_process(spec_of({dir.str()}));
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error(), errc::malformed);
}

TEST(run_process, never_falls_back_to_a_shell_for_a_script_without_shebang) {
  vigil::test::temp_dir dir;
  auto path = (dir.path() / "script").string();
  auto marker = dir.path() / "ran";
  std::ofstream{path} << "touch " << marker.string() << "\n";
  ::chmod(path.c_str(), 0755);
  auto r = run_process(spec_of({path}));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), errc::malformed);
  EXPECT_FALSE(fs::exists(marker));
}

TEST(run_process, refuses_nul_bytes) {
  using namespace std::string_literals;
  auto arg = run_process(spec_of({"/bin/echo", "a\0; touch x"s}));
  ASSERT_FALSE(arg);
  EXPECT_EQ(arg.error(), errc::malformed);
  EXPECT_NE(vigil::render(arg.error()).find("argv[1]"), std::string::npos)
    << vigil::render(arg.error());
  auto program = run_process(spec_of({"/bin/echo\0/x"s}));
  ASSERT_FALSE(program);
  EXPECT_EQ(program.error(), errc::malformed);
  auto env = spec_of({"/bin/true"});
  env.env = {{"A", "b\0c"s}};
  EXPECT_EQ(run_process(env).error(), errc::malformed);
}

TEST(run_process, refuses_bad_environment_names) {
  for (auto name : {"", "A=B"}) {
    auto spec = spec_of({"/bin/true"});
    spec.env = {{name, "x"}};
    auto r = run_process(spec);
    ASSERT_FALSE(r) << name;
    EXPECT_EQ(r.error(), errc::malformed) << name;
  }
}

TEST(run_process, names_a_missing_or_relative_working_dir) {
  auto spec = spec_of({"/bin/true"});
  spec.working_dir = "/nonexistent/vigil-no-such-dir";
  auto missing = run_process(spec);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error(), errc::not_found);
  EXPECT_NE(vigil::render(missing.error()).find("working dir"),
            std::string::npos)
    << vigil::render(missing.error());
  spec.working_dir = "tmp";
  auto relative = run_process(spec);
  ASSERT_FALSE(relative);
  EXPECT_EQ(relative.error(), errc::malformed);
}

TEST(run_process, refuses_negative_durations) {
  auto spec = spec_of({"/bin/true"});
  spec.timeout = -1ms;
  EXPECT_EQ(run_process(spec).error(), errc::malformed);
  spec = spec_of({"/bin/true"});
  spec.kill_grace = -1ms;
  EXPECT_EQ(run_process(spec).error(), errc::malformed);
}

// -- cancellation and concurrency
// -------------------------------------------------------

TEST(run_process, a_set_cancel_flag_starts_nothing) {
  vigil::test::temp_dir dir;
  auto marker = (dir.path() / "ran").string();
  std::atomic<bool> cancel{true};
  auto spec = spec_of({"/usr/bin/touch", marker});
  auto r = run(spec, &cancel);
  EXPECT_TRUE(r.canceled);
  EXPECT_EQ(r.pid, 0);
  EXPECT_FALSE(r.succeeded());
  EXPECT_FALSE(fs::exists(marker));
}

TEST(run_process, cancel_flag_stops_a_running_child) {
  vigil::test::temp_dir dir;
  auto started = (dir.path() / "started").string();
  auto spec = spec_of(
    {"/bin/sh", "-c", ": > \"$1\"; exec /bin/sleep 30", "sh", started});
  spec.timeout = 20s;
  std::atomic<bool> cancel{false};
  process_result r;
  std::thread runner{[&] { r = run(spec, &cancel); }};
  bool up = vigil::test::wait_until([&] { return fs::exists(started); }, 5s);
  cancel = true;
  runner.join();
  EXPECT_TRUE(up);
  EXPECT_TRUE(r.canceled);
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.signal, SIGTERM);
  EXPECT_FALSE(r.succeeded());
  EXPECT_LT(r.elapsed, 5s);
}

TEST(run_process, many_threads_run_processes_at_once) {
  constexpr int threads = 8;
  constexpr int runs_each = 4;
  std::vector<std::vector<process_result>> results(threads);
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([t, &results] {
      for (int i = 0; i < runs_each; ++i) {
        auto word = std::to_string(t) + "-" + std::to_string(i);
        auto r = run_process(spec_of({"/bin/echo", word}));
        results[t].push_back(r ? *r : process_result{});
      }
    });
  for (auto& th : pool)
    th.join();
  for (int t = 0; t < threads; ++t) {
    ASSERT_EQ(results[t].size(), size_t{runs_each});
    for (int i = 0; i < runs_each; ++i) {
      const auto& r = results[t][i];
      EXPECT_TRUE(r.succeeded()) << t << "/" << i;
      EXPECT_EQ(r.output, std::to_string(t) + "-" + std::to_string(i) + "\n");
      EXPECT_TRUE(was_reaped(r.pid));
    }
  }
}
