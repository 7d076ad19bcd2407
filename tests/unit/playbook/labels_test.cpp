// What a playbook sees of an incident's labels: those every series of the
// root-cause service shares, used by match.labels, {{labels.KEY}} and
// {{namespace}}.

#include <gtest/gtest.h>

#include "actors/playbook/engine.hpp"
#include "config/playbook.hpp"

using namespace vigil;
using namespace vigil::playbooks;

namespace {

incident_symptom symptom(std::string service, std::string series) {
  incident_symptom s;
  s.service = std::move(service);
  s.series = std::move(series);
  return s;
}

incident_view orders_incident() {
  incident_view inc;
  inc.id = 7;
  inc.type = "database_connection_exhaustion";
  inc.severity = 4;
  inc.symptoms = {
    symptom("orders-db",
            R"(db_pool_in_use{namespace="prod",pod="orders-db-0",team="payments"})"),
    symptom("orders-db",
            R"(db_pool_wait_ms{namespace="prod",pod="orders-db-1",team="payments"})"),
    symptom("orders-db",
            R"(PoolExhausted{namespace="prod",severity="critical",team="payments"})"),
    // Another service's labels are not orders-db's.
    symptom("checkout", R"(latency_ms{namespace="web",team="shop"})")};
  return inc;
}

} // namespace

TEST(incident_labels, are_the_labels_every_series_of_the_service_shares) {
  auto inc = orders_incident();
  auto labels = incident_labels(inc, "orders-db");
  EXPECT_EQ(labels, (std::map<std::string, std::string>{
                      {"namespace", "prod"}, {"team", "payments"}}));
  EXPECT_EQ(incident_labels(inc, "checkout"),
            (std::map<std::string, std::string>{{"namespace", "web"},
                                                {"team", "shop"}}));
  EXPECT_TRUE(incident_labels(inc, "nobody").empty());
}

TEST(incident_labels, give_the_namespace_and_label_variables_of_a_run) {
  auto inc = orders_incident();
  auto vars = run_variables(inc, "orders-db");
  EXPECT_EQ(vars["namespace"], "prod");
  EXPECT_EQ(vars["labels.team"], "payments");
  EXPECT_EQ(vars.count("labels.pod"), 0u);
  auto text = render_template("{{namespace}}/{{labels.team}}", vars);
  ASSERT_TRUE(text);
  EXPECT_EQ(*text, "prod/payments");
  // Without a namespace label the namespace is "default"; a label the
  // incident lacks is an error, never an empty value.
  incident_view bare;
  bare.symptoms = {symptom("x", "cpu{pod=\"x-1\"}")};
  auto plain = run_variables(bare, "x");
  EXPECT_EQ(plain["namespace"], "default");
  EXPECT_FALSE(render_template("{{labels.team}}", plain));
}

TEST(incident_labels, decide_whether_a_playbook_with_labels_matches) {
  playbook p;
  p.name = "payments-only";
  p.labels = {{"team", "payments"}};
  auto inc = orders_incident();
  EXPECT_TRUE(matches(p, inc.type, "orders-db", 4,
                      incident_labels(inc, "orders-db")));
  EXPECT_FALSE(matches(p, inc.type, "checkout", 4,
                       incident_labels(inc, "checkout")));
}
