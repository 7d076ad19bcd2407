#pragma once

// "Did you mean ...?": nearest-word lookup for unknown keys, flags and
// values.

#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace vigil::config {

/// Levenshtein distance between `a` and `b`, ignoring ASCII case and treating
/// '-' and '_' as the same character (so "max-body-bytes" matches).
size_t edit_distance(std::string_view a, std::string_view b);

/// The largest edit distance at which `word` still counts as a typo of a
/// candidate: 1 for short words, up to 3 for long ones.
size_t typo_tolerance(std::string_view word);

/// The candidates nearest to `word` within `max_distance`, all tied at the
/// smallest distance, in the order given. Empty when none is close enough.
std::vector<std::string_view>
nearest(std::string_view word, std::span<const std::string_view> candidates,
        size_t max_distance);

/// Renders a suggestion list as "did you mean a?", "did you mean a or b?",
/// "did you mean a, b or c?"; empty for an empty list.
std::string did_you_mean(std::span<const std::string_view> words);

} // namespace vigil::config
