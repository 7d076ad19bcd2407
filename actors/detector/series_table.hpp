#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <caf/expected.hpp>

#include "actors/detector/ensemble.hpp"
#include "config/options.hpp"
#include "messages/anomaly.hpp"
#include "messages/samples.hpp"

namespace vigil::detector {

/// Bits of a series' flags (persisted in snapshots: append-only).
namespace series_flags {
/// Values are a monotonic counter; the detectors see its per-second rate.
constexpr uint32_t counter = 0x01;
/// Values are delta sums.
constexpr uint32_t delta = 0x02;
/// Ended by a staleness marker; revived by its next value.
constexpr uint32_t stale = 0x04;
/// `last_raw` holds a value (counters need two to make a rate).
constexpr uint32_t has_last = 0x08;
/// Inside an anomalous stretch.
constexpr uint32_t anomalous = 0x10;
} // namespace series_flags

/// Counts kept per service.
struct table_stats {
  /// Values taken (judged alone, or in their block's mean).
  uint64_t samples = 0;
  uint64_t anomalies = 0;     ///< Anomaly events emitted.
  uint64_t out_of_order = 0;  ///< Samples at or before their series' newest.
  uint64_t stale_markers = 0; ///< Staleness markers seen.
  /// Values not judged: NaN, infinities, magnitudes above 1e100.
  uint64_t nan_values = 0;
  uint64_t collisions = 0;    ///< Samples dropped on a series-hash collision.
  uint64_t expired = 0;       ///< Series dropped after series_ttl.
  uint64_t log_lines = 0;     ///< Log records taken.
  int64_t last_ts_ms = 0;     ///< Newest event time seen.
};

/// What a restore brought back.
struct restore_info {
  size_t series = 0;
  /// Series whose detector state was discarded because the ensemble changed
  /// since the snapshot (they warm up again).
  size_t reset = 0;
  /// Newest event time in the snapshot.
  int64_t last_ts_ms = 0;
};

/// All series of one service with their detector state: the pure logic a
/// detector actor wraps. Event time only; no clock, no I/O.
class series_table {
public:
  series_table(std::string service, std::shared_ptr<const ensemble> ens,
               detection_options opts);

  /// Folds every sample of `batch` in, in order, appending anomaly events
  /// (onset, ongoing, recovered) to `out`. With `scores`, also appends the
  /// ensemble score of every sample in batch order (0 for samples not
  /// judged: warming up, stale, NaN, out of order) — what evaluation tools
  /// replay the detectors for.
  void ingest(const sample_batch& batch, std::vector<anomaly_event>& out,
              std::vector<double>* scores = nullptr);

  /// The same for the samples `k` with `lanes[k] == lane` only (the
  /// others belong to another table of the service); `lanes` holds one
  /// entry per sample of `batch`, or is null for all.
  void ingest(const sample_batch& batch, std::vector<anomaly_event>& out,
              std::vector<double>* scores, const uint8_t* lanes,
              uint8_t lane);

  /// Drops series whose newest sample is older than series_ttl before the
  /// service's newest sample. Returns how many were dropped.
  size_t expire();

  /// Series with state.
  size_t series() const { return count_; }
  /// Series not ended by a staleness marker.
  size_t active() const { return active_; }
  /// Active series whose detectors are past warm-up.
  size_t warm() const;
  const table_stats& stats() const { return stats_; }
  table_stats& stats() { return stats_; }
  const std::string& service() const { return service_; }

  /// Serialises every series (proto detector_snapshot).
  std::string snapshot(int64_t taken_at_ms) const;
  /// Replaces the table's content with a snapshot's.
  caf::expected<restore_info> restore(std::string_view bytes);

  /// Called with every value the detectors judge (a counter's rate), after
  /// they judged it; may append anomalies to the vector.
  using observer = std::function<void(uint64_t series, std::string_view text,
                                      int64_t ts_ms, double x,
                                      std::vector<anomaly_event>& out)>;
  void set_observer(observer f) { observer_ = std::move(f); }

  /// The service's sampling step (0 = not known) and how many of its
  /// samples make one judged value: with `block` above 1 every series is
  /// averaged over blocks of that many values (a counter's rates), and the
  /// detectors judge the means, at the last value's time. A change of the
  /// block size starts every series' learning again (meant for warm-up).
  void set_step(int64_t step_ms, uint32_t block);
  uint32_t block() const { return block_; }
  /// The sampling step a snapshot was taken under; 0 when it does not say
  /// or does not parse.
  static int64_t snapshot_step_ms(std::string_view bytes);

  /// Approximate heap bytes held (for memory accounting).
  size_t memory_bytes() const;

private:
  // Per-series bookkeeping, followed in the same slab slot by the
  // ensemble's state block, so judging a sample touches one contiguous
  // region. Plain data: slots are moved with memcpy when the slab grows.
  struct header {
    uint64_t hash;
    int64_t last_ts_ms;
    double last_raw;
    uint64_t samples;
    int64_t onset_ts_ms;
    int64_t last_emit_ts_ms;
    uint32_t flags;
    uint32_t normal_run;
    // The range of normal values while in a stretch, set at its onset from
    // the band the ensemble expected and the onset value (NaN when none,
    // infinite on the side away from the onset): values outside it keep
    // the stretch open even after the detectors adapted to them (a lasting
    // level shift stays an anomaly until it ends or hold_max passes).
    double hold_lo;
    double hold_hi;
    // The band the ensemble expected at the stretch's onset, as its centre
    // and half-width (0 when none): the confirmation judges the stretch's
    // values against it as well, since by then the adaptive detectors have
    // begun to take a lasting shift in.
    double onset_centre;
    double onset_half;
    // Anomalous or held samples in the current stretch.
    uint32_t run;
    // Sum of the scores over the stretch's first confirm_samples anomalous
    // samples, each the ensemble's or, if higher, its distance from the
    // onset's band (raised to confirm_samples times the confirming
    // sample's score if that is higher): the persisting event scores their
    // mean (or its own score if higher).
    float confirm_score_sum;
    // The values of the current block (see set_step) and their sum.
    double block_sum;
    uint32_t block_n;
    uint32_t reserved;
    // Length of the series text: a cheap second key, so a 64-bit hash
    // collision between texts of different lengths is caught without
    // touching the text.
    uint32_t text_size;
    uint32_t used;
  };
  static_assert(sizeof(header) % 8 == 0);

  // A slot of the open-addressing index: the series hash and its slab
  // index + 1 (0 = empty).
  struct slot {
    uint64_t hash;
    uint32_t index_plus_one;
    uint32_t reserved;
  };

  header& at(uint32_t index) {
    return *reinterpret_cast<header*>(slab_.data() + index * stride_);
  }
  const header& at(uint32_t index) const {
    return *reinterpret_cast<const header*>(slab_.data() + index * stride_);
  }
  std::byte* state_of(uint32_t index) {
    return slab_.data() + index * stride_ + sizeof(header);
  }
  const std::byte* state_of(uint32_t index) const {
    return slab_.data() + index * stride_ + sizeof(header);
  }

  /// Returns the slab index of `hash`, or -1.
  int64_t find(uint64_t hash) const;
  /// Adds a series; returns its slab index.
  uint32_t insert(uint64_t hash, std::string_view text);
  /// Removes the series at slab index `index`.
  void erase(uint32_t index);
  void grow_index();
  void clear();

  header* find_or_create(const sample& s, std::string_view text);
  double judge(uint32_t index, const sample_batch& batch, const sample& s,
               double x, std::vector<anomaly_event>& out);
  static void set_hold(header& e, const ensemble_result& r, double x);
  static void hold_beyond(header& e, double lo, double hi, double x);
  // hold_beyond the band expected at the stretch's onset.
  static void hold_from_onset(header& e, double x);
  static void rehold(header& e, const ensemble_result& r, double x);
  anomaly_event make_event(uint32_t index, const ensemble_result& r,
                           anomaly_phase phase, int64_t ts, double x,
                           const sample_batch& batch) const;

  std::string service_;
  std::shared_ptr<const ensemble> ensemble_;
  detection_options opts_;
  size_t stride_;
  std::vector<std::byte> slab_;
  std::vector<std::string> texts_; // by slab index
  std::vector<uint32_t> free_;     // unused slab indexes
  std::vector<slot> index_;        // power-of-two size
  size_t count_ = 0;
  size_t active_ = 0;
  table_stats stats_;
  observer observer_;
  int64_t step_ms_ = 0;
  uint32_t block_ = 1;
};

} // namespace vigil::detector
