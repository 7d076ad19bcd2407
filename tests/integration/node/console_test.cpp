// The `vigil` console against a real vigild over CAF: commands answer what
// the admin API answers, --json prints the API's JSON, a wrong token is
// refused (exit 1), usage errors exit 2, no node exits 3, the prompt reads
// commands from stdin, and `playbooks validate` needs no node.

#include <gtest/gtest.h>

#include <sys/wait.h>

#include <cstdio>
#include <fstream>

#include <nlohmann/json.hpp>

#include "tests/support/node/vigild.hpp"

using namespace vigil;
using json = nlohmann::json;

namespace {

test::run_result vigil_cli(const std::string& args, const std::string& input = {}) {
  std::string cmd = std::string(VIGIL_BIN_DIR) + "/vigil " + args
                    + " 2>/dev/null";
  if (!input.empty())
    cmd = "printf '" + input + "' | " + cmd;
  return test::run_command(cmd);
}

struct console : ::testing::Test {
  test::temp_dir dir;
  std::unique_ptr<test::vigild> node;
  std::string base;

  void SetUp() override {
    node = std::make_unique<test::vigild>(
      dir.str() + "/data",
      std::vector<std::string>{"--playbooks",
                               std::string{VIGIL_SOURCE_DIR}
                                 + "/config/playbooks"});
    ASSERT_TRUE(node->ready()) << node->proc().stderr_text();
    base = "--node 127.0.0.1:" + std::to_string(node->cluster_port())
           + " --token-file " + node->data_dir() + "/admin.token";
  }
};

TEST_F(console, commands_answer_what_the_admin_api_answers) {
  auto r = vigil_cli(base + " status");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(json::parse(r.out)["node"], node->node_id());
  r = vigil_cli(base + " --json playbooks");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  auto api = json::parse(node->get("/api/v1/playbooks")->body);
  EXPECT_EQ(json::parse(r.out), api);
  r = vigil_cli(base + " playbooks");
  ASSERT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("release-db-connections"), std::string::npos) << r.out;
  // A silence added from the console is in the API's list.
  r = vigil_cli(base + " silence add service=orders-db --for 1h --comment "
                       "upgrade");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  auto id = json::parse(r.out)["id"].get<std::string>();
  auto listed = node->get("/api/v1/silences")->body;
  EXPECT_NE(listed.find(id), std::string::npos) << listed;
  r = vigil_cli(base + " silence expire " + id);
  EXPECT_EQ(r.exit_code, 0);
  // The kill switch: thrown and released from the console, audited.
  r = vigil_cli(base + " --json kill-switch on");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(json::parse(r.out)["kill_switch"], true);
  r = vigil_cli(base + " --json kill-switch off");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(json::parse(r.out)["kill_switch"], false);
  EXPECT_EQ(vigil_cli(base + " kill-switch maybe").exit_code, 2);
  auto audit = node->get("/api/v1/audit?limit=50")->body;
  EXPECT_NE(audit.find("\"kill_switch\""), std::string::npos) << audit;
  r = vigil_cli(base + " --json audit verify");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_TRUE(json::parse(r.out)["ok"].get<bool>());
}

TEST_F(console, refusals_usage_errors_and_missing_nodes_have_their_exit_codes) {
  auto r = vigil_cli(base + " incident INC-000042");
  EXPECT_EQ(r.exit_code, 1);
  r = vigil_cli(base + " approve ACT-000001");
  EXPECT_EQ(r.exit_code, 1);
  // A person's token goes to the API in place of the admin token: this
  // node names no approvers, so it is refused there (401), not ignored.
  std::ofstream{dir.path() / "dave.token"} << "dave-token-9\n";
  r = vigil_cli(base + " --json --approver-token-file "
                + (dir.path() / "dave.token").string() + " approve ACT-000001");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("unauthorized"), std::string::npos) << r.out;
  r = vigil_cli(base + " --approver-token-file /nonexistent approve ACT-1");
  EXPECT_EQ(r.exit_code, 2);
  std::ofstream{dir.path() / "wrong.token"} << "not-the-token\n";
  r = vigil_cli("--node 127.0.0.1:" + std::to_string(node->cluster_port())
                + " --token-file " + (dir.path() / "wrong.token").string()
                + " incidents");
  EXPECT_EQ(r.exit_code, 1);
  r = vigil_cli(base + " frobnicate");
  EXPECT_EQ(r.exit_code, 2);
  r = vigil_cli(base + " silence add service=x --comment no-length");
  EXPECT_EQ(r.exit_code, 2);
  r = vigil_cli("--node 127.0.0.1:1 --token-file " + node->data_dir()
                + "/admin.token status");
  EXPECT_EQ(r.exit_code, 3);
}

TEST_F(console, the_prompt_reads_commands_until_quit) {
  auto r = vigil_cli(base, "incidents --all\\nstats\\nquit\\n");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("ID"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"mttr\""), std::string::npos) << r.out;
}

TEST(console_offline, playbooks_validate_needs_no_node) {
  auto r = vigil_cli("playbooks validate " + std::string{VIGIL_SOURCE_DIR}
                     + "/config/playbooks");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  test::temp_dir dir;
  std::ofstream{dir.path() / "bad.yaml"} << "name: x\nautonomy: 9\n";
  r = vigil_cli("playbooks validate " + dir.str());
  EXPECT_EQ(r.exit_code, 1);
}

} // namespace
