#pragma once

// Executor actors: one per action run, detached (its own thread), so a hung
// or slow action never blocks the scheduler or the pipeline. It runs the
// job within its timeout, retries a failure with backoff, answers the
// engine with the final state and quits. A crash inside is caught and
// reported as a failed step; the engine also monitors it.

#include <atomic>
#include <memory>
#include <string>

#include <caf/actor.hpp>
#include <caf/local_actor.hpp>

#include "messages/interfaces.hpp"

namespace vigil::executor {

/// Runs `job` to its end and returns the final state of its action
/// (succeeded or failed, with the reason and the output's beginning).
/// Blocks; `stop`, when set, aborts a running program or a retry wait.
action_view run_job(const action_job& job, const std::atomic<bool>* stop);

/// Spawns a detached executor for `job` that answers `engine` with
/// `atom::done, action_view`. `stop` is the node's shutdown flag.
caf::actor spawn(caf::local_actor* self, action_job job, playbook_actor engine,
                 std::shared_ptr<std::atomic<bool>> stop);

/// Whether `url` is http(s) and its host is one of `allow` (exact,
/// case-insensitive); the error text says why not.
bool host_allowed(const std::string& url,
                  const std::vector<std::string>& allow, std::string& why);

} // namespace vigil::executor
