#pragma once

// A service's tables built from `opts` the way a detector actor builds
// them, and samples appended to a batch: shared by the tests that feed
// service_tables directly.

#include <memory>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "actors/detector/service_tables.hpp"
#include "runtime/hash.hpp"

namespace vigil::detector::test {

struct tables_fixture : ::testing::Test {
  detection_options opts;
  std::vector<anomaly_event> out;

  std::unique_ptr<service_tables> make() {
    auto rules = make_rule_ensembles(opts);
    EXPECT_TRUE(rules);
    return std::make_unique<service_tables>("svc", *ensemble::make(opts),
                                            std::move(*rules), opts);
  }

  // Fresh tables with `bytes` restored into them, checked for how many
  // series came back and how many of those relearn.
  std::unique_ptr<service_tables> restored(std::string_view bytes,
                                           size_t series, size_t reset) {
    auto t = make();
    auto info = t->restore(bytes);
    EXPECT_TRUE(info);
    if (info) {
      EXPECT_EQ(info->series, series);
      EXPECT_EQ(info->reset, reset);
    }
    return t;
  }

  static void add(sample_batch& b, std::string_view text, int64_t ts,
                  double x) {
    b.samples.push_back({hash64(text), ts, x,
                         static_cast<uint32_t>(b.texts.size()),
                         static_cast<uint32_t>(text.size()), 0});
    b.texts.append(text);
  }
};

} // namespace vigil::detector::test
