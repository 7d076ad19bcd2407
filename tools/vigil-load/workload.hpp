#pragma once

// What vigil-load sends: a fixed population of series with realistic label
// sets, their values (a mean-reverting random walk for gauges, a noisy
// steady rate for counters, optional injected spikes) and the request
// bodies that carry one sample per series per round.
//
// Every request body is built and compressed ONCE, before anything is
// timed; per send the body is copied and each sample's value and timestamp
// are overwritten in place (fixed-width fields: 8-byte double and 6-byte
// varint in protobuf, space-padded numbers in NDJSON; see pinned_snappy.hpp
// for why that works under snappy). Rendering a 1,000-sample request thus
// costs a memcpy and 1,000 small stores, not an encode and a compression,
// so the generator's own cost barely shows in the result.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <caf/expected.hpp>

namespace vigil::load {

/// The body format of the requests.
enum class wire_format {
  /// Prometheus remote write 1.0 (protobuf + snappy) to /api/v1/write.
  remote_write,
  /// Vigil's NDJSON samples to /api/v1/samples.
  samples,
};

/// How series are spread over the requests of a round.
enum class grouping {
  /// Consecutive series belong to different services, so one request
  /// carries many services (what Prometheus's sharded queue sends).
  mixed,
  /// Series are ordered by service, so one request carries one or two.
  by_service,
};

/// The shape of the workload.
struct workload_options {
  /// Distinct series. Default: 10000.
  uint64_t series = 10000;
  /// Services the series are spread over (label `service`). Default: 100.
  uint32_t services = 100;
  /// Samples per request. Default: 1000.
  uint32_t batch = 1000;
  /// Default: remote_write.
  wire_format format = wire_format::remote_write;
  /// Default: mixed.
  grouping order = grouping::mixed;
  /// Seed of every random choice. Default: 1.
  uint64_t seed = 1;
  /// Probability that a sample is a spike. Default: 0.
  double anomaly_rate = 0;
  /// A spike multiplies a gauge (or a counter's increase) by this.
  /// Default: 10.
  double anomaly_factor = 10;
  /// Rounds before spikes start, so detectors are warm. Default: 40.
  uint64_t anomaly_after = 40;
};

/// A small, fast random generator (xoshiro256**), one per thread.
class rng {
public:
  explicit rng(uint64_t seed);
  /// Returns 64 random bits.
  uint64_t next();
  /// Returns a uniform double in [0, 1).
  double uniform();
  /// Returns an approximately standard normal value (Irwin-Hall, 4 terms).
  double normal();

private:
  uint64_t s_[4];
};

/// The series, their values and the pre-built request bodies.
class workload {
public:
  /// Builds every series and request body; fails when the options are out
  /// of range or a body does not survive its self-check (decompression and,
  /// for remote write, comparison with the reference protobuf encoder).
  static caf::expected<std::unique_ptr<workload>>
  make(const workload_options& opts);

  /// Returns the number of requests in one round (every series once).
  size_t requests_per_round() const { return templates_.size(); }

  /// Returns the number of samples request `slot` carries.
  uint32_t samples_in(size_t slot) const { return templates_[slot].count; }

  /// Writes the body of request `slot` for event time `ts_ms` into `out`,
  /// advancing the values of its series. `prev_ts_ms` is the slot's previous
  /// timestamp (0 on its first send), `round` the slot's send count.
  /// Returns the number of spikes injected. Calls for one slot must not
  /// overlap; calls for different slots may.
  uint32_t render(size_t slot, int64_t ts_ms, int64_t prev_ts_ms,
                  uint64_t round, rng& gen, std::string& out);

  /// Returns the headers every request carries (content type, encoding).
  std::vector<std::pair<std::string, std::string>> headers() const;

  /// Returns the body format.
  wire_format format() const { return opts_.format; }

  /// Returns the total bytes of the bodies before compression.
  uint64_t raw_bytes() const { return raw_bytes_; }

  /// Returns the total bytes of the bodies as sent.
  uint64_t wire_bytes() const { return wire_bytes_; }

  /// Returns the bytes libsnappy makes of the first request's protobuf (0
  /// for NDJSON), to compare the pinned encoder's ratio with.
  uint64_t reference_first_compressed() const { return ref_first_; }

  /// Returns the mean length of a series text `metric{labels}` in bytes.
  double mean_series_text() const { return mean_text_; }

  /// Returns an example series text.
  const std::string& example_series() const { return example_; }

  /// Writes the series' current values to `path`, so a later run of the
  /// same workload continues them (counters keep rising instead of
  /// resetting, which the detectors would rightly flag).
  caf::error save_state(const std::string& path) const;

  /// Reads values written by `save_state` for the same workload (same
  /// series, services, grouping, format and seed); false when `path` does
  /// not exist, an error when it belongs to another workload.
  caf::expected<bool> load_state(const std::string& path);

private:
  struct series_state {
    double value = 0; // current gauge value or counter total
    float scale = 0;  // gauge mean or counter increase per second
    bool counter = false;
  };
  struct request_template {
    std::string body;
    std::vector<uint32_t> value_at; // per sample, offset in `body`
    std::vector<uint32_t> ts_at;    // per sample, offset in `body`
    uint64_t first = 0;             // index of the first series
    uint32_t count = 0;
  };

  explicit workload(const workload_options& opts) : opts_(opts) {}
  caf::error build();

  workload_options opts_;
  std::vector<series_state> series_;
  std::vector<request_template> templates_;
  uint64_t raw_bytes_ = 0;
  uint64_t wire_bytes_ = 0;
  uint64_t ref_first_ = 0;
  double mean_text_ = 0;
  std::string example_;
};

/// Fixed width of a timestamp in ms as a protobuf varint: 6 bytes hold
/// [2^35, 2^42) ms, i.e. 1971 to 2109.
constexpr size_t ts_varint_bytes = 6;

} // namespace vigil::load
