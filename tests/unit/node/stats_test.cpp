#include "tools/node/stats.hpp"

#include <gtest/gtest.h>

namespace vigil::node {
namespace {

// As the correlator keeps them: dated by the first symptom's onset
// (opened), opened by evidence at `detected_s`.
incident_view make(uint64_t id, std::string cause, int64_t first_s,
                   int64_t detected_s, int64_t resolved_s) {
  incident_view v;
  v.id = id;
  v.opened_ms = first_s * 1000;
  v.detected_ms = detected_s * 1000;
  v.resolved_ms = resolved_s * 1000;
  v.status = resolved_s ? "resolved" : "open";
  v.services = {cause, "checkout"};
  incident_symptom s;
  s.service = cause;
  s.first_ms = first_s * 1000;
  v.symptoms.push_back(s);
  v.root_cause.candidates.push_back({cause, 0.9, {}, 1});
  v.root_cause.confidence_level = "high";
  return v;
}

TEST(stats, mttd_mtta_mttr_per_service_and_playbook_success) {
  auto a = make(1, "orders-db", 100, 130, 1930);
  a.timeline.push_back({160'000, "action", "orders-db",
                        "ACT-000001 pb/step (shell): running"});
  a.timeline.push_back({1900'000, "action", "orders-db",
                        "recovery verified after playbook pb"});
  action_view act;
  act.playbook = "pb";
  a.actions = {act, act};
  auto b = make(2, "orders-db", 1000, 1010, 0);
  b.timeline.push_back({1100'000, "status", "", "acknowledged by alice"});
  b.actions = {act};
  auto c = make(3, "cache", 500, 560, 620);
  auto merged = make(4, "cache", 0, 0, 0);
  merged.merged_into = 3;
  auto doc = incident_stats({a, b, c, merged});
  auto& all = doc["overall"];
  EXPECT_EQ(all["incidents"], 3);
  EXPECT_EQ(all["open"], 1);
  // MTTD: 30, 10, 60 s.
  EXPECT_EQ(all["mttd"]["count"], 3);
  EXPECT_DOUBLE_EQ(all["mttd"]["mean_s"].get<double>(), 100.0 / 3);
  EXPECT_DOUBLE_EQ(all["mttd"]["max_s"].get<double>(), 60);
  // MTTA: 30 s (a step started) and 90 s (acknowledged); c had no response.
  EXPECT_EQ(all["mtta"]["count"], 2);
  EXPECT_DOUBLE_EQ(all["mtta"]["mean_s"].get<double>(), 60);
  // MTTR, from the first symptom: 1830 s and 120 s; b is still open.
  EXPECT_EQ(all["mttr"]["count"], 2);
  EXPECT_DOUBLE_EQ(all["mttr"]["mean_s"].get<double>(), 975);
  auto& db = doc["services"]["orders-db"];
  EXPECT_EQ(db["incidents"], 2);
  EXPECT_EQ(db["mttr"]["count"], 1);
  EXPECT_EQ(doc["services"]["cache"]["incidents"], 1);
  // pb ran for two incidents, one verified.
  EXPECT_EQ(doc["playbooks"]["pb"]["runs"], 2);
  EXPECT_EQ(doc["playbooks"]["pb"]["verified"], 1);
  EXPECT_DOUBLE_EQ(doc["playbooks"]["pb"]["success_rate"].get<double>(), 0.5);
}

TEST(stats, an_incident_stored_without_its_detection_time_counts_from_opening) {
  auto old = make(1, "orders-db", 100, 0, 400);
  old.timeline.push_back({130'000, "status", "", "acknowledged by bob"});
  auto doc = incident_stats({old});
  EXPECT_DOUBLE_EQ(doc["overall"]["mttd"]["max_s"].get<double>(), 0);
  EXPECT_DOUBLE_EQ(doc["overall"]["mtta"]["max_s"].get<double>(), 30);
  EXPECT_DOUBLE_EQ(doc["overall"]["mttr"]["max_s"].get<double>(), 300);
}

TEST(stats, no_incidents_gives_empty_figures_not_zeros) {
  auto doc = incident_stats({});
  EXPECT_EQ(doc["overall"]["incidents"], 0);
  EXPECT_TRUE(doc["overall"]["mttr"]["mean_s"].is_null());
  EXPECT_TRUE(doc["services"].empty());
}

} // namespace
} // namespace vigil::node
