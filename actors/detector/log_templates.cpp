#include "actors/detector/log_templates.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace vigil::detector {

namespace {

using sv = std::string_view;

constexpr uint32_t no_slot = std::numeric_limits<uint32_t>::max();

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

bool is_alpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

bool is_hex(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f'
         || c == '\v';
}

bool has_digit(sv s) {
  return std::any_of(s.begin(), s.end(), is_digit);
}

bool leading_punct(char c) {
  return c == '(' || c == '[' || c == '{' || c == '<' || c == ',';
}

bool trailing_punct(char c) {
  return c == ')' || c == ']' || c == '}' || c == '>' || c == ','
         || c == ';' || c == ':' || c == '.' || c == '!' || c == '?';
}

// Whether a token (punctuation stripped) is a value rather than a word.
bool variable_core(sv c) {
  if (c.empty())
    return false;
  char c0 = c[0];
  if (c0 == '"' || c0 == '\'' || c0 == '`')
    return true;
  // Numbers, durations (12ms, 1m30s), sizes (4KiB), versions, timestamps,
  // IPv4 addresses with or without port.
  if (is_digit(c0))
    return true;
  if ((c0 == '-' || c0 == '+' || c0 == 'v' || c0 == 'V' || c0 == '#')
      && c.size() > 1 && is_digit(c[1]))
    return true;
  if (c.find("://") != sv::npos)
    return true;
  if (auto at = c.find('@');
      at != sv::npos && at > 0 && c.find('.', at) != sv::npos)
    return true;
  if (c0 == '/' && c.size() > 1)
    return true;
  if (c.starts_with("./") || c.starts_with("../") || c.starts_with("~/"))
    return true;
  if (std::count(c.begin(), c.end(), '/') >= 2)
    return true;
  if (c.size() > 2 && is_alpha(c0) && c[1] == ':' && c[2] == '\\')
    return true;
  // Hex ids and UUIDs: long runs of hex digits with at least one digit.
  if (c.size() >= 8 && has_digit(c)
      && std::all_of(c.begin(), c.end(),
                     [](char x) { return is_hex(x) || x == '-'; }))
    return true;
  // IPv6, possibly bracketed and with a port.
  if (std::count(c.begin(), c.end(), ':') >= 2
      && std::all_of(c.begin(), c.end(), [](char x) {
           return is_hex(x) || x == ':' || x == '.' || x == '[' || x == ']';
         }))
    return true;
  return false;
}

sv strip(sv t) {
  while (!t.empty() && leading_punct(t.front()))
    t.remove_prefix(1);
  while (t.size() > 1 && trailing_punct(t.back()))
    t.remove_suffix(1);
  return t;
}

// Masks one token; may append to `scratch`.
sv mask_token(sv tok, std::deque<std::string>& scratch) {
  // key=value: keep the key, mask the value.
  auto eq = tok.find('=');
  if (eq != sv::npos && eq > 0 && eq + 1 < tok.size()) {
    auto key = tok.substr(0, eq);
    bool keyish = std::all_of(key.begin(), key.end(), [](char x) {
      return is_alpha(x) || is_digit(x) || x == '_' || x == '.' || x == '-';
    });
    if (keyish) {
      if (!variable_core(strip(tok.substr(eq + 1))))
        return tok;
      auto& s = scratch.emplace_back();
      s.reserve(eq + 1 + log_wildcard.size());
      s.append(key);
      s += '=';
      s.append(log_wildcard);
      return s;
    }
  }
  return variable_core(strip(tok)) ? log_wildcard : tok;
}

// End of a quoted span starting at `s[i]` (the quote), or npos.
size_t closing_quote(sv s, size_t i) {
  char q = s[i];
  for (size_t k = i + 1; k < s.size(); ++k) {
    if (s[k] == '\\') {
      ++k;
      continue;
    }
    if (s[k] == q)
      return k;
  }
  return sv::npos;
}

uint64_t fnv1a(const std::vector<sv>& toks) {
  uint64_t h = 1469598103934665603ull;
  bool first = true;
  for (auto t : toks) {
    if (!first) {
      h ^= static_cast<unsigned char>(' ');
      h *= 1099511628211ull;
    }
    first = false;
    for (char c : t) {
      h ^= static_cast<unsigned char>(c);
      h *= 1099511628211ull;
    }
  }
  return h;
}

// How much a constant token counts in the similarity: plain words say more
// about which statement printed a line than identifier-like tokens (names
// with digits, colons, dots, slashes), which are often unmasked variables.
float token_weight(sv t) {
  // key=value weighs what its value weighs; `key=<*>` keeps its key.
  if (auto eq = t.find('='); eq != sv::npos && eq > 0) {
    t = t.substr(eq + 1);
    if (t == log_wildcard)
      return 1.0f;
  }
  while (t.size() > 1 && trailing_punct(t.back()))
    t.remove_suffix(1);
  return !t.empty() && std::all_of(t.begin(), t.end(), [](char c) {
    return is_alpha(c) || c == '-' || c == '_';
  })
           ? 1.0f
           : 0.5f;
}

struct sv_hash {
  using is_transparent = void;
  size_t operator()(sv s) const noexcept { return std::hash<sv>{}(s); }
};

} // namespace

void tokenize_and_mask(std::string_view text, uint32_t max_tokens,
                       std::vector<std::string_view>& out,
                       std::deque<std::string>& scratch) {
  size_t n = text.size();
  size_t i = 0;
  uint32_t count = 0;
  // A quote character with no closing partner further on never will have
  // one later either: remember that, so a line full of lone quotes costs
  // one scan per quote kind, not one per quote.
  bool unclosed_double = false;
  bool unclosed_single = false;
  bool unclosed_back = false;
  auto unclosed = [&](char c) -> bool& {
    return c == '"' ? unclosed_double
                    : (c == '\'' ? unclosed_single : unclosed_back);
  };
  while (i < n) {
    while (i < n && is_space(text[i]))
      ++i;
    if (i >= n)
      break;
    if (max_tokens > 0 && count + 1 >= max_tokens) {
      // The rest of a very long line is one wildcard.
      out.push_back(log_wildcard);
      return;
    }
    size_t start = i;
    while (i < n && !is_space(text[i])) {
      char c = text[i];
      bool opens = (c == '"' || c == '`')
                   || (c == '\'' && i == start);
      if (opens && c == '"' && i > start) {
        char p = text[i - 1];
        opens = p == '=' || p == ':' || p == '(' || p == '[' || p == '{';
      }
      if (opens && !unclosed(c)) {
        auto close = closing_quote(text, i);
        if (close != sv::npos) {
          i = close + 1;
          continue;
        }
        unclosed(c) = true;
      }
      ++i;
    }
    out.push_back(mask_token(text.substr(start, i - start), scratch));
    ++count;
  }
}

std::string mask_log_text(std::string_view text) {
  std::vector<sv> toks;
  std::deque<std::string> scratch;
  tokenize_and_mask(text, 0, toks, scratch);
  std::string out;
  for (auto t : toks) {
    if (!out.empty())
      out += ' ';
    out.append(t);
  }
  return out;
}

std::string template_id_text(uint64_t id) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out(16, '0');
  for (int k = 15; k >= 0; --k) {
    out[static_cast<size_t>(k)] = digits[id & 0xF];
    id >>= 4;
  }
  return out;
}

std::string log_template::text() const {
  std::string out;
  for (auto& t : tokens) {
    if (!out.empty())
      out += ' ';
    out += t;
  }
  return out;
}

struct template_miner::impl {
  struct node {
    node* parent = nullptr;
    std::string key;
    std::unordered_map<std::string, std::unique_ptr<node>, sv_hash,
                       std::equal_to<>>
      children;
    std::vector<uint32_t> slots;
  };

  struct slot {
    log_template tpl;
    node* leaf = nullptr;
    uint32_t constants = 0;
    std::vector<float> weights;
    float weight = 0;
    uint64_t last_used = 0;
    uint32_t prev = no_slot;
    uint32_t next = no_slot;
    bool live = false;
  };

  explicit impl(log_template_options o) : opts(o) {
    if (opts.max_templates == 0)
      opts.max_templates = 1;
    if (opts.max_leaf_templates == 0)
      opts.max_leaf_templates = 1;
    if (opts.max_tokens < 2)
      opts.max_tokens = 2;
  }

  log_template_options opts;
  std::unordered_map<uint32_t, std::unique_ptr<node>> roots;
  std::vector<slot> slots;
  std::vector<uint32_t> free_slots;
  std::unordered_map<uint64_t, uint32_t> by_id;
  // Recency list: head is the most recently matched.
  uint32_t head = no_slot;
  uint32_t tail = no_slot;
  size_t live = 0;
  uint64_t clock = 0;
  template_miner_stats stats;
  std::vector<sv> toks;
  std::deque<std::string> scratch;

  void unlink(uint32_t s) {
    auto& x = slots[s];
    if (x.prev != no_slot)
      slots[x.prev].next = x.next;
    else
      head = x.next;
    if (x.next != no_slot)
      slots[x.next].prev = x.prev;
    else
      tail = x.prev;
    x.prev = x.next = no_slot;
  }

  void push_front(uint32_t s) {
    auto& x = slots[s];
    x.prev = no_slot;
    x.next = head;
    if (head != no_slot)
      slots[head].prev = s;
    head = s;
    if (tail == no_slot)
      tail = s;
  }

  void touch(uint32_t s) {
    slots[s].last_used = ++clock;
    if (head != s) {
      unlink(s);
      push_front(s);
    }
  }

  static sv route_key(sv tok) {
    return tok == log_wildcard || has_digit(tok) ? log_wildcard : tok;
  }

  // The leaf for a line of `toks`, created on the way.
  node* route(const std::vector<sv>& t) {
    auto len = static_cast<uint32_t>(t.size());
    auto& root = roots[len];
    if (!root)
      root = std::make_unique<node>();
    node* cur = root.get();
    auto depth = std::min<size_t>(opts.prefix_tokens, t.size());
    for (size_t d = 0; d < depth; ++d) {
      auto key = route_key(t[d]);
      auto it = cur->children.find(key);
      if (it == cur->children.end()) {
        // A full node sends new tokens to its wildcard child.
        if (cur->children.size() >= opts.max_children)
          key = log_wildcard;
        it = cur->children.find(key);
        if (it == cur->children.end()) {
          auto child = std::make_unique<node>();
          child->parent = cur;
          child->key.assign(key);
          it = cur->children.emplace(child->key, std::move(child)).first;
        }
      }
      cur = it->second.get();
    }
    return cur;
  }

  // Drops empty nodes from `n` upwards, stopping at `keep`.
  void prune(node* n, const node* keep) {
    while (n != nullptr && n != keep && n->slots.empty()
           && n->children.empty()) {
      node* parent = n->parent;
      if (parent == nullptr) {
        for (auto it = roots.begin(); it != roots.end(); ++it) {
          if (it->second.get() == n) {
            roots.erase(it);
            break;
          }
        }
        return;
      }
      parent->children.erase(n->key);
      n = parent;
    }
  }

  void evict(uint32_t s, const node* keep) {
    auto& x = slots[s];
    unlink(s);
    auto& v = x.leaf->slots;
    v.erase(std::remove(v.begin(), v.end(), s), v.end());
    if (auto it = by_id.find(x.tpl.id); it != by_id.end() && it->second == s)
      by_id.erase(it);
    node* leaf = x.leaf;
    x = slot{};
    free_slots.push_back(s);
    --live;
    ++stats.evicted;
    prune(leaf, keep);
  }

  uint32_t insert(node* leaf, uint64_t id, std::vector<std::string> tokens,
                  uint64_t count) {
    if (leaf->slots.size() >= opts.max_leaf_templates) {
      auto oldest = *std::min_element(
        leaf->slots.begin(), leaf->slots.end(), [&](uint32_t a, uint32_t b) {
          return slots[a].last_used < slots[b].last_used;
        });
      evict(oldest, leaf);
    }
    if (live >= opts.max_templates)
      evict(tail, leaf);
    uint32_t s;
    if (!free_slots.empty()) {
      s = free_slots.back();
      free_slots.pop_back();
    } else {
      s = static_cast<uint32_t>(slots.size());
      slots.emplace_back();
    }
    auto& x = slots[s];
    x.live = true;
    x.leaf = leaf;
    x.tpl.id = id;
    x.tpl.tokens = std::move(tokens);
    x.tpl.count = count;
    x.constants = 0;
    x.weight = 0;
    x.weights.resize(x.tpl.tokens.size());
    for (size_t i = 0; i < x.tpl.tokens.size(); ++i) {
      bool wild = x.tpl.tokens[i] == log_wildcard;
      x.weights[i] = wild ? 0.0f : token_weight(x.tpl.tokens[i]);
      x.weight += x.weights[i];
      x.constants += wild ? 0 : 1;
    }
    leaf->slots.push_back(s);
    by_id[id] = s;
    ++live;
    push_front(s);
    x.last_used = ++clock;
    return s;
  }

  // Weighted share of the template's constant tokens the line matches, or
  // -1 when it cannot reach the threshold. A line that differs from the
  // template in identifier-like tokens only (every word matching) passes:
  // `upgrade bash:amd64 ...` and `upgrade curl:amd64 ...` are one statement.
  double similarity(const slot& x, const std::vector<sv>& t) const {
    if (x.constants == 0 || x.weight <= 0)
      return 1.0;
    auto allowed = (1.0 - opts.similarity) * x.weight + 1e-6;
    double missed = 0;
    bool word_missed = false;
    bool word_matched = false;
    auto& tt = x.tpl.tokens;
    for (size_t i = 0; i < tt.size(); ++i) {
      auto w = x.weights[i];
      if (w == 0.0f)
        continue;
      if (tt[i] != t[i]) {
        missed += w;
        word_missed = word_missed || w == 1.0f;
        if (word_missed && missed > allowed)
          return -1;
      } else {
        word_matched = word_matched || w == 1.0f;
      }
    }
    auto sim = 1.0 - missed / x.weight;
    if (!word_missed && word_matched)
      return std::max(sim, opts.similarity);
    return missed > allowed ? -1 : sim;
  }

  log_match add(sv text) {
    ++stats.lines;
    if (text.size() > opts.max_line_bytes)
      text = text.substr(0, opts.max_line_bytes);
    toks.clear();
    scratch.clear();
    tokenize_and_mask(text, opts.max_tokens, toks, scratch);
    node* leaf = route(toks);
    uint32_t best = no_slot;
    double best_sim = -1;
    for (auto s : leaf->slots) {
      auto sim = similarity(slots[s], toks);
      if (sim < 0)
        continue;
      if (sim > best_sim
          || (sim == best_sim && slots[s].constants > slots[best].constants)) {
        best = s;
        best_sim = sim;
      }
    }
    if (best != no_slot && best_sim + 1e-6 >= opts.similarity) {
      auto& x = slots[best];
      bool changed = false;
      for (size_t i = 0; i < toks.size(); ++i) {
        if (x.weights[i] != 0.0f && x.tpl.tokens[i] != toks[i]) {
          x.tpl.tokens[i].assign(log_wildcard);
          x.weight -= x.weights[i];
          x.weights[i] = 0.0f;
          --x.constants;
          changed = true;
        }
      }
      ++x.tpl.count;
      touch(best);
      return {x.tpl.id, false, changed};
    }
    std::vector<std::string> tokens;
    tokens.reserve(toks.size());
    for (auto t : toks)
      tokens.emplace_back(t);
    auto id = fnv1a(toks);
    insert(leaf, id, std::move(tokens), 1);
    ++stats.created;
    return {id, true, false};
  }

  void restore(uint64_t id, std::vector<std::string> tokens, uint64_t count) {
    std::vector<sv> t(tokens.begin(), tokens.end());
    node* leaf = route(t);
    insert(leaf, id, std::move(tokens), count);
  }
};

template_miner::template_miner(log_template_options opts)
  : impl_(std::make_unique<impl>(opts)) {
}

template_miner::~template_miner() = default;

template_miner::template_miner(template_miner&&) noexcept = default;

template_miner& template_miner::operator=(template_miner&&) noexcept
  = default;

log_match template_miner::add(std::string_view text) {
  return impl_->add(text);
}

void template_miner::restore(uint64_t id, std::vector<std::string> tokens,
                             uint64_t count) {
  impl_->restore(id, std::move(tokens), count);
}

const log_template* template_miner::find(uint64_t id) const {
  auto it = impl_->by_id.find(id);
  return it == impl_->by_id.end() ? nullptr : &impl_->slots[it->second].tpl;
}

size_t template_miner::size() const {
  return impl_->live;
}

void template_miner::for_each(
  const std::function<void(const log_template&)>& f) const {
  for (auto s = impl_->tail; s != no_slot; s = impl_->slots[s].prev)
    f(impl_->slots[s].tpl);
}

const template_miner_stats& template_miner::stats() const {
  return impl_->stats;
}

const log_template_options& template_miner::options() const {
  return impl_->opts;
}

} // namespace vigil::detector
