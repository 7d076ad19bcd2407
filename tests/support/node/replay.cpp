#include "tests/support/node/replay.hpp"

#include <sstream>

namespace vigil::test {

caf::expected<http::client_response> replay(const vigild& node,
                                            const std::string& body_file,
                                            const std::string& target) {
  auto body = read_fixture(body_file);
  auto stem = body_file.substr(0, body_file.rfind('.'));
  std::istringstream headers{read_fixture(stem + ".headers")};
  http::header_list hl;
  bool chunked = false;
  std::string line;
  while (std::getline(headers, line)) {
    auto colon = line.find(':');
    if (colon == std::string::npos)
      continue;
    auto name = line.substr(0, colon);
    auto value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' '))
      value.erase(0, 1);
    while (!value.empty() && (value.back() == '\r' || value.back() == ' '))
      value.pop_back();
    if (name == "Content-Type" || name == "Content-Encoding"
        || name == "User-Agent" || name == "X-Prometheus-Remote-Write-Version")
      hl.emplace_back(name, value);
    if (name == "Transfer-Encoding" && value == "chunked")
      chunked = true;
  }
  auto c = node.client();
  if (chunked)
    return c.send_chunked(http::verb::post, target, std::move(body), 512, hl);
  return c.send(http::verb::post, target, std::move(body), hl);
}

std::optional<double> metric_value(const std::string& exposition,
                                   const std::string& series) {
  std::istringstream in{exposition};
  std::string line;
  while (std::getline(in, line)) {
    if (line.size() > series.size() && line.compare(0, series.size(), series) == 0
        && line[series.size()] == ' ')
      return std::stod(line.substr(series.size() + 1));
  }
  return std::nullopt;
}

double scrape(const vigild& node, const std::string& series) {
  auto c = node.client();
  auto r = c.send(http::verb::get, "/metrics");
  if (!r || r->status != 200)
    return 0;
  return metric_value(r->body, series).value_or(0);
}

} // namespace vigil::test
