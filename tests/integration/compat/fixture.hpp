#pragma once

// The common ground of the compatibility tests: one real vigild on port 0 and
// the real peers a test starts against it, stopped in reverse order, with
// every log printed when the test failed.

#include <gtest/gtest.h>

#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/integration/compat/peers.hpp"
#include "tests/support/node/vigild.hpp"
#include "tests/support/support.hpp"

namespace vigil::test {

/// A test fixture owning a temp dir, a vigild and the peers around it.
class compat_test : public ::testing::Test {
protected:
  /// Names the first of `binaries` that is not installed, with a hint; nothing
  /// when all are there.
  static std::optional<std::string>
  missing(std::initializer_list<const char*> binaries);

  /// Starts vigild; check `node->ready()` afterwards.
  void start_node();

  /// Starts `spec` (60 s deadline); nullptr and a test failure naming the
  /// reason and the program's log when it did not come up.
  peer* start(const peer_spec& spec);

  /// vigild's URL for `path`.
  std::string node_url(const std::string& path) const;

  /// The entry for `name` in vigild's GET /api/v1/services; null if absent.
  nlohmann::json service(const std::string& name) const;

  /// vigild's /metrics as text (empty when unanswered), for reading several
  /// values from one instant with `metric_sum`.
  std::string node_metrics() const;

  /// The sum of metric `name` over the samples matching `labels` on vigild's
  /// /metrics; nothing when there is none.
  std::optional<double> node_metric(const std::string& name,
                                    const std::vector<label_match>& labels
                                    = {}) const;

  /// Stops the peers (newest first) while vigild still takes what they flush
  /// at shutdown, prints every log when the test failed, then stops vigild.
  void TearDown() override;

  /// Removed last, after every process that writes into it has stopped.
  temp_dir dir;
  /// The node under test.
  std::unique_ptr<vigild> node;
  /// The peers in start order.
  std::vector<std::unique_ptr<peer>> peers;
};

} // namespace vigil::test
