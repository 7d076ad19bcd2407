#pragma once

// Canonical series texts: `metric{label="value",...}` with the labels sorted
// by name and values escaped like the Prometheus text format (`\\`, `\"`,
// `\n`); just `metric` when there are no labels. Labels with an empty value
// are left out (Prometheus treats them as absent). The text is the identity
// of a series: `sample::series` is `hash64` of it.
//
// Counter heuristic: a series whose metric name ends in `_total`, `_count`,
// `_sum` or `_bucket` is taken for a monotonic counter (`sample_flags::
// counter`), the Prometheus naming convention for counters, histogram and
// summary parts. Remote write and NDJSON samples use it; OTLP carries the
// type on the wire and does not.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <caf/expected.hpp>

#include "messages/errc.hpp"
#include "messages/samples.hpp"

namespace vigil::codec {

/// Bounds of one series; a series beyond them is `malformed`.
struct series_limits {
  /// Labels per series, `__name__` not counted. Default: 128.
  size_t max_labels = 128;
  /// Bytes per label name. Default: 1024.
  size_t max_label_name = 1024;
  /// Bytes per label value. Default: 16 KiB.
  size_t max_label_value = 16 * 1024;
  /// Bytes per metric name. Default: 1024.
  size_t max_metric_name = 1024;
};

/// Which label names a builder accepts.
enum class label_names {
  /// `[a-zA-Z_][a-zA-Z0-9_]*` (Prometheus remote write, NDJSON samples).
  prometheus,
  /// OTLP attribute keys as they are (`http.route`): non-empty, without
  /// spaces, control characters or any of `{}",=\`.
  otlp,
};

/// One label as views into the input.
struct label_view {
  /// The label name.
  std::string_view name;
  /// The label value; empty means the label is absent.
  std::string_view value;
  /// Position of the label in the input, reported in errors.
  uint32_t index = 0;
};

/// A series text appended to a text arena.
struct series_ref {
  /// `hash64` of the text.
  uint64_t hash = 0;
  /// Offset of the text in the arena.
  uint32_t offset = 0;
  /// Length of the text.
  uint32_t size = 0;
  /// `sample_flags::counter` when the counter heuristic says so, else 0.
  uint8_t flags = 0;
};

/// Why a builder refused a label set.
struct series_fault {
  /// `malformed`, or `too_large` when the arena would pass 4 GiB.
  errc code = errc::malformed;
  /// What is wrong.
  std::string message;
  /// `label_view::index` of the label at fault; -1 for the metric name or
  /// the set as a whole.
  int64_t label = -1;
};

/// Returns `sample_flags::counter` when `metric` ends in `_total`, `_count`,
/// `_sum` or `_bucket`, else 0.
uint8_t counter_heuristic(std::string_view metric) noexcept;

/// Returns whether `name` matches `[a-zA-Z_][a-zA-Z0-9_]*`.
bool is_prometheus_label_name(std::string_view name) noexcept;

/// Returns whether `name` matches `[a-zA-Z_:][a-zA-Z0-9_:.]*` (the metric
/// names of Vigil's NDJSON samples).
bool is_ndjson_metric_name(std::string_view name) noexcept;

/// Reads the labels back out of a series text written by `series_builder`
/// (`metric{name="value",...}`, values with \\, \" and \n escapes), in
/// text order. A text without labels, or one that is not of that shape
/// from some point on, yields the labels read up to there.
std::vector<std::pair<std::string, std::string>>
series_labels(std::string_view text);

/// Builds canonical series texts into an arena. Reusable; not thread-safe.
class series_builder {
public:
  /// Builds with label-name rule `rule` and bounds `limits`.
  explicit series_builder(label_names rule = label_names::prometheus,
                          series_limits limits = {});

  /// Appends the text of `metric` with `labels` (which must not hold
  /// `__name__`) to `texts`. May reorder `labels`. On refusal returns false,
  /// leaves `texts` unchanged and describes why in `fault()`.
  bool append(std::string& texts, std::string_view metric,
              std::span<label_view> labels, series_ref& out);

  /// Like the other overload, into `batch.texts`; a refusal becomes an
  /// error whose `where` is `where` plus `.labels[i]` for a label at fault.
  caf::expected<series_ref> append(sample_batch& batch,
                                   std::string_view metric,
                                   std::span<label_view> labels,
                                   std::string_view where);

  /// Returns why the last `append` failed.
  const series_fault& fault() const noexcept { return fault_; }

  /// Returns the bounds in use.
  const series_limits& limits() const noexcept { return limits_; }

private:
  bool refuse(std::string message, int64_t label, errc code = errc::malformed);

  label_names rule_;
  series_limits limits_;
  series_fault fault_;
  // Escaped size of each label value of the current call.
  std::vector<uint32_t> escaped_;
};

/// Remembers the series texts of one batch so that repeated series share
/// one text (OTLP and NDJSON may repeat a series within a request).
class series_index {
public:
  /// Folds the text just appended at `ref` (the arena's tail) into the
  /// index: when an equal text is already known, truncates the arena back
  /// and points `ref` at the known copy. Returns whether the text was new.
  bool intern(std::string& texts, series_ref& ref);

  /// Returns the number of distinct texts.
  size_t size() const noexcept { return by_hash_.size(); }

private:
  std::unordered_multimap<uint64_t, series_ref> by_hash_;
};

} // namespace vigil::codec
