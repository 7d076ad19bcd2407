#pragma once

// The notifier actor: one per node, detached (deliveries block on HTTP).
// It turns incident events into one outbox entry per matching receiver,
// stored before it answers, and delivers them in order per receiver with
// retries and exponential backoff, a per-receiver rate limit and a
// maximum age. Receivers: webhook (optional HMAC), Slack, PagerDuty Events
// v2, OpsGenie; payloads in formats.hpp.

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "actors/notifier/formats.hpp"
#include "actors/notifier/outbox.hpp"
#include "config/options.hpp"
#include "config/rules.hpp"
#include "messages/interfaces.hpp"
#include "runtime/metrics/registry.hpp"
#include "runtime/storage/store.hpp"

namespace vigil::notifier {

/// A receiver ready to use: its rule and its secret.
struct receiver {
  receiver_rule rule;
  receiver_kind kind = receiver_kind::webhook;
  /// Routing key, API key or HMAC secret; may be empty for webhook and
  /// slack.
  std::string key;
};

/// Builds the receivers of `opts`, reading key files and variables; the
/// error names the receiver and what is missing.
caf::expected<std::vector<receiver>>
make_receivers(const notifier_options& opts);

/// Whether `r` wants `n` (severity, service globs, event kinds).
bool routes_to(const receiver& r, const notification& n);

/// One notification standing for `xs` (action and escalation notices of
/// a storm): severity the highest, a line per notice (at most 100).
notification make_digest(const std::vector<const outbox_entry*>& xs,
                         const std::string& source);

/// Delay before attempt `attempts + 1`: initial * 2^attempts, capped.
int64_t backoff_ms(uint32_t attempts, int64_t initial_ms, int64_t max_ms);

/// Everything the notifier needs, passed by value at spawn.
struct notifier_config {
  notifier_options opts;
  std::vector<receiver> receivers;
  std::shared_ptr<storage::store> store;
  std::shared_ptr<metrics::registry> metrics;
  /// The node's id (the "source" receivers see).
  std::string node;
  /// Delivery timer period. Default: 50 ms.
  duration tick{50};
  /// Whether this node may deliver now (the cluster's fence); unset =
  /// always. Entries wait in the outbox while it says no.
  std::function<bool()> may_deliver;
  /// In a cluster: the count of the node's replicated writes so far, and
  /// whether write N is held by another member. An entry goes out only
  /// once the write that stored it is held (nobody is told of what a
  /// failover could lose). Unset = at once.
  std::function<uint64_t()> written;
  std::function<bool(uint64_t)> held;
};

struct notifier_state;

/// The notifier's behaviour; spawn it detached.
notifier_actor::behavior_type
notifier(notifier_actor::stateful_pointer<notifier_state> self,
         notifier_config cfg);

/// What the notifier owns: the receivers with their HTTP handles and rate
/// buckets, and the outbox (which lives in the store).
struct notifier_state {
  struct live_receiver {
    receiver r;
    void* curl = nullptr; // CURL*, kept for connection reuse
    double tokens = 0;
    int64_t refilled_ms = 0;
  };
  notifier_config cfg;
  std::vector<live_receiver> receivers;
  std::unique_ptr<outbox> box;
  /// (first outbox seq of an add, replicated write count after it), oldest
  /// first, until the members hold it; entries from the front mark's seq on
  /// wait.
  std::deque<std::pair<uint64_t, uint64_t>> unreplicated;
  /// When the notice marks were last pruned (wall clock).
  int64_t marks_pruned_ms = 0;
  metrics::family<metrics::counter>* sent = nullptr;
  metrics::gauge* pending = nullptr;
  static inline const char* name = "vigil.notifier";
  notifier_state() = default;
  notifier_state(const notifier_state&) = delete;
  notifier_state& operator=(const notifier_state&) = delete;
  ~notifier_state();
};

} // namespace vigil::notifier
