#include "actors/executor/executor.hpp"

#include <gtest/gtest.h>

#include <filesystem>

#include "tests/support/support.hpp"

namespace vigil::executor {
namespace {

action_job job_of(std::string kind) {
  action_job j;
  j.action.id = 7;
  j.action.action = std::move(kind);
  j.action.status = "running";
  j.timeout_ms = 5'000;
  j.backoff_ms = 10;
  return j;
}

TEST(executor, http_steps_reach_only_allow_listed_http_hosts) {
  std::string why;
  std::vector<std::string> allow{"runbooks.internal", "127.0.0.1"};
  EXPECT_TRUE(host_allowed("https://RUNBOOKS.internal/x", allow, why));
  EXPECT_TRUE(host_allowed("http://127.0.0.1:9/x", allow, why));
  EXPECT_FALSE(host_allowed("https://evil.example/x", allow, why));
  EXPECT_NE(why.find("not in remediation.http_allow_hosts"), std::string::npos);
  // A user-info trick does not smuggle another host in.
  EXPECT_FALSE(host_allowed("https://runbooks.internal@evil.example/", allow,
                            why));
  EXPECT_FALSE(host_allowed("file:///etc/passwd", allow, why));
  EXPECT_FALSE(host_allowed("not a url", allow, why));
  EXPECT_FALSE(host_allowed("https://runbooks.internal/", {}, why));
}

TEST(executor, a_shell_job_succeeds_or_fails_with_the_reason_and_retries) {
  test::temp_dir dir;
  auto marker = dir.path() / "count";
  auto j = job_of("shell");
  // Appends one line per attempt, then fails: three attempts in all.
  j.argv = {"/bin/sh", "-c", "echo x >> \"$0\"; exit 3", marker.string()};
  j.retries = 2;
  auto a = run_job(j, nullptr);
  EXPECT_EQ(a.status, "failed");
  EXPECT_EQ(a.reason, "exited with 3");
  EXPECT_EQ(test::read_file(marker.string()), "x\nx\nx\n");
  EXPECT_GT(a.ended_ms, 0);
  j.argv = {"/bin/echo", "$(touch " + (dir.path() / "pwned").string() + ")"};
  a = run_job(j, nullptr);
  EXPECT_EQ(a.status, "succeeded") << a.reason;
  EXPECT_NE(a.output.find("$(touch"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "pwned"));
}

TEST(executor, a_timed_out_shell_job_is_not_retried) {
  test::temp_dir dir;
  auto marker = dir.path() / "count";
  auto j = job_of("shell");
  j.argv = {"/bin/sh", "-c", "echo x >> \"$0\"; sleep 30", marker.string()};
  j.timeout_ms = 200;
  j.retries = 3;
  auto a = run_job(j, nullptr);
  EXPECT_EQ(a.status, "failed");
  EXPECT_NE(a.reason.find("timed out"), std::string::npos) << a.reason;
  EXPECT_EQ(test::read_file(marker.string()), "x\n");
}

TEST(executor, notify_succeeds_and_unsupported_actions_fail_clearly) {
  auto j = job_of("notify");
  j.params.push_back({"message", "hello on-call"});
  auto a = run_job(j, nullptr);
  EXPECT_EQ(a.status, "succeeded");
  EXPECT_EQ(a.output, "hello on-call");
  a = run_job(job_of("carrier_pigeon"), nullptr);
  EXPECT_EQ(a.status, "failed");
  EXPECT_NE(a.reason.find("not supported"), std::string::npos);
  // Outside a pod and with no API server configured, nothing is guessed.
  unsetenv("KUBERNETES_SERVICE_HOST");
  a = run_job(job_of("kubernetes.scale"), nullptr);
  EXPECT_EQ(a.status, "failed");
  EXPECT_NE(a.reason.find("remediation.kubernetes_api is empty"),
            std::string::npos)
    << a.reason;
  j = job_of("http");
  j.params.push_back({"url", "https://evil.example/"});
  a = run_job(j, nullptr);
  EXPECT_EQ(a.status, "failed");
  EXPECT_NE(a.reason.find("http_allow_hosts"), std::string::npos);
}

} // namespace
} // namespace vigil::executor
