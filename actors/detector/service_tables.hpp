#pragma once

// The series of one service split by `detection.rules`: series whose metric
// name matches a rule's glob are judged by that rule's detectors, the rest
// by the default ensemble. One series_table per rule in use; a service with
// no rules is exactly one table (and snapshots exactly as one).

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <caf/expected.hpp>

#include "actors/detector/ensemble.hpp"
#include "actors/detector/series_table.hpp"
#include "actors/detector/step.hpp"
#include "config/options.hpp"
#include "config/rules.hpp"

namespace vigil::detector {

/// The ensembles the rules of `opts` ask for, in rule order; an error for a
/// rule that does not parse or names an impossible ensemble.
caf::expected<std::vector<std::shared_ptr<const ensemble>>>
make_rule_ensembles(const detection_options& opts);

class service_tables {
public:
  /// `rule_ensembles` from make_rule_ensembles (one per rule, same order).
  service_tables(std::string service, std::shared_ptr<const ensemble> ens,
                 std::vector<std::shared_ptr<const ensemble>> rule_ensembles,
                 const detection_options& opts);

  void ingest(const sample_batch& batch, std::vector<anomaly_event>& out);
  size_t expire();

  size_t series() const;
  size_t active() const;
  size_t warm() const;
  /// Counts summed over the tables.
  table_stats totals() const;
  /// The default table's counts, where per-service counts (log lines,
  /// anomalies from other sources) are kept.
  table_stats& stats() { return tables_.back()->stats(); }

  /// With no rules, the default table's snapshot as is; otherwise an
  /// envelope of every table's snapshot keyed by its rule.
  std::string snapshot(int64_t taken_at_ms) const;
  /// Accepts either form. Tables whose rule is gone are dropped (their
  /// series relearn under their new detectors).
  caf::expected<restore_info> restore(std::string_view bytes);

  size_t memory_bytes() const;

  /// Calls `f` with every judged value (see series_table::set_observer),
  /// in event-time order across the tables of one batch.
  void set_observer(series_table::observer f);

  /// Which table judges `metric`: a rule's index, or rules().size() for
  /// the default.
  size_t table_for(std::string_view metric) const;

  /// The service's sampling step (the median gap between a series'
  /// samples over the first ones); 0 until known.
  int64_t step_ms() const { return step_ms_; }
  /// How many samples of that step make one judged value
  /// (detection.reference_step); 1 when each is judged alone.
  uint32_t step_block() const { return tables_.back()->block(); }

private:
  /// Gaps taken from `batch` until the step is known; then every table
  /// averages blocks of samples for it.
  void observe_step(const sample_batch& batch);
  void apply_step(int64_t step_ms);

  duration reference_step_;
  int64_t step_ms_ = 0;
  step_estimator estimator_;
  /// Each series' newest event time while the step is being learnt.
  std::unordered_map<uint64_t, int64_t> last_seen_;

  std::vector<detector_rule> rules_;
  /// The rules' texts, as snapshot keys; "" for the default table.
  std::vector<std::string> keys_;
  /// One per rule, then the default table last.
  std::vector<std::unique_ptr<series_table>> tables_;
  /// Series hash -> table, so globs are matched once per series.
  std::unordered_map<uint64_t, uint8_t> route_;
  std::vector<uint8_t> lanes_;
  /// With rules, judged values are collected per batch and handed on in
  /// event-time order, as one table would have.
  struct observed {
    uint64_t series;
    std::string_view text;
    int64_t ts_ms;
    double x;
  };
  series_table::observer observer_;
  std::vector<observed> observed_;
};

} // namespace vigil::detector
