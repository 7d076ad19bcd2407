// vigil: the admin console (CONTRACT §4). Talks to a node's admin actor over
// CAF (the node's cluster port); every command is one admin API call that
// the node answers with its own HTTP API code, so the console shows what
// the API shows. With no command it opens a prompt with history and
// completion (libedit). Exit: 0 ok, 1 refused, 2 usage, 3 no node.

#include <editline/readline.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <map>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>
#include <caf/openssl/remote_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <nlohmann/json.hpp>

#include "cluster/bootstrap.hpp"
#include "config/playbook.hpp"
#include "config/units.hpp"
#include "messages/messages.hpp"

using json = nlohmann::json;

namespace {

constexpr int exit_ok = 0;
constexpr int exit_refused = 1;
constexpr int exit_usage = 2;
constexpr int exit_no_node = 3;

const char* usage_text
  = "usage: vigil [--node HOST:PORT] [--token-file FILE] [--json]\n"
    "             [--approver-token-file FILE]\n"
    "             [--tls-certificate F --tls-key F --tls-ca F] [COMMAND ...]\n"
    "commands: status, nodes, shards, anomalies, incidents [--all], "
    "incident ID,\n"
    "  ack ID [--comment T], resolve ID [--comment T], approvals,\n"
    "  approve ID [--comment T], deny ID [--comment T], silences,\n"
    "  silence add MATCHER... --for DURATION --comment T, silence expire ID,\n"
    "  playbooks, playbooks reload, playbooks validate DIR, topology,\n"
    "  audit [--tail N], audit verify, stats, kill-switch on|off\n";

const std::vector<std::string> command_words
  = {"status",    "nodes",   "shards",   "anomalies", "incidents",
     "incident",  "ack",     "resolve",  "approvals", "approve",
     "deny",      "silences", "silence", "playbooks", "topology",
     "audit",     "stats",   "kill-switch", "help",  "quit"};

struct session {
  caf::actor_system* sys = nullptr;
  vigil::admin_actor admin;
  std::string token;
  /// The person's own token for approve/deny (remediation.approvers).
  std::string approver_token;
  bool as_json = false;
};

std::string user_name() {
  const char* u = std::getenv("USER");
  return u && *u ? std::string{u} : std::string{"console"};
}

// Takes "--name VALUE" out of args; empty when absent.
std::optional<std::string> take_option(std::vector<std::string>& args,
                                       const std::string& name) {
  for (size_t i = 0; i < args.size(); ++i)
    if (args[i] == name) {
      if (i + 1 >= args.size())
        return std::string{};
      auto v = args[i + 1];
      args.erase(args.begin() + static_cast<long>(i),
                 args.begin() + static_cast<long>(i) + 2);
      return v;
    }
  return std::nullopt;
}

bool take_flag(std::vector<std::string>& args, const std::string& name) {
  for (size_t i = 0; i < args.size(); ++i)
    if (args[i] == name) {
      args.erase(args.begin() + static_cast<long>(i));
      return true;
    }
  return false;
}

// One admin API call through the node's admin actor; nullopt when no node
// answered.
std::optional<vigil::console_reply> call(session& s, std::string method,
                                         std::string target,
                                         std::string body = {},
                                         std::string as_token = {}) {
  caf::scoped_actor self{*s.sys};
  std::optional<vigil::console_reply> out;
  self
    ->request(s.admin, std::chrono::seconds{30}, vigil::atom::console_v,
              vigil::console_request{s.token, std::move(method),
                                     std::move(target), std::move(body),
                                     std::move(as_token)})
    .receive([&](vigil::console_reply& r) { out = std::move(r); },
             [&](caf::error& err) {
               std::cerr << "vigil: the node did not answer: "
                         << vigil::render(err) << "\n";
             });
  return out;
}

std::string fmt_time(const json& ts) {
  if (!ts.is_number())
    return "-";
  std::time_t t = static_cast<std::time_t>(ts.get<double>());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

// Prints a reply the human way for the commands that have one.
void print_human(const std::string& cmd, const json& j) {
  if (cmd == "nodes") {
    std::printf("%-20s %-9s %-22s %-22s %-6s %s\n", "NODE", "STATE",
                "CLUSTER", "HTTP", "SHARDS", "LAST HEARTBEAT");
    for (auto& x : j["nodes"])
      std::printf("%-20s %-9s %-22s %-22s %-6u %s%s\n",
                  x["id"].get<std::string>().c_str(),
                  x["state"].get<std::string>().c_str(),
                  x["address"].get<std::string>().c_str(),
                  x["http"].get<std::string>().c_str(),
                  x["shards"].get<unsigned>(),
                  fmt_time(x["last_heartbeat"]).c_str(),
                  x["control"].get<bool>() ? "  (control node)" : "");
    return;
  }
  if (cmd == "shards") {
    std::map<std::string, std::vector<size_t>> by_owner;
    for (auto& x : j["shards"])
      by_owner[x["owner"].is_null() ? std::string{"(none)"}
                                    : x["owner"].get<std::string>()]
        .push_back(x["shard"].get<size_t>());
    for (auto& [owner, ids] : by_owner)
      std::printf("%-20s %zu shards\n", owner.c_str(), ids.size());
    return;
  }
  if (cmd == "incidents") {
    std::printf("%-11s %-13s %-3s %-32s %s\n", "ID", "STATUS", "SEV", "TYPE",
                "TITLE");
    for (auto& x : j["incidents"])
      std::printf("%-11s %-13s %-3d %-32s %s\n",
                  x["id"].get<std::string>().c_str(),
                  x["status"].get<std::string>().c_str(),
                  x["severity"].get<int>(), x["type"].get<std::string>().c_str(),
                  x["title"].get<std::string>().c_str());
    return;
  }
  if (cmd == "incident") {
    std::printf("%s  %s  severity %d  %s\n", j["id"].get<std::string>().c_str(),
                j["status"].get<std::string>().c_str(), j["severity"].get<int>(),
                j["title"].get<std::string>().c_str());
    std::printf("began %s, opened %s\n%s\n",
                fmt_time(j["opened_at"]).c_str(),
                fmt_time(j.value("detected_at", json())).c_str(),
                j["summary"].get<std::string>().c_str());
    if (!j["root_cause"].is_null())
      for (auto& c : j["root_cause"]["candidates"])
        std::printf("  cause? %-20s %.2f  %s\n",
                    c["service"].get<std::string>().c_str(),
                    c["score"].get<double>(),
                    c["evidence"].empty()
                      ? ""
                      : c["evidence"][0].get<std::string>().c_str());
    for (auto& a : j["actions"])
      std::printf("  %s %s/%s %s %s\n", a["id"].get<std::string>().c_str(),
                  a["playbook"].get<std::string>().c_str(),
                  a["step"].get<std::string>().c_str(),
                  a["action"].get<std::string>().c_str(),
                  a["status"].get<std::string>().c_str());
    for (auto& e : j["timeline"])
      std::printf("  %s  %-14s %s\n", fmt_time(e["ts"]).c_str(),
                  e["kind"].get<std::string>().c_str(),
                  e["text"].get<std::string>().c_str());
    return;
  }
  if (cmd == "approvals") {
    for (auto& a : j["approvals"])
      std::printf("%s  %s  %s/%s (%s) on %s\n",
                  a["id"].get<std::string>().c_str(),
                  a["incident"].get<std::string>().c_str(),
                  a["playbook"].get<std::string>().c_str(),
                  a["step"].get<std::string>().c_str(),
                  a["action"].get<std::string>().c_str(),
                  a["service"].get<std::string>().c_str());
    if (j["approvals"].empty())
      std::printf("no pending approvals\n");
    return;
  }
  if (cmd == "playbooks" && j.contains("playbooks")) {
    for (auto& p : j["playbooks"])
      std::printf("%-28s v%s  autonomy %d  %s\n",
                  p["name"].get<std::string>().c_str(),
                  p["version"].get<std::string>().c_str(),
                  p["autonomy"].get<int>(), p["file"].get<std::string>().c_str());
    return;
  }
  if (cmd == "audit" && j.contains("records") && j["records"].is_array()) {
    for (auto& r : j["records"]) {
      std::printf("%6llu %s %-20s %s", static_cast<unsigned long long>(
                                          r["seq"].get<uint64_t>()),
                  fmt_time(r["ts"]).c_str(),
                  r["kind"].get<std::string>().c_str(),
                  r["actor"].get<std::string>().c_str());
      for (auto key : {"incident", "action", "playbook", "step", "status",
                       "detail"})
        if (r.contains(key))
          std::printf(" %s=%s", key, r[key].get<std::string>().c_str());
      std::printf("\n");
    }
    return;
  }
  std::cout << j.dump(2) << "\n";
}

// Runs one command; returns the exit code.
int run(session& s, std::vector<std::string> args) {
  if (args.empty())
    return exit_usage;
  auto cmd = args[0];
  args.erase(args.begin());
  auto comment = take_option(args, "--comment");
  std::string method = "GET";
  std::string target;
  json body;
  auto need = [&](size_t n) {
    if (args.size() != n) {
      std::cerr << "vigil: " << cmd << ": wrong arguments\n" << usage_text;
      return false;
    }
    return true;
  };
  if (cmd == "help") {
    std::cout << usage_text;
    return exit_ok;
  }
  if (cmd == "status") {
    if (!need(0))
      return exit_usage;
    caf::scoped_actor self{*s.sys};
    int code = exit_no_node;
    self->request(s.admin, std::chrono::seconds{10}, vigil::atom::status_v)
      .receive(
        [&](vigil::node_status& st) {
          code = exit_ok;
          json j{{"node", st.node}, {"version", st.version},
                 {"http", st.http}, {"ready", st.ready},
                 {"started_at", st.started_at_ms / 1000.0}};
          if (s.as_json)
            std::cout << j.dump() << "\n";
          else
            std::cout << j.dump(2) << "\n";
        },
        [&](caf::error& err) {
          std::cerr << "vigil: the node did not answer: "
                    << vigil::render(err) << "\n";
        });
    return code;
  }
  if (cmd == "playbooks" && !args.empty() && args[0] == "validate") {
    if (args.size() != 2) {
      std::cerr << usage_text;
      return exit_usage;
    }
    auto r = vigil::load_playbooks(args[1]);
    if (!r.ok()) {
      std::cerr << r.message() << "\n";
      return exit_refused;
    }
    std::cout << r.playbooks.size() << " playbooks valid in " << args[1]
              << "\n";
    return exit_ok;
  }
  if (cmd == "anomalies") {
    if (!need(0))
      return exit_usage;
    target = "/api/v1/anomalies?limit=50";
  } else if (cmd == "incidents") {
    bool all = take_flag(args, "--all");
    if (!need(0))
      return exit_usage;
    target = std::string{"/api/v1/incidents?status="} + (all ? "all" : "open");
  } else if (cmd == "incident") {
    if (!need(1))
      return exit_usage;
    target = "/api/v1/incidents/" + args[0];
  } else if (cmd == "ack" || cmd == "resolve") {
    if (!need(1))
      return exit_usage;
    method = "POST";
    target = "/api/v1/incidents/" + args[0] + "/" + cmd;
    body = {{"by", user_name()}};
  } else if (cmd == "approvals") {
    if (!need(0))
      return exit_usage;
    target = "/api/v1/approvals";
  } else if (cmd == "approve" || cmd == "deny") {
    if (!need(1))
      return exit_usage;
    method = "POST";
    target = "/api/v1/approvals/" + args[0] + "/" + cmd;
    // With a personal token the node knows who decides; without, the
    // login name is the decider (nodes without remediation.approvers).
    if (s.approver_token.empty())
      body = {{"by", user_name()}};
    else
      body = json::object();
  } else if (cmd == "silences") {
    if (!need(0))
      return exit_usage;
    target = "/api/v1/silences";
  } else if (cmd == "silence" && !args.empty() && args[0] == "expire") {
    if (args.size() != 2) {
      std::cerr << usage_text;
      return exit_usage;
    }
    method = "DELETE";
    target = "/api/v1/silences/" + args[1];
  } else if (cmd == "silence" && !args.empty() && args[0] == "add") {
    auto length = take_option(args, "--for");
    args.erase(args.begin());
    if (!length || length->empty() || args.empty() || !comment) {
      std::cerr << "vigil: silence add MATCHER... --for DURATION --comment T\n";
      return exit_usage;
    }
    if (!vigil::parse_duration(*length)) {
      std::cerr << "vigil: --for " << *length << ": not a duration ("
                << vigil::duration_forms << ")\n";
      return exit_usage;
    }
    method = "POST";
    target = "/api/v1/silences";
    body = {{"matchers", args},
            {"duration", *length},
            {"author", user_name()},
            {"comment", *comment}};
    comment.reset();
  } else if (cmd == "playbooks") {
    if (args.empty()) {
      target = "/api/v1/playbooks";
    } else if (args.size() == 1 && args[0] == "reload") {
      method = "POST";
      target = "/api/v1/playbooks/reload";
    } else {
      std::cerr << usage_text;
      return exit_usage;
    }
  } else if (cmd == "topology") {
    if (!need(0))
      return exit_usage;
    target = "/api/v1/topology";
  } else if (cmd == "audit") {
    auto tail = take_option(args, "--tail");
    if (args.size() == 1 && args[0] == "verify") {
      target = "/api/v1/audit/verify";
    } else if (args.empty()) {
      target = "/api/v1/audit?limit=" + (tail ? *tail : std::string{"20"});
    } else {
      std::cerr << usage_text;
      return exit_usage;
    }
  } else if (cmd == "kill-switch") {
    if (args.size() != 1 || (args[0] != "on" && args[0] != "off")) {
      std::cerr << "vigil: kill-switch on|off\n";
      return exit_usage;
    }
    method = "POST";
    target = "/api/v1/remediation/kill-switch";
    body = {{"on", args[0] == "on"}, {"by", user_name()}};
  } else if (cmd == "stats") {
    if (!need(0))
      return exit_usage;
    target = "/api/v1/stats";
  } else if (cmd == "nodes" || cmd == "shards") {
    if (!need(0))
      return exit_usage;
    target = "/api/v1/cluster";
  } else {
    std::cerr << "vigil: unknown command '" << cmd << "'\n" << usage_text;
    return exit_usage;
  }
  if (comment) {
    if (!body.is_object()) {
      std::cerr << "vigil: " << cmd << " takes no --comment\n";
      return exit_usage;
    }
    body["comment"] = *comment;
  }
  bool deciding = cmd == "approve" || cmd == "deny";
  auto r = call(s, method, target, body.is_null() ? "" : body.dump(),
                deciding ? s.approver_token : std::string{});
  if (!r)
    return exit_no_node;
  auto j = json::parse(r->body, nullptr, false);
  if (r->status >= 300) {
    if (s.as_json)
      std::cout << r->body << "\n";
    else if (!j.is_discarded() && j.is_object())
      std::cerr << "vigil: refused (" << r->status
                << "): " << j.value("error", std::string{})
                << (j.contains("detail") && j["detail"].is_string()
                        && !j["detail"].get<std::string>().empty()
                      ? " (" + j["detail"].get<std::string>() + ")"
                      : std::string{})
                << (j.contains("errors") ? "\n" + j["errors"].dump(2)
                                         : std::string{})
                << "\n";
    else
      std::cerr << "vigil: refused (" << r->status << ")\n";
    return exit_refused;
  }
  if (s.as_json || j.is_discarded()) {
    std::cout << r->body << "\n";
  } else {
    print_human(cmd, j);
  }
  if (cmd == "audit" && target == "/api/v1/audit/verify"
      && !j.value("ok", false))
    return exit_refused;
  return exit_ok;
}

// Splits a prompt line into words; "..." groups a word with spaces.
std::vector<std::string> words(const std::string& line) {
  std::vector<std::string> out;
  std::string cur;
  bool quoted = false;
  bool any = false;
  for (char c : line) {
    if (c == '"') {
      quoted = !quoted;
      any = true;
    } else if (c == ' ' && !quoted) {
      if (any)
        out.push_back(cur);
      cur.clear();
      any = false;
    } else {
      cur += c;
      any = true;
    }
  }
  if (any)
    out.push_back(cur);
  return out;
}

char* complete_command(const char* text, int state) {
  static size_t next;
  if (state == 0)
    next = 0;
  std::string prefix{text};
  while (next < command_words.size()) {
    const auto& w = command_words[next++];
    if (w.compare(0, prefix.size(), prefix) == 0)
      return strdup(w.c_str());
  }
  return nullptr;
}

int prompt(session& s) {
  rl_completion_entry_function = complete_command;
  std::string history;
  if (const char* home = std::getenv("HOME")) {
    history = std::string{home} + "/.vigil_history";
    read_history(history.c_str());
  }
  int last = exit_ok;
  while (char* line = readline("vigil> ")) {
    std::string text{line};
    std::free(line);
    auto args = words(text);
    if (args.empty())
      continue;
    add_history(text.c_str());
    if (args[0] == "quit" || args[0] == "exit")
      break;
    last = run(s, args);
  }
  if (!history.empty())
    write_history(history.c_str());
  return last;
}

} // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  session s;
  std::string node = "127.0.0.1:8471";
  std::string token_file = "./vigil-data/admin.token";
  if (auto v = take_option(args, "--node")) {
    if (v->empty()) {
      std::cerr << usage_text;
      return exit_usage;
    }
    node = *v;
  }
  if (auto v = take_option(args, "--token-file")) {
    if (v->empty()) {
      std::cerr << usage_text;
      return exit_usage;
    }
    token_file = *v;
  }
  s.as_json = take_flag(args, "--json");
  if (auto v = take_option(args, "--approver-token-file")) {
    std::ifstream f{*v};
    std::string line;
    if (v->empty() || !f || !std::getline(f, line)) {
      std::cerr << "vigil: cannot read the approver token file '" << *v
                << "' (--approver-token-file)\n";
      return exit_usage;
    }
    auto b = line.find_first_not_of(" \t\r");
    auto e = line.find_last_not_of(" \t\r");
    s.approver_token = b == std::string::npos ? "" : line.substr(b, e - b + 1);
  }
  // TLS to a node whose cluster port speaks TLS (cluster.tls_*): all
  // three or none.
  vigil::cluster::tls_files tls;
  if (auto v = take_option(args, "--tls-certificate"))
    tls.certificate = *v;
  if (auto v = take_option(args, "--tls-key"))
    tls.key = *v;
  if (auto v = take_option(args, "--tls-ca"))
    tls.ca = *v;
  if ((tls.certificate.empty() + tls.key.empty() + tls.ca.empty()) % 3 != 0) {
    std::cerr << "vigil: --tls-certificate, --tls-key and --tls-ca go "
                 "together\n";
    return exit_usage;
  }
  if (!args.empty() && (args[0] == "-h" || args[0] == "--help")) {
    std::cout << usage_text;
    return exit_ok;
  }
  // Validating playbooks needs no node.
  if (args.size() >= 1 && args[0] == "playbooks" && args.size() >= 2
      && args[1] == "validate") {
    caf::actor_system_config cfg;
    caf::actor_system sys{cfg};
    s.sys = &sys;
    return run(s, args);
  }
  auto hp = vigil::parse_host_port(node);
  if (!hp) {
    std::cerr << "vigil: --node " << node << ": " << hp.error << "\n";
    return exit_usage;
  }
  std::ifstream in{token_file};
  if (!in) {
    std::cerr << "vigil: cannot read the token file " << token_file
              << " (--token-file)\n";
    return exit_usage;
  }
  std::getline(in, s.token);
  caf::actor_system_config cfg;
  vigil::add_message_types(cfg);
  if (auto err = vigil::cluster::check_tls(tls)) {
    std::cerr << "vigil: " << vigil::render(err) << " (--tls-*)\n";
    return exit_usage;
  }
  vigil::cluster::configure_middleman(cfg, VIGIL_VERSION,
                                      std::chrono::seconds{1},
                                      std::chrono::seconds{10}, tls);
  cfg.set("logger.console-verbosity", caf::atom("quiet"));
  cfg.set("logger.file-verbosity", caf::atom("quiet"));
  caf::actor_system sys{cfg};
  s.sys = &sys;
  // The node publishes its entry as a dynamically typed handle (the same
  // port serves other nodes), so it is looked up untyped and cast.
  auto admin = tls.enabled()
                 ? caf::openssl::remote_actor(sys, hp.value->host,
                                              hp.value->port)
                 : sys.middleman().remote_actor(hp.value->host,
                                                hp.value->port);
  if (!admin) {
    std::cerr << "vigil: no node answers at " << node << ": "
              << vigil::render(admin.error()) << "\n";
    return exit_no_node;
  }
  s.admin = caf::actor_cast<vigil::admin_actor>(*admin);
  if (args.empty())
    return prompt(s);
  return run(s, args);
}
