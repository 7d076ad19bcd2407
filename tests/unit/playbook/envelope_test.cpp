#include "actors/playbook/envelope.hpp"

#include <gtest/gtest.h>

#include <deque>
#include <map>
#include <random>

namespace vigil::playbooks {
namespace {

constexpr int64_t minute_ms = 60'000;

playbook_step make_step(action_kind a, std::string name = "s") {
  playbook_step s;
  s.name = std::move(name);
  s.action = a;
  return s;
}

playbook make_book(int autonomy) {
  playbook b;
  b.name = "pb";
  b.autonomy = autonomy;
  return b;
}

struct envelope_test : ::testing::Test {
  remediation_options opts;
  playbook book = make_book(3);
  playbook_step restart = make_step(action_kind::kubernetes_restart_pods);
  playbook_step scale = make_step(action_kind::kubernetes_scale);
  playbook_step shell = make_step(action_kind::shell);
  playbook_step notify = make_step(action_kind::notify);

  step_request req(const playbook_step& s, std::string service = "orders-db") {
    step_request r;
    r.book = &book;
    r.step = &s;
    r.service = std::move(service);
    r.incident_type = "database_connection_exhaustion";
    r.scale_factor = 2;
    return r;
  }
};

TEST_F(envelope_test, a_safe_step_within_every_limit_runs) {
  safety_envelope env{opts};
  auto v = env.admit_step(req(shell), 0);
  EXPECT_EQ(v.kind, verdict_kind::run) << v.reason;
  EXPECT_EQ(env.admit_run(book, "orders-db", 0).kind, verdict_kind::run);
}

TEST_F(envelope_test, the_kill_switch_refuses_runs_and_steps_even_notify) {
  safety_envelope env{opts};
  env.set_kill_switch(true);
  EXPECT_EQ(env.admit_run(book, "orders-db", 0).kind,
            verdict_kind::refused_limit);
  auto v = env.admit_step(req(notify), 0);
  EXPECT_EQ(v.kind, verdict_kind::refused_limit);
  EXPECT_NE(v.reason.find("kill switch"), std::string::npos);
  // A reload without the switch in the config does not silently lift it.
  env.configure(opts);
  EXPECT_TRUE(env.kill_switch());
  env.set_kill_switch(false);
  EXPECT_EQ(env.admit_step(req(notify), 0).kind, verdict_kind::run);
}

TEST_F(envelope_test, autonomy_is_capped_globally_and_per_service) {
  opts.autonomy_caps = {"*-db=2", "*=4"};
  safety_envelope env{opts};
  EXPECT_EQ(env.effective_autonomy(book, "orders-db"), 2);
  EXPECT_EQ(env.effective_autonomy(book, "checkout"), 3);
  auto v = env.admit_step(req(restart, "orders-db"), 0);
  EXPECT_EQ(v.kind, verdict_kind::refused_limit);
  EXPECT_NE(v.reason.find("needs autonomy 3"), std::string::npos) << v.reason;
  // Diagnosis is still allowed at level 2.
  EXPECT_EQ(env.admit_step(req(shell, "orders-db"), 0).kind,
            verdict_kind::run);
  EXPECT_EQ(env.admit_step(req(restart, "checkout"), 0).kind,
            verdict_kind::run);
  opts.max_autonomy = 1;
  env.configure(opts);
  EXPECT_EQ(env.admit_step(req(shell, "checkout"), 0).kind,
            verdict_kind::refused_limit);
  EXPECT_EQ(env.admit_step(req(notify, "checkout"), 0).kind,
            verdict_kind::run);
}

TEST_F(envelope_test, scaling_beyond_the_factor_or_by_an_unknown_factor_is_refused) {
  opts.limits.max_scale_factor = 2;
  safety_envelope env{opts};
  auto r = req(scale);
  r.scale_factor = 2;
  EXPECT_EQ(env.admit_step(r, 0).kind, verdict_kind::run);
  r.scale_factor = 2.5;
  auto v = env.admit_step(r, 0);
  EXPECT_EQ(v.kind, verdict_kind::refused_limit);
  EXPECT_NE(v.reason.find("max_scale_factor 2"), std::string::npos);
  r.scale_factor = 0;
  EXPECT_EQ(env.admit_step(r, 0).kind, verdict_kind::refused_limit);
  // An absolute replica count goes on: the executor checks it against the
  // live count and the same limit.
  r.absolute_replicas = true;
  EXPECT_EQ(env.admit_step(r, 0).kind, verdict_kind::run);
}

TEST_F(envelope_test, restarts_are_budgeted_per_sliding_hour_across_services) {
  opts.limits.max_restarts_per_hour = 2;
  safety_envelope env{opts};
  int64_t t = 0;
  for (auto svc : {"a", "b"}) {
    auto r = req(restart, svc);
    ASSERT_EQ(env.admit_step(r, t).kind, verdict_kind::run);
    env.step_started(r, t);
    env.step_finished();
    t += 10 * minute_ms;
  }
  auto v = env.admit_step(req(restart, "c"), t);
  EXPECT_EQ(v.kind, verdict_kind::refused_limit);
  EXPECT_NE(v.reason.find("max_restarts_per_hour 2"), std::string::npos);
  // Non-restarting actions are not counted against the budget.
  EXPECT_EQ(env.admit_step(req(shell, "c"), t).kind, verdict_kind::run);
  // One hour after the first restart a slot frees up, not before.
  EXPECT_EQ(env.admit_step(req(restart, "c"), 60 * minute_ms - 1).kind,
            verdict_kind::refused_limit);
  EXPECT_EQ(env.admit_step(req(restart, "c"), 60 * minute_ms).kind,
            verdict_kind::run);
  EXPECT_EQ(env.restarts_in_last_hour(60 * minute_ms), 1u);
}

TEST_F(envelope_test, a_zero_restart_budget_refuses_every_restart) {
  opts.limits.max_restarts_per_hour = 0;
  safety_envelope env{opts};
  EXPECT_EQ(env.admit_step(req(restart), 0).kind, verdict_kind::refused_limit);
}

TEST_F(envelope_test, runs_per_service_and_cooldown_limit_a_playbook) {
  book.max_runs_per_hour = 2;
  book.cooldown = std::chrono::minutes{10};
  safety_envelope env{opts};
  ASSERT_EQ(env.admit_run(book, "a", 0).kind, verdict_kind::run);
  env.run_started(book, "a", 0);
  auto v = env.admit_run(book, "a", 5 * minute_ms);
  EXPECT_EQ(v.kind, verdict_kind::refused_limit);
  EXPECT_NE(v.reason.find("cooldown"), std::string::npos) << v.reason;
  // Another service has its own count and cooldown.
  EXPECT_EQ(env.admit_run(book, "b", 5 * minute_ms).kind, verdict_kind::run);
  ASSERT_EQ(env.admit_run(book, "a", 10 * minute_ms).kind, verdict_kind::run);
  env.run_started(book, "a", 10 * minute_ms);
  v = env.admit_run(book, "a", 30 * minute_ms);
  EXPECT_EQ(v.kind, verdict_kind::refused_limit);
  EXPECT_NE(v.reason.find("max_runs_per_hour 2"), std::string::npos)
    << v.reason;
  // The first run leaves the window after an hour.
  EXPECT_EQ(env.admit_run(book, "a", 60 * minute_ms).kind, verdict_kind::run);
}

TEST_F(envelope_test, runs_and_restarts_remembered_after_a_restart_still_count) {
  book.max_runs_per_hour = 5;
  book.cooldown = std::chrono::minutes{10};
  opts.limits.max_restarts_per_hour = 2;
  safety_envelope env{opts};
  // What the audit log says happened before this process started, read
  // back newest first (out of order on purpose).
  env.remember_run("pb", "a", 50 * minute_ms);
  env.remember_step(action_kind::kubernetes_restart_pods, 50 * minute_ms);
  env.remember_step(action_kind::kubernetes_rollout_restart, 20 * minute_ms);
  env.remember_step(action_kind::shell, 55 * minute_ms); // not a restart
  EXPECT_EQ(env.running(), 0u);
  EXPECT_EQ(env.restarts_in_last_hour(60 * minute_ms), 2u);
  auto v = env.admit_run(book, "a", 55 * minute_ms);
  EXPECT_EQ(v.kind, verdict_kind::refused_limit);
  EXPECT_NE(v.reason.find("cooldown"), std::string::npos) << v.reason;
  v = env.admit_step(req(restart), 60 * minute_ms);
  EXPECT_EQ(v.kind, verdict_kind::refused_limit) << v.reason;
  // The older restart leaves the hour: one is allowed again.
  EXPECT_EQ(env.admit_step(req(restart), 81 * minute_ms).kind,
            verdict_kind::run);
}

TEST_F(envelope_test, approval_is_needed_for_autonomy_4_flagged_books_and_listed_names) {
  safety_envelope env{opts};
  auto r = req(restart);
  EXPECT_EQ(env.admit_step(r, 0).kind, verdict_kind::run);
  book.requires_approval = true;
  EXPECT_EQ(env.admit_step(r, 0).kind, verdict_kind::needs_approval);
  r.approved = true;
  EXPECT_EQ(env.admit_step(r, 0).kind, verdict_kind::run);
  book.requires_approval = false;
  book.autonomy = 4;
  r.approved = false;
  EXPECT_EQ(env.admit_step(r, 0).kind, verdict_kind::needs_approval);
  book.autonomy = 3;
  // The default list names kubernetes.rollback; incident types count too.
  auto rollback = make_step(action_kind::kubernetes_rollback);
  EXPECT_EQ(env.admit_step(req(rollback), 0).kind,
            verdict_kind::needs_approval);
  opts.limits.approval_required_for = {"database_connection_exhaustion"};
  env.configure(opts);
  EXPECT_EQ(env.admit_step(req(shell), 0).kind, verdict_kind::needs_approval);
  EXPECT_EQ(env.admit_step(req(rollback, "x"), 0).kind,
            verdict_kind::needs_approval);
}

TEST_F(envelope_test, a_refused_step_is_never_put_to_a_human) {
  opts.limits.max_restarts_per_hour = 0;
  book.requires_approval = true;
  safety_envelope env{opts};
  EXPECT_EQ(env.admit_step(req(restart), 0).kind, verdict_kind::refused_limit);
}

TEST_F(envelope_test, dry_run_records_instead_of_running_and_asks_nobody) {
  book.requires_approval = true;
  opts.limits.dry_run = true;
  safety_envelope env{opts};
  EXPECT_EQ(env.admit_step(req(restart), 0).kind, verdict_kind::dry_run);
  opts.limits.dry_run = false;
  env.configure(opts);
  book.dry_run = true;
  auto v = env.admit_step(req(restart), 0);
  EXPECT_EQ(v.kind, verdict_kind::dry_run);
  EXPECT_NE(v.reason.find("pb is a dry run"), std::string::npos);
}

TEST_F(envelope_test, steps_beyond_the_concurrency_limit_wait_their_turn) {
  opts.limits.max_concurrent_actions = 2;
  safety_envelope env{opts};
  for (int i = 0; i < 2; ++i) {
    auto r = req(shell);
    ASSERT_EQ(env.admit_step(r, 0).kind, verdict_kind::run);
    env.step_started(r, 0);
  }
  EXPECT_EQ(env.running(), 2u);
  EXPECT_EQ(env.admit_step(req(shell), 0).kind, verdict_kind::wait);
  env.step_finished();
  EXPECT_EQ(env.admit_step(req(shell), 0).kind, verdict_kind::run);
}

// A storm: 10,000 requests a second for 60 s of simulated time (600,000
// decisions), from a flapping service and 50 others, every step kind, with
// random step durations. Whatever the envelope lets through is replayed
// against the limits: no sliding hour holds more restarts than allowed, no
// moment more running actions, no (playbook, service) more runs per hour
// or a run inside its cooldown.
TEST_F(envelope_test, a_storm_of_requests_never_exceeds_a_limit) {
  opts.limits.max_restarts_per_hour = 5;
  opts.limits.max_concurrent_actions = 3;
  book.max_runs_per_hour = 4;
  book.cooldown = std::chrono::minutes{5};
  safety_envelope env{opts};
  std::mt19937_64 gen{7};
  std::vector<const playbook_step*> steps{&restart, &scale, &shell, &notify};
  std::deque<int64_t> restarts;                    // admitted restarts
  std::map<std::string, std::deque<int64_t>> runs; // admitted runs
  std::multimap<int64_t, int> ends;                // running: end times
  uint64_t admitted = 0, refused = 0, waited = 0;
  for (int64_t i = 0; i < 600'000; ++i) {
    int64_t now = i / 10; // 10 per millisecond
    while (!ends.empty() && ends.begin()->first <= now) {
      env.step_finished();
      ends.erase(ends.begin());
    }
    auto service = gen() % 4 == 0 ? std::string{"flappy"}
                                   : "svc-" + std::to_string(gen() % 50);
    if (gen() % 2 == 0) {
      if (env.admit_run(book, service, now).kind == verdict_kind::run) {
        env.run_started(book, service, now);
        auto& r = runs[service];
        if (!r.empty())
          ASSERT_GE(now - r.back(), book.cooldown.count());
        r.push_back(now);
        while (r.front() <= now - 3'600'000)
          r.pop_front();
        ASSERT_LE(r.size(), book.max_runs_per_hour);
      }
      continue;
    }
    auto req = this->req(*steps[gen() % steps.size()], service);
    req.scale_factor = 1 + static_cast<double>(gen() % 400) / 100;
    auto v = env.admit_step(req, now);
    if (v.kind == verdict_kind::wait) {
      ++waited;
      continue;
    }
    if (v.kind != verdict_kind::run) {
      ++refused;
      ASSERT_FALSE(v.reason.empty());
      continue;
    }
    ++admitted;
    env.step_started(req, now);
    ends.emplace(now + static_cast<int64_t>(gen() % 5'000), 0);
    ASSERT_LE(ends.size(), opts.limits.max_concurrent_actions);
    if (is_restart(req.step->action)) {
      restarts.push_back(now);
      while (restarts.front() <= now - 3'600'000)
        restarts.pop_front();
      ASSERT_LE(restarts.size(), opts.limits.max_restarts_per_hour);
    }
    if (req.step->action == action_kind::kubernetes_scale)
      ASSERT_LE(req.scale_factor, opts.limits.max_scale_factor);
  }
  // The storm was real: most requests were held back, some went through
  // (three at a time for 60 s of 0-5 s steps is about 70).
  EXPECT_GT(admitted, 50u);
  EXPECT_GT(refused + waited, 100'000u);
  EXPECT_EQ(restarts.size(), opts.limits.max_restarts_per_hour);
}

} // namespace
} // namespace vigil::playbooks
