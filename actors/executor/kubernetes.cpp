#include "actors/executor/kubernetes.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <curl/curl.h>
#include <fstream>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <set>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "messages/errc.hpp"
#include "runtime/secrets.hpp"

namespace vigil::executor {

namespace {

using json = nlohmann::json;
using steady = std::chrono::steady_clock;

// Answers larger than this are not read; a ReplicaSet list of a deployment
// with a long history stays far below it.
constexpr size_t max_body = size_t{8} << 20;

// Pod names listed in the output of restart_pods, at most.
constexpr size_t max_listed = 20;

// Kubernetes keeps replica counts in an int32.
constexpr int64_t max_replica_count = std::numeric_limits<int32_t>::max();

constexpr std::string_view revision_key = "deployment.kubernetes.io/revision";
constexpr std::string_view hash_label = "pod-template-hash";
constexpr std::string_view restarted_at_key
  = "kubectl.kubernetes.io/restartedAt";

// Deployment annotations a rollback keeps from the deployment instead of
// taking them from the ReplicaSet (the set kubectl rollout undo skips).
const std::set<std::string, std::less<>>& annotations_to_skip() {
  static const std::set<std::string, std::less<>> keys{
    "kubectl.kubernetes.io/last-applied-configuration",
    "deployment.kubernetes.io/revision",
    "deployment.kubernetes.io/revision-history",
    "deployment.kubernetes.io/desired-replicas",
    "deployment.kubernetes.io/max-replicas",
    "deprecated.deployment.rollback.to",
  };
  return keys;
}

kube_result refused(std::string why) {
  kube_result r;
  r.reason = std::move(why);
  return r;
}

kube_result succeeded(std::string output) {
  kube_result r;
  r.ok = true;
  r.output = std::move(output);
  return r;
}

bool is_alnum_lower(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

// One part of a DNS-1123 name without the length rule.
bool is_dns_part(std::string_view x) {
  if (x.empty() || !is_alnum_lower(x.front()) || !is_alnum_lower(x.back()))
    return false;
  return std::all_of(x.begin(), x.end(),
                     [](char c) { return is_alnum_lower(c) || c == '-'; });
}

std::string trim(std::string_view x) {
  auto b = x.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos)
    return {};
  auto e = x.find_last_not_of(" \t\r\n");
  return std::string{x.substr(b, e - b + 1)};
}

// The step's parameters by key; a repeated key keeps its first value.
class param_map {
public:
  explicit param_map(const std::vector<attribute>& params) {
    for (const auto& p : params)
      values_.emplace(p.key, p.value);
  }
  const std::string* find(std::string_view key) const {
    auto it = values_.find(key);
    return it == values_.end() ? nullptr : &it->second;
  }

private:
  std::map<std::string, std::string, std::less<>> values_;
};

std::optional<double> parse_number(const std::string& x) {
  double v = 0;
  auto [end, ec] = std::from_chars(x.data(), x.data() + x.size(), v);
  if (ec != std::errc{} || end != x.data() + x.size() || !std::isfinite(v))
    return std::nullopt;
  return v;
}

std::optional<int64_t> parse_count(const std::string& x) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(x.data(), x.data() + x.size(), v);
  if (ec != std::errc{} || end != x.data() + x.size() || v < 0)
    return std::nullopt;
  return v;
}

// The smallest integer >= x, forgiving the rounding error of a product such
// as 10 * 0.3 so that it does not add a replica nobody asked for.
int64_t ceil_count(double x) {
  auto c = std::ceil(x - 1e-9);
  if (c >= static_cast<double>(max_replica_count))
    return max_replica_count;
  return c < 0 ? 0 : static_cast<int64_t>(c);
}

std::string format_factor(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", x);
  return buf;
}

std::string rfc3339_now() {
  auto t
    = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

const json* member(const json& x, std::string_view key) {
  if (!x.is_object())
    return nullptr;
  auto it = x.find(std::string{key});
  return it == x.end() ? nullptr : &*it;
}

// x[k1][k2]... or nullptr when any step is missing.
const json* path_of(const json& x,
                    std::initializer_list<std::string_view> keys) {
  const json* cur = &x;
  for (auto k : keys)
    if (cur = member(*cur, k); cur == nullptr)
      return nullptr;
  return cur;
}

std::string string_at(const json& x,
                      std::initializer_list<std::string_view> keys) {
  auto v = path_of(x, keys);
  return v && v->is_string() ? v->get<std::string>() : std::string{};
}

// The text of a LabelSelector object as a labelSelector query value; empty
// when it selects nothing specific or uses an operator we do not know.
std::string selector_text(const json& sel) {
  std::string out;
  auto add = [&](const std::string& part) {
    if (!out.empty())
      out += ',';
    out += part;
  };
  if (auto labels = member(sel, "matchLabels"); labels && labels->is_object())
    for (const auto& [k, v] : labels->items()) {
      if (!v.is_string())
        return {};
      add(k + "=" + v.get<std::string>());
    }
  if (auto exprs = member(sel, "matchExpressions"); exprs && exprs->is_array())
    for (const auto& e : *exprs) {
      auto key = string_at(e, {"key"});
      auto op = string_at(e, {"operator"});
      std::string values;
      if (auto vs = member(e, "values"); vs && vs->is_array())
        for (const auto& v : *vs) {
          if (!v.is_string())
            return {};
          values += (values.empty() ? "" : ",") + v.get<std::string>();
        }
      if (key.empty())
        return {};
      if (op == "In")
        add(key + " in (" + values + ")");
      else if (op == "NotIn")
        add(key + " notin (" + values + ")");
      else if (op == "Exists")
        add(key);
      else if (op == "DoesNotExist")
        add("!" + key);
      else
        return {};
    }
  return out;
}

// One API request; `what` names the object for messages.
struct api_request {
  std::string_view verb;
  std::string path;
  std::string content_type;
  std::string body;
  std::string what;
  // False when sending it twice may do twice what the step meant once
  // (scale by a factor, roll back to "the previous" revision): a failure
  // that leaves open whether the server applied it is then not retried.
  bool idempotent = true;
};

// Errors that say nothing about the server but about our settings.
bool is_setup_error(CURLcode rc) {
  switch (rc) {
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
    case CURLE_NOT_BUILT_IN:
      return true;
    default:
      return false;
  }
}

// Errors after which the request certainly never reached the server.
bool is_unsent(CURLcode rc) {
  return rc == CURLE_COULDNT_RESOLVE_HOST || rc == CURLE_COULDNT_RESOLVE_PROXY
         || rc == CURLE_COULDNT_CONNECT || rc == CURLE_SSL_CONNECT_ERROR;
}

// The "message" of a Kubernetes Status answer, else the body's beginning.
std::string status_message(const std::string& body) {
  auto j = json::parse(body, nullptr, false);
  if (auto m = member(j, "message"); m && m->is_string())
    return m->get<std::string>();
  auto text = trim(body.substr(0, 200));
  return text.empty() ? "no details" : text;
}

std::string verb_word(std::string_view verb) {
  if (verb == "GET")
    return "read";
  if (verb == "DELETE")
    return "delete";
  return "change";
}

// Talks to one API server over one curl handle (connections are reused
// between the requests of one action).
class api_client {
public:
  api_client(const kube_config& cfg, std::string base, std::string token,
             const std::atomic<bool>* stop)
    : cfg_(cfg), base_(std::move(base)), token_(std::move(token)), stop_(stop),
      deadline_(steady::now() + cfg.timeout),
      curl_(curl_easy_init(), curl_easy_cleanup) {}

  /// Sends `req`; returns the answer's JSON, or nullopt with the failure in
  /// `fail`.
  std::optional<json> send(const api_request& req, kube_result& fail) {
    if (!curl_) {
      fail = refused("cannot create an HTTP handle");
      fail.retryable = true;
      return std::nullopt;
    }
    if (stop_ && stop_->load()) {
      fail = refused("stopped: the node is shutting down");
      return std::nullopt;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline_ - steady::now());
    if (left.count() <= 0) {
      // Nothing of this request was sent, so trying again is safe.
      fail = refused("timed out after " + std::to_string(cfg_.timeout.count())
                     + "ms before " + verb_word(req.verb) + " " + req.what);
      fail.retryable = true;
      return std::nullopt;
    }
    code_ = 0;
    auto* h = curl_.get();
    curl_easy_reset(h);
    body_.clear();
    too_large_ = false;
    char errbuf[CURL_ERROR_SIZE] = {0};
    auto url = base_ + req.path;
    curl_easy_setopt(h, CURLOPT_URL, url.c_str());
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(left.count()));
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(left.count()));
    curl_easy_setopt(h, CURLOPT_USERAGENT, "vigil-executor");
    if (cfg_.insecure_skip_verify) {
      curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
      curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
    } else {
      curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
      curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
      if (!cfg_.ca_file.empty())
        curl_easy_setopt(h, CURLOPT_CAINFO, cfg_.ca_file.c_str());
    }
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &api_client::collect);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, this);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, &api_client::progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, this);
    std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> headers{
      nullptr, curl_slist_free_all};
    auto add_header = [&](const std::string& line) {
      headers.reset(curl_slist_append(headers.release(), line.c_str()));
    };
    add_header("Authorization: Bearer " + token_);
    add_header("Accept: application/json");
    // Bodies are small; waiting for "100 Continue" would only add latency.
    add_header("Expect:");
    if (req.verb == "GET") {
      curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    } else if (req.verb == "DELETE") {
      curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "DELETE");
    } else {
      add_header("Content-Type: " + req.content_type);
      curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, std::string{req.verb}.c_str());
      curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
                       static_cast<curl_off_t>(req.body.size()));
      curl_easy_setopt(h, CURLOPT_POSTFIELDS, req.body.c_str());
    }
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());
    auto rc = curl_easy_perform(h);
    // errbuf lives on this frame; the handle must not keep pointing at it.
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, nullptr);
    if (rc != CURLE_OK)
      return transport_failure(req, rc, errbuf, fail);
    long code = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    code_ = code;
    if (code >= 200 && code < 300) {
      auto j = json::parse(body_, nullptr, false);
      if (j.is_discarded() || !j.is_object()) {
        fail = refused("the API server's answer to " + std::string{req.verb}
                       + " " + req.what + " is not a JSON object");
        return std::nullopt;
      }
      return j;
    }
    fail = http_failure(req, code);
    return std::nullopt;
  }

  /// The HTTP status of the last answer; 0 when none came.
  long last_code() const { return code_; }

private:
  static size_t collect(char* data, size_t size, size_t n, void* user) {
    auto* self = static_cast<api_client*>(user);
    auto len = size * n;
    if (self->body_.size() + len > max_body) {
      self->too_large_ = true;
      return 0;
    }
    self->body_.append(data, len);
    return len;
  }

  static int progress(void* user, curl_off_t, curl_off_t, curl_off_t,
                      curl_off_t) {
    auto* self = static_cast<api_client*>(user);
    return self->stop_ && self->stop_->load() ? 1 : 0;
  }

  std::optional<json> transport_failure(const api_request& req, CURLcode rc,
                                        const char* errbuf, kube_result& fail) {
    std::string detail = *errbuf ? errbuf : curl_easy_strerror(rc);
    auto head = "cannot " + verb_word(req.verb) + " " + req.what + ": ";
    if (rc == CURLE_ABORTED_BY_CALLBACK) {
      fail = refused("stopped: the node is shutting down");
    } else if (rc == CURLE_WRITE_ERROR && too_large_) {
      fail = refused(head + "the answer exceeds "
                     + std::to_string(max_body >> 20) + " MiB");
    } else if (is_setup_error(rc)) {
      fail = refused(head + detail);
    } else if (req.idempotent || is_unsent(rc)) {
      fail = refused(head + detail);
      fail.retryable = true;
    } else {
      fail = refused(head + detail
                     + "; it may have been applied, so it is not retried");
    }
    return std::nullopt;
  }

  kube_result http_failure(const api_request& req, long code) const {
    auto msg = status_message(body_);
    auto http = " (HTTP " + std::to_string(code) + "): ";
    auto head = "cannot " + verb_word(req.verb) + " " + req.what;
    kube_result r;
    if (code == 401) {
      r.reason = "the API server rejected the bearer token" + http + msg;
    } else if (code == 403) {
      r.reason = head + http + msg;
    } else if (code == 404) {
      r.reason = req.what + " not found";
    } else if (code == 409 || code == 429) {
      r.reason = head + http + msg;
      r.retryable = true;
    } else if (code >= 500) {
      r.reason = head + http + msg;
      // A gateway timeout leaves open whether the change was made.
      r.retryable = req.idempotent || code != 504;
    } else {
      r.reason = head + http + msg;
    }
    return r;
  }

  const kube_config& cfg_;
  std::string base_;
  std::string token_;
  const std::atomic<bool>* stop_;
  steady::time_point deadline_;
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl_;
  std::string body_;
  bool too_large_ = false;
  long code_ = 0;
};

std::string escape(const std::string& x) {
  std::unique_ptr<char, decltype(&curl_free)> e{
    curl_easy_escape(nullptr, x.c_str(), static_cast<int>(x.size())),
    curl_free};
  return e ? std::string{e.get()} : std::string{};
}

std::string deployment_path(const std::string& ns, const std::string& name) {
  return "/apis/apps/v1/namespaces/" + ns + "/deployments/" + name;
}

// The server URL without a trailing slash, or why it is unusable.
std::optional<std::string> base_url(const std::string& server,
                                    std::string& why) {
  std::unique_ptr<CURLU, decltype(&curl_url_cleanup)> u{curl_url(),
                                                        curl_url_cleanup};
  if (!u
      || curl_url_set(u.get(), CURLUPART_URL, server.c_str(), 0) != CURLUE_OK) {
    why = "the Kubernetes API server '" + server + "' is not a URL";
    return std::nullopt;
  }
  auto part = [&](CURLUPart p) {
    char* v = nullptr;
    std::string out;
    if (curl_url_get(u.get(), p, &v, 0) == CURLUE_OK && v)
      out = v;
    curl_free(v);
    return out;
  };
  if (part(CURLUPART_SCHEME) != "https") {
    why = "the Kubernetes API server '" + server + "' is not an https URL";
    return std::nullopt;
  }
  if (part(CURLUPART_HOST).empty() || !part(CURLUPART_USER).empty()
      || !part(CURLUPART_QUERY).empty() || !part(CURLUPART_FRAGMENT).empty()) {
    why = "the Kubernetes API server '" + server
          + "' must be https://host[:port][/prefix]";
    return std::nullopt;
  }
  auto base = server;
  while (!base.empty() && base.back() == '/')
    base.pop_back();
  return base;
}

// The namespace of a step, checked.
std::optional<std::string>
namespace_of(const param_map& p, const kube_config& cfg, std::string& why) {
  auto ns = p.find("namespace");
  std::string x = ns && !ns->empty() ? *ns : cfg.default_namespace;
  if (x.empty()) {
    why = "the step names no namespace";
    return std::nullopt;
  }
  if (!is_dns1123_label(x)) {
    why = "namespace '" + x + "' is not a valid Kubernetes namespace name";
    return std::nullopt;
  }
  return x;
}

std::optional<std::string> deployment_of(const param_map& p, std::string& why) {
  auto d = p.find("deployment");
  if (!d || d->empty()) {
    why = "the step names no deployment";
    return std::nullopt;
  }
  if (!is_dns1123_subdomain(*d)) {
    why = "deployment '" + *d + "' is not a valid Kubernetes object name";
    return std::nullopt;
  }
  return *d;
}

// Checked inputs of one action, ready to run.
struct target {
  std::string ns;
  std::string name;
  std::string what;
};

constexpr std::string_view epoch_key = "vigil.dev/epoch";
constexpr std::string_view action_key = "vigil.dev/action";
constexpr std::string_view lease_name = "vigil-remediation";
// Claims of the namespace lease lost to a concurrent writer before giving
// up (each loss re-reads it).
constexpr int max_claims = 3;

// What the fence annotations of `obj` say about this step: nothing (go
// on), a refusal (a newer epoch changed it) or a success (this step's own
// earlier attempt already changed it).
std::optional<kube_result> judge_fence(const json& obj, const kube_fence& f,
                                       const std::string& what) {
  if (f.epoch == 0)
    return std::nullopt;
  auto theirs = string_at(obj, {"metadata", "annotations", epoch_key});
  uint64_t epoch = 0;
  if (!theirs.empty()) {
    auto [end, ec]
      = std::from_chars(theirs.data(), theirs.data() + theirs.size(), epoch);
    if (ec != std::errc{} || end != theirs.data() + theirs.size())
      return refused(what + " carries " + std::string{epoch_key} + " '"
                     + theirs + "', which is not an epoch; nothing was changed");
  }
  if (epoch > f.epoch)
    return refused("fenced: " + what + " was changed by control epoch "
                   + theirs + ", newer than this step's epoch "
                   + std::to_string(f.epoch) + "; nothing was changed");
  if (!f.key.empty()
      && string_at(obj, {"metadata", "annotations", action_key}) == f.key)
    return succeeded(what + " was already changed by this step (idempotency "
                     "key " + f.key + ", an earlier attempt); nothing was "
                     "changed again");
  return std::nullopt;
}

// The annotations that record the step on what it changes.
json fence_annotations(const kube_fence& f) {
  return {{std::string{epoch_key}, std::to_string(f.epoch)},
          {std::string{action_key}, f.key}};
}

// Claims the namespace's remediation Lease for this step: created or
// updated (resourceVersion-guarded) with the step's epoch and key, unless
// a newer epoch holds it. Nothing when the step may go on, else how it
// ends.
std::optional<kube_result> claim_namespace(api_client& api,
                                           const std::string& ns,
                                           const kube_fence& f) {
  if (f.epoch == 0)
    return std::nullopt;
  auto dir = "/apis/coordination.k8s.io/v1/namespaces/" + ns + "/leases";
  auto what = "lease " + ns + "/" + std::string{lease_name};
  for (int i = 0; i < max_claims; ++i) {
    api_request get;
    get.verb = "GET";
    get.path = dir + "/" + std::string{lease_name};
    get.what = what;
    kube_result fail;
    auto lease = api.send(get, fail);
    if (!lease && api.last_code() != 404)
      return fail;
    json body;
    api_request put;
    put.what = what;
    if (lease) {
      if (auto verdict = judge_fence(*lease, f, what)) {
        if (!verdict->ok)
          return verdict;
        // This step claimed it before (an attempt whose request surely
        // never arrived is retried): still ours.
        return std::nullopt;
      }
      body = *lease;
      auto& marks = body["metadata"]["annotations"];
      if (!marks.is_object())
        marks = json::object();
      marks.update(fence_annotations(f));
      put.verb = "PUT";
      put.path = get.path;
    } else {
      body = {{"apiVersion", "coordination.k8s.io/v1"},
              {"kind", "Lease"},
              {"metadata",
               {{"name", std::string{lease_name}},
                {"namespace", ns},
                {"annotations", fence_annotations(f)}}},
              {"spec", json::object()}};
      put.verb = "POST";
      put.path = dir;
    }
    body["spec"]["holderIdentity"] = "vigil epoch " + std::to_string(f.epoch);
    put.content_type = "application/json";
    put.body = body.dump();
    if (api.send(put, fail))
      return std::nullopt;
    // 409: another writer came first (created it, or changed it since the
    // read); read again and judge anew.
    if (api.last_code() != 409)
      return fail;
  }
  kube_result busy = refused("cannot claim " + what + ": it kept changing ("
                             + std::to_string(max_claims) + " conflicts)");
  busy.retryable = true;
  return busy;
}

kube_result restart_pods(api_client& api, const std::string& ns,
                         const std::string& selector, const kube_fence& f) {
  if (auto end = claim_namespace(api, ns, f))
    return *end;
  // A DELETE of a collection takes no precondition: the node checks once
  // more that it still acts in this epoch (it may have been paused since
  // the claim).
  if (f.still_ours)
    if (auto why = f.still_ours(); !why.empty())
      return refused("fenced after claiming lease " + ns + "/"
                     + std::string{lease_name} + ": " + why
                     + "; no pod was deleted");
  api_request req;
  req.verb = "DELETE";
  req.path
    = "/api/v1/namespaces/" + ns + "/pods?labelSelector=" + escape(selector);
  req.what = "pods in namespace " + ns + " matching '" + selector + "'";
  kube_result fail;
  auto list = api.send(req, fail);
  if (!list)
    return fail;
  std::vector<std::string> names;
  if (auto items = member(*list, "items"); items && items->is_array())
    for (const auto& pod : *items)
      names.push_back(string_at(pod, {"metadata", "name"}));
  if (names.empty())
    return refused("no pod in namespace " + ns + " matches '" + selector
                   + "'; nothing was restarted");
  std::string out = "deleted " + std::to_string(names.size()) + " pod"
                    + (names.size() == 1 ? "" : "s") + " in namespace " + ns
                    + " matching '" + selector + "': ";
  for (size_t i = 0; i < names.size() && i < max_listed; ++i)
    out += (i == 0 ? "" : ", ") + names[i];
  if (names.size() > max_listed)
    out += " and " + std::to_string(names.size() - max_listed) + " more";
  return succeeded(std::move(out));
}

kube_result scale(api_client& api, const target& t, const param_map& p,
                  double max_factor, const kube_fence& f) {
  auto factor_text = p.find("factor");
  auto replicas_text = p.find("replicas");
  if ((factor_text != nullptr) == (replicas_text != nullptr))
    return refused("kubernetes.scale needs exactly one of factor and replicas");
  std::optional<double> factor;
  std::optional<int64_t> replicas;
  std::optional<int64_t> max_replicas;
  if (factor_text) {
    factor = parse_number(*factor_text);
    if (!factor || *factor <= 0)
      return refused("factor '" + *factor_text + "' is not a number > 0");
    if (*factor > max_factor)
      return refused("scaling by " + format_factor(*factor)
                     + " exceeds max_scale_factor "
                     + format_factor(max_factor));
  } else {
    replicas = parse_count(*replicas_text);
    if (!replicas || *replicas > max_replica_count)
      return refused("replicas '" + *replicas_text
                     + "' is not a replica count");
  }
  if (auto m = p.find("max_replicas")) {
    max_replicas = parse_count(*m);
    if (!max_replicas || *max_replicas < 1)
      return refused("max_replicas '" + *m + "' is not an integer >= 1");
  }
  api_request get;
  get.verb = "GET";
  get.path = deployment_path(t.ns, t.name);
  get.what = t.what;
  kube_result fail;
  auto s = api.send(get, fail);
  if (!s)
    return fail;
  if (auto verdict = judge_fence(*s, f, t.what))
    return *verdict;
  // spec.replicas is left out of the answer when it is 0.
  int64_t current = 0;
  if (auto r = path_of(*s, {"spec", "replicas"}); r && r->is_number_integer())
    current = r->get<int64_t>();
  auto rv = string_at(*s, {"metadata", "resourceVersion"});
  if (factor && current == 0)
    return refused(t.what
                   + " runs 0 replicas, which no factor changes; "
                     "name replicas instead");
  auto wanted
    = factor ? ceil_count(static_cast<double>(current) * *factor) : *replicas;
  auto goal = wanted;
  if (max_replicas && goal > *max_replicas)
    goal = *max_replicas;
  if (wanted > current && goal <= current)
    return refused(t.what + " already runs " + std::to_string(current)
                   + " replicas; max_replicas " + std::to_string(*max_replicas)
                   + " leaves no room to grow");
  if (goal > current) {
    auto allowed = ceil_count(static_cast<double>(std::max<int64_t>(current, 1))
                              * max_factor);
    if (goal > allowed)
      return refused("scaling " + t.what + " from " + std::to_string(current)
                     + " to " + std::to_string(goal)
                     + " replicas exceeds max_scale_factor "
                     + format_factor(max_factor));
  }
  if (goal == current)
    return succeeded(t.what + " already runs " + std::to_string(current)
                     + " replicas; nothing to change");
  // The goal was computed from what we read: the resourceVersion makes the
  // server refuse (409) the patch if the deployment changed in between (its
  // count, or a newer epoch's mark).
  json body = {{"spec", {{"replicas", goal}}}};
  if (!rv.empty())
    body["metadata"]["resourceVersion"] = rv;
  if (f.epoch != 0)
    body["metadata"]["annotations"] = fence_annotations(f);
  api_request patch;
  patch.verb = "PATCH";
  patch.path = get.path;
  patch.content_type = "application/merge-patch+json";
  patch.body = body.dump();
  patch.what = t.what;
  patch.idempotent = !factor;
  if (!api.send(patch, fail))
    return fail;
  auto out = "scaled " + t.what + " from " + std::to_string(current) + " to "
             + std::to_string(goal) + " replicas";
  if (goal < wanted)
    out += " (capped by max_replicas " + std::to_string(*max_replicas) + ")";
  return succeeded(std::move(out));
}

// Reads the deployment of `t`; fills `fail` (and returns nothing) when it
// cannot be read or is paused: a paused deployment takes a new template
// but rolls nothing out, so `doing` it would silently do nothing.
std::optional<json> unpaused_deployment(api_client& api, const target& t,
                                        const std::string& doing,
                                        kube_result& fail) {
  api_request get;
  get.verb = "GET";
  get.path = deployment_path(t.ns, t.name);
  get.what = t.what;
  auto d = api.send(get, fail);
  if (!d)
    return std::nullopt;
  if (auto paused = path_of(*d, {"spec", "paused"});
      paused && paused->is_boolean() && paused->get<bool>()) {
    fail = refused(t.what + " is paused; resume it before " + doing);
    return std::nullopt;
  }
  return d;
}

kube_result rollout_restart(api_client& api, const target& t,
                            const kube_fence& f) {
  kube_result fail;
  auto d = unpaused_deployment(api, t, "restarting it", fail);
  if (!d)
    return fail;
  if (auto verdict = judge_fence(*d, f, t.what))
    return *verdict;
  auto now = rfc3339_now();
  json body
    = {{"spec",
        {{"template",
          {{"metadata",
            {{"annotations", {{std::string{restarted_at_key}, now}}}}}}}}}};
  if (f.epoch != 0) {
    // Applied only to the deployment as read, with the step's mark.
    if (auto rv = string_at(*d, {"metadata", "resourceVersion"}); !rv.empty())
      body["metadata"]["resourceVersion"] = rv;
    body["metadata"]["annotations"] = fence_annotations(f);
  }
  api_request patch;
  patch.verb = "PATCH";
  patch.path = deployment_path(t.ns, t.name);
  patch.content_type = "application/strategic-merge-patch+json";
  patch.body = body.dump();
  patch.what = t.what;
  if (!api.send(patch, fail))
    return fail;
  return succeeded("restarted " + t.what + " (" + std::string{restarted_at_key}
                   + "=" + now + ")");
}

std::optional<int64_t> revision_of(const json& obj) {
  auto text = string_at(obj, {"metadata", "annotations", revision_key});
  if (text.empty())
    return std::nullopt;
  return parse_count(text);
}

// A pod template with the ReplicaSet's own hash label taken out.
json without_hash(json tmpl) {
  auto meta = tmpl.find("metadata");
  if (meta != tmpl.end() && meta->is_object()) {
    auto labels = meta->find("labels");
    if (labels != meta->end() && labels->is_object())
      labels->erase(std::string{hash_label});
  }
  return tmpl;
}

bool controlled_by(const json& rs, const std::string& uid) {
  auto refs = path_of(rs, {"metadata", "ownerReferences"});
  if (!refs || !refs->is_array())
    return false;
  for (const auto& ref : *refs) {
    auto controller = member(ref, "controller");
    if (controller && controller->is_boolean() && controller->get<bool>()
        && string_at(ref, {"uid"}) == uid)
      return true;
  }
  return false;
}

kube_result rollback(api_client& api, const target& t, const param_map& p,
                     const kube_fence& f) {
  int64_t to = 0;
  if (auto r = p.find("revision"); r && !r->empty()) {
    auto v = parse_count(*r);
    if (!v)
      return refused("revision '" + *r + "' is not a revision number");
    to = *v;
  }
  kube_result fail;
  auto d = unpaused_deployment(api, t, "rolling it back", fail);
  if (!d)
    return fail;
  if (auto verdict = judge_fence(*d, f, t.what))
    return *verdict;
  auto uid = string_at(*d, {"metadata", "uid"});
  auto sel = path_of(*d, {"spec", "selector"});
  auto selector = sel ? selector_text(*sel) : std::string{};
  if (uid.empty() || selector.empty())
    return refused(t.what
                   + " has no uid or no usable selector; cannot find "
                     "its ReplicaSets");
  api_request list;
  list.verb = "GET";
  list.path = "/apis/apps/v1/namespaces/" + t.ns
              + "/replicasets?labelSelector=" + escape(selector);
  list.what = "the ReplicaSets of " + t.what;
  auto rss = api.send(list, fail);
  if (!rss)
    return fail;
  // Only ReplicaSets this deployment controls are its history: another
  // deployment's may carry the same labels.
  std::map<int64_t, const json*> history;
  if (auto items = member(*rss, "items"); items && items->is_array())
    for (const auto& rs : *items)
      if (controlled_by(rs, uid))
        if (auto rev = revision_of(rs))
          history.emplace(*rev, &rs);
  const json* chosen = nullptr;
  int64_t chosen_rev = 0;
  if (to > 0) {
    if (auto it = history.find(to); it != history.end()) {
      chosen = it->second;
      chosen_rev = to;
    } else {
      std::string have;
      for (const auto& [rev, rs] : history)
        have += (have.empty() ? "" : ", ") + std::to_string(rev);
      return refused(t.what + " has no revision " + std::to_string(to)
                     + (have.empty() ? "" : " (it has " + have + ")"));
    }
  } else if (history.size() >= 2) {
    // The second-highest revision, as kubectl rollout undo picks it.
    auto it = std::prev(history.end(), 2);
    chosen = it->second;
    chosen_rev = it->first;
  } else {
    return refused(t.what + " has no previous revision to roll back to");
  }
  auto tmpl_at = path_of(*chosen, {"spec", "template"});
  if (!tmpl_at || !tmpl_at->is_object())
    return refused("the ReplicaSet of revision " + std::to_string(chosen_rev)
                   + " of " + t.what + " has no pod template");
  auto tmpl = without_hash(*tmpl_at);
  auto current_rev = string_at(*d, {"metadata", "annotations", revision_key});
  if (auto cur = path_of(*d, {"spec", "template"});
      cur && without_hash(*cur) == tmpl)
    return succeeded(t.what + " already runs the template of revision "
                     + std::to_string(chosen_rev) + "; nothing to roll back");
  json annotations = json::object();
  if (auto a = path_of(*d, {"metadata", "annotations"}); a && a->is_object())
    for (const auto& [k, v] : a->items())
      if (annotations_to_skip().count(k))
        annotations[k] = v;
  if (auto a = path_of(*chosen, {"metadata", "annotations"});
      a && a->is_object())
    for (const auto& [k, v] : a->items())
      if (!annotations_to_skip().count(k))
        annotations[k] = v;
  // A JSON patch that replaces the template whole, as kubectl does: a merge
  // patch would keep whatever the newer template added (an env var, a
  // restartedAt annotation) and not truly restore the old one. "add" sets
  // the annotations whether or not the deployment has any.
  json body = json::array(
    {{{"op", "replace"}, {"path", "/spec/template"}, {"value", tmpl}},
     {{"op", "add"},
      {"path", "/metadata/annotations"},
      {"value", annotations}}});
  if (f.epoch != 0) {
    // The step's mark, and the version read: a deployment changed since
    // (by a newer epoch, say) makes the server refuse the patch (409).
    body[1]["value"].update(fence_annotations(f));
    if (auto rv = string_at(*d, {"metadata", "resourceVersion"}); !rv.empty())
      body.push_back({{"op", "replace"},
                      {"path", "/metadata/resourceVersion"},
                      {"value", rv}});
  }
  api_request patch;
  patch.verb = "PATCH";
  patch.path = deployment_path(t.ns, t.name);
  patch.content_type = "application/json-patch+json";
  patch.body = body.dump();
  patch.what = t.what;
  // "The previous revision" changes once the rollback is applied.
  patch.idempotent = to > 0;
  if (!api.send(patch, fail))
    return fail;
  return succeeded(
    "rolled back " + t.what
    + (current_rev.empty() ? "" : " from revision " + current_rev)
    + " to revision " + std::to_string(chosen_rev));
}

} // namespace

bool is_dns1123_label(std::string_view x) {
  return x.size() <= 63 && is_dns_part(x);
}

bool is_dns1123_subdomain(std::string_view x) {
  if (x.empty() || x.size() > 253)
    return false;
  size_t start = 0;
  for (;;) {
    auto dot = x.find('.', start);
    if (!is_dns_part(x.substr(start, dot - start)))
      return false;
    if (dot == std::string_view::npos)
      return true;
    start = dot + 1;
  }
}

caf::expected<kube_config> in_cluster_config(const std::string& root) {
  const char* host = std::getenv("KUBERNETES_SERVICE_HOST");
  const char* port = std::getenv("KUBERNETES_SERVICE_PORT");
  if (!host || !*host || !port || !*port)
    return caf::make_error(errc::invalid_config,
                           "not running in a Kubernetes cluster: "
                           "KUBERNETES_SERVICE_HOST or KUBERNETES_SERVICE_PORT "
                           "is unset");
  kube_config cfg;
  std::string h = host;
  if (h.find(':') != std::string::npos)
    h = "[" + h + "]";
  cfg.server = "https://" + h + ":" + port;
  cfg.token_file = root + "/token";
  auto token = read_token_file(cfg.token_file);
  if (!token)
    return token.error();
  cfg.token = std::move(*token);
  cfg.ca_file = root + "/ca.crt";
  if (!std::ifstream{cfg.ca_file})
    return caf::make_error(errc::invalid_config,
                           "cannot read the service account's CA bundle",
                           cfg.ca_file);
  // The namespace file is optional: a pod may run without one mounted.
  std::ifstream ns{root + "/namespace"};
  std::string line;
  if (ns && std::getline(ns, line))
    cfg.default_namespace = trim(line);
  return cfg;
}

kube_result run_kubernetes(const kube_config& cfg, const std::string& action,
                           const std::vector<attribute>& params,
                           double max_scale_factor,
                           const std::atomic<bool>* stop,
                           const kube_fence& fence) {
  constexpr std::string_view prefix = "kubernetes.";
  if (action.rfind(prefix, 0) != 0)
    return refused(action + " is not a kubernetes action");
  auto verb = action.substr(prefix.size());
  if (verb != "restart_pods" && verb != "scale" && verb != "rollout_restart"
      && verb != "rollback")
    return refused(action + " is not a kubernetes action this executor knows");
  // Every input is checked before anything is sent, so a hostile rendered
  // value never reaches a URL.
  param_map p{params};
  std::string why;
  auto ns = namespace_of(p, cfg, why);
  if (!ns)
    return refused(why);
  target t;
  t.ns = *ns;
  std::string selector;
  if (verb == "restart_pods") {
    auto s = p.find("selector");
    selector = s ? trim(*s) : std::string{};
    if (selector.empty())
      return refused("kubernetes.restart_pods needs a non-empty selector; an "
                     "empty one would delete every pod in namespace "
                     + t.ns);
  } else {
    auto name = deployment_of(p, why);
    if (!name)
      return refused(why);
    t.name = *name;
    t.what = "deployment " + t.ns + "/" + t.name;
  }
  auto base = base_url(cfg.server, why);
  if (!base)
    return refused(why);
  std::string token = cfg.token;
  if (!cfg.token_file.empty()) {
    auto from_file = read_token_file(cfg.token_file);
    if (!from_file)
      return refused("cannot read the Kubernetes token: "
                     + render(from_file.error()));
    token = std::move(*from_file);
  }
  if (token.empty())
    return refused("no Kubernetes bearer token is configured");
  // A token goes into a header line: anything but visible ASCII could
  // split it.
  if (!std::all_of(token.begin(), token.end(),
                   [](char c) { return c > 0x20 && c < 0x7f; }))
    return refused("the Kubernetes bearer token contains characters a "
                   "header cannot carry");
  if (cfg.insecure_skip_verify)
    spdlog::warn("kubernetes: TLS verification of {} is off "
                 "(insecure_skip_verify); never use this outside tests",
                 *base);
  api_client api{cfg, *base, std::move(token), stop};
  if (verb == "restart_pods")
    return restart_pods(api, t.ns, selector, fence);
  if (verb == "scale")
    return scale(api, t, p, max_scale_factor, fence);
  if (verb == "rollout_restart")
    return rollout_restart(api, t, fence);
  return rollback(api, t, p, fence);
}

} // namespace vigil::executor
