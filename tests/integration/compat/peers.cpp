#include "tests/integration/compat/peers.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "runtime/http/client.hpp"
#include "tests/support/support.hpp"

namespace vigil::test {

bool executable(const std::string& path) {
  return ::access(path.c_str(), X_OK) == 0;
}

uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  uint16_t port = 0;
  socklen_t len = sizeof(addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0
      && ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0)
    port = ntohs(addr.sin_port);
  ::close(fd);
  return port;
}

namespace {

// Parses the label set `{a="x",b="y"}` starting at `text[pos]` (the '{');
// leaves `pos` just past the closing brace. False on a syntax error.
bool parse_labels(const std::string& text, size_t& pos,
                  std::vector<label_match>& out) {
  ++pos;
  for (;;) {
    while (pos < text.size() && (text[pos] == ' ' || text[pos] == ','))
      ++pos;
    if (pos >= text.size())
      return false;
    if (text[pos] == '}') {
      ++pos;
      return true;
    }
    auto eq = text.find('=', pos);
    if (eq == std::string::npos || eq + 1 >= text.size() || text[eq + 1] != '"')
      return false;
    label_match m;
    m.first = text.substr(pos, eq - pos);
    pos = eq + 2;
    for (; pos < text.size() && text[pos] != '"'; ++pos) {
      if (text[pos] == '\\' && pos + 1 < text.size()) {
        ++pos;
        m.second.push_back(text[pos] == 'n' ? '\n' : text[pos]);
      } else {
        m.second.push_back(text[pos]);
      }
    }
    if (pos >= text.size())
      return false;
    ++pos;
    out.push_back(std::move(m));
  }
}

// Prefixes `argv` so that the kernel kills the program when the test
// process dies without stopping it (a crash, or ctest's timeout), instead of
// leaving it running and holding its port. util-linux's setpriv sets the
// signal and then execs the program itself, so the pid stays the program's.
std::vector<std::string>
with_parent_death_signal(std::vector<std::string> argv) {
  constexpr const char* setpriv = "/usr/bin/setpriv";
  if (!executable(setpriv))
    return argv;
  std::vector<std::string> out{setpriv, "--pdeathsig", "KILL", "--"};
  out.insert(out.end(), argv.begin(), argv.end());
  return out;
}

} // namespace

std::optional<double> metric_sum(const std::string& text,
                                 const std::string& name,
                                 const std::vector<label_match>& labels) {
  std::optional<double> sum;
  std::istringstream in{text};
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#')
      continue;
    if (line.compare(0, name.size(), name) != 0 || line.size() <= name.size())
      continue;
    size_t pos = name.size();
    std::vector<label_match> have;
    if (line[pos] == '{') {
      if (!parse_labels(line, pos, have))
        continue;
    } else if (line[pos] != ' ') {
      continue; // A longer metric name with this one as prefix.
    }
    bool match = true;
    for (auto& want : labels) {
      bool found = false;
      for (auto& h : have)
        found = found || h == want;
      match = match && found;
    }
    if (!match)
      continue;
    std::istringstream value{line.substr(pos)};
    std::string token;
    value >> token;
    try {
      sum = sum.value_or(0) + std::stod(token);
    } catch (const std::exception&) {
      continue;
    }
  }
  return sum;
}

std::optional<std::string> http_get(uint16_t port, const std::string& target) {
  http::client c{"127.0.0.1", port, std::chrono::seconds{2}};
  auto r = c.send(http::verb::get, target);
  if (!r || r->status != 200)
    return std::nullopt;
  return std::move(r->body);
}

unsigned http_post(uint16_t port, const std::string& target, std::string body,
                   const std::string& content_type) {
  http::client c{"127.0.0.1", port, std::chrono::seconds{5}};
  auto r = c.send(http::verb::post, target, std::move(body),
                  {{"Content-Type", content_type}});
  return r ? r->status : 0;
}

// -- peer ---------------------------------------------------------------------

peer::peer(std::string name, uint16_t port, std::unique_ptr<process> proc,
           std::string log_path)
  : name_(std::move(name)), port_(port), proc_(std::move(proc)),
    log_path_(std::move(log_path)) {}

peer::~peer() {
  stop();
}

std::string peer::address() const {
  return "127.0.0.1:" + std::to_string(port_);
}

std::optional<std::string> peer::get(const std::string& target) const {
  return http_get(port_, target);
}

std::string peer::metrics() const {
  return get("/metrics").value_or("");
}

std::string peer::log() const {
  std::ifstream in{log_path_};
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

void peer::kill() {
  proc_->kill_now();
  stopped_ = true;
}

bool peer::stop(std::chrono::milliseconds deadline) {
  if (stopped_)
    return false;
  stopped_ = true;
  proc_->signal(SIGTERM);
  auto status = proc_->wait(deadline);
  if (!status) {
    proc_->kill_now();
    return false;
  }
  return *status == 0;
}

std::unique_ptr<peer> launch(const peer_spec& spec,
                             const std::filesystem::path& dir,
                             std::chrono::milliseconds deadline,
                             std::string& why) {
  auto log_path = (dir / (spec.name + ".log")).string();
  why.clear();
  for (int attempt = 1; attempt <= 3; ++attempt) {
    auto port = free_port();
    if (port == 0) {
      why = "no free loopback port";
      return nullptr;
    }
    auto proc = std::make_unique<process>(
      with_parent_death_signal(spec.argv(port)), log_path);
    if (!proc->started()) {
      why = "cannot start " + spec.name;
      return nullptr;
    }
    bool exited = false;
    bool ready = wait_until(
      [&] {
        if (proc->wait(std::chrono::milliseconds{0})) {
          exited = true;
          return true;
        }
        return http_get(port, spec.ready_path).has_value();
      },
      deadline, std::chrono::milliseconds{100});
    if (ready && !exited)
      return std::make_unique<peer>(spec.name, port, std::move(proc), log_path);
    auto log = proc->stderr_text();
    proc->kill_now();
    why += spec.name + " (attempt " + std::to_string(attempt) + ", port "
           + std::to_string(port) + ") "
           + (exited ? "exited before it was ready"
                     : "was not ready in time at " + spec.ready_path)
           + "; its log:\n" + log + "\n";
    // Only a port taken since free_port() is worth another try.
    if (!exited || log.find("address already in use") == std::string::npos)
      return nullptr;
  }
  return nullptr;
}

// -- Prometheus ---------------------------------------------------------------

std::string prometheus_config(const prometheus_options& opts,
                              uint16_t self_port,
                              const std::string& rules_path) {
  std::ostringstream y;
  y << "global:\n"
    << "  scrape_interval: " << opts.interval << "\n"
    << "  scrape_timeout: " << opts.interval << "\n"
    << "  evaluation_interval: " << opts.interval << "\n";
  if (!opts.rules_yaml.empty())
    y << "rule_files:\n  - " << rules_path << "\n";
  if (opts.alertmanager_port != 0)
    y << "alerting:\n"
      << "  alertmanagers:\n"
      << "    - static_configs:\n"
      << "        - targets: ['127.0.0.1:" << opts.alertmanager_port << "']\n";
  y << "scrape_configs:\n";
  if (opts.jobs.empty())
    y << "  []\n";
  for (auto& job : opts.jobs)
    y << "  - job_name: " << job.name << "\n"
      << "    static_configs:\n"
      << "      - targets: ['127.0.0.1:"
      << (job.port == 0 ? self_port : job.port) << "']\n";
  if (!opts.remote_write_url.empty())
    y << "remote_write:\n"
      << "  - url: " << opts.remote_write_url << "\n"
      << "    name: vigil\n"
      << "    queue_config:\n"
      << "      batch_send_deadline: " << opts.batch_send_deadline << "\n"
      << "      max_samples_per_send: " << opts.max_samples_per_send << "\n"
      << "    metadata_config:\n"
      << "      send: true\n"
      << "      send_interval: " << opts.metadata_send_interval << "\n";
  return y.str();
}

peer_spec prometheus_spec(prometheus_options opts,
                          const std::filesystem::path& dir) {
  peer_spec spec;
  spec.name = "prometheus";
  spec.argv = [opts = std::move(opts), dir](uint16_t port) {
    auto config = (dir / "prometheus.yml").string();
    auto rules = (dir / "rules.yml").string();
    auto tsdb = dir / "prometheus-data";
    // A retry must not find the TSDB lock of the attempt before.
    std::error_code ec;
    std::filesystem::remove_all(tsdb, ec);
    std::filesystem::create_directories(tsdb, ec);
    std::ofstream{config} << prometheus_config(opts, port, rules);
    if (!opts.rules_yaml.empty())
      std::ofstream{rules} << opts.rules_yaml;
    auto listen = "127.0.0.1:" + std::to_string(port);
    return std::vector<std::string>{
      prometheus_binary,
      "--config.file=" + config,
      "--storage.tsdb.path=" + tsdb.string(),
      "--storage.tsdb.retention.time=1h",
      "--web.listen-address=" + listen,
      "--web.external-url=http://" + listen,
    };
  };
  return spec;
}

// -- Alertmanager -------------------------------------------------------------

std::string alertmanager_config(const alertmanager_options& opts) {
  std::ostringstream y;
  y << "route:\n"
    << "  receiver: vigil\n"
    << "  group_by: ['alertname']\n"
    << "  group_wait: " << opts.group_wait << "\n"
    << "  group_interval: " << opts.group_interval << "\n"
    << "  repeat_interval: " << opts.repeat_interval << "\n"
    << "receivers:\n"
    << "  - name: vigil\n"
    << "    webhook_configs:\n"
    << "      - url: " << opts.webhook_url << "\n"
    << "        send_resolved: true\n";
  return y.str();
}

peer_spec alertmanager_spec(alertmanager_options opts,
                            const std::filesystem::path& dir) {
  peer_spec spec;
  spec.name = "alertmanager";
  spec.argv = [opts = std::move(opts), dir](uint16_t port) {
    auto config = (dir / "alertmanager.yml").string();
    auto storage = dir / "alertmanager-data";
    std::error_code ec;
    std::filesystem::create_directories(storage, ec);
    std::ofstream{config} << alertmanager_config(opts);
    auto listen = "127.0.0.1:" + std::to_string(port);
    return std::vector<std::string>{
      alertmanager_binary,
      "--config.file=" + config,
      "--storage.path=" + storage.string(),
      "--web.listen-address=" + listen,
      "--web.external-url=http://" + listen,
      // Empty: no gossip, so no cluster traffic and no settling delay.
      "--cluster.listen-address=",
    };
  };
  return spec;
}

// -- node-exporter ------------------------------------------------------------

peer_spec node_exporter_spec() {
  // Ready when its landing page answers; node-exporter 1.5 has no /-/ready.
  peer_spec spec{"node_exporter", {}, "/"};
  spec.argv = [](uint16_t port) {
    // Collectors that read only /proc and answer in milliseconds, so a 1 s
    // scrape never times out in a container; together with the exporter's
    // own go_* and process_* metrics they give a few hundred series.
    return std::vector<std::string>{
      node_exporter_binary,
      "--web.listen-address=127.0.0.1:" + std::to_string(port),
      "--collector.disable-defaults",
      "--collector.cpu",
      "--collector.loadavg",
      "--collector.meminfo",
      "--collector.netdev",
      "--collector.stat",
      "--collector.vmstat",
      "--collector.filefd",
      "--collector.sockstat",
      "--collector.uname",
      "--collector.time",
    };
  };
  return spec;
}

} // namespace vigil::test
