#include "actors/playbook/envelope.hpp"

#include <algorithm>
#include <cmath>

namespace vigil::playbooks {

namespace {

constexpr int64_t hour_ms = 3'600'000;

std::string fmt_factor(double x) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%g", x);
  return buf;
}

} // namespace

std::string_view to_string(verdict_kind x) {
  switch (x) {
    case verdict_kind::run:
      return "run";
    case verdict_kind::dry_run:
      return "dry_run";
    case verdict_kind::needs_approval:
      return "needs_approval";
    case verdict_kind::wait:
      return "wait";
    case verdict_kind::refused_limit:
      return "refused_limit";
  }
  return "unknown";
}

int required_autonomy(action_kind x) {
  switch (x) {
    case action_kind::notify:
      return 1;
    case action_kind::shell:
    case action_kind::http:
      return 2;
    default:
      return 3;
  }
}

safety_envelope::safety_envelope(remediation_options opts) {
  configure(std::move(opts));
}

void safety_envelope::configure(remediation_options opts) {
  caps_.clear();
  for (const auto& text : opts.autonomy_caps)
    // The config loader refused malformed caps; one built in code that
    // slipped through is skipped rather than guessed at.
    if (auto r = parse_autonomy_cap(text))
      caps_.push_back(std::move(*r));
  // The run-time kill switch stays on once thrown; a reload can only add
  // the configured one.
  kill_switch_ = kill_switch_ || opts.kill_switch;
  opts_ = std::move(opts);
}

int safety_envelope::effective_autonomy(const playbook& book,
                                        const std::string& service) const {
  int level = std::min<int>(book.autonomy, static_cast<int>(opts_.max_autonomy));
  for (const auto& cap : caps_)
    if (glob_match(cap.glob, service)) {
      level = std::min(level, static_cast<int>(cap.level));
      break;
    }
  return level;
}

void safety_envelope::prune(std::deque<int64_t>& xs, int64_t now_ms) {
  while (!xs.empty() && xs.front() <= now_ms - hour_ms)
    xs.pop_front();
}

verdict safety_envelope::admit_run(const playbook& book,
                                   const std::string& service,
                                   int64_t now_ms) const {
  if (kill_switch_)
    return {verdict_kind::refused_limit, "the kill switch is on"};
  auto i = runs_.find({book.name, service});
  if (i == runs_.end())
    return {};
  auto& starts = i->second;
  prune(starts, now_ms);
  if (book.cooldown.count() > 0 && !starts.empty()
      && now_ms - starts.back() < book.cooldown.count()) {
    auto left = (book.cooldown.count() - (now_ms - starts.back()) + 999) / 1000;
    return {verdict_kind::refused_limit,
            "playbook " + book.name + " ran for " + service
              + " less than its cooldown ago (" + std::to_string(left)
              + "s left)"};
  }
  if (book.max_runs_per_hour > 0 && starts.size() >= book.max_runs_per_hour)
    return {verdict_kind::refused_limit,
            "playbook " + book.name + " already ran "
              + std::to_string(starts.size()) + " times for " + service
              + " in the last hour (max_runs_per_hour "
              + std::to_string(book.max_runs_per_hour) + ")"};
  return {};
}

void safety_envelope::run_started(const playbook& book,
                                  const std::string& service, int64_t now_ms) {
  auto& starts = runs_[{book.name, service}];
  prune(starts, now_ms);
  starts.push_back(now_ms);
}

void safety_envelope::remember_run(const std::string& playbook,
                                   const std::string& service,
                                   int64_t at_ms) {
  auto& starts = runs_[{playbook, service}];
  starts.insert(std::upper_bound(starts.begin(), starts.end(), at_ms), at_ms);
}

void safety_envelope::remember_step(action_kind action, int64_t at_ms) {
  if (is_restart(action))
    restarts_.insert(std::upper_bound(restarts_.begin(), restarts_.end(),
                                      at_ms),
                     at_ms);
}

bool safety_envelope::needs_approval(const step_request& req) const {
  if (req.book->requires_approval || req.book->autonomy >= 4)
    return true;
  auto action = to_string(req.step->action);
  for (const auto& name : opts_.limits.approval_required_for)
    if (name == action || (!req.incident_type.empty()
                           && name == req.incident_type))
      return true;
  return false;
}

verdict safety_envelope::admit_step(const step_request& req,
                                    int64_t now_ms) const {
  const auto& step = *req.step;
  auto action = std::string{to_string(step.action)};
  if (kill_switch_)
    return {verdict_kind::refused_limit, "the kill switch is on"};
  auto need = required_autonomy(step.action);
  auto level = effective_autonomy(*req.book, req.service);
  if (level < need)
    return {verdict_kind::refused_limit,
            action + " needs autonomy " + std::to_string(need) + "; "
              + req.book->name + " runs at " + std::to_string(level)
              + " for " + req.service};
  if (step.action == action_kind::kubernetes_scale) {
    auto max = opts_.limits.max_scale_factor;
    if (!(req.scale_factor > 0) && !req.absolute_replicas)
      return {verdict_kind::refused_limit,
              "the scale factor is unknown, so max_scale_factor cannot be "
              "enforced"};
    if (req.scale_factor > max)
      return {verdict_kind::refused_limit,
              "scaling by " + fmt_factor(req.scale_factor)
                + " exceeds max_scale_factor " + fmt_factor(max)};
  }
  if (is_restart(step.action)
      && restarts_in_last_hour(now_ms) >= opts_.limits.max_restarts_per_hour)
    return {verdict_kind::refused_limit,
            std::to_string(restarts_.size())
              + " restarts in the last hour (max_restarts_per_hour "
              + std::to_string(opts_.limits.max_restarts_per_hour) + ")"};
  if (opts_.limits.dry_run)
    return {verdict_kind::dry_run, "remediation.limits.dry_run is on"};
  if (req.book->dry_run)
    return {verdict_kind::dry_run, req.book->name + " is a dry run"};
  if (!req.approved && needs_approval(req))
    return {verdict_kind::needs_approval,
            action + " in " + req.book->name + " needs a human's approval"};
  if (running_ >= opts_.limits.max_concurrent_actions)
    return {verdict_kind::wait,
            std::to_string(running_)
              + " actions running (max_concurrent_actions "
              + std::to_string(opts_.limits.max_concurrent_actions) + ")"};
  return {};
}

void safety_envelope::step_started(const step_request& req, int64_t now_ms) {
  if (is_restart(req.step->action)) {
    prune(restarts_, now_ms);
    restarts_.push_back(now_ms);
  }
  ++running_;
}

void safety_envelope::step_finished() {
  if (running_ > 0)
    --running_;
}

uint32_t safety_envelope::restarts_in_last_hour(int64_t now_ms) const {
  prune(restarts_, now_ms);
  return static_cast<uint32_t>(restarts_.size());
}

} // namespace vigil::playbooks
