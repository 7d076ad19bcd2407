#include "actors/executor/executor.hpp"

#include <algorithm>
#include <chrono>
#include <thread>

#include <caf/blocking_actor.hpp>
#include <caf/send.hpp>
#include <curl/curl.h>

#include "actors/executor/kubernetes.hpp"
#include "actors/executor/process.hpp"
#include "messages/errc.hpp"
#include "messages/labels.hpp"
#include "runtime/clock.hpp"

namespace vigil::executor {

namespace {

constexpr size_t max_output = 4096;

std::string param(const action_job& job, std::string_view key) {
  for (const auto& p : job.params)
    if (p.key == key)
      return p.value;
  return {};
}

// Waits `ms` unless `stop` is set first; returns false when stopped.
bool pause(int64_t ms, const std::atomic<bool>* stop) {
  auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds{ms};
  while (std::chrono::steady_clock::now() < until) {
    if (stop && stop->load())
      return false;
    std::this_thread::sleep_for(std::chrono::milliseconds{20});
  }
  return !(stop && stop->load());
}

bool iequals(std::string_view x, std::string_view y) {
  return x.size() == y.size()
         && std::equal(x.begin(), x.end(), y.begin(), [](char a, char b) {
              return std::tolower(static_cast<unsigned char>(a))
                     == std::tolower(static_cast<unsigned char>(b));
            });
}

std::string clip(std::string s) {
  if (s.size() > max_output) {
    s.resize(max_output);
    s += "\n[truncated]";
  }
  return s;
}

struct attempt {
  bool ok = false;
  bool retryable = false;
  std::string reason;
  std::string output;
};

attempt run_shell(const action_job& job, const std::atomic<bool>* stop) {
  process_spec spec;
  spec.argv = job.argv;
  std::map<std::string, std::string> extra;
  for (const auto& p : job.params)
    if (p.key.rfind("env.", 0) == 0)
      extra[p.key.substr(4)] = p.value;
  // Who is acting, for a runbook that records or deduplicates its runs.
  const auto& a = job.action;
  extra["VIGIL_ACTION_ID"] = action_label(a.id);
  extra["VIGIL_INCIDENT_ID"] = incident_label(a.incident);
  extra["VIGIL_EPOCH"] = std::to_string(a.epoch);
  extra["VIGIL_IDEMPOTENCY_KEY"] = a.idempotency_key;
  spec.env = allowed_environment(job.env_allow, extra);
  spec.timeout = std::chrono::milliseconds{job.timeout_ms};
  auto r = run_process(spec, stop);
  attempt out;
  if (!r) {
    out.reason = "cannot run " + (job.argv.empty() ? "" : job.argv[0]) + ": "
                 + render(r.error());
    out.retryable = r.error().category() == caf::atom("vigil")
                    && r.error().code()
                         == static_cast<uint8_t>(errc::unavailable);
    return out;
  }
  out.output = clip(r->output);
  if (r->succeeded()) {
    out.ok = true;
    return out;
  }
  if (r->timed_out) {
    out.reason = "timed out after " + std::to_string(job.timeout_ms) + "ms";
  } else if (r->canceled) {
    out.reason = "stopped: the node is shutting down";
  } else if (r->signal != 0) {
    out.reason = "killed by signal " + std::to_string(r->signal);
    out.retryable = true;
  } else {
    out.reason = "exited with " + std::to_string(r->exit_code);
    out.retryable = true;
  }
  return out;
}

size_t collect(char* data, size_t size, size_t n, void* user) {
  auto* s = static_cast<std::string*>(user);
  auto len = size * n;
  if (s->size() < max_output)
    s->append(data, std::min(len, max_output - s->size()));
  return len;
}

attempt run_http(const action_job& job) {
  attempt out;
  auto url = param(job, "url");
  std::string why;
  if (!host_allowed(url, job.allow_hosts, why)) {
    out.reason = why;
    return out;
  }
  auto method = param(job, "method");
  if (method.empty())
    method = "POST";
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> h{curl_easy_init(),
                                                        curl_easy_cleanup};
  if (!h) {
    out.reason = "cannot create an HTTP handle";
    out.retryable = true;
    return out;
  }
  curl_slist* headers = nullptr;
  bool own_key = false;
  for (const auto& p : job.params)
    if (p.key.rfind("headers.", 0) == 0) {
      auto name = p.key.substr(8);
      own_key = own_key || iequals(name, "Idempotency-Key");
      headers = curl_slist_append(headers, (name + ": " + p.value).c_str());
    }
  // The same key on every retry lets the receiver act once; the epoch lets
  // it refuse a step of an older control node. A playbook's own
  // Idempotency-Key (its API may want another form) wins.
  if (!own_key && !job.action.idempotency_key.empty())
    headers = curl_slist_append(
      headers, ("Idempotency-Key: " + job.action.idempotency_key).c_str());
  headers = curl_slist_append(
    headers, ("Vigil-Epoch: " + std::to_string(job.action.epoch)).c_str());
  auto body = param(job, "body");
  curl_easy_setopt(h.get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(h.get(), CURLOPT_CUSTOMREQUEST, method.c_str());
  curl_easy_setopt(h.get(), CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h.get(), CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(h.get(), CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h.get(), CURLOPT_TIMEOUT_MS, static_cast<long>(job.timeout_ms));
  if (method != "GET" && method != "DELETE") {
    curl_easy_setopt(h.get(), CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(h.get(), CURLOPT_POSTFIELDSIZE,
                     static_cast<long>(body.size()));
  }
  if (headers)
    curl_easy_setopt(h.get(), CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(h.get(), CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(h.get(), CURLOPT_WRITEDATA, &out.output);
  auto rc = curl_easy_perform(h.get());
  curl_slist_free_all(headers);
  if (rc != CURLE_OK) {
    out.reason = std::string{"HTTP request failed: "} + curl_easy_strerror(rc);
    out.retryable = rc != CURLE_OPERATION_TIMEDOUT;
    return out;
  }
  long code = 0;
  curl_easy_getinfo(h.get(), CURLINFO_RESPONSE_CODE, &code);
  if (code >= 200 && code < 300) {
    out.ok = true;
    return out;
  }
  out.reason = "HTTP " + std::to_string(code);
  out.retryable = code >= 500 || code == 429;
  return out;
}

attempt run_kube(const action_job& job, const std::atomic<bool>* stop,
                 const fence_fn& fence_of) {
  attempt out;
  kube_config cfg;
  if (job.kube_server.empty()) {
    auto in = in_cluster_config();
    if (!in) {
      out.reason = "no Kubernetes API: remediation.kubernetes_api is empty "
                   "and this is not a pod ("
                   + render(in.error()) + ")";
      return out;
    }
    cfg = std::move(*in);
  } else {
    cfg.server = job.kube_server;
    cfg.token_file = job.kube_token_file;
    cfg.ca_file = job.kube_ca_file;
  }
  cfg.timeout = std::chrono::milliseconds{job.timeout_ms};
  kube_fence fence;
  fence.epoch = job.action.epoch;
  fence.key = job.action.idempotency_key;
  if (fence_of)
    fence.still_ours = [&] { return fence_of(fence.epoch); };
  auto r = run_kubernetes(cfg, job.action.action, job.params,
                          job.max_scale_factor, stop, fence);
  out.ok = r.ok;
  out.retryable = r.retryable;
  out.reason = r.reason;
  out.output = clip(r.output);
  return out;
}

} // namespace

bool host_allowed(const std::string& url,
                  const std::vector<std::string>& allow, std::string& why) {
  std::unique_ptr<CURLU, decltype(&curl_url_cleanup)> u{curl_url(),
                                                        curl_url_cleanup};
  if (!u || curl_url_set(u.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) {
    why = "'" + url + "' is not a URL";
    return false;
  }
  char* scheme = nullptr;
  char* host = nullptr;
  curl_url_get(u.get(), CURLUPART_SCHEME, &scheme, 0);
  curl_url_get(u.get(), CURLUPART_HOST, &host, 0);
  std::string s = scheme ? scheme : "";
  std::string hs = host ? host : "";
  curl_free(scheme);
  curl_free(host);
  std::transform(hs.begin(), hs.end(), hs.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  if (s != "http" && s != "https") {
    why = "'" + url + "' is not http or https";
    return false;
  }
  for (auto a : allow) {
    std::transform(a.begin(), a.end(), a.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    if (a == hs)
      return true;
  }
  why = "host '" + hs + "' is not in remediation.http_allow_hosts";
  return false;
}

action_view run_job(const action_job& job, const std::atomic<bool>* stop,
                    const fence_fn& fence) {
  auto a = job.action;
  const auto& kind = a.action;
  attempt last;
  auto backoff = job.backoff_ms;
  for (uint32_t i = 0;; ++i) {
    if (auto why = fence ? fence(a.epoch) : std::string{}; !why.empty()) {
      last = attempt{};
      last.reason = "fenced before attempt " + std::to_string(i + 1) + ": "
                    + why;
      break;
    }
    if (kind == "shell") {
      last = run_shell(job, stop);
    } else if (kind == "http") {
      last = run_http(job);
    } else if (kind == "notify") {
      last.ok = true;
      last.output = param(job, "message");
    } else if (kind.rfind("kubernetes.", 0) == 0) {
      last = run_kube(job, stop, fence);
    } else {
      last.reason = kind + " is not supported by this version's executor";
    }
    if (last.ok || !last.retryable || i >= job.retries)
      break;
    if (!pause(backoff, stop))
      break;
    backoff *= 2;
  }
  a.status = last.ok ? "succeeded" : "failed";
  a.reason = last.reason;
  a.output = last.output;
  a.ended_ms = wall_ms();
  return a;
}

caf::actor spawn(caf::local_actor* self, action_job job, playbook_actor engine,
                 std::shared_ptr<std::atomic<bool>> stop, fence_fn fence) {
  return self->spawn<caf::detached>(
    [](caf::blocking_actor*, action_job job, playbook_actor engine,
       std::shared_ptr<std::atomic<bool>> stop, fence_fn fence) {
      action_view result;
      try {
        result = run_job(job, stop.get(), fence);
      } catch (const std::exception& e) {
        result = job.action;
        result.status = "failed";
        result.reason = std::string{"the executor failed: "} + e.what();
        result.ended_ms = wall_ms();
      }
      caf::anon_send(engine, atom::done_v, std::move(result));
    },
    std::move(job), std::move(engine), std::move(stop), std::move(fence));
}

} // namespace vigil::executor
