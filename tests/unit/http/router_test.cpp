#include <stdexcept>

#include <gtest/gtest.h>

#include "runtime/http/router.hpp"

namespace {

using namespace vigil::http;
// Not POSIX access(2).
using vigil::http::access;
using kind = route_match::kind;

handler named(std::string name) {
  return [name](request&, responder respond) {
    response r;
    r.body = name;
    respond(std::move(r));
  };
}

// Returns the body the matched handler answers, to tell routes apart.
std::string run(const route_match& m) {
  if (m.result != kind::found)
    return "<none>";
  std::string body;
  request req;
  (*m.fn)(req, [&](response r) { body = r.body; });
  return body;
}

TEST(http_router, matches_literal_and_parameter_segments) {
  router r;
  r.add(verb::get, "/api/v1/incidents", {"incidents"}, named("list"));
  r.add(verb::get, "/api/v1/incidents/{id}", {"incident"}, named("one"));
  r.add(verb::post, "/api/v1/incidents/{id}/ack", {"ack"}, named("ack"));
  EXPECT_EQ(r.size(), 3u);
  auto m = r.match(verb::get, "/api/v1/incidents/INC-42");
  ASSERT_EQ(m.result, kind::found);
  EXPECT_EQ(run(m), "one");
  EXPECT_EQ(m.options->endpoint, "incident");
  EXPECT_EQ(m.params.at("id"), "INC-42");
  m = r.match(verb::post, "/api/v1/incidents/7/ack");
  EXPECT_EQ(run(m), "ack");
  EXPECT_EQ(m.params.at("id"), "7");
  EXPECT_EQ(run(r.match(verb::get, "/api/v1/incidents")), "list");
  EXPECT_EQ(r.match(verb::get, "/api/v1/incidents/7/ack/x").result,
            kind::not_found);
  EXPECT_EQ(r.match(verb::get, "/api/v1").result, kind::not_found);
  EXPECT_EQ(r.match(verb::get, "/").result, kind::not_found);
}

TEST(http_router, prefers_literal_segments_over_parameters) {
  router r;
  r.add(verb::get, "/a/{x}/c", {}, named("param-first"));
  r.add(verb::get, "/a/b/{y}", {}, named("literal-first"));
  r.add(verb::get, "/a/{x}/{y}", {}, named("both-params"));
  EXPECT_EQ(run(r.match(verb::get, "/a/b/c")), "literal-first");
  EXPECT_EQ(run(r.match(verb::get, "/a/z/c")), "param-first");
  EXPECT_EQ(run(r.match(verb::get, "/a/z/q")), "both-params");
}

TEST(http_router, reports_the_methods_a_known_path_allows) {
  router r;
  r.add(verb::get, "/api/v1/silences", {}, named("list"));
  r.add(verb::post, "/api/v1/silences", {}, named("add"));
  r.add(verb::delete_, "/api/v1/silences/{id}", {}, named("expire"));
  auto m = r.match(verb::put, "/api/v1/silences");
  ASSERT_EQ(m.result, kind::method_not_allowed);
  EXPECT_EQ(m.allowed, (std::vector<verb>{verb::get, verb::post}));
  EXPECT_EQ(m.fn, nullptr);
  m = r.match(verb::get, "/api/v1/silences/3");
  ASSERT_EQ(m.result, kind::method_not_allowed);
  EXPECT_EQ(m.allowed, (std::vector<verb>{verb::delete_}));
  EXPECT_EQ(r.match(verb::unknown, "/api/v1/silences").result,
            kind::method_not_allowed);
}

TEST(http_router, decodes_parameters_but_keeps_encoded_slashes_in_a_segment) {
  router r;
  r.add(verb::get, "/services/{name}", {}, named("svc"));
  auto m = r.match(verb::get, "/services/orders%2Fdb%20eu");
  ASSERT_EQ(m.result, kind::found);
  EXPECT_EQ(m.params.at("name"), "orders/db eu");
  EXPECT_EQ(r.match(verb::get, "/services/orders/db").result, kind::not_found);
  // Encoded literal segments match their decoded text.
  EXPECT_EQ(r.match(verb::get, "/servic%65s/x").result, kind::found);
}

TEST(http_router, treats_a_trailing_slash_as_significant) {
  router r;
  r.add(verb::get, "/healthz", {}, named("h"));
  r.add(verb::get, "/", {}, named("root"));
  EXPECT_EQ(run(r.match(verb::get, "/healthz")), "h");
  EXPECT_EQ(r.match(verb::get, "/healthz/").result, kind::not_found);
  EXPECT_EQ(run(r.match(verb::get, "/")), "root");
}

TEST(http_router, uses_the_pattern_as_endpoint_label_when_none_is_given) {
  router r;
  r.add(verb::get, "/metrics", {}, named("m"));
  r.add(verb::post, "/api/v1/write",
        {"remote_write", access::ingest, 16u << 20}, named("w"));
  EXPECT_EQ(r.match(verb::get, "/metrics").options->endpoint, "/metrics");
  auto m = r.match(verb::post, "/api/v1/write");
  EXPECT_EQ(m.options->endpoint, "remote_write");
  EXPECT_EQ(m.options->who, access::ingest);
  EXPECT_EQ(m.options->max_body_bytes, 16u << 20);
}

TEST(http_router, rejects_malformed_patterns_and_duplicates) {
  router r;
  r.add(verb::get, "/a/{id}", {}, named("a"));
  EXPECT_THROW(r.add(verb::get, "/a/{other}", {}, named("dup")),
               std::invalid_argument);
  EXPECT_NO_THROW(r.add(verb::post, "/a/{other}", {}, named("post")));
  EXPECT_THROW(r.add(verb::get, "a/b", {}, named("x")), std::invalid_argument);
  EXPECT_THROW(r.add(verb::get, "", {}, named("x")), std::invalid_argument);
  EXPECT_THROW(r.add(verb::get, "/b/{}", {}, named("x")),
               std::invalid_argument);
  EXPECT_THROW(r.add(verb::get, "/b/x{id}", {}, named("x")),
               std::invalid_argument);
  EXPECT_THROW(r.add(verb::get, "/b/{id}/{id}", {}, named("x")),
               std::invalid_argument);
  EXPECT_THROW(r.add(verb::get, "/b?x=1", {}, named("x")),
               std::invalid_argument);
  EXPECT_THROW(r.add(verb::unknown, "/b", {}, named("x")),
               std::invalid_argument);
  EXPECT_THROW(r.add(verb::get, "/b", {}, handler{}), std::invalid_argument);
  EXPECT_EQ(r.size(), 2u);
}

} // namespace
