#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <caf/meta/type_name.hpp>

#include "messages/type_ids.hpp"

namespace vigil {

/// Bits of `sample::flags`.
namespace sample_flags {
/// A Prometheus staleness marker: the series ended; `value` is not a value.
constexpr uint8_t stale = 0x01;
/// The series is a monotonic counter; detectors look at its rate.
constexpr uint8_t counter = 0x02;
/// The series is a delta sum (each value is an increment for its interval).
constexpr uint8_t delta = 0x04;
} // namespace sample_flags

/// One value of one series at one point in event time.
struct sample {
  /// Hash of the series text (see runtime/codec/series.hpp).
  uint64_t series = 0;
  /// Event time, milliseconds since the Unix epoch.
  int64_t ts_ms = 0;
  /// The value; NaN is a legal value unless `flags` says stale.
  double value = 0;
  /// Offset of the series text in `sample_batch::texts`.
  uint32_t text_offset = 0;
  /// Length of the series text in `sample_batch::texts`.
  uint32_t text_size = 0;
  /// `sample_flags` bits.
  uint8_t flags = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, sample& x) {
  return f(caf::meta::type_name("vigil.sample"), x.series, x.ts_ms, x.value,
           x.text_offset, x.text_size, x.flags);
}

/// Samples of one service, the unit that travels from ingest to a detector.
/// Series texts (`metric{label="value",...}`) are packed into one string so a
/// batch of thousands of samples costs three allocations.
struct sample_batch {
  /// The service every sample belongs to.
  std::string service;
  /// Concatenated series texts, referenced by `sample::text_offset`.
  std::string texts;
  /// The samples, in the order they arrived.
  std::vector<sample> samples;
  /// Wall clock (ns since the epoch) when the carrying request arrived; used
  /// only to measure sample-to-anomaly latency, never for analysis.
  int64_t received_ns = 0;

  /// Returns the series text of `s`.
  std::string_view text(const sample& s) const {
    return std::string_view{texts}.substr(s.text_offset, s.text_size);
  }
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, sample_batch& x) {
  return f(caf::meta::type_name("vigil.sample_batch"), x.service, x.texts,
           x.samples, x.received_ns);
}

/// Appends the samples of `from` to `into` (same service), keeping their
/// order and re-basing their text offsets; `into` keeps the earlier arrival
/// time.
inline void append(sample_batch& into, const sample_batch& from) {
  if (into.samples.empty()) {
    into = from;
    return;
  }
  auto base = static_cast<uint32_t>(into.texts.size());
  into.texts += from.texts;
  into.samples.reserve(into.samples.size() + from.samples.size());
  for (auto s : from.samples) {
    s.text_offset += base;
    into.samples.push_back(s);
  }
  if (from.received_ns != 0
      && (into.received_ns == 0 || from.received_ns < into.received_ns))
    into.received_ns = from.received_ns;
}

/// Returns the metric name of a series text (the part before `{`).
inline std::string_view metric_of(std::string_view series_text) {
  auto pos = series_text.find('{');
  return pos == std::string_view::npos ? series_text
                                       : series_text.substr(0, pos);
}

} // namespace vigil
