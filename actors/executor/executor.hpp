#pragma once

// Executor actors: one per action run, detached (its own thread), so a hung
// or slow action never blocks the scheduler or the pipeline. It runs the
// job within its timeout, retries a failure with backoff, answers the
// engine with the final state and quits. A crash inside is caught and
// reported as a failed step; the engine also monitors it.

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include <caf/actor.hpp>
#include <caf/local_actor.hpp>

#include "messages/interfaces.hpp"

namespace vigil::executor {

/// Empty when a step of control epoch `epoch` may act now, else why not
/// (the node lost the control role, its lease, or took a new epoch).
using fence_fn = std::function<std::string(uint64_t epoch)>;

/// Runs `job` to its end and returns the final state of its action
/// (succeeded or failed, with the reason and the output's beginning).
/// Blocks; `stop`, when set, aborts a running program or a retry wait.
/// `fence`, when set, is asked before every attempt: a fenced step fails
/// without another attempt (a node paused between retries does not retry
/// after another node took over).
action_view run_job(const action_job& job, const std::atomic<bool>* stop,
                    const fence_fn& fence = {});

/// Spawns a detached executor for `job` that answers `engine` with
/// `atom::done, action_view`. `stop` is the node's shutdown flag.
caf::actor spawn(caf::local_actor* self, action_job job, playbook_actor engine,
                 std::shared_ptr<std::atomic<bool>> stop, fence_fn fence = {});

/// Whether `url` is http(s) and its host is one of `allow` (exact,
/// case-insensitive); the error text says why not.
bool host_allowed(const std::string& url,
                  const std::vector<std::string>& allow, std::string& why);

} // namespace vigil::executor
