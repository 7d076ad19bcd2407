#include "actors/admin/admin.hpp"

#include "messages/errc.hpp"

namespace vigil::admin {

bool same_token(const std::string& given, const std::string& expected) {
  if (given.size() != expected.size() || expected.empty())
    return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < given.size(); ++i)
    diff |= static_cast<unsigned char>(given[i] ^ expected[i]);
  return diff == 0;
}

admin_actor::behavior_type admin(admin_actor::stateful_pointer<admin_state> self,
                                 admin_config cfg) {
  self->state.cfg = std::move(cfg);
  return {
    [self](atom::status) { return self->state.cfg.status; },
    [self](atom::console,
           const console_request& req) -> caf::result<console_reply> {
      auto& st = self->state;
      if (!same_token(req.token, st.cfg.token))
        return console_reply{401, R"({"error":"unauthorized","detail":)"
                                  R"("the console's token is not this )"
                                  R"(node's admin token"})"};
      // Only the admin API: the console is no back door to anything else.
      if (req.target.rfind("/api/v1/", 0) != 0
          || req.target.find_first_of("\r\n ") != std::string::npos)
        return caf::make_error(errc::malformed,
                               "console targets are /api/v1/ paths");
      http::verb method;
      if (req.method == "GET")
        method = http::verb::get;
      else if (req.method == "POST")
        method = http::verb::post;
      else if (req.method == "DELETE")
        method = http::verb::delete_;
      else
        return caf::make_error(errc::malformed,
                               "console methods are GET, POST, DELETE");
      if (!st.api)
        st.api = std::make_unique<http::client>(st.cfg.api_host,
                                                st.cfg.api_port);
      // The console proved it holds the admin token; a person's own token
      // (approvals) goes to the API in its place, which checks it.
      const auto& bearer = req.as_token.empty() ? st.cfg.token : req.as_token;
      if (bearer.find_first_of("\r\n") != std::string::npos)
        return caf::make_error(errc::malformed,
                               "a token holds no line breaks");
      http::header_list headers{{"Authorization", "Bearer " + bearer},
                                {"Content-Type", "application/json"}};
      auto r = st.api->send(method, req.target, req.body, headers);
      if (!r) {
        st.api.reset();
        return r.error();
      }
      return console_reply{r->status, std::move(r->body)};
    },
  };
}

} // namespace vigil::admin
