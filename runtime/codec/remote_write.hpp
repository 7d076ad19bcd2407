#pragma once

// Prometheus remote write 1.0: `prometheus.WriteRequest` protobuf bodies
// (after snappy) into per-service sample batches.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <caf/expected.hpp>

#include "messages/samples.hpp"
#include "runtime/codec/options.hpp"

namespace vigil::codec {

/// The bit pattern of a Prometheus staleness marker (a NaN).
constexpr uint64_t stale_nan_bits = 0x7ff0000000000002ull;

/// Returns whether `value` is a Prometheus staleness marker (exactly
/// `stale_nan_bits`, not any NaN).
bool is_stale_marker(double value) noexcept;

/// Returns a staleness marker.
double stale_marker() noexcept;

/// Decodes a remote-write protobuf body (already snappy-decoded) into one
/// batch per service, samples in request order within a service. The service
/// is the first label of `opts.service_labels` present with a non-empty
/// value, else `opts.default_service`. Staleness markers get
/// `sample_flags::stale`; series whose metric name looks like a counter
/// (see series.hpp) get `sample_flags::counter`. Exemplars and native
/// histograms are counted in `stats->ignored`; metadata in
/// `stats->metadata`. A metadata-only request yields no batches. Fails with
/// `malformed` naming the series and byte, and then returns nothing else.
[[nodiscard]] caf::expected<std::vector<sample_batch>>
decode_remote_write(std::string_view protobuf, const decode_options& opts,
                    decode_stats* stats = nullptr);

/// One series to encode: its labels (with `__name__`) and (value, ts_ms)
/// samples.
struct write_series {
  /// Label pairs in any order, `__name__` among them.
  std::vector<std::pair<std::string, std::string>> labels;
  /// (value, timestamp in ms) pairs.
  std::vector<std::pair<double, int64_t>> samples;
};

/// Encodes `series` as a `prometheus.WriteRequest` protobuf (not
/// compressed), for tests and vigil-load.
std::string encode_remote_write(std::span<const write_series> series);

} // namespace vigil::codec
