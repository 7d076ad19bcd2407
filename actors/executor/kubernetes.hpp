#pragma once

// The kubernetes.* remediation actions as calls to the Kubernetes REST API,
// pure logic over libcurl (no actors). Each action is the request sequence
// kubectl would send, plus the fence (kube_fence): delete a pod collection
// by label selector, read and patch a deployment's replica count, stamp
// the pod template with a
// restart time, and roll a deployment's template back to the one a
// ReplicaSet recorded. Every name and namespace is checked against the DNS
// rules Kubernetes itself applies before it goes into a URL, and every
// failure is classified as worth retrying or not. Safe to call from many
// threads at once (one curl handle per call).

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <caf/expected.hpp>

#include "messages/records.hpp"

namespace vigil::executor {

/// Where the API server is and how to authenticate to it.
struct kube_config {
  /// Base URL of the API server, "https://host:port", optionally with a
  /// path prefix; only https is accepted. Default: empty (refused).
  std::string server;
  /// Bearer token sent with every request. Default: empty.
  std::string token;
  /// File to read the bearer token from at the start of every run, so a
  /// rotated service-account token is picked up; wins over `token`.
  /// Default: empty (use `token`).
  std::string token_file;
  /// PEM bundle of the CAs that may sign the server's certificate; empty
  /// means the system's CAs. Default: empty.
  std::string ca_file;
  /// Namespace used when a step's `namespace` renders empty (the service
  /// account's own). Default: empty (such a step is refused).
  std::string default_namespace;
  /// Accept any server certificate and host name. For tests only; every
  /// run that uses it logs a warning. Default: false.
  bool insecure_skip_verify = false;
  /// Time one action may take in all, over all of its requests.
  /// Default: 10 s.
  std::chrono::milliseconds timeout{10000};
};

/// The in-cluster configuration of a pod: the API server from
/// KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT, the token, CA and
/// namespace from the service-account directory `root` (the token as
/// `token_file`, so rotation is followed). Error `invalid_config` when the
/// variables are unset (not in a cluster) or the token or CA is unreadable.
[[nodiscard]] caf::expected<kube_config>
in_cluster_config(const std::string& root
                  = "/var/run/secrets/kubernetes.io/serviceaccount");

/// How one action ended.
struct kube_result {
  /// The API server accepted every change (or none was needed).
  bool ok = false;
  /// A failure that may pass on its own (network, 409, 429, 5xx); false for
  /// refused input, 4xx answers and changes that may already have applied.
  bool retryable = false;
  /// Why it failed, naming the object and quoting the API server.
  std::string reason;
  /// What was done, for people ("scaled prod/web from 3 to 6").
  std::string output;
};

/// What fences one step: the control epoch it was started in and its
/// idempotency key. With an epoch, a deployment is changed only together
/// with its `vigil.dev/epoch` and `vigil.dev/action` annotations and only
/// if it did not change since it was read (resourceVersion): a deployment
/// a newer epoch changed is refused, one this very step already changed
/// (an earlier attempt) is left alone. Pods are deleted only after the
/// step claimed the namespace's `vigil-remediation` Lease
/// (coordination.k8s.io/v1) the same way. Epoch 0 = no fence.
struct kube_fence {
  uint64_t epoch = 0;
  std::string key;
  /// Asked again right before a change the API cannot guard (the pod
  /// deletion, after the Lease claim): empty when the node may still act
  /// in `epoch`, else why not. Unset = always.
  std::function<std::string()> still_ours;
};

/// Runs the kubernetes action `action` ("kubernetes.restart_pods",
/// "kubernetes.scale", "kubernetes.rollout_restart", "kubernetes.rollback")
/// with the step's rendered `params` against the API server of `cfg`.
/// A scale step never goes beyond its `max_replicas` nor, when it grows a
/// deployment, beyond `max_scale_factor` times the replicas it found (the
/// envelope can check a `factor` step only; `replicas` is checked here).
/// `stop`, when given and set, aborts a request in flight. Blocks.
kube_result run_kubernetes(const kube_config& cfg, const std::string& action,
                           const std::vector<attribute>& params,
                           double max_scale_factor,
                           const std::atomic<bool>* stop = nullptr,
                           const kube_fence& fence = {});

/// Whether `x` is a DNS-1123 label (namespaces): 1 to 63 characters of
/// a-z, 0-9 and '-', beginning and ending with a letter or digit.
bool is_dns1123_label(std::string_view x);

/// Whether `x` is a DNS-1123 subdomain (deployment names): at most 253
/// characters, parts of a-z, 0-9 and '-' that begin and end with a letter or
/// digit, joined by single dots.
bool is_dns1123_subdomain(std::string_view x);

} // namespace vigil::executor
