// Every rejection class of CONTRACT §3 against a real vigild: a clear error
// naming what and where, counted by endpoint and reason, and no state change.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "runtime/codec/compression.hpp"
#include "runtime/codec/remote_write.hpp"
#include "tests/support/node/replay.hpp"

using namespace std::chrono_literals;
using namespace vigil;
using json = nlohmann::json;

namespace {

constexpr const char* sample_line
  = "{\"service\":\"checkout\",\"metric\":\"m\",\"value\":1,\"ts\":1}\n";

struct bad_input : ::testing::Test {
  test::temp_dir dir;
  std::unique_ptr<test::vigild> node;

  void start(std::string config = {}) {
    node = std::make_unique<test::vigild>(dir.str() + "/data",
                                          std::vector<std::string>{}, config);
    ASSERT_TRUE(node->ready()) << node->proc().stderr_text();
  }

  // The error body names what is wrong (error) and where (detail).
  static json error_of(const http::client_response& r) {
    auto j = json::parse(r.body, nullptr, false);
    EXPECT_TRUE(j.is_object()) << r.body;
    EXPECT_TRUE(j.contains("error")) << r.body;
    EXPECT_TRUE(j.contains("detail")) << r.body;
    return j;
  }

  double rejected(const std::string& endpoint, const std::string& reason) {
    return test::scrape(*node, "vigil_ingest_rejected_total{endpoint=\""
                                 + endpoint + "\",reason=\"" + reason + "\"}");
  }

  size_t service_count() {
    auto r = node->get("/api/v1/services");
    return r ? json::parse(r->body)["count"].get<size_t>() : 999;
  }
};

TEST_F(bad_input, malformed_bodies_get_400_naming_the_place) {
  start();
  auto rw = test::read_fixture("remote_write_02_node_exporter.bin");
  auto proto = codec::snappy_uncompress(rw, 1 << 30);
  ASSERT_TRUE(proto);
  // A truncated protobuf (valid snappy around it).
  auto truncated = codec::snappy_compress(proto->substr(0, proto->size() / 2));
  auto r = node->post("/api/v1/write", truncated, "application/x-protobuf",
                      {{"Content-Encoding", "snappy"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400u);
  auto e = error_of(*r);
  EXPECT_NE(e["detail"].get<std::string>().find("timeseries"),
            std::string::npos)
    << r->body;
  // Garbage that is not snappy at all.
  r = node->post("/api/v1/write", std::string(100, '\xff'),
                 "application/x-protobuf", {{"Content-Encoding", "snappy"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400u);
  // A bad NDJSON line is named by number; the good line before it is not
  // applied either.
  r = node->post("/api/v1/samples",
                 std::string{sample_line}
                   + "{\"service\":\"checkout\",\"metric\":\"m\",\"value\":"
                     "\"high\",\"ts\":2}\n",
                 "application/x-ndjson");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400u);
  e = error_of(*r);
  EXPECT_NE(r->body.find("line 2"), std::string::npos) << r->body;
  EXPECT_NE(r->body.find("value"), std::string::npos) << r->body;
  // Broken JSON for the webhook and OTLP/JSON.
  r = node->post("/api/v1/alerts/alertmanager", "{\"version\":\"4\",",
                 "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400u);
  r = node->post("/v1/traces", "{\"resourceSpans\":[{]}", "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400u);
  r = node->post("/api/v1/topology", "{\"edges\":[{\"caller\":\"a\"}]}",
                 "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400u);
  EXPECT_EQ(rejected("remote_write", "malformed"), 2);
  EXPECT_EQ(rejected("samples", "malformed"), 1);
  EXPECT_EQ(rejected("alertmanager", "malformed"), 1);
  EXPECT_EQ(rejected("otlp_traces", "malformed"), 1);
  EXPECT_EQ(rejected("topology", "malformed"), 1);
  EXPECT_EQ(service_count(), 0u) << "a rejected request changes no state";
}

TEST_F(bad_input, truncated_fixture_bodies_never_half_apply) {
  start();
  auto body = test::read_fixture("otlp_metrics_01.bin");
  for (size_t cut : {size_t{1}, body.size() / 3, body.size() - 1}) {
    auto r = node->post("/v1/metrics", body.substr(0, cut),
                        "application/x-protobuf");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400u) << "cut at " << cut << ": " << r->body;
  }
  EXPECT_EQ(service_count(), 0u);
  // The node is unharmed and takes the whole body afterwards.
  auto r = node->post("/v1/metrics", body, "application/x-protobuf");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200u);
}

TEST_F(bad_input, unknown_content_types_and_encodings_get_415) {
  start();
  auto rw = test::read_fixture("remote_write_02_node_exporter.bin");
  auto r = node->post("/api/v1/write", rw, "application/json",
                      {{"Content-Encoding", "snappy"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 415u);
  EXPECT_NE(r->body.find("application/x-protobuf"), std::string::npos);
  r = node->post("/api/v1/write", rw, "application/x-protobuf");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 415u) << "remote write without snappy";
  r = node->post("/v1/metrics", "x", "text/xml");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 415u);
  r = node->post("/v1/metrics", "x", "application/x-protobuf",
                 {{"Content-Encoding", "br"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 415u);
  r = node->post("/api/v1/samples", sample_line,
                 "application/x-www-form-urlencoded");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 415u);
  EXPECT_EQ(rejected("remote_write", "unsupported_media_type"), 2);
  EXPECT_EQ(rejected("otlp_metrics", "unsupported_media_type"), 2);
  EXPECT_EQ(rejected("samples", "unsupported_media_type"), 1);
  EXPECT_EQ(service_count(), 0u);
}

TEST_F(bad_input, oversized_bodies_and_decompression_bombs_get_413) {
  start("ingest:\n  max_body_bytes: 64KiB\n  max_decoded_bytes: 1MiB\n");
  // Too large as sent: refused from the Content-Length, before the body.
  auto r = node->post("/api/v1/samples", std::string(100 * 1024, ' '),
                      "application/x-ndjson");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413u);
  // Too large once de-chunked.
  auto c = node->client();
  r = c.send_chunked(http::verb::post, "/api/v1/samples",
                     std::string(100 * 1024, ' '), 4096,
                     {{"Content-Type", "application/x-ndjson"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413u);
  // A snappy bomb: a few bytes declaring a 1 GiB output.
  std::string bomb = "\x80\x80\x80\x80\x04";
  bomb += std::string(16, '\0');
  auto rw = node->post("/api/v1/write", bomb, "application/x-protobuf",
                       {{"Content-Encoding", "snappy"}});
  ASSERT_TRUE(rw);
  EXPECT_EQ(rw->status, 413u) << rw->body;
  // A gzip bomb: 20 MiB of zeros squeezed into ~20 KiB.
  auto gz = codec::gzip_compress(std::string(20 << 20, '\0'));
  ASSERT_LT(gz.size(), 64u * 1024);
  auto g = node->post("/v1/metrics", gz, "application/x-protobuf",
                      {{"Content-Encoding", "gzip"}});
  ASSERT_TRUE(g);
  EXPECT_EQ(g->status, 413u) << g->body;
  EXPECT_EQ(rejected("samples", "too_large"), 2);
  EXPECT_EQ(rejected("remote_write", "too_large"), 1);
  EXPECT_EQ(rejected("otlp_metrics", "too_large"), 1);
  EXPECT_EQ(service_count(), 0u);
}

TEST_F(bad_input, full_queues_get_503_with_retry_after_and_apply_nothing) {
  // A queue of 5 items per shard: a 6-sample request can never fit.
  start("ingest:\n  max_queued_samples: 10\n"
        "  max_queued_samples_per_shard: 5\n  retry_after: 7s\n");
  std::string body;
  for (int i = 0; i < 6; ++i)
    body += "{\"service\":\"checkout\",\"metric\":\"m\",\"value\":1,\"ts\":"
            + std::to_string(i + 1) + "}\n";
  auto r = node->post("/api/v1/samples", body, "application/x-ndjson");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503u);
  EXPECT_EQ(r->header("Retry-After"), "7");
  EXPECT_NE(r->body.find("queue"), std::string::npos) << r->body;
  EXPECT_EQ(rejected("samples", "overloaded"), 1);
  EXPECT_EQ(service_count(), 0u);
  // Something that fits goes through.
  r = node->post("/api/v1/samples", sample_line, "application/x-ndjson");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200u);
}

TEST_F(bad_input, a_rate_limit_answers_429_with_retry_after) {
  start("ingest:\n  rate_limit: 3\n  rate_burst: 3\n");
  std::string four;
  for (int i = 0; i < 4; ++i)
    four += sample_line;
  auto r = node->post("/api/v1/samples", four, "application/x-ndjson");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 429u);
  EXPECT_FALSE(r->header("Retry-After").empty());
  EXPECT_EQ(rejected("samples", "rate_limited"), 1);
}

TEST_F(bad_input, garbage_http_and_unknown_paths_do_not_hurt_the_node) {
  start();
  auto c = node->client();
  auto raw = c.send_raw("GARBAGE\r\n\r\n");
  ASSERT_TRUE(raw);
  EXPECT_NE(raw->find("400"), std::string::npos) << *raw;
  raw = c.send_raw(std::string(200000, 'A'));
  ASSERT_TRUE(raw);
  auto r = c.send(http::verb::get, "/api/v1/nothing");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404u);
  r = c.send(http::verb::get, "/api/v1/write");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 405u);
  // Still serving.
  r = node->post("/api/v1/samples", sample_line, "application/x-ndjson");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200u);
}

} // namespace

namespace {

TEST_F(bad_input, a_service_name_with_a_control_character_is_refused) {
  start();
  auto r = node->post("/api/v1/samples",
                      "{\"service\":\"cart\\u001flogs\",\"metric\":\"m\","
                      "\"value\":1,\"ts\":1700000000}\n",
                      "application/x-ndjson");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400u) << r->body;
  auto j = error_of(*r);
  EXPECT_NE(j["error"].get<std::string>().find("control character"),
            std::string::npos)
    << r->body;
  EXPECT_EQ(service_count(), 0u);
}

} // namespace
