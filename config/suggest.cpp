#include "config/suggest.hpp"

#include <algorithm>

namespace vigil::config {

namespace {

char fold(char c) {
  if (c >= 'A' && c <= 'Z')
    return static_cast<char>(c - 'A' + 'a');
  return c == '-' ? '_' : c;
}

} // namespace

size_t edit_distance(std::string_view a, std::string_view b) {
  // Two rows of the classic dynamic program; keys are short.
  std::vector<size_t> prev(b.size() + 1);
  std::vector<size_t> cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j)
    prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      auto substitute = prev[j - 1] + (fold(a[i - 1]) == fold(b[j - 1]) ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, substitute});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

size_t typo_tolerance(std::string_view word) {
  return std::clamp<size_t>(word.size() / 3, 1, 3);
}

std::vector<std::string_view>
nearest(std::string_view word, std::span<const std::string_view> candidates,
        size_t max_distance) {
  std::vector<std::string_view> best;
  size_t best_distance = max_distance + 1;
  for (auto candidate : candidates) {
    auto d = edit_distance(word, candidate);
    if (d < best_distance) {
      best_distance = d;
      best.clear();
    }
    if (d == best_distance
        && std::find(best.begin(), best.end(), candidate) == best.end())
      best.push_back(candidate);
  }
  return best;
}

std::string did_you_mean(std::span<const std::string_view> words) {
  if (words.empty())
    return {};
  std::string out = "did you mean ";
  for (size_t i = 0; i < words.size(); ++i) {
    if (i > 0)
      out += i + 1 == words.size() ? " or " : ", ";
    out += words[i];
  }
  out += '?';
  return out;
}

} // namespace vigil::config
