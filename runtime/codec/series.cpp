#include "runtime/codec/series.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>

#if defined(__SSE2__)
#  include <emmintrin.h>
#endif

#include "runtime/codec/error.hpp"
#include "runtime/hash.hpp"

namespace vigil::codec {

namespace {

enum char_class : uint8_t {
  // May start a Prometheus label name.
  label_start = 0x01,
  // May continue a Prometheus label name.
  label_rest = 0x02,
  // May appear in a metric name or OTLP key.
  safe_name = 0x04,
  // Needs a backslash in a label value.
  needs_escape = 0x08,
  // May start an NDJSON metric name.
  metric_start = 0x10,
  // May continue an NDJSON metric name.
  metric_rest = 0x20,
};

constexpr std::array<uint8_t, 256> make_classes() {
  std::array<uint8_t, 256> t{};
  for (int c = 0; c < 256; ++c) {
    bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    bool digit = c >= '0' && c <= '9';
    uint8_t x = 0;
    if (alpha || c == '_')
      x |= label_start | label_rest | metric_start | metric_rest;
    if (digit)
      x |= label_rest | metric_rest;
    if (c == ':')
      x |= metric_start | metric_rest;
    if (c == '.')
      x |= metric_rest;
    if (c > 0x20 && c != 0x7f && c != '{' && c != '}' && c != '"'
        && c != ',' && c != '=' && c != '\\')
      x |= safe_name;
    if (c == '\\' || c == '"' || c == '\n')
      x |= needs_escape;
    t[c] = x;
  }
  return t;
}

constexpr auto classes = make_classes();

inline uint8_t cls(char c) {
  return classes[static_cast<unsigned char>(c)];
}

bool all_of(std::string_view s, uint8_t first, uint8_t rest) {
  if (s.empty() || !(cls(s[0]) & first))
    return false;
  for (size_t i = 1; i < s.size(); ++i)
    if (!(cls(s[i]) & rest))
      return false;
  return true;
}

// Whether every byte of `s` from `first` on is in [a-zA-Z0-9_] (plus ':'
// and '.' when `punctuation`). Metric names run to dozens of bytes, so 16
// bytes go at a time where SSE2 exists; the rest is arithmetic rather than
// a table so that the loop has no branch per byte.
bool word_chars(std::string_view s, size_t first, bool punctuation) {
  const char* p = s.data();
  size_t n = s.size();
  size_t i = first;
#if defined(__SSE2__)
  // Signed byte compares: bytes >= 0x80 are negative and fall outside
  // every range, as they should.
  const __m128i case_bit = _mm_set1_epi8(0x20);
  const __m128i before_a = _mm_set1_epi8('a' - 1);
  const __m128i after_z = _mm_set1_epi8('z' + 1);
  const __m128i before_0 = _mm_set1_epi8('0' - 1);
  const __m128i after_9 = _mm_set1_epi8('9' + 1);
  const __m128i underscore = _mm_set1_epi8('_');
  const __m128i colon = _mm_set1_epi8(':');
  const __m128i dot = _mm_set1_epi8('.');
  for (; i + 16 <= n; i += 16) {
    __m128i c = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
    __m128i l = _mm_or_si128(c, case_bit);
    __m128i ok = _mm_and_si128(_mm_cmpgt_epi8(l, before_a),
                               _mm_cmplt_epi8(l, after_z));
    ok = _mm_or_si128(ok, _mm_and_si128(_mm_cmpgt_epi8(c, before_0),
                                        _mm_cmplt_epi8(c, after_9)));
    ok = _mm_or_si128(ok, _mm_cmpeq_epi8(c, underscore));
    if (punctuation)
      ok = _mm_or_si128(ok, _mm_or_si128(_mm_cmpeq_epi8(c, colon),
                                         _mm_cmpeq_epi8(c, dot)));
    if (_mm_movemask_epi8(ok) != 0xffff)
      return false;
  }
#endif
  bool ok = true;
  for (; i < n; ++i) {
    auto c = static_cast<unsigned char>(p[i]);
    ok &= static_cast<unsigned char>((c | 0x20) - 'a') < 26
          || static_cast<unsigned char>(c - '0') < 10 || c == '_'
          || (punctuation && (c == ':' || c == '.'));
  }
  return ok;
}

// [a-zA-Z_][a-zA-Z0-9_]*
bool is_label_name(std::string_view s) {
  return !s.empty() && (cls(s[0]) & label_start) && word_chars(s, 1, false);
}

// Non-empty, without spaces, control characters or {}",=\ ; the common
// [a-zA-Z0-9_:.] names take the branch-free check.
bool is_safe_name(std::string_view s) {
  return !s.empty()
         && (word_chars(s, 0, true) || all_of(s, safe_name, safe_name));
}

// Whether any byte of the 8 in `word` equals `byte` (the classic SWAR
// zero-byte test on word ^ repeated byte).
inline uint64_t has_byte(uint64_t word, uint8_t byte) {
  constexpr uint64_t ones = 0x0101010101010101ull;
  constexpr uint64_t highs = 0x8080808080808080ull;
  uint64_t x = word ^ (ones * byte);
  return (x - ones) & ~x & highs;
}

inline size_t escaped_size(std::string_view value) {
  // Most values need no escaping: test 8 bytes at a time for any of the
  // three special bytes, without branches, and count exactly only when one
  // shows up.
  const char* p = value.data();
  size_t n = value.size();
  size_t i = 0;
  uint64_t hit = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t word;
    std::memcpy(&word, p + i, 8);
    hit |= has_byte(word, '\\') | has_byte(word, '"') | has_byte(word, '\n');
  }
  for (; i < n; ++i)
    hit |= (p[i] == '\\') | (p[i] == '"') | (p[i] == '\n');
  if (hit == 0)
    return n;
  size_t extra = 0;
  for (char c : value)
    extra += (c == '\\') | (c == '"') | (c == '\n');
  return n + extra;
}

// Byte-wise "a < b" that settles most label pairs on the first byte
// without calling memcmp.
inline bool name_less(std::string_view a, std::string_view b) {
  if (!a.empty() && !b.empty() && a[0] != b[0])
    return static_cast<unsigned char>(a[0]) < static_cast<unsigned char>(b[0]);
  return a < b;
}

inline bool is_name_label(std::string_view name) {
  return name.size() == 8 && name[0] == '_' && name == "__name__";
}

char* write_escaped(char* out, std::string_view value, size_t escaped) {
  if (escaped == value.size()) {
    std::memcpy(out, value.data(), value.size());
    return out + value.size();
  }
  for (char c : value) {
    switch (c) {
      case '\\':
        *out++ = '\\';
        *out++ = '\\';
        break;
      case '"':
        *out++ = '\\';
        *out++ = '"';
        break;
      case '\n':
        *out++ = '\\';
        *out++ = 'n';
        break;
      default:
        *out++ = c;
    }
  }
  return out;
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size()
         && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Shortens a name for an error message; names may be 16 KiB long.
std::string quoted(std::string_view s) {
  constexpr size_t max = 64;
  std::string out = "\"";
  out.append(s.substr(0, max));
  if (s.size() > max)
    out += "...";
  out += '"';
  return out;
}

} // namespace

uint8_t counter_heuristic(std::string_view metric) noexcept {
  return ends_with(metric, "_total") || ends_with(metric, "_count")
             || ends_with(metric, "_sum") || ends_with(metric, "_bucket")
           ? sample_flags::counter
           : uint8_t{0};
}

bool is_prometheus_label_name(std::string_view name) noexcept {
  return all_of(name, label_start, label_rest);
}

bool is_ndjson_metric_name(std::string_view name) noexcept {
  return all_of(name, metric_start, metric_rest);
}

series_builder::series_builder(label_names rule, series_limits limits)
  : rule_(rule), limits_(limits) {
}

bool series_builder::refuse(std::string message, int64_t label, errc code) {
  fault_.code = code;
  fault_.message = std::move(message);
  fault_.label = label;
  return false;
}

bool series_builder::append(std::string& texts, std::string_view metric,
                            std::span<label_view> labels, series_ref& out) {
  if (metric.empty())
    return refuse("metric name is empty", -1);
  if (metric.size() > limits_.max_metric_name)
    return refuse("metric name " + quoted(metric) + " is longer than "
                    + std::to_string(limits_.max_metric_name) + " bytes",
                  -1);
  if (!is_safe_name(metric))
    return refuse("metric name " + quoted(metric)
                    + " contains a space, a control character or one of "
                      "{}\",=\\",
                  -1);
  if (labels.size() > limits_.max_labels)
    return refuse("series " + quoted(metric) + " has "
                    + std::to_string(labels.size())
                    + " labels, more than the limit of "
                    + std::to_string(limits_.max_labels),
                  -1);
  if (escaped_.size() < labels.size())
    escaped_.resize(labels.size());
  size_t size = metric.size();
  size_t kept = 0;
  bool sorted = true;
  for (size_t i = 0; i < labels.size(); ++i) {
    const auto& l = labels[i];
    if (l.name.size() > limits_.max_label_name)
      return refuse("label name " + quoted(l.name) + " is longer than "
                      + std::to_string(limits_.max_label_name) + " bytes",
                    l.index);
    bool ok = rule_ == label_names::prometheus
                ? is_label_name(l.name)
                : is_safe_name(l.name);
    if (!ok)
      return refuse(l.name.empty()
                      ? std::string{"label name is empty"}
                      : "invalid label name " + quoted(l.name)
                          + (rule_ == label_names::prometheus
                               ? " (must match [a-zA-Z_][a-zA-Z0-9_]*)"
                               : " (must not contain spaces, control "
                                 "characters or any of {}\",=\\)"),
                    l.index);
    if (is_name_label(l.name))
      return refuse("label __name__ is reserved for the metric name",
                    l.index);
    if (l.value.size() > limits_.max_label_value)
      return refuse("value of label " + quoted(l.name) + " is longer than "
                      + std::to_string(limits_.max_label_value) + " bytes",
                    l.index);
    // Not strictly less also flags equal neighbours, so duplicates take
    // the slow path where they are detected.
    if (i > 0 && !name_less(labels[i - 1].name, l.name))
      sorted = false;
    if (!l.value.empty()) {
      auto escaped = escaped_size(l.value);
      // Needed again when writing; remembered instead of counted twice.
      escaped_[i] = static_cast<uint32_t>(escaped);
      size += l.name.size() + 3 + escaped;
      ++kept;
    }
  }
  if (!sorted) {
    std::sort(labels.begin(), labels.end(),
              [](const label_view& a, const label_view& b) {
                return a.name < b.name;
              });
    // The remembered escaped sizes followed the old order.
    for (size_t i = 0; i < labels.size(); ++i)
      escaped_[i] = static_cast<uint32_t>(escaped_size(labels[i].value));
    for (size_t i = 1; i < labels.size(); ++i)
      if (labels[i - 1].name == labels[i].name)
        return refuse("label " + quoted(labels[i].name)
                        + " appears more than once",
                      std::max(labels[i - 1].index, labels[i].index));
  }
  if (kept > 0)
    size += 2 + (kept - 1);
  if (texts.size() + size > std::numeric_limits<uint32_t>::max())
    return refuse("series texts of one batch exceed 4 GiB", -1,
                  errc::too_large);
  auto offset = texts.size();
  texts.resize(offset + size);
  char* p = texts.data() + offset;
  std::memcpy(p, metric.data(), metric.size());
  p += metric.size();
  if (kept > 0) {
    *p++ = '{';
    bool first = true;
    for (size_t i = 0; i < labels.size(); ++i) {
      const auto& l = labels[i];
      if (l.value.empty())
        continue;
      if (!first)
        *p++ = ',';
      first = false;
      std::memcpy(p, l.name.data(), l.name.size());
      p += l.name.size();
      *p++ = '=';
      *p++ = '"';
      p = write_escaped(p, l.value, escaped_[i]);
      *p++ = '"';
    }
    *p++ = '}';
  }
  out.offset = static_cast<uint32_t>(offset);
  out.size = static_cast<uint32_t>(size);
  out.hash = hash64(std::string_view{texts.data() + offset, size});
  out.flags = counter_heuristic(metric);
  return true;
}

caf::expected<series_ref> series_builder::append(sample_batch& batch,
                                                 std::string_view metric,
                                                 std::span<label_view> labels,
                                                 std::string_view where) {
  series_ref ref;
  if (append(batch.texts, metric, labels, ref))
    return ref;
  std::string at{where};
  if (fault_.label >= 0)
    at += ".labels[" + std::to_string(fault_.label) + "]";
  return caf::make_error(fault_.code, fault_.message, std::move(at));
}

bool series_index::intern(std::string& texts, series_ref& ref) {
  std::string_view text{texts.data() + ref.offset, ref.size};
  auto [first, last] = by_hash_.equal_range(ref.hash);
  for (auto i = first; i != last; ++i) {
    const auto& known = i->second;
    if (std::string_view{texts.data() + known.offset, known.size} == text) {
      texts.resize(ref.offset);
      ref = known;
      return false;
    }
  }
  by_hash_.emplace(ref.hash, ref);
  return true;
}

std::vector<std::pair<std::string, std::string>>
series_labels(std::string_view text) {
  std::vector<std::pair<std::string, std::string>> out;
  auto open = text.find('{');
  if (open == std::string_view::npos || text.back() != '}')
    return out;
  auto body = text.substr(open + 1, text.size() - open - 2);
  size_t i = 0;
  while (i < body.size()) {
    auto eq = body.find('=', i);
    if (eq == std::string_view::npos || eq + 1 >= body.size()
        || body[eq + 1] != '"')
      break;
    std::string name{body.substr(i, eq - i)};
    std::string value;
    size_t j = eq + 2;
    for (; j < body.size() && body[j] != '"'; ++j) {
      if (body[j] == '\\' && j + 1 < body.size()) {
        ++j;
        value += body[j] == 'n' ? '\n' : body[j];
      } else {
        value += body[j];
      }
    }
    if (j >= body.size())
      break;
    out.emplace_back(std::move(name), std::move(value));
    i = j + 1;
    if (i < body.size() && body[i] == ',')
      ++i;
  }
  return out;
}

} // namespace vigil::codec
