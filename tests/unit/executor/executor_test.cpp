#include "actors/executor/executor.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <mutex>

#include "tests/support/http_endpoint.hpp"
#include "tests/support/support.hpp"

namespace vigil::executor {
namespace {

action_job job_of(std::string kind) {
  action_job j;
  j.action.id = 7;
  j.action.action = std::move(kind);
  j.action.status = "running";
  j.action.incident = 3;
  j.action.epoch = 1700000000123;
  j.action.idempotency_key = "vigil-ACT-000007-INC-000003-1700000000200";
  j.timeout_ms = 5'000;
  j.backoff_ms = 10;
  return j;
}

// A shell step that appends a line to `marker` per attempt, then runs
// `then` ("exit 3", "sleep 30").
action_job counting_shell_job(const std::filesystem::path& marker,
                              const std::string& then, uint32_t retries) {
  auto j = job_of("shell");
  j.argv = {"/bin/sh", "-c", "echo x >> \"$0\"; " + then, marker.string()};
  j.retries = retries;
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
  // Fails every time: three attempts in all.
  auto j = counting_shell_job(marker, "exit 3", 2);
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
  auto j = counting_shell_job(marker, "sleep 30", 3);
  j.timeout_ms = 200;
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

TEST(executor, a_step_fenced_between_attempts_is_not_tried_again) {
  test::temp_dir dir;
  auto marker = dir.path() / "count";
  auto j = counting_shell_job(marker, "exit 3", 3);
  // The node loses its lease after the first attempt (paused, cut off).
  int asked = 0;
  std::vector<uint64_t> epochs;
  auto fence = [&](uint64_t epoch) -> std::string {
    epochs.push_back(epoch);
    return ++asked == 1 ? "" : "lost the lease";
  };
  auto a = run_job(j, nullptr, fence);
  EXPECT_EQ(a.status, "failed");
  EXPECT_EQ(a.reason, "fenced before attempt 2: lost the lease");
  EXPECT_EQ(test::read_file(marker.string()), "x\n");
  EXPECT_EQ(epochs, (std::vector<uint64_t>{j.action.epoch, j.action.epoch}));
  // Fenced from the start: nothing runs at all.
  std::filesystem::remove(marker);
  a = run_job(j, nullptr, [](uint64_t) { return std::string{"not the "
                                                             "control node"}; });
  EXPECT_EQ(a.status, "failed");
  EXPECT_EQ(a.reason, "fenced before attempt 1: not the control node");
  EXPECT_FALSE(std::filesystem::exists(marker));
}

TEST(executor, shell_steps_are_told_the_action_epoch_and_key) {
  auto j = job_of("shell");
  j.argv = {"/bin/sh", "-c",
            "printf '%s|%s|%s|%s' \"$VIGIL_ACTION_ID\" \"$VIGIL_INCIDENT_ID\" "
            "\"$VIGIL_EPOCH\" \"$VIGIL_IDEMPOTENCY_KEY\""};
  // A playbook cannot pass another epoch off as the step's.
  j.params.push_back({"env.VIGIL_EPOCH", "1"});
  auto a = run_job(j, nullptr);
  ASSERT_EQ(a.status, "succeeded") << a.reason;
  EXPECT_EQ(a.output, "ACT-000007|INC-000003|1700000000123|"
                      "vigil-ACT-000007-INC-000003-1700000000200");
}

// An endpoint that fails its first call with 503 and records the headers
// that matter of every call.
struct key_recorder {
  std::mutex mtx;
  std::vector<std::array<std::string, 3>> calls; // key, epoch, all keys
  std::unique_ptr<http::server> server;

  key_recorder() {
    server = test::serve_post(
      "/run", [this](http::request& req, http::responder respond) {
        std::lock_guard<std::mutex> guard{mtx};
        std::string keys;
        for (const auto& f : req.headers)
          if (boost::beast::iequals(f.name_string(), "Idempotency-Key"))
            keys += (keys.empty() ? "" : ",") + std::string{f.value()};
        calls.push_back({std::string{req.headers["Idempotency-Key"]},
                         std::string{req.headers["Vigil-Epoch"]}, keys});
        if (calls.size() == 1) {
          respond(http::response::error(503, "unavailable", "later"));
          return;
        }
        http::response ok;
        ok.body = "{}";
        respond(std::move(ok));
      });
  }

  std::string url() const { return test::url_of(*server, "/run"); }

  // An http step to this recorder with `retries` retries.
  action_job job(uint32_t retries) const {
    auto j = job_of("http");
    j.allow_hosts = {"127.0.0.1"};
    j.retries = retries;
    j.params.push_back({"url", url()});
    return j;
  }
};

TEST(executor, http_steps_send_one_idempotency_key_over_every_retry) {
  key_recorder rec;
  auto j = rec.job(2);
  auto a = run_job(j, nullptr);
  ASSERT_EQ(a.status, "succeeded") << a.reason;
  std::lock_guard<std::mutex> guard{rec.mtx};
  ASSERT_EQ(rec.calls.size(), 2u);
  for (const auto& c : rec.calls) {
    EXPECT_EQ(c[0], j.action.idempotency_key);
    EXPECT_EQ(c[1], "1700000000123");
    EXPECT_EQ(c[2], j.action.idempotency_key);
  }
}

TEST(executor, a_playbooks_own_idempotency_key_header_wins) {
  key_recorder rec;
  auto j = rec.job(1);
  j.params.push_back({"headers.idempotency-key", "theirs-42"});
  auto a = run_job(j, nullptr);
  ASSERT_EQ(a.status, "succeeded") << a.reason;
  std::lock_guard<std::mutex> guard{rec.mtx};
  ASSERT_EQ(rec.calls.size(), 2u);
  EXPECT_EQ(rec.calls[1][2], "theirs-42");
}

} // namespace
} // namespace vigil::executor
