#include "tools/vigil-sim/lib/topology.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <set>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

namespace vigil::sim {

namespace {

// Business domains of application services (online shops, travel booking,
// banking, media): the vocabulary of real microservice estates.
constexpr auto domains = std::to_array<std::string_view>({
  "cart",          "checkout",     "payment",
  "shipping",      "orders",       "catalog",
  "inventory",     "pricing",      "recommendation",
  "search",        "user",         "auth",
  "account",       "profile",      "notification",
  "email",         "review",       "ad",
  "currency",      "session",      "wishlist",
  "fulfillment",   "billing",      "invoice",
  "ledger",        "fraud",        "risk",
  "loyalty",       "coupon",       "promotion",
  "media",         "image",        "upload",
  "delivery",      "tracking",     "route",
  "station",       "seat",         "ticket",
  "travel",        "food",         "consign",
  "assurance",     "contacts",     "security",
  "config",        "price",        "preserve",
  "rebook",        "cancel",       "voucher",
  "admin",         "rating",       "comment",
  "feed",          "timeline",     "social",
  "message",       "chat",         "geo",
  "location",      "maps",         "weather",
  "quote",         "policy",       "claims",
  "customer",      "crm",          "subscription",
  "plan",          "metering",     "usage",
  "reporting",     "analytics",    "audit",
  "export",        "import",       "sync",
  "scheduler",     "workflow",     "booking",
  "reservation",   "availability", "hotel",
  "flight",        "rental",       "product",
  "sku",           "warehouse",    "logistics",
  "carrier",       "label",        "returns",
  "refund",        "tax",          "fx",
  "wallet",        "balance",      "transfer",
  "statement",     "kyc",          "identity",
  "consent",       "preferences",  "content",
  "cms",           "asset",        "thumbnail",
  "video",         "transcode",    "playlist",
  "stream",        "device",       "firmware",
  "telemetry",     "partner",      "vendor",
  "supplier",      "payroll",      "survey",
  "gift",          "bundle",       "points",
  "referral",      "queue-master", "shipping-label",
  "order-history", "address",      "otp",
  "captcha",       "i18n",         "avatar",
  "badge",         "ranking",      "leaderboard",
  "matchmaking",   "lobby",
});

constexpr auto entry_words = std::to_array<std::string_view>(
  {"frontend", "web", "gateway", "api-gateway", "edge", "bff", "mobile-bff",
   "storefront", "portal", "web-ui", "public-api", "graphql"});

constexpr auto mid_suffixes = std::to_array<std::string_view>(
  {"", "", "", "", "", "-svc", "-api", "-service", "-worker", "-engine",
   "-manager", "-processor"});

constexpr auto database_words = std::to_array<std::string_view>(
  {"db", "db", "db", "pg", "postgres", "mysql", "mongo", "cassandra"});
constexpr auto cache_words
  = std::to_array<std::string_view>({"cache", "cache", "redis", "memcached"});
constexpr auto queue_words = std::to_array<std::string_view>(
  {"queue", "kafka", "rabbitmq", "events", "mq"});
constexpr auto search_words
  = std::to_array<std::string_view>({"search-index", "elastic", "solr", "es"});

// Shared infrastructure often keeps its product name.
constexpr auto database_infra = std::to_array<std::string_view>(
  {"postgres", "mysql", "mongodb", "cassandra", "cockroach", "mariadb"});
constexpr auto cache_infra
  = std::to_array<std::string_view>({"redis", "memcached", "redis-cluster"});
constexpr auto queue_infra
  = std::to_array<std::string_view>({"kafka", "rabbitmq", "nats", "pulsar"});
constexpr auto search_infra
  = std::to_array<std::string_view>({"elasticsearch", "opensearch", "solr"});

template <size_t N>
std::string_view pick(rng& g, const std::array<std::string_view, N>& xs) {
  return xs[g.index(N)];
}

std::string hex_suffix(rng& g) {
  static constexpr char digits[] = "0123456789abcdef";
  size_t n = g.chance(0.7) ? 3 : 2;
  std::string out;
  for (size_t i = 0; i < n; ++i)
    out += digits[g.index(16)];
  return out;
}

class builder {
public:
  builder(rng& g, service_graph& graph) : g_(g), graph_(graph) {}

  uint32_t add_node(service_role role, store_kind store, uint32_t sub,
                    uint32_t layer, std::string domain) {
    service_node n;
    n.role = role;
    n.store = store;
    n.subsystem = sub;
    n.layer = layer;
    n.domain = std::move(domain);
    graph_.nodes.push_back(std::move(n));
    return static_cast<uint32_t>(graph_.nodes.size() - 1);
  }

  bool has_edge(uint32_t a, uint32_t b) const {
    return pairs_.count(key(a, b)) > 0;
  }

  void add_edge(uint32_t a, uint32_t b, bool back = false) {
    if (a == b || has_edge(a, b))
      return;
    pairs_.insert(key(a, b));
    call_edge e;
    e.caller = a;
    e.callee = b;
    e.back = back;
    auto& callee = graph_.nodes[b];
    switch (callee.store) {
      case store_kind::database:
        e.calls_per_request = g_.uniform(0.8, 4.0);
        break;
      case store_kind::cache:
        e.calls_per_request = g_.uniform(1.0, 6.0);
        break;
      case store_kind::queue:
        e.calls_per_request = g_.uniform(0.1, 0.8);
        e.async = true;
        break;
      case store_kind::search:
        e.calls_per_request = g_.uniform(0.2, 1.0);
        break;
      case store_kind::none:
        e.calls_per_request = graph_.nodes[a].role == service_role::entry
                                ? g_.uniform(0.4, 1.5)
                                : g_.uniform(0.2, 1.5);
        break;
    }
    graph_.edges.push_back(e);
    ++out_degree_[a];
    ++in_degree_[b];
  }

  uint32_t out_degree(uint32_t a) const {
    auto i = out_degree_.find(a);
    return i == out_degree_.end() ? 0 : i->second;
  }

  uint32_t in_degree(uint32_t a) const {
    auto i = in_degree_.find(a);
    return i == in_degree_.end() ? 0 : i->second;
  }

  // Builds one connected sub-system of `n` services.
  void subsystem(uint32_t n, uint32_t sub) {
    uint32_t n_entry = n < 8 ? 1
                             : static_cast<uint32_t>(std::clamp<double>(
                               std::round(n * g_.uniform(0.02, 0.07)), 1, 12));
    uint32_t n_store = std::max<uint32_t>(
      1, static_cast<uint32_t>(std::round(n * g_.uniform(0.18, 0.30))));
    if (n_entry + n_store + 1 > n)
      n_store = n > n_entry + 1 ? n - n_entry - 1 : 1;
    uint32_t n_mid = n > n_entry + n_store ? n - n_entry - n_store : 0;
    uint32_t depth
      = n_mid == 0
          ? 0
          : static_cast<uint32_t>(std::clamp<double>(
            std::round(std::log2(n_mid + 1.0) * g_.uniform(0.55, 0.85)), 1, 7));
    std::vector<uint32_t> entries;
    std::vector<std::vector<uint32_t>> layers(depth + 1);
    std::vector<uint32_t> mids;
    for (uint32_t i = 0; i < n_entry; ++i) {
      auto domain = g_.chance(0.7) ? std::string{pick(g_, entry_words)}
                                   : std::string{pick(g_, domains)};
      entries.push_back(
        add_node(service_role::entry, store_kind::none, sub, 0, domain));
    }
    for (uint32_t i = 0; i < n_mid; ++i) {
      uint32_t layer
        = i < depth ? i + 1 : static_cast<uint32_t>(g_.range(1, depth));
      // Fewer services at the top: re-draw half of the layer-1 picks.
      if (i >= depth && layer == 1 && depth > 1 && g_.chance(0.5))
        layer = static_cast<uint32_t>(g_.range(2, depth));
      auto id = add_node(service_role::mid, store_kind::none, sub, layer,
                         std::string{pick(g_, domains)});
      layers[layer].push_back(id);
      mids.push_back(id);
    }
    // Stores: some owned by one mid-tier service (its own database or
    // cache, named after it), the rest shared by many callers.
    std::vector<uint32_t> shared;
    std::vector<std::pair<uint32_t, uint32_t>> owned; // (store, owner)
    for (uint32_t i = 0; i < n_store; ++i) {
      auto r = g_.uniform();
      auto kind = r < 0.55   ? store_kind::database
                  : r < 0.8  ? store_kind::cache
                  : r < 0.93 ? store_kind::queue
                             : store_kind::search;
      bool own = !mids.empty() && kind != store_kind::queue && g_.chance(0.45);
      if (own) {
        auto owner = mids[g_.index(mids.size())];
        auto id = add_node(service_role::store, kind, sub, depth + 1,
                           graph_.nodes[owner].domain);
        owned.emplace_back(id, owner);
      } else {
        auto id = add_node(service_role::store, kind, sub, depth + 1,
                           std::string{pick(g_, domains)});
        shared.push_back(id);
      }
    }
    if (shared.empty() && owned.empty())
      return; // cannot happen: n_store >= 1
    // Entries call the top layer; now and then a cache directly.
    auto& top = depth > 0 ? layers[1] : shared;
    for (auto e : entries) {
      if (top.empty())
        break;
      auto k = static_cast<uint32_t>(
        g_.range(1, std::min<int64_t>(5, static_cast<int64_t>(top.size()))));
      for (uint32_t j = 0; j < k; ++j) {
        if (depth > 1 && g_.chance(0.2)) {
          auto& layer = layers[g_.range(2, depth)];
          add_edge(e, layer[g_.index(layer.size())]);
        } else {
          add_edge(e, top[g_.index(top.size())]);
        }
      }
      if (!shared.empty() && g_.chance(0.25))
        add_edge(e, pick_shared(shared, store_kind::cache));
    }
    // Mid-tier calls: mostly one layer down, sometimes deeper.
    for (auto m : mids) {
      auto layer = graph_.nodes[m].layer;
      if (layer >= depth)
        continue;
      auto k = g_.weighted({0.15, 0.35, 0.3, 0.15, 0.05});
      for (size_t j = 0; j < k && out_degree(m) < 5; ++j) {
        auto target_layer
          = g_.chance(0.75) ? layer + 1
                            : static_cast<uint32_t>(g_.range(layer + 1, depth));
        auto& pool = layers[target_layer];
        add_edge(m, pool[g_.index(pool.size())]);
      }
    }
    for (auto [store, owner] : owned)
      add_edge(owner, store);
    for (auto m : mids) {
      if (shared.empty())
        break;
      if (out_degree(m) < 5 && g_.chance(0.55))
        add_edge(m, pick_shared(shared, store_kind::none));
      if (out_degree(m) < 5 && g_.chance(0.2))
        add_edge(m, pick_shared(shared, store_kind::none));
    }
    // Every mid-tier service and every store is reachable from an entry.
    for (uint32_t layer = 1; layer <= depth; ++layer) {
      for (auto m : layers[layer]) {
        if (in_degree(m) > 0)
          continue;
        auto& above = layer == 1 ? entries : layers[layer - 1];
        add_edge(pick_caller(above), m);
      }
    }
    for (auto s : shared) {
      if (in_degree(s) > 0)
        continue;
      add_edge(pick_caller(mids.empty() ? entries : mids), s);
    }
    // Rarely, a deeper service calls back up (a callback, a re-entrant
    // lookup), closing a cycle.
    if (depth >= 2 && n >= 10 && g_.chance(0.12)) {
      auto low_layer = static_cast<uint32_t>(g_.range(2, depth));
      auto& low = layers[low_layer];
      auto& high = layers[g_.range(1, low_layer - 1)];
      add_edge(low[g_.index(low.size())], high[g_.index(high.size())], true);
    }
  }

  // Preferential attachment: a busy shared store attracts more callers.
  uint32_t pick_shared(const std::vector<uint32_t>& shared, store_kind want) {
    std::vector<double> w;
    w.reserve(shared.size());
    for (auto s : shared) {
      double x = 1.0 + 1.5 * in_degree(s);
      if (want != store_kind::none && graph_.nodes[s].store == want)
        x *= 4;
      w.push_back(x);
    }
    return shared[g_.weighted(w)];
  }

  // A caller among `xs`, preferring one with fan-out below 5.
  uint32_t pick_caller(const std::vector<uint32_t>& xs) {
    std::vector<uint32_t> open;
    for (auto x : xs)
      if (out_degree(x) < 5)
        open.push_back(x);
    auto& from = open.empty() ? xs : open;
    return from[g_.index(from.size())];
  }

  // Gives every node a unique name.
  void name_all() {
    for (auto& n : graph_.nodes) {
      for (int attempt = 0;; ++attempt) {
        auto name = base_name(n) + "-" + hex_suffix(g_);
        if (attempt > 50)
          name += hex_suffix(g_);
        if (used_.insert(name).second) {
          n.name = std::move(name);
          break;
        }
      }
    }
  }

private:
  static uint64_t key(uint32_t a, uint32_t b) {
    return (static_cast<uint64_t>(a) << 32) | b;
  }

  std::string base_name(const service_node& n) {
    switch (n.role) {
      case service_role::entry:
        return n.domain;
      case service_role::mid:
        return n.domain + std::string{pick(g_, mid_suffixes)};
      case service_role::store:
        break;
    }
    // Shared stores keep their product name now and then ("redis-4c1").
    if (g_.chance(0.25)) {
      switch (n.store) {
        case store_kind::database:
          return std::string{pick(g_, database_infra)};
        case store_kind::cache:
          return std::string{pick(g_, cache_infra)};
        case store_kind::queue:
          return std::string{pick(g_, queue_infra)};
        default:
          return std::string{pick(g_, search_infra)};
      }
    }
    std::string_view word;
    switch (n.store) {
      case store_kind::database:
        word = pick(g_, database_words);
        break;
      case store_kind::cache:
        word = pick(g_, cache_words);
        break;
      case store_kind::queue:
        word = pick(g_, queue_words);
        break;
      default:
        word = pick(g_, search_words);
        break;
    }
    return n.domain + "-" + std::string{word};
  }

  rng& g_;
  service_graph& graph_;
  std::unordered_set<uint64_t> pairs_;
  std::unordered_map<uint32_t, uint32_t> out_degree_;
  std::unordered_map<uint32_t, uint32_t> in_degree_;
  std::set<std::string> used_;
};

} // namespace

const char* to_string(service_role x) {
  switch (x) {
    case service_role::entry:
      return "entry";
    case service_role::mid:
      return "mid";
    case service_role::store:
      return "store";
  }
  return "unknown";
}

void service_graph::index() {
  auto n = nodes.size();
  out.assign(n, {});
  in.assign(n, {});
  for (uint32_t i = 0; i < edges.size(); ++i) {
    out[edges[i].caller].push_back(i);
    in[edges[i].callee].push_back(i);
  }
  // Kahn's algorithm from the callers down, then reversed.
  std::vector<uint32_t> pending(n, 0);
  for (auto& e : edges)
    if (!e.back)
      ++pending[e.callee];
  std::vector<uint32_t> order;
  order.reserve(n);
  for (uint32_t i = 0; i < n; ++i)
    if (pending[i] == 0)
      order.push_back(i);
  for (size_t k = 0; k < order.size(); ++k)
    for (auto ei : out[order[k]])
      if (!edges[ei].back && --pending[edges[ei].callee] == 0)
        order.push_back(edges[ei].callee);
  // Non-back edges always point to a deeper layer, so every node is
  // ordered; the guard keeps a broken graph from losing nodes silently.
  if (order.size() < n)
    for (uint32_t i = 0; i < n; ++i)
      if (std::find(order.begin(), order.end(), i) == order.end())
        order.push_back(i);
  callee_first.assign(order.rbegin(), order.rend());
}

service_graph make_graph(rng& gen, uint32_t services) {
  services = std::max<uint32_t>(services, 3);
  service_graph g;
  g.nodes.reserve(services);
  // Split off one or two small disconnected sub-systems in larger estates
  // (a batch platform, an internal tool) that share nothing with the main.
  std::vector<uint32_t> sizes{services};
  if (services >= 40 && gen.chance(0.35)) {
    auto extra = std::max<uint32_t>(
      5, static_cast<uint32_t>(std::round(services * gen.uniform(0.08, 0.22))));
    sizes[0] -= extra;
    sizes.push_back(extra);
  }
  if (services >= 400 && gen.chance(0.3)) {
    auto extra = std::max<uint32_t>(
      5, static_cast<uint32_t>(std::round(services * gen.uniform(0.04, 0.1))));
    sizes[0] -= extra;
    sizes.push_back(extra);
  }
  builder b{gen, g};
  for (uint32_t sub = 0; sub < sizes.size(); ++sub)
    b.subsystem(sizes[sub], sub);
  b.name_all();
  // Shuffle the node order so an index says nothing about layer or role.
  std::vector<uint32_t> perm(g.nodes.size());
  for (uint32_t i = 0; i < perm.size(); ++i)
    perm[i] = i;
  gen.shuffle(perm); // perm[old] = new
  std::vector<service_node> nodes(g.nodes.size());
  for (uint32_t i = 0; i < perm.size(); ++i)
    nodes[perm[i]] = std::move(g.nodes[i]);
  g.nodes = std::move(nodes);
  for (auto& e : g.edges) {
    e.caller = perm[e.caller];
    e.callee = perm[e.callee];
  }
  gen.shuffle(g.edges);
  g.index();
  return g;
}

} // namespace vigil::sim
