#include "tests/integration/compat/fixture.hpp"

#include <iostream>
#include <sstream>

namespace vigil::test {

namespace {

// The last `n` lines of `text`, so a failure report stays readable.
std::string tail(const std::string& text, size_t n) {
  size_t pos = text.size();
  for (size_t lines = 0; pos > 0 && lines <= n; --pos)
    if (text[pos - 1] == '\n')
      ++lines;
  return pos == 0 ? text : "[...]\n" + text.substr(pos + 1);
}

} // namespace

std::optional<std::string>
compat_test::missing(std::initializer_list<const char*> binaries) {
  for (auto b : binaries)
    if (!executable(b))
      return std::string{b}
             + " is not installed (Debian packages prometheus, "
               "prometheus-alertmanager, prometheus-node-exporter; "
               "./tools/test installs them)";
  return std::nullopt;
}

void compat_test::start_node() {
  node = std::make_unique<vigild>(dir.str() + "/vigil-data");
}

peer* compat_test::start(const peer_spec& spec) {
  std::string why;
  auto p = launch(spec, dir.path(), std::chrono::seconds{60}, why);
  if (!p) {
    ADD_FAILURE() << "cannot start " << spec.name << ": " << why;
    return nullptr;
  }
  peers.push_back(std::move(p));
  return peers.back().get();
}

std::string compat_test::node_url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(node->http_port()) + path;
}

nlohmann::json compat_test::service(const std::string& name) const {
  auto r = node->get("/api/v1/services");
  if (!r || r->status != 200)
    return {};
  auto all = nlohmann::json::parse(r->body, nullptr, false);
  if (!all.is_object() || !all.contains("services"))
    return {};
  for (auto& s : all["services"])
    if (s.value("name", "") == name)
      return s;
  return {};
}

std::string compat_test::node_metrics() const {
  return http_get(node->http_port(), "/metrics").value_or("");
}

std::optional<double>
compat_test::node_metric(const std::string& name,
                         const std::vector<label_match>& labels) const {
  auto text = http_get(node->http_port(), "/metrics");
  if (!text)
    return std::nullopt;
  return metric_sum(*text, name, labels);
}

void compat_test::TearDown() {
  for (auto i = peers.rbegin(); i != peers.rend(); ++i)
    (*i)->stop();
  if (HasFailure()) {
    for (auto& p : peers)
      std::cerr << "---- " << p->name() << " on " << p->address() << ", log:\n"
                << tail(p->log(), 40) << "\n";
    if (node)
      std::cerr << "---- vigild, stderr:\n"
                << tail(node->proc().stderr_text(), 60) << "\n";
  }
  peers.clear();
  if (node) {
    auto code = node->stop();
    EXPECT_EQ(code, 0) << "vigild did not stop cleanly after the peers";
  }
}

} // namespace vigil::test
