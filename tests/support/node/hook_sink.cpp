#include "tests/support/node/hook_sink.hpp"

#include <stdexcept>

#include <nlohmann/json.hpp>

#include "tests/support/http_endpoint.hpp"

namespace vigil::test {

hook_sink::hook_sink() {
  server_ = serve_post(
    "/hook", [this](http::request& req, http::responder respond) {
      auto j = nlohmann::json::parse(req.body, nullptr, false);
      std::lock_guard<std::mutex> guard{mtx_};
      std::string why;
      if (std::string{req.headers[boost::beast::http::field::content_type]}
          != "application/json")
        why = "content type";
      else if (j.is_discarded() || !j.is_object())
        why = "not a JSON object";
      else
        for (auto f : {"version", "event", "dedup_key", "incident", "text"})
          if (!j.contains(f))
            why = std::string{"missing "} + f;
      if (!why.empty()) {
        problems_.push_back(why + ": " + req.body);
        respond(http::response::error(400, "invalid", why));
        return;
      }
      seen_.push_back({j["event"].get<std::string>(),
                       j["dedup_key"].get<std::string>()});
      http::response ok;
      ok.body = "{}";
      respond(std::move(ok));
    });
}

hook_sink::~hook_sink() = default;

std::string hook_sink::url() const { return url_of(*server_, "/hook"); }

std::string hook_sink::config() const {
  return "notifiers:\n  retry_initial: 50ms\n  retry_max: 1s\n"
         "  receivers:\n    - \"hook webhook " + url() + "\"\n";
}

size_t hook_sink::count(const std::string& event) const {
  std::lock_guard<std::mutex> guard{mtx_};
  size_t n = 0;
  for (auto& x : seen_)
    n += x[0] == event ? 1 : 0;
  return n;
}

std::vector<std::array<std::string, 2>> hook_sink::seen() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return seen_;
}

std::vector<std::string> hook_sink::problems() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return problems_;
}

} // namespace vigil::test
