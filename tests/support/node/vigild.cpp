#include "tests/support/node/vigild.hpp"

#include <signal.h>

#include <fstream>

#include <nlohmann/json.hpp>

namespace vigil::test {

std::string sample_line(const std::string& service, const std::string& metric,
                        double value, int64_t ts_s, const std::string& pod) {
  nlohmann::json line{{"service", service},
                      {"metric", metric},
                      {"value", value},
                      {"ts", ts_s},
                      {"labels", {{"pod", pod}}}};
  return line.dump() + "\n";
}

std::string ready_field(const std::string& line, const std::string& key) {
  auto pos = line.find(key + "=");
  if (pos == std::string::npos)
    return {};
  auto start = pos + key.size() + 1;
  auto end = line.find(' ', start);
  return line.substr(start, end == std::string::npos ? end : end - start);
}

namespace {

uint16_t port_of(const std::string& host_port) {
  auto colon = host_port.rfind(':');
  if (colon == std::string::npos)
    return 0;
  return static_cast<uint16_t>(std::stoi(host_port.substr(colon + 1)));
}

} // namespace

vigild::vigild(std::string data_dir, std::vector<std::string> extra,
               std::string config_yaml)
  : data_dir_(std::move(data_dir)) {
  std::vector<std::string> argv{std::string{VIGIL_BIN_DIR} + "/vigild",
                                "--http",
                                "127.0.0.1:0",
                                "--cluster",
                                "127.0.0.1:0",
                                "--data-dir",
                                data_dir_};
  if (!config_yaml.empty()) {
    auto path = data_dir_ + ".yaml";
    std::ofstream{path} << config_yaml;
    argv.push_back("--config");
    argv.push_back(path);
  }
  for (auto& x : extra)
    argv.push_back(x);
  proc_ = std::make_unique<process>(argv, data_dir_ + ".stderr");
  // Under the sanitizers start-up is several times slower.
  auto line = proc_->wait_for_line("vigild ready", std::chrono::seconds{60});
  if (!line)
    return;
  node_id_ = ready_field(*line, "node");
  http_port_ = port_of(ready_field(*line, "http"));
  cluster_port_ = port_of(ready_field(*line, "cluster"));
}

std::string vigild::admin_token() const {
  std::ifstream in{data_dir_ + "/admin.token"};
  std::string token;
  std::getline(in, token);
  return token;
}

http::client vigild::client() const {
  return http::client{"127.0.0.1", http_port_, std::chrono::seconds{30}};
}

caf::expected<http::client_response>
vigild::get(const std::string& target) const {
  auto c = client();
  return c.send(http::verb::get, target, {},
                {{"Authorization", "Bearer " + admin_token()}});
}

caf::expected<http::client_response>
vigild::post(const std::string& target, std::string body,
             const std::string& content_type, http::header_list headers) const {
  auto c = client();
  headers.emplace_back("Content-Type", content_type);
  return c.send(http::verb::post, target, std::move(body), headers);
}

std::optional<int> vigild::stop() {
  proc_->signal(SIGTERM);
  return proc_->wait(std::chrono::seconds{60});
}

} // namespace vigil::test
