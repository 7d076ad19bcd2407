#include <gtest/gtest.h>

#include <limits>

#include <bit>
#include <cmath>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "messages/proto/remote_write.pb.h"
#include "runtime/codec/compression.hpp"
#include "runtime/codec/remote_write.hpp"
#include "runtime/codec/series.hpp"
#include "runtime/hash.hpp"
#include "tests/support/support.hpp"
#include "tests/unit/codec/test_util.hpp"

namespace {

using namespace vigil;
using namespace vigil::codec;
namespace ct = vigil::codec::test;
using vigil::codec::test::why;

const std::vector<std::string> remote_write_fixtures = {
  "remote_write_01_first",
  "remote_write_02_node_exporter",
  "remote_write_03_metadata_only",
  "remote_write_04_target_down_stale_markers",
  "remote_write_05_alerts_targetdown_firing",
  "remote_write_06_alerts_targetdown_stale",
  "remote_write_07_last_partial_at_shutdown",
};

std::string protobuf_of(const std::string& name) {
  auto body = vigil::test::read_fixture(name + ".bin");
  auto pb = snappy_uncompress(body, 64 << 20);
  EXPECT_TRUE(pb) << why(pb.error());
  return pb ? *pb : std::string{};
}

// Reads the job label out of a series text, as the decoder groups by it.
std::string job_of(const std::string& text) {
  auto pos = text.find("job=\"");
  if (pos == std::string::npos)
    return "unknown";
  auto end = text.find('"', pos + 5);
  return text.substr(pos + 5, end - pos - 5);
}

// Checks one decoded sample against one line of the reference output.
void expect_sample_matches(const sample_batch& batch, const sample& s,
                           const ct::expected_series& line,
                           const ct::expected_sample& want) {
  auto text = batch.text(s);
  EXPECT_EQ(text, line.text);
  EXPECT_EQ(s.series, hash64(text)) << text;
  EXPECT_EQ(s.ts_ms, want.ts) << text;
  if (want.value_text == "StaleNaN") {
    EXPECT_TRUE(s.flags & sample_flags::stale) << text;
    EXPECT_EQ(std::bit_cast<uint64_t>(s.value), stale_nan_bits) << text;
  } else if (want.value_text == "nan") {
    EXPECT_FALSE(s.flags & sample_flags::stale) << text;
    EXPECT_TRUE(std::isnan(s.value)) << text;
    EXPECT_NE(std::bit_cast<uint64_t>(s.value), stale_nan_bits) << text;
  } else {
    EXPECT_FALSE(s.flags & sample_flags::stale) << text;
    // Python's repr is the shortest text that reads back bit-exactly.
    double expected = std::strtod(want.value_text.c_str(), nullptr);
    EXPECT_EQ(std::bit_cast<uint64_t>(s.value),
              std::bit_cast<uint64_t>(expected))
      << text << " = " << want.value_text;
  }
  EXPECT_EQ((s.flags & sample_flags::counter) != 0,
            counter_heuristic(metric_of(text)) != 0)
    << text;
}

TEST(remote_write, every_fixture_decodes_exactly_like_the_reference_decoder) {
  for (const auto& name : remote_write_fixtures) {
    SCOPED_TRACE(name);
    auto want = ct::read_remote_write_expectation(name);
    auto pb = protobuf_of(name);
    decode_options opts;
    opts.received_ns = 42;
    decode_stats stats;
    auto batches = decode_remote_write(pb, opts, &stats);
    ASSERT_TRUE(batches) << why(batches.error());
    EXPECT_EQ(stats.series, want.series);
    EXPECT_EQ(stats.samples, want.samples);
    EXPECT_EQ(stats.stale_markers, want.stale);
    EXPECT_EQ(stats.metadata, want.metadata);
    EXPECT_EQ(stats.ignored, 0u);
    ASSERT_EQ(want.lines.size(), want.series);
    // Samples keep request order within each service (= job here).
    std::map<std::string, std::vector<std::pair<size_t, size_t>>> by_job;
    size_t nan_values = 0;
    for (size_t i = 0; i < want.lines.size(); ++i)
      for (size_t k = 0; k < want.lines[i].samples.size(); ++k) {
        by_job[job_of(want.lines[i].text)].emplace_back(i, k);
        nan_values += want.lines[i].samples[k].value_text == "nan";
      }
    EXPECT_EQ(stats.nan_values, nan_values);
    size_t total = 0;
    ASSERT_EQ(batches->size(), by_job.size());
    for (const auto& batch : *batches) {
      SCOPED_TRACE(batch.service);
      EXPECT_EQ(batch.received_ns, 42);
      auto& order = by_job[batch.service];
      ASSERT_EQ(batch.samples.size(), order.size());
      for (size_t j = 0; j < order.size(); ++j) {
        const auto& line = want.lines[order[j].first];
        expect_sample_matches(batch, batch.samples[j], line,
                              line.samples[order[j].second]);
      }
      total += batch.samples.size();
    }
    EXPECT_EQ(total, want.samples);
  }
}

TEST(remote_write, without_service_labels_everything_lands_in_the_default_service_in_request_order) {
  for (const auto& name : remote_write_fixtures) {
    SCOPED_TRACE(name);
    auto want = ct::read_remote_write_expectation(name);
    decode_options opts;
    opts.service_labels.clear();
    opts.default_service = "fleet";
    auto batches = decode_remote_write(protobuf_of(name), opts);
    ASSERT_TRUE(batches) << why(batches.error());
    if (want.samples == 0) {
      EXPECT_TRUE(batches->empty());
      continue;
    }
    ASSERT_EQ(batches->size(), 1u);
    const auto& batch = batches->front();
    EXPECT_EQ(batch.service, "fleet");
    size_t j = 0;
    for (const auto& line : want.lines)
      for (const auto& s : line.samples) {
        ASSERT_LT(j, batch.samples.size());
        expect_sample_matches(batch, batch.samples[j++], line, s);
      }
    EXPECT_EQ(j, batch.samples.size());
  }
}

TEST(remote_write, metadata_only_request_yields_no_samples_and_498_metadata) {
  decode_stats stats;
  auto batches = decode_remote_write(
    protobuf_of("remote_write_03_metadata_only"), decode_options{}, &stats);
  ASSERT_TRUE(batches) << why(batches.error());
  EXPECT_TRUE(batches->empty());
  EXPECT_EQ(stats.metadata, 498u);
  EXPECT_EQ(stats.samples, 0u);
  EXPECT_EQ(stats.series, 0u);
}

TEST(remote_write, stale_markers_are_told_apart_from_ordinary_nan) {
  // Fixture 04 holds 320 staleness markers; fixture 01 holds real NaNs
  // (summary quantiles without observations).
  decode_stats stale_stats, nan_stats;
  auto stale = decode_remote_write(
    protobuf_of("remote_write_04_target_down_stale_markers"), {},
    &stale_stats);
  auto nans = decode_remote_write(protobuf_of("remote_write_01_first"), {},
                                  &nan_stats);
  ASSERT_TRUE(stale && nans);
  EXPECT_EQ(stale_stats.stale_markers, 320u);
  size_t flagged = 0;
  for (const auto& b : *stale)
    for (const auto& s : b.samples)
      if (s.flags & sample_flags::stale) {
        ++flagged;
        EXPECT_TRUE(is_stale_marker(s.value));
      }
  EXPECT_EQ(flagged, 320u);
  size_t ordinary_nan = 0;
  for (const auto& b : *nans)
    for (const auto& s : b.samples)
      if (std::isnan(s.value)) {
        EXPECT_FALSE(s.flags & sample_flags::stale) << b.text(s);
        ++ordinary_nan;
      }
  EXPECT_EQ(ordinary_nan, nan_stats.nan_values);
  // And by construction: one of each in one request.
  write_series a{{{"__name__", "a"}, {"job", "j"}}, {{stale_marker(), 1}}};
  write_series b{{{"__name__", "b"}, {"job", "j"}},
                 {{std::nan(""), 2}, {std::bit_cast<double>(0x7ff0000000000001ull), 3}}};
  std::vector<write_series> both{a, b};
  decode_stats stats;
  auto out = decode_remote_write(encode_remote_write(both), {}, &stats);
  ASSERT_TRUE(out) << why(out.error());
  ASSERT_EQ(out->size(), 1u);
  const auto& samples = out->front().samples;
  ASSERT_EQ(samples.size(), 3u);
  EXPECT_EQ(samples[0].flags & sample_flags::stale, sample_flags::stale);
  EXPECT_EQ(samples[1].flags & sample_flags::stale, 0);
  EXPECT_EQ(samples[2].flags & sample_flags::stale, 0);
  EXPECT_EQ(stats.stale_markers, 1u);
  EXPECT_EQ(stats.nan_values, 2u);
}

TEST(remote_write, hand_decoder_agrees_with_libprotobuf_on_every_fixture) {
  for (const auto& name : remote_write_fixtures) {
    SCOPED_TRACE(name);
    auto pb = protobuf_of(name);
    prometheus::WriteRequest req;
    ASSERT_TRUE(req.ParseFromString(pb));
    decode_options opts;
    opts.service_labels.clear();
    decode_stats stats;
    auto batches = decode_remote_write(pb, opts, &stats);
    ASSERT_TRUE(batches) << why(batches.error());
    EXPECT_EQ(stats.series, static_cast<uint64_t>(req.timeseries_size()));
    EXPECT_EQ(stats.metadata, static_cast<uint64_t>(req.metadata_size()));
    size_t j = 0;
    for (const auto& ts : req.timeseries()) {
      // The reference text, built here independently of series_builder.
      std::string metric;
      std::vector<std::pair<std::string, std::string>> labels;
      for (const auto& l : ts.labels())
        if (l.name() == "__name__")
          metric = l.value();
        else
          labels.emplace_back(l.name(), l.value());
      std::sort(labels.begin(), labels.end());
      std::string text = metric;
      if (!labels.empty()) {
        text += '{';
        for (size_t i = 0; i < labels.size(); ++i)
          text += (i ? "," : "") + labels[i].first + "=\"" + labels[i].second
                  + "\"";
        text += '}';
      }
      for (const auto& s : ts.samples()) {
        ASSERT_FALSE(batches->empty());
        const auto& batch = batches->front();
        ASSERT_LT(j, batch.samples.size());
        const auto& got = batch.samples[j++];
        EXPECT_EQ(batch.text(got), text);
        EXPECT_EQ(got.ts_ms, s.timestamp());
        EXPECT_EQ(std::bit_cast<uint64_t>(got.value),
                  std::bit_cast<uint64_t>(s.value()));
      }
    }
    EXPECT_EQ(j, batches->empty() ? 0 : batches->front().samples.size());
  }
}

TEST(remote_write, service_label_wins_over_job_and_missing_labels_fall_back) {
  std::vector<write_series> in = {
    {{{"__name__", "up"}, {"job", "node"}, {"service", "checkout"}}, {{1, 10}}},
    {{{"__name__", "up"}, {"job", "node"}}, {{1, 11}}},
    {{{"__name__", "up"}, {"instance", "x"}}, {{1, 12}}},
    {{{"__name__", "up"}, {"job", "node"}, {"service", ""}}, {{0, 13}}},
    {{{"__name__", "down"}, {"service", "checkout"}}, {{2, 14}}},
  };
  decode_options opts;
  opts.default_service = "nobody";
  auto out = decode_remote_write(encode_remote_write(in), opts);
  ASSERT_TRUE(out) << why(out.error());
  ASSERT_EQ(out->size(), 3u);
  EXPECT_EQ((*out)[0].service, "checkout");
  EXPECT_EQ((*out)[1].service, "node");
  EXPECT_EQ((*out)[2].service, "nobody");
  ASSERT_EQ((*out)[0].samples.size(), 2u);
  EXPECT_EQ((*out)[0].samples[0].ts_ms, 10);
  EXPECT_EQ((*out)[0].samples[1].ts_ms, 14);
  ASSERT_EQ((*out)[1].samples.size(), 2u);
  // An empty label value is no label at all.
  EXPECT_EQ((*out)[1].text((*out)[1].samples[1]), "up{job=\"node\"}");
  EXPECT_EQ((*out)[2].text((*out)[2].samples[0]), "up{instance=\"x\"}");
}

TEST(remote_write, unsorted_labels_give_the_same_text_as_sorted_ones) {
  std::vector<write_series> in = {
    {{{"zone", "b"}, {"__name__", "m_total"}, {"a", "1"}}, {{1, 1}}},
    {{{"__name__", "m_total"}, {"a", "1"}, {"zone", "b"}}, {{2, 2}}},
  };
  auto out = decode_remote_write(encode_remote_write(in), {});
  ASSERT_TRUE(out) << why(out.error());
  const auto& b = out->front();
  EXPECT_EQ(b.text(b.samples[0]), "m_total{a=\"1\",zone=\"b\"}");
  EXPECT_EQ(b.samples[0].series, b.samples[1].series);
  EXPECT_TRUE(b.samples[0].flags & sample_flags::counter);
}

TEST(remote_write, exemplars_and_native_histograms_are_counted_not_decoded) {
  prometheus::WriteRequest req;
  auto* ts = req.add_timeseries();
  auto* l = ts->add_labels();
  l->set_name("__name__");
  l->set_value("rpc_seconds");
  auto* s = ts->add_samples();
  s->set_value(0.5);
  s->set_timestamp(1000);
  ts->add_exemplars()->set_value(0.25);
  ts->add_exemplars()->set_value(0.75);
  ts->add_histograms()->set_sum(3);
  auto* only_hist = req.add_timeseries();
  l = only_hist->add_labels();
  l->set_name("__name__");
  l->set_value("native");
  only_hist->add_histograms()->set_count_int(4);
  decode_stats stats;
  auto out = decode_remote_write(req.SerializeAsString(), {}, &stats);
  ASSERT_TRUE(out) << why(out.error());
  EXPECT_EQ(stats.ignored, 4u);
  EXPECT_EQ(stats.series, 2u);
  EXPECT_EQ(stats.samples, 1u);
  ASSERT_EQ(out->size(), 1u);
  EXPECT_EQ(out->front().samples.size(), 1u);
}

TEST(remote_write, series_without_name_is_malformed_and_names_the_series) {
  std::vector<write_series> in = {
    {{{"__name__", "ok"}}, {{1, 1}}},
    {{{"job", "x"}}, {{1, 1}}},
  };
  auto out = decode_remote_write(encode_remote_write(in), {});
  ASSERT_FALSE(out);
  auto d = describe(out.error());
  EXPECT_EQ(d.code, errc::malformed);
  EXPECT_NE(d.message.find("__name__"), std::string::npos);
  EXPECT_EQ(d.where, "timeseries[1]");
}

TEST(remote_write, bad_label_names_and_limits_are_malformed_with_the_label_and_byte) {
  std::vector<write_series> bad_name = {
    {{{"__name__", "m"}, {"ok", "1"}, {"bad-name", "2"}}, {{1, 1}}}};
  auto out = decode_remote_write(encode_remote_write(bad_name), {});
  ASSERT_FALSE(out);
  auto d = describe(out.error());
  EXPECT_EQ(d.code, errc::malformed);
  EXPECT_NE(d.message.find("bad-name"), std::string::npos) << d.message;
  EXPECT_EQ(d.where.rfind("timeseries[0].labels[2]: byte ", 0), 0u)
    << d.where;

  write_series many{{{"__name__", "m"}}, {{1, 1}}};
  for (int i = 0; i < 129; ++i)
    many.labels.emplace_back(std::string{"l"}.append(std::to_string(i)), "v");
  std::vector<write_series> in{many};
  out = decode_remote_write(encode_remote_write(in), {});
  ASSERT_FALSE(out);
  EXPECT_NE(describe(out.error()).message.find("128"), std::string::npos);

  std::vector<write_series> long_value = {
    {{{"__name__", "m"}, {"v", std::string(16 * 1024 + 1, 'x')}}, {{1, 1}}}};
  out = decode_remote_write(encode_remote_write(long_value), {});
  ASSERT_FALSE(out);
  EXPECT_EQ(describe(out.error()).code, errc::malformed);

  std::vector<write_series> dup = {
    {{{"__name__", "m"}, {"a", "1"}, {"a", "2"}}, {{1, 1}}}};
  out = decode_remote_write(encode_remote_write(dup), {});
  ASSERT_FALSE(out);
  EXPECT_NE(describe(out.error()).message.find("more than once"),
            std::string::npos);
}

TEST(remote_write, encoder_round_trips_through_the_decoder) {
  std::vector<write_series> in;
  for (int i = 0; i < 50; ++i)
    in.push_back({{{"__name__", "http_requests_total"},
                   {"job", "api"},
                   {"path", "/p\"" + std::to_string(i) + "\\\n"}},
                  {{i * 1.5, 1000 + i}, {-0.0, 5}}});
  auto out = decode_remote_write(encode_remote_write(in), {});
  ASSERT_TRUE(out) << why(out.error());
  ASSERT_EQ(out->size(), 1u);
  const auto& b = out->front();
  ASSERT_EQ(b.samples.size(), 100u);
  EXPECT_EQ(b.text(b.samples[0]),
            "http_requests_total{job=\"api\",path=\"/p\\\"0\\\\\\n\"}");
  EXPECT_EQ(b.samples[0].ts_ms, 1000);
  EXPECT_EQ(b.samples[1].ts_ms, 5);
  EXPECT_TRUE(std::signbit(b.samples[1].value));
  EXPECT_EQ(b.samples[2].value, 1.5);
  // Both samples of a series share one text.
  EXPECT_EQ(b.samples[0].text_offset, b.samples[1].text_offset);
}

TEST(remote_write, a_failed_decode_reports_no_stats) {
  decode_stats stats;
  stats.samples = 7;
  auto out = decode_remote_write(std::string_view{"\x0a\x05\x0a", 3}, {},
                                 &stats);
  ASSERT_FALSE(out);
  EXPECT_EQ(stats.samples, 7u);
}

TEST(remote_write, more_samples_than_max_items_is_too_large) {
  write_series s{{{"__name__", "m"}}, {}};
  for (int i = 0; i < 11; ++i)
    s.samples.emplace_back(1.0, i);
  std::vector<write_series> in{s};
  decode_options opts;
  opts.max_items = 10;
  auto out = decode_remote_write(encode_remote_write(in), opts);
  ASSERT_FALSE(out);
  EXPECT_EQ(describe(out.error()).code, errc::too_large);
  opts.max_items = 11;
  EXPECT_TRUE(decode_remote_write(encode_remote_write(in), opts));
}

TEST(remote_write, wrong_wire_types_and_groups_are_malformed_with_a_byte) {
  // timeseries (field 1) as a varint.
  auto out = decode_remote_write(std::string_view{"\x08\x01", 2}, {});
  ASSERT_FALSE(out);
  EXPECT_NE(describe(out.error()).where.find("byte 0"), std::string::npos);
  // A start-group key at top level.
  out = decode_remote_write(std::string_view{"\x13", 1}, {});
  ASSERT_FALSE(out);
  EXPECT_EQ(describe(out.error()).code, errc::malformed);
  // Unknown fields of every wire type are skipped.
  std::string unknown;
  unknown += "\x48\x05";                       // field 9 varint
  unknown += "\x51" + std::string(8, '\0');    // field 10 fixed64
  unknown += "\x5a\x02zz";                      // field 11 bytes
  unknown += "\x65" + std::string(4, '\0');    // field 12 fixed32
  out = decode_remote_write(unknown, {});
  ASSERT_TRUE(out) << why(out.error());
  EXPECT_TRUE(out->empty());
}

} // namespace

namespace {

TEST(remote_write, timestamps_outside_1970_to_9999_are_malformed) {
  for (int64_t bad : {int64_t{-5}, std::numeric_limits<int64_t>::min(),
                      int64_t{253'402'300'800'000}}) {
    prometheus::WriteRequest req;
    auto* ts = req.add_timeseries();
    auto* l = ts->add_labels();
    l->set_name("__name__");
    l->set_value("m");
    auto* ok = ts->add_samples();
    ok->set_value(1);
    ok->set_timestamp(1000);
    auto* s = ts->add_samples();
    s->set_value(2);
    s->set_timestamp(bad);
    auto out = decode_remote_write(req.SerializeAsString(), {});
    ASSERT_FALSE(out) << bad;
    auto d = describe(out.error());
    EXPECT_EQ(d.code, errc::malformed);
    EXPECT_NE(d.message.find("outside 1970..9999"), std::string::npos)
      << d.message;
    EXPECT_NE(d.where.find("timeseries[0]"), std::string::npos) << d.where;
  }
}

} // namespace
