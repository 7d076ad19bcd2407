#pragma once

// Online log template mining: masking of variable tokens and a fixed-depth
// parse tree (token count, then the leading tokens) whose leaves hold
// templates; a line joins the most similar template of its leaf or starts a
// new one. Memory is bounded by a cap on templates (least recently used go
// first) and on the tree's fan-out.

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace vigil::detector {

/// Tuning of the template miner.
struct log_template_options {
  /// Share of a template's constant tokens a line must match to join it
  /// (plain words weigh 1, identifier-like tokens 0.5). Default: 0.75.
  double similarity = 0.75;
  /// Leading tokens the tree branches on below the token count. Default: 1.
  uint32_t prefix_tokens = 1;
  /// Children per tree node; further tokens share the wildcard child.
  /// Default: 100.
  uint32_t max_children = 100;
  /// Templates kept; the least recently matched is dropped. Default: 5000.
  uint32_t max_templates = 5000;
  /// Templates per leaf; the leaf's least recently matched is dropped.
  /// Default: 200.
  uint32_t max_leaf_templates = 200;
  /// Tokens a line is cut to; the rest becomes one wildcard. Default: 80.
  uint32_t max_tokens = 80;
  /// Bytes of a line looked at. Default: 4096.
  uint32_t max_line_bytes = 4096;
};

/// The text every masked token becomes.
inline constexpr std::string_view log_wildcard = "<*>";

/// Splits `text` into tokens (blank-separated; a quoted span is one token)
/// and masks the variable ones: numbers, durations and sizes, versions, hex
/// ids, UUIDs, IPv4/IPv6 addresses with ports, paths, URLs, e-mail
/// addresses and quoted strings. Appends to `out`; views point into `text`
/// or at `log_wildcard`, or into `scratch` for `key=<*>` tokens (a deque:
/// appending keeps earlier elements in place). `max_tokens` 0 = no limit.
void tokenize_and_mask(std::string_view text, uint32_t max_tokens,
                       std::vector<std::string_view>& out,
                       std::deque<std::string>& scratch);

/// The masked text of `text`, tokens joined by one blank.
std::string mask_log_text(std::string_view text);

/// Renders a template id as 16 lower-case hex digits.
std::string template_id_text(uint64_t id);

/// One mined template.
struct log_template {
  /// Hash of the template's first text; kept while it generalises.
  uint64_t id = 0;
  std::vector<std::string> tokens;
  /// Lines matched since it was created.
  uint64_t count = 0;
  /// The tokens joined by one blank.
  std::string text() const;
};

/// The outcome of adding one line.
struct log_match {
  uint64_t id = 0;
  /// Whether the line started a new template.
  bool created = false;
  /// Whether the line generalised an existing template.
  bool changed = false;
};

/// Counts kept by the miner.
struct template_miner_stats {
  uint64_t lines = 0;
  uint64_t created = 0;
  uint64_t evicted = 0;
};

/// The template miner of one log stream. Not thread-safe.
class template_miner {
public:
  explicit template_miner(log_template_options opts = {});
  ~template_miner();
  template_miner(const template_miner&) = delete;
  template_miner& operator=(const template_miner&) = delete;
  template_miner(template_miner&&) noexcept;
  template_miner& operator=(template_miner&&) noexcept;

  /// Adds one line (its message text) and returns the template it joined.
  log_match add(std::string_view text);

  /// Adds a template as restored from a snapshot, as if it had been mined.
  void restore(uint64_t id, std::vector<std::string> tokens, uint64_t count);

  /// The template with id `id`, or null when unknown (or evicted).
  const log_template* find(uint64_t id) const;

  /// Templates held now.
  size_t size() const;

  /// Calls `f` for every template held, least recently matched first.
  void for_each(const std::function<void(const log_template&)>& f) const;

  const template_miner_stats& stats() const;

  const log_template_options& options() const;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace vigil::detector
