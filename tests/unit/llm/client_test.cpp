#include "actors/llm/client.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "messages/errc.hpp"

namespace vigil::llm {
namespace {

using json = nlohmann::json;

incident_view sample() {
  incident_view v;
  v.id = 7;
  v.title = "database_connection_exhaustion in orders-db (+1 service)";
  v.type = "database_connection_exhaustion";
  v.severity = 5;
  v.status = "open";
  v.services = {"checkout", "orders-db"};
  v.root_cause.candidates.push_back(
    {"orders-db", 0.91, {"deploy v2.14.0 10 min before onset"}, 1});
  v.root_cause.confidence_level = "high";
  v.timeline.push_back({1'700'000'000'000, "change", "orders-db",
                        "deploy of orders-db to v2.14.0"});
  v.timeline.push_back({1'700'000'600'000, "metric_anomaly", "orders-db",
                        "db_connections_in_use anomalous"});
  return v;
}

TEST(llm_prompt, carries_the_evidence_and_asks_for_citations) {
  auto p = make_prompt(sample(), {"checkout->orders-db"});
  EXPECT_NE(p.system.find("cite"), std::string::npos);
  EXPECT_NE(p.system.find("say so instead of guessing"), std::string::npos);
  for (auto part : {"INC-000007", "severity 5", "checkout, orders-db",
                    "orders-db score 0.91; deploy v2.14.0 10 min before "
                    "onset",
                    "checkout->orders-db", "1700000000 change orders-db: "
                    "deploy of orders-db to v2.14.0"})
    EXPECT_NE(p.user.find(part), std::string::npos) << part << "\n" << p.user;
}

TEST(llm_request, openai_and_anthropic_requests_have_their_shapes) {
  llm_options o;
  o.provider = "openai";
  o.endpoint = "http://127.0.0.1:1/v1/chat/completions";
  o.model = "gpt-x";
  o.max_tokens = 300;
  auto r = make_request(o, "k1", make_prompt(sample(), {}));
  EXPECT_EQ(r.url, o.endpoint);
  auto has = [&](std::string k, std::string v) {
    for (auto& h : r.headers)
      if (h.first == k && h.second == v)
        return true;
    return false;
  };
  EXPECT_TRUE(has("Authorization", "Bearer k1"));
  auto j = json::parse(r.body);
  EXPECT_EQ(j["model"], "gpt-x");
  EXPECT_EQ(j["max_tokens"], 300);
  ASSERT_EQ(j["messages"].size(), 2u);
  EXPECT_EQ(j["messages"][0]["role"], "system");
  EXPECT_EQ(j["messages"][1]["role"], "user");
  o.provider = "anthropic";
  r = make_request(o, "k2", make_prompt(sample(), {}));
  EXPECT_TRUE(has("x-api-key", "k2"));
  EXPECT_TRUE(has("anthropic-version", "2023-06-01"));
  j = json::parse(r.body);
  EXPECT_TRUE(j["system"].is_string());
  ASSERT_EQ(j["messages"].size(), 1u);
  EXPECT_EQ(j["messages"][0]["role"], "user");
  EXPECT_EQ(j["max_tokens"], 300);
}

TEST(llm_answer, reads_both_formats_and_reports_errors) {
  llm_options o;
  o.provider = "openai";
  auto a = read_answer(
    o, R"({"choices":[{"message":{"role":"assistant","content":" Pool full. "}}]})");
  ASSERT_TRUE(a);
  EXPECT_EQ(*a, "Pool full.");
  EXPECT_FALSE(read_answer(o, R"({"choices":[]})"));
  auto e = read_answer(o, R"({"error":{"message":"quota exceeded"}})");
  ASSERT_FALSE(e);
  EXPECT_NE(render(e.error()).find("quota exceeded"), std::string::npos);
  EXPECT_FALSE(read_answer(o, "not json"));
  o.provider = "anthropic";
  a = read_answer(o, R"({"content":[{"type":"text","text":"Pool "},)"
                     R"({"type":"text","text":"full."}]})");
  ASSERT_TRUE(a);
  EXPECT_EQ(*a, "Pool full.");
  EXPECT_FALSE(read_answer(o, R"({"content":[{"type":"text","text":"  "}]})"));
}

TEST(llm_key, comes_from_a_file_or_the_environment) {
  llm_options o;
  EXPECT_FALSE(api_key(o));
  setenv("VIGIL_TEST_LLM_KEY", " sk-123 \n", 1);
  o.api_key_env = "VIGIL_TEST_LLM_KEY";
  auto k = api_key(o);
  ASSERT_TRUE(k);
  EXPECT_EQ(*k, "sk-123");
  o.api_key_file = "/nonexistent/key";
  EXPECT_FALSE(api_key(o));
}

} // namespace
} // namespace vigil::llm
