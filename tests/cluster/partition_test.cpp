// A network partition with a real network namespace: the control node runs
// alone in its own namespace, joined to the two others over a veth pair;
// cutting the link leaves it in the minority, where it stops acting, while
// the majority elects a new control node that may act. Healed, the old
// control node follows. Needs root (ip netns); skipped otherwise.

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>

#include <nlohmann/json.hpp>

#include "runtime/http/client.hpp"
#include "tests/cluster/views.hpp"
#include "tests/support/node/vigild.hpp"
#include "tests/support/process.hpp"
#include "tests/support/support.hpp"

using namespace std::chrono_literals;
using namespace vigil;
using json = nlohmann::json;

namespace {

constexpr const char* token = "partition-test-token-8f2c61d0";

bool sh(const std::string& command) {
  return test::run_command(command + " >/dev/null 2>&1").exit_code == 0;
}

// A namespace with one end of a veth pair; the other end stays here.
struct netns {
  std::string name;
  std::string host_if;
  std::string host_ip;
  std::string ns_ip;
  bool ok = false;

  netns() {
    auto id = std::to_string(::getpid() % 100000);
    auto net = std::to_string(::getpid() % 200 + 20);
    name = "vigil-p" + id;
    host_if = "vph" + id;
    host_ip = "10.213." + net + ".1";
    ns_ip = "10.213." + net + ".2";
    auto ns_if = "vpn" + id;
    ok = sh("ip netns add " + name)
         && sh("ip link add " + host_if + " type veth peer name " + ns_if)
         && sh("ip link set " + ns_if + " netns " + name)
         && sh("ip addr add " + host_ip + "/24 dev " + host_if)
         && sh("ip link set " + host_if + " up")
         && sh("ip netns exec " + name + " ip addr add " + ns_ip + "/24 dev "
               + ns_if)
         && sh("ip netns exec " + name + " ip link set " + ns_if + " up")
         && sh("ip netns exec " + name + " ip link set lo up");
  }
  ~netns() {
    sh("ip link del " + host_if);
    sh("ip netns del " + name);
  }
  bool cut() { return sh("ip link set " + host_if + " down"); }
  bool heal() {
    return sh("ip link set " + host_if + " up")
           && sh("ip addr replace " + host_ip + "/24 dev " + host_if);
  }
};

std::string data_dir(const std::string& dir) {
  std::filesystem::create_directories(dir);
  std::ofstream{dir + "/admin.token"} << token << "\n";
  ::chmod((dir + "/admin.token").c_str(), 0600);
  return dir;
}

// One vigild, optionally inside a namespace; its HTTP API at `host`.
struct node {
  std::unique_ptr<test::process> proc;
  std::string host;
  uint16_t http = 0;
  std::string cluster;
  std::string ns;

  node(const std::string& dir, const std::string& id, const std::string& ip,
       const std::string& ns, const std::string& join) {
    std::vector<std::string> argv;
    if (!ns.empty())
      argv = {"/usr/sbin/ip", "netns", "exec", ns};
    std::vector<std::string> own{std::string{VIGIL_BIN_DIR} + "/vigild",
                                 "--data-dir", dir, "--node-id", id,
                                 "--http", ip + ":0", "--cluster",
                                 ip + ":0"};
    argv.insert(argv.end(), own.begin(), own.end());
    if (!join.empty()) {
      argv.push_back("--join");
      argv.push_back(join);
    }
    host = ip;
    this->ns = ns;
    proc = std::make_unique<test::process>(argv, dir + ".stderr");
    if (auto line = proc->wait_for_line("vigild ready", 60s)) {
      auto h = test::ready_field(*line, "http");
      http = static_cast<uint16_t>(std::stoi(h.substr(h.rfind(':') + 1)));
      cluster = test::ready_field(*line, "cluster");
    }
  }

  json view() const {
    if (!ns.empty()) {
      // Asked from inside its namespace: the cut link does not matter.
      auto r = test::run_command("/usr/sbin/ip netns exec " + ns
                                 + " curl -s -m 3 -H 'Authorization: Bearer "
                                 + token + "' http://" + host + ":"
                                 + std::to_string(http) + "/api/v1/cluster");
      if (r.exit_code != 0)
        return json{};
      return json::parse(r.out, nullptr, false);
    }
    http::client c{host, http, 3s};
    auto r = c.send(http::verb::get, "/api/v1/cluster", {},
                    {{"Authorization", std::string{"Bearer "} + token}});
    if (!r || r->status != 200)
      return json{};
    return json::parse(r->body, nullptr, false);
  }
};


TEST(cluster_partition, the_minority_side_stops_acting_and_the_majority_takes_over) {
  if (::geteuid() != 0)
    GTEST_SKIP() << "needs root for ip netns";
  netns net;
  if (!net.ok)
    GTEST_SKIP() << "ip netns is not available here";
  test::temp_dir dir;
  // c first (the oldest: the control node), alone in the namespace.
  node c{data_dir(dir.str() + "/c"), "c", net.ns_ip, net.name, ""};
  ASSERT_NE(c.http, 0) << c.proc->stderr_text();
  node a{data_dir(dir.str() + "/a"), "a", net.host_ip, "", c.cluster};
  ASSERT_NE(a.http, 0) << a.proc->stderr_text();
  node b{data_dir(dir.str() + "/b"), "b", net.host_ip, "", c.cluster};
  ASSERT_NE(b.http, 0) << b.proc->stderr_text();
  ASSERT_TRUE(test::wait_until(
    [&] {
      for (auto* n : {&a, &b, &c}) {
        auto v = n->view();
        if (test::state_in(v, "a") != "up" || test::state_in(v, "b") != "up"
            || test::state_in(v, "c") != "up" || v["control_node"] != "c")
          return false;
      }
      return true;
    },
    15s))
    << c.view().dump(1);
  // Its lease comes with the members' first echoes of its heartbeats.
  EXPECT_TRUE(test::wait_until(
    [&] { return c.view()["may_act"].get<bool>(); }, 5s))
    << c.view().dump(1);
  // Cut: c is alone, a and b are the majority.
  ASSERT_TRUE(net.cut());
  ASSERT_TRUE(test::wait_until(
    [&] {
      auto va = a.view();
      auto vc = c.view();
      return test::state_in(va, "c") == "down" && va["control_node"] == "a"
             && va["may_act"] == true && vc.is_object()
             && vc["may_act"] == false;
    },
    15s))
    << "a: " << a.view().dump(1) << "\nc: " << c.view().dump(1);
  auto fence = c.view()["fence"].get<std::string>();
  EXPECT_NE(fence.find("majority"), std::string::npos) << fence;
  EXPECT_FALSE(b.view()["may_act"].get<bool>()) << "b follows a";
  // Healed: c learns it was declared down, rejoins and follows a.
  ASSERT_TRUE(net.heal());
  // While it heals, the two never both may act (sampled every poll).
  int both_may_act = 0;
  ASSERT_TRUE(test::wait_until(
    [&] {
      auto vc = c.view();
      auto va = a.view();
      if (vc.is_object() && va.is_object() && vc["may_act"] == true
          && va["may_act"] == true)
        ++both_may_act;
      return vc.is_object() && vc["control_node"] == "a"
             && test::state_in(va, "c") == "up";
    },
    20s, 50ms))
    << "c: " << c.view().dump(1) << "\n" << c.proc->stderr_text()
    << "\na: " << a.proc->stderr_text();
  EXPECT_EQ(both_may_act, 0);
  EXPECT_FALSE(c.view()["may_act"].get<bool>());
  EXPECT_TRUE(a.view()["may_act"].get<bool>());
}

} // namespace
