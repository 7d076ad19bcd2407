#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "messages/errc.hpp"
#include "runtime/http/client.hpp"
#include "runtime/http/server.hpp"
#include "tests/support/support.hpp"
#include "tests/unit/http/raw_connection.hpp"

namespace {

using namespace std::chrono_literals;
using namespace vigil::http;
// Not POSIX access(2).
using vigil::http::access;
using vigil::http::test::raw_connection;
using vigil::test::wait_until;
using steady = std::chrono::steady_clock;

constexpr auto admin_auth = "Bearer admin-token";
constexpr auto ingest_auth = "Bearer ingest-token";

// Renders an error for failure messages (gtest would print raw bytes).
std::string describe(const caf::error& err) {
  return "code " + std::to_string(err.code()) + " " + to_string(err.context());
}

// Every byte value, so bodies prove they are carried as binary.
std::string binary_body(size_t n) {
  std::string out(n, '\0');
  for (size_t i = 0; i < n; ++i)
    out[i] = static_cast<char>((i * 7 + i / 256) & 0xFF);
  return out;
}

// A server on 127.0.0.1:0 with a few routes, and what its hooks saw.
class http_server : public ::testing::Test {
protected:
  void TearDown() override {
    release_parked();
    srv.reset();
  }

  router make_routes() {
    router r;
    r.add(verb::get, "/echo/{name}", {"echo", access::open},
          [this](request& req, responder respond) {
            ++echo_calls;
            std::string body = "name=" + req.params.at("name")
                               + ";path=" + req.path + ";query=";
            for (auto& [k, v] : req.query)
              body += k + "=" + v + ",";
            body += ";remote=" + std::string{req.remote.empty() ? "no" : "yes"};
            response res;
            res.content_type = "text/plain";
            res.body = std::move(body);
            respond(std::move(res));
          });
    r.add(verb::post, "/upload", {"upload", access::open, 4u << 20},
          [](request& req, responder respond) {
            response res;
            res.content_type = "application/octet-stream";
            res.body = req.body;
            respond(std::move(res));
          });
    r.add(verb::post, "/ingest", {"ingest", access::ingest, 1024},
          [this](request& req, responder respond) {
            ++ingest_calls;
            response res;
            res.status = 204;
            respond(std::move(res));
          });
    r.add(verb::get, "/api/v1/incidents/{id}", {"incident", access::admin},
          [](request& req, responder respond) {
            response res;
            res.body = "{\"id\":\"" + req.params.at("id") + "\"}";
            respond(std::move(res));
          });
    r.add(verb::delete_, "/api/v1/incidents/{id}", {"incident_delete"},
          [](request&, responder respond) { respond(response{}); });
    r.add(verb::post, "/api/v1/incidents/{id}/ack", {"ack", access::admin},
          [this](request& req, responder respond) {
            ++ack_calls;
            response res;
            res.body = "{\"acked\":\"" + req.params.at("id") + "\"}";
            respond(std::move(res));
          });
    r.add(verb::get, "/park", {"park", access::open},
          [this](request& req, responder respond) {
            std::lock_guard<std::mutex> guard{parked_mtx};
            parked.push_back(std::move(respond));
          });
    r.add(verb::get, "/throw", {"throw", access::open},
          [](request&, responder) -> void {
            throw std::runtime_error("handler bug");
          });
    r.add(verb::get, "/drop", {"drop", access::open},
          [](request&, responder) {});
    r.add(verb::get, "/twice", {"twice", access::open},
          [](request&, responder respond) {
            response first;
            first.body = "first";
            respond(first);
            response second;
            second.body = "second";
            respond(second);
          });
    r.add(verb::get, "/headers", {"headers", access::open},
          [](request&, responder respond) {
            response res;
            res.status = 429;
            res.headers = {{"Retry-After", "3"},
                           {"X-Evil", "a\r\nInjected: yes"},
                           {"Content-Length", "99"}};
            respond(std::move(res));
          });
    return r;
  }

  server_hooks make_hooks() {
    server_hooks hooks;
    hooks.authorize
      = [](access who, const boost::beast::http::fields& headers) {
          auto i = headers.find(boost::beast::http::field::authorization);
          std::string token = i == headers.end() ? "" : std::string{i->value()};
          switch (who) {
            case access::open:
              return true;
            case access::ingest:
              return token == ingest_auth || token == admin_auth;
            case access::admin:
              return token == admin_auth;
          }
          return false;
        };
    hooks.on_response = [this](std::string_view endpoint, unsigned status) {
      std::lock_guard<std::mutex> guard{hooks_mtx};
      responses.emplace_back(std::string{endpoint}, status);
    };
    hooks.on_reject
      = [this](std::string_view endpoint, std::string_view reason) {
          std::lock_guard<std::mutex> guard{hooks_mtx};
          rejects.emplace_back(std::string{endpoint}, std::string{reason});
        };
    return hooks;
  }

  void start(server_options opts = {}) {
    opts.host = "127.0.0.1";
    opts.port = 0;
    if (opts.threads == 0)
      opts.threads = 2;
    auto result = server::start(opts, make_routes(), make_hooks());
    ASSERT_TRUE(result) << describe(result.error());
    srv = std::move(*result);
    ASSERT_NE(srv->port(), 0);
  }

  client make_client(std::chrono::milliseconds timeout = 5s) {
    return client{"127.0.0.1", srv->port(), timeout};
  }

  size_t count_rejects(std::string_view endpoint, std::string_view reason) {
    std::lock_guard<std::mutex> guard{hooks_mtx};
    return std::count(rejects.begin(), rejects.end(),
                      std::pair<std::string, std::string>{endpoint, reason});
  }

  size_t count_responses(std::string_view endpoint, unsigned status) {
    std::lock_guard<std::mutex> guard{hooks_mtx};
    return std::count(responses.begin(), responses.end(),
                      std::pair<std::string, unsigned>{endpoint, status});
  }

  bool wait_for_reject(std::string_view endpoint, std::string_view reason) {
    return wait_until([&] { return count_rejects(endpoint, reason) > 0; }, 5s);
  }

  size_t parked_count() {
    std::lock_guard<std::mutex> guard{parked_mtx};
    return parked.size();
  }

  responder take_parked() {
    std::lock_guard<std::mutex> guard{parked_mtx};
    auto r = std::move(parked.front());
    parked.erase(parked.begin());
    return r;
  }

  void release_parked() {
    std::lock_guard<std::mutex> guard{parked_mtx};
    parked.clear();
  }

  std::unique_ptr<server> srv;
  std::atomic<int> echo_calls{0};
  std::atomic<int> ingest_calls{0};
  std::atomic<int> ack_calls{0};
  std::mutex parked_mtx;
  std::vector<responder> parked;
  std::mutex hooks_mtx;
  std::vector<std::pair<std::string, unsigned>> responses;
  std::vector<std::pair<std::string, std::string>> rejects;
};

// -- routing ------------------------------------------------------------------

TEST_F(http_server, routes_requests_and_binds_path_parameters) {
  start();
  auto c = make_client();
  auto res = c.send(verb::get, "/echo/hello%20world?x=1&y=a+b&z=%2F");
  ASSERT_TRUE(res) << describe(res.error());
  EXPECT_EQ(res->status, 200u);
  EXPECT_EQ(res->body,
            "name=hello world;path=/echo/hello world;query=x=1,y=a b,z=/,"
            ";remote=yes");
  EXPECT_EQ(res->header("Content-Type"), "text/plain");
  EXPECT_EQ(res->header("Server"), "vigil");
  EXPECT_EQ(res->header("Content-Length"), std::to_string(res->body.size()));
  EXPECT_TRUE(
    wait_until([&] { return count_responses("echo", 200) == 1; }, 5s));
}

TEST_F(http_server, answers_404_with_a_json_error_for_unknown_paths) {
  start();
  auto c = make_client();
  auto res = c.send(verb::get, "/nope/x%22y");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 404u);
  EXPECT_EQ(res->body, R"({"error":"not found","detail":"GET /nope/x\"y"})");
  EXPECT_EQ(res->header("Content-Type"), "application/json");
  EXPECT_EQ(res->header("Server"), "vigil");
  EXPECT_TRUE(wait_for_reject("unknown", "not_found"));
  EXPECT_TRUE(
    wait_until([&] { return count_responses("unknown", 404) == 1; }, 5s));
  // A request without a body leaves the connection usable.
  res = c.send(verb::get, "/echo/a");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200u);
  EXPECT_EQ(c.connects(), 1u);
}

TEST_F(http_server, answers_405_with_allow_when_the_path_has_other_methods) {
  start();
  auto c = make_client();
  auto res = c.send(verb::put, "/api/v1/incidents/7", "{}");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 405u);
  EXPECT_EQ(res->header("Allow"), "GET, DELETE");
  EXPECT_NE(res->body.find("\"error\":\"method not allowed\""),
            std::string::npos);
  EXPECT_TRUE(wait_for_reject("unknown", "method_not_allowed"));
}

TEST_F(http_server, serves_absolute_form_targets_like_paths) {
  start();
  auto c = make_client();
  auto raw = c.send_raw("GET http://example.org/echo/abs?q=1 HTTP/1.1\r\n"
                        "Host: example.org\r\nConnection: close\r\n\r\n");
  ASSERT_TRUE(raw);
  EXPECT_EQ(raw->rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << *raw;
  EXPECT_NE(raw->find("name=abs;path=/echo/abs;query=q=1,"), std::string::npos);
}

// -- refusing before the body -------------------------------------------------

TEST_F(http_server, rejects_unauthorized_requests_before_reading_the_body) {
  start(); // read_timeout stays 30s: a server waiting for the body would
           // not answer within the deadline below
  raw_connection conn{srv->port()};
  ASSERT_TRUE(conn.connected());
  auto t0 = steady::now();
  ASSERT_TRUE(conn.write("POST /api/v1/incidents/7/ack HTTP/1.1\r\n"
                         "Host: x\r\nContent-Length: 100000000\r\n\r\n"));
  auto [answer, closed] = conn.read_until_close(5s);
  EXPECT_LT(steady::now() - t0, 5s);
  EXPECT_TRUE(closed);
  EXPECT_EQ(answer.rfind("HTTP/1.1 401 Unauthorized\r\n", 0), 0u) << answer;
  EXPECT_NE(answer.find("WWW-Authenticate: Bearer\r\n"), std::string::npos);
  EXPECT_NE(answer.find("Connection: close\r\n"), std::string::npos);
  EXPECT_NE(answer.find(R"("error":"unauthorized")"), std::string::npos);
  EXPECT_EQ(ack_calls.load(), 0);
  EXPECT_TRUE(wait_for_reject("ack", "unauthorized"));
}

TEST_F(http_server, rejects_a_wrong_token_and_accepts_the_right_one) {
  start();
  auto c = make_client();
  auto res = c.send(verb::get, "/api/v1/incidents/9", {},
                    {{"Authorization", "Bearer wrong"}});
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 401u);
  res = c.send(verb::get, "/api/v1/incidents/9", {},
               {{"Authorization", admin_auth}});
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200u);
  EXPECT_EQ(res->body, R"({"id":"9"})");
  // The ingest token does not open admin routes.
  res = c.send(verb::get, "/api/v1/incidents/9", {},
               {{"Authorization", ingest_auth}});
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 401u);
}

TEST_F(http_server, rejects_oversized_body_before_reading_it) {
  start();
  raw_connection conn{srv->port()};
  ASSERT_TRUE(conn.connected());
  auto t0 = steady::now();
  ASSERT_TRUE(conn.write("POST /ingest HTTP/1.1\r\nHost: x\r\n"
                         "Authorization: Bearer ingest-token\r\n"
                         "Content-Length: 1000000000\r\n\r\n"));
  auto [answer, closed] = conn.read_until_close(5s);
  EXPECT_LT(steady::now() - t0, 5s);
  EXPECT_TRUE(closed);
  EXPECT_EQ(answer.rfind("HTTP/1.1 413 Payload Too Large\r\n", 0), 0u)
    << answer;
  EXPECT_NE(answer.find(R"("error":"too large")"), std::string::npos);
  EXPECT_EQ(ingest_calls.load(), 0);
  EXPECT_TRUE(wait_for_reject("ingest", "too_large"));
}

TEST_F(http_server, accepts_a_body_exactly_at_the_limit) {
  start();
  auto c = make_client();
  auto res = c.send(verb::post, "/ingest", std::string(1024, 'x'),
                    {{"Authorization", ingest_auth}});
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 204u);
  EXPECT_EQ(res->body, "");
  EXPECT_EQ(res->header("Content-Type"), "");
  res = c.send(verb::post, "/ingest", std::string(1025, 'x'),
               {{"Authorization", ingest_auth}});
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 413u);
  EXPECT_EQ(ingest_calls.load(), 1);
}

TEST_F(http_server, rejects_a_chunked_body_that_grows_past_the_limit) {
  start();
  auto c = make_client();
  auto res = c.send_chunked(verb::post, "/ingest", std::string(256 * 1024, 'x'),
                            100, {{"Authorization", ingest_auth}});
  ASSERT_TRUE(res) << describe(res.error());
  EXPECT_EQ(res->status, 413u);
  EXPECT_EQ(ingest_calls.load(), 0);
  EXPECT_TRUE(wait_for_reject("ingest", "too_large"));
  // The client recovers with a new connection.
  res = c.send_chunked(verb::post, "/ingest", std::string(1000, 'y'), 300,
                       {{"Authorization", ingest_auth}});
  ASSERT_TRUE(res) << describe(res.error());
  EXPECT_EQ(res->status, 204u);
}

// -- bodies -------------------------------------------------------------------

TEST_F(http_server, decodes_chunked_bodies) {
  start();
  auto c = make_client();
  auto body = binary_body(300 * 1000);
  for (size_t chunk : {size_t{1} << 16, size_t{4096}, size_t{7}}) {
    auto res = c.send_chunked(verb::post, "/upload", body, chunk);
    ASSERT_TRUE(res) << describe(res.error());
    EXPECT_EQ(res->status, 200u);
    EXPECT_EQ(res->body.size(), body.size());
    EXPECT_TRUE(res->body == body) << "chunk size " << chunk;
  }
  auto res = c.send_chunked(verb::post, "/upload", "", 10);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200u);
  EXPECT_EQ(res->body, "");
  EXPECT_EQ(c.connects(), 1u);
}

TEST_F(http_server, carries_binary_bodies_with_content_length) {
  start();
  auto c = make_client();
  auto body = binary_body(1 << 20);
  auto res = c.send(verb::post, "/upload", body);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200u);
  EXPECT_TRUE(res->body == body);
  EXPECT_EQ(res->header("Content-Type"), "application/octet-stream");
}

TEST_F(http_server, sends_100_continue_before_reading_the_body) {
  start();
  raw_connection conn{srv->port()};
  ASSERT_TRUE(conn.connected());
  ASSERT_TRUE(conn.write("POST /upload HTTP/1.1\r\nHost: x\r\n"
                         "Expect: 100-continue\r\nContent-Length: 5\r\n\r\n"));
  auto interim = conn.read_until("\r\n\r\n", 5s);
  ASSERT_TRUE(interim);
  EXPECT_EQ(*interim, "HTTP/1.1 100 Continue\r\n\r\n");
  ASSERT_TRUE(conn.write("hello"));
  auto final_answer = conn.read_response(5s);
  ASSERT_TRUE(final_answer);
  EXPECT_EQ(final_answer->rfind("HTTP/1.1 200 OK\r\n", 0), 0u);
  EXPECT_EQ(final_answer->substr(final_answer->size() - 5), "hello");
  // The client library handles the handshake too.
  auto c = make_client();
  auto res
    = c.send(verb::post, "/upload", "payload", {{"Expect", "100-continue"}});
  ASSERT_TRUE(res);
  EXPECT_TRUE(res->continued);
  EXPECT_EQ(res->status, 200u);
  EXPECT_EQ(res->body, "payload");
}

TEST_F(http_server, answers_a_refused_expect_request_without_100_continue) {
  start();
  raw_connection conn{srv->port()};
  ASSERT_TRUE(conn.connected());
  ASSERT_TRUE(conn.write("POST /ingest HTTP/1.1\r\nHost: x\r\n"
                         "Expect: 100-continue\r\nContent-Length: 5\r\n\r\n"));
  auto [answer, closed] = conn.read_until_close(5s);
  EXPECT_TRUE(closed);
  EXPECT_EQ(answer.rfind("HTTP/1.1 401 Unauthorized\r\n", 0), 0u) << answer;
  auto c = make_client();
  auto res
    = c.send(verb::post, "/ingest", "12345", {{"Expect", "100-continue"}});
  ASSERT_TRUE(res);
  EXPECT_FALSE(res->continued);
  EXPECT_EQ(res->status, 401u);
  EXPECT_EQ(ingest_calls.load(), 0);
}

// -- connections --------------------------------------------------------------

TEST_F(http_server, keeps_a_connection_alive_across_requests) {
  start();
  auto c = make_client();
  for (int i = 0; i < 10; ++i) {
    auto res = c.send(verb::get, "/echo/" + std::to_string(i));
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200u);
    EXPECT_EQ(res->header("Connection"), "");
  }
  EXPECT_EQ(c.connects(), 1u);
  EXPECT_TRUE(wait_until([&] { return srv->connections() == 1; }, 5s));
  c.close();
  EXPECT_TRUE(wait_until([&] { return srv->connections() == 0; }, 5s));
}

TEST_F(http_server, answers_http_1_0_and_closes_unless_asked_to_keep_alive) {
  start();
  raw_connection conn{srv->port()};
  ASSERT_TRUE(conn.write("GET /echo/old HTTP/1.0\r\n\r\n"));
  auto [answer, closed] = conn.read_until_close(5s);
  EXPECT_TRUE(closed);
  EXPECT_EQ(answer.rfind("HTTP/1.0 200 OK\r\n", 0), 0u) << answer;
  EXPECT_NE(answer.find("Content-Length: "), std::string::npos);
  raw_connection kept{srv->port()};
  ASSERT_TRUE(
    kept.write("GET /echo/a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
  auto first = kept.read_response(5s);
  ASSERT_TRUE(first);
  EXPECT_NE(first->find("Connection: keep-alive\r\n"), std::string::npos);
  ASSERT_TRUE(kept.write("GET /echo/b HTTP/1.0\r\n\r\n"));
  auto [second, second_closed] = kept.read_until_close(5s);
  EXPECT_NE(second.find("name=b;"), std::string::npos);
  EXPECT_TRUE(second_closed);
}

TEST_F(http_server, answers_pipelined_requests_in_order) {
  start();
  raw_connection conn{srv->port()};
  ASSERT_TRUE(conn.write("GET /echo/one HTTP/1.1\r\nHost: x\r\n\r\n"
                         "POST /upload HTTP/1.1\r\nHost: x\r\n"
                         "Content-Length: 3\r\n\r\ntwo"
                         "GET /echo/three HTTP/1.1\r\nHost: x\r\n"
                         "Connection: close\r\n\r\n"));
  auto [answer, closed] = conn.read_until_close(5s);
  EXPECT_TRUE(closed);
  auto one = answer.find("name=one;");
  auto two = answer.find("\r\n\r\ntwo");
  auto three = answer.find("name=three;");
  ASSERT_NE(one, std::string::npos) << answer;
  ASSERT_NE(two, std::string::npos) << answer;
  ASSERT_NE(three, std::string::npos) << answer;
  EXPECT_LT(one, two);
  EXPECT_LT(two, three);
}

// -- handlers -----------------------------------------------------------------

TEST_F(http_server, delivers_a_response_from_another_thread_later) {
  start();
  caf::expected<client_response> res{client_response{}};
  std::thread requester{[&] {
    auto c = make_client();
    res = c.send(verb::get, "/park");
  }};
  ASSERT_TRUE(wait_until([&] { return parked_count() == 1; }, 5s));
  EXPECT_EQ(srv->in_flight(), 1u);
  auto respond = take_parked();
  std::thread responder_thread{[respond = std::move(respond)] {
    response r;
    r.body = R"({"late":true})";
    respond(std::move(r));
  }};
  responder_thread.join();
  requester.join();
  ASSERT_TRUE(res) << describe(res.error());
  EXPECT_EQ(res->status, 200u);
  EXPECT_EQ(res->body, R"({"late":true})");
  EXPECT_TRUE(wait_until([&] { return srv->in_flight() == 0; }, 5s));
}

TEST_F(http_server, drops_a_late_response_when_the_client_went_away) {
  start();
  {
    raw_connection conn{srv->port()};
    ASSERT_TRUE(conn.write("GET /park HTTP/1.1\r\nHost: x\r\n\r\n"));
    ASSERT_TRUE(wait_until([&] { return parked_count() == 1; }, 5s));
  } // the client hangs up while the handler holds the responder
  std::thread later{[respond = take_parked()] {
    response r;
    r.body = "nobody listens";
    respond(std::move(r));
  }};
  later.join();
  EXPECT_TRUE(wait_until(
    [&] { return srv->connections() == 0 && srv->in_flight() == 0; }, 5s));
  auto c = make_client();
  auto res = c.send(verb::get, "/echo/still-here");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200u);
}

TEST_F(http_server, answers_500_when_a_handler_throws_and_keeps_serving) {
  start();
  auto c = make_client();
  auto res = c.send(verb::get, "/throw");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 500u);
  EXPECT_EQ(res->header("Content-Type"), "application/json");
  EXPECT_EQ(res->body.rfind(R"({"error":"internal","detail":)", 0), 0u);
  EXPECT_EQ(res->body.find("handler bug"), std::string::npos)
    << "internals must not leak to clients";
  res = c.send(verb::get, "/echo/after");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200u);
  EXPECT_TRUE(
    wait_until([&] { return count_responses("throw", 500) == 1; }, 5s));
}

TEST_F(http_server, answers_500_when_a_handler_drops_its_responder) {
  start();
  auto c = make_client();
  auto res = c.send(verb::get, "/drop");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 500u);
  EXPECT_EQ(res->body,
            R"({"error":"internal","detail":"the handler did not answer"})");
  EXPECT_TRUE(wait_until([&] { return srv->in_flight() == 0; }, 5s));
}

TEST_F(http_server, uses_the_first_answer_when_a_handler_responds_twice) {
  start();
  auto c = make_client();
  auto res = c.send(verb::get, "/twice");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->body, "first");
  res = c.send(verb::get, "/echo/next");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200u);
  EXPECT_NE(res->body.find("name=next;"), std::string::npos);
  EXPECT_EQ(c.connects(), 1u);
}

TEST_F(http_server, sends_handler_headers_but_never_unsafe_ones) {
  start();
  auto c = make_client();
  auto raw = c.send_raw("GET /headers HTTP/1.1\r\nHost: x\r\n"
                        "Connection: close\r\n\r\n");
  ASSERT_TRUE(raw);
  EXPECT_EQ(raw->rfind("HTTP/1.1 429 Too Many Requests\r\n", 0), 0u) << *raw;
  EXPECT_NE(raw->find("Retry-After: 3\r\n"), std::string::npos);
  EXPECT_EQ(raw->find("Injected"), std::string::npos);
  EXPECT_EQ(raw->find("Content-Length: 99"), std::string::npos);
}

// -- malformed input and timeouts ---------------------------------------------

TEST_F(http_server, rejects_malformed_request_lines_with_400) {
  start();
  auto c = make_client();
  for (std::string bad : std::vector<std::string>{
         "GARBAGE\r\n\r\n", "GET /echo/a HTTP/2.0\r\n\r\n",
         "GET /echo/a HTTP/1.1 x\r\n\r\n", "GET /echo/a\r\nHost: x\r\n\r\n",
         "GET  /echo/a HTTP/1.1\r\n\r\n",
         std::string{"GET /echo/\0 HTTP/1.1\r\n\r\n", 25}}) {
    auto raw = c.send_raw(bad);
    ASSERT_TRUE(raw);
    EXPECT_EQ(raw->rfind("HTTP/1.1 400 Bad Request\r\n", 0), 0u)
      << "for " << bad << " got " << *raw;
    EXPECT_NE(raw->find(R"({"error":"bad request","detail":)"),
              std::string::npos);
  }
  EXPECT_TRUE(wait_until(
    [&] { return count_rejects("unknown", "bad_request") == 6; }, 5s));
  auto res = c.send(verb::get, "/echo/fine");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200u);
  EXPECT_EQ(echo_calls.load(), 1);
}

TEST_F(http_server, rejects_malformed_headers_and_chunks_with_400) {
  start();
  auto c = make_client();
  for (std::string bad : std::vector<std::string>{
         "GET /echo/a HTTP/1.1\r\nHost x\r\n\r\n",
         "GET /echo/a HTTP/1.1\r\nBad Name: x\r\n\r\n",
         "POST /upload HTTP/1.1\r\nContent-Length: 5\r\n"
         "Content-Length: 6\r\n\r\nhello",
         "POST /upload HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
         "POST /upload HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
         "zz\r\nhello\r\n0\r\n\r\n",
         "POST /upload HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
         "Content-Length: 5\r\n\r\n5\r\nhello\r\n0\r\n\r\n"}) {
    auto raw = c.send_raw(bad);
    ASSERT_TRUE(raw);
    EXPECT_EQ(raw->rfind("HTTP/1.1 400 Bad Request\r\n", 0), 0u)
      << "for " << bad << " got " << *raw;
  }
}

TEST_F(http_server, rejects_headers_larger_than_the_limit) {
  server_options opts;
  opts.max_header_bytes = 1024;
  start(opts);
  auto c = make_client();
  auto raw = c.send_raw("GET /echo/a HTTP/1.1\r\nHost: x\r\nX-Big: "
                        + std::string(4096, 'a') + "\r\n\r\n");
  ASSERT_TRUE(raw);
  EXPECT_EQ(raw->rfind("HTTP/1.1 431 Request Header Fields Too Large\r\n", 0),
            0u)
    << *raw;
  EXPECT_TRUE(wait_for_reject("unknown", "bad_request"));
  auto res = c.send(verb::get, "/echo/" + std::string(500, 'b'));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200u);
}

TEST_F(http_server, closes_a_slow_client_after_the_read_timeout) {
  server_options opts;
  opts.read_timeout = 300ms;
  start(opts);
  raw_connection conn{srv->port()};
  ASSERT_TRUE(conn.connected());
  auto t0 = steady::now();
  ASSERT_TRUE(conn.write("GET /echo/slow HTTP/1.1\r\n"));
  // Slowloris: a header byte every 50ms keeps each read short, but the
  // request as a whole must still arrive within the read timeout.
  bool closed = false;
  while (!closed && steady::now() - t0 < 5s) {
    conn.write("X");
    closed = conn.read_until_close(50ms).second;
  }
  auto elapsed = steady::now() - t0;
  EXPECT_TRUE(closed);
  EXPECT_GE(elapsed, 250ms);
  EXPECT_LT(elapsed, 3s);
  EXPECT_TRUE(wait_for_reject("unknown", "timeout"));
  EXPECT_EQ(echo_calls.load(), 0);
}

TEST_F(http_server, closes_a_client_that_stalls_in_the_body) {
  server_options opts;
  opts.read_timeout = 300ms;
  start(opts);
  raw_connection conn{srv->port()};
  ASSERT_TRUE(conn.write("POST /upload HTTP/1.1\r\nHost: x\r\n"
                         "Content-Length: 10\r\n\r\nabc"));
  auto [answer, closed] = conn.read_until_close(5s);
  EXPECT_TRUE(closed);
  EXPECT_EQ(answer, "");
  EXPECT_TRUE(wait_for_reject("upload", "timeout"));
  EXPECT_TRUE(wait_until(
    [&] { return srv->connections() == 0 && srv->in_flight() == 0; }, 5s));
}

TEST_F(http_server, closes_idle_kept_alive_connections) {
  server_options opts;
  opts.idle_timeout = 300ms;
  start(opts);
  auto c = make_client();
  auto res = c.send(verb::get, "/echo/a");
  ASSERT_TRUE(res);
  EXPECT_EQ(srv->connections(), 1u);
  auto t0 = steady::now();
  EXPECT_TRUE(wait_until([&] { return srv->connections() == 0; }, 5s));
  EXPECT_GE(steady::now() - t0, 200ms);
  // An idle close is not a rejection.
  EXPECT_EQ(count_rejects("unknown", "timeout"), 0u);
  // The client notices the stale connection and reconnects once.
  res = c.send(verb::get, "/echo/b");
  ASSERT_TRUE(res) << describe(res.error());
  EXPECT_EQ(res->status, 200u);
  EXPECT_EQ(c.connects(), 2u);
}

// -- limits and stopping ------------------------------------------------------

TEST_F(http_server, refuses_connections_beyond_max_connections) {
  server_options opts;
  opts.max_connections = 2;
  start(opts);
  auto a = make_client();
  auto b = make_client();
  ASSERT_TRUE(a.send(verb::get, "/echo/a"));
  ASSERT_TRUE(b.send(verb::get, "/echo/b"));
  ASSERT_TRUE(wait_until([&] { return srv->connections() == 2; }, 5s));
  auto extra = make_client();
  auto res = extra.send(verb::get, "/echo/c");
  ASSERT_TRUE(res) << describe(res.error());
  EXPECT_EQ(res->status, 503u);
  EXPECT_EQ(res->header("Retry-After"), "1");
  EXPECT_EQ(res->header("Connection"), "close");
  EXPECT_NE(res->body.find(R"("error":"too many connections")"),
            std::string::npos);
  EXPECT_TRUE(wait_for_reject("unknown", "too_many_connections"));
  EXPECT_EQ(srv->connections(), 2u);
  a.close();
  ASSERT_TRUE(wait_until([&] { return srv->connections() == 1; }, 5s));
  res = extra.send(verb::get, "/echo/c");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200u);
}

TEST_F(http_server,
       answers_503_on_kept_alive_connections_after_stop_accepting) {
  start();
  auto c = make_client();
  ASSERT_TRUE(c.send(verb::get, "/echo/before"));
  srv->stop_accepting();
  auto res = c.send(verb::get, "/echo/after");
  ASSERT_TRUE(res) << describe(res.error());
  EXPECT_EQ(res->status, 503u);
  EXPECT_EQ(res->header("Connection"), "close");
  EXPECT_NE(res->body.find(R"("error":"shutting down")"), std::string::npos);
  EXPECT_TRUE(wait_for_reject("echo", "shutting_down"));
  EXPECT_EQ(echo_calls.load(), 1);
  // The listening socket is gone: new connections are refused.
  EXPECT_TRUE(
    wait_until([&] { return !raw_connection{srv->port()}.connected(); }, 5s));
}

TEST_F(http_server, stop_waits_for_a_handler_that_answers_within_the_drain) {
  start();
  caf::expected<client_response> res{client_response{}};
  std::thread requester{[&] {
    auto c = make_client();
    res = c.send(verb::get, "/park");
  }};
  ASSERT_TRUE(wait_until([&] { return parked_count() == 1; }, 5s));
  std::atomic<bool> stopping{false};
  std::thread handler_thread{[&, respond = take_parked()] {
    // Answer only once stop() is underway, like a slow handler would.
    wait_until([&] { return stopping.load(); }, 5s, 1ms);
    std::this_thread::sleep_for(100ms);
    response r;
    r.body = "drained";
    respond(std::move(r));
  }};
  auto t0 = steady::now();
  stopping = true;
  srv->stop(5s);
  auto elapsed = steady::now() - t0;
  handler_thread.join();
  requester.join();
  ASSERT_TRUE(res) << describe(res.error());
  EXPECT_EQ(res->status, 200u);
  EXPECT_EQ(res->body, "drained");
  EXPECT_EQ(res->header("Connection"), "close");
  EXPECT_LT(elapsed, 4s);
  EXPECT_EQ(srv->connections(), 0u);
  EXPECT_EQ(srv->in_flight(), 0u);
}

TEST_F(http_server, stop_gives_up_on_a_handler_that_never_answers) {
  start();
  caf::expected<client_response> res{client_response{}};
  std::thread requester{[&] {
    auto c = make_client();
    res = c.send(verb::get, "/park");
  }};
  ASSERT_TRUE(wait_until([&] { return parked_count() == 1; }, 5s));
  auto t0 = steady::now();
  srv->stop(200ms);
  EXPECT_LT(steady::now() - t0, 3s);
  requester.join();
  EXPECT_FALSE(res) << "the client must see the connection close";
  EXPECT_EQ(srv->in_flight(), 0u);
  EXPECT_EQ(srv->connections(), 0u);
  // Answering after the server is gone is harmless.
  auto respond = take_parked();
  srv.reset();
  respond(response{});
  srv.reset();
}

TEST_F(http_server, stop_is_idempotent_and_the_destructor_stops) {
  start();
  auto c = make_client();
  ASSERT_TRUE(c.send(verb::get, "/echo/x"));
  srv->stop(1s);
  srv->stop(1s);
  srv->stop_accepting();
  srv.reset();
  start();
  ASSERT_TRUE(make_client().send(verb::get, "/echo/y"));
  srv.reset(); // destructor with an open kept-alive connection
}

TEST_F(http_server, fails_to_start_on_a_port_in_use) {
  start();
  server_options opts;
  opts.port = srv->port();
  auto second = server::start(opts, make_routes(), {});
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().category(), caf::atom("vigil"));
  EXPECT_EQ(second.error().code(),
            static_cast<uint8_t>(vigil::errc::unavailable));
  EXPECT_NE(describe(second.error()).find(std::to_string(srv->port())),
            std::string::npos);
}

TEST_F(http_server, reports_each_response_and_rejection_to_the_hooks_once) {
  start();
  EXPECT_EQ(srv->host(), "127.0.0.1");
  auto c = make_client();
  ASSERT_TRUE(c.send(verb::get, "/echo/a"));
  ASSERT_TRUE(c.send(verb::get, "/nope"));
  ASSERT_TRUE(c.send(verb::post, "/ingest"));
  ASSERT_TRUE(c.send(verb::delete_, "/echo/a"));
  ASSERT_TRUE(
    c.send(verb::post, "/ingest", "x", {{"Authorization", ingest_auth}}));
  using response_list = std::vector<std::pair<std::string, unsigned>>;
  using reject_list = std::vector<std::pair<std::string, std::string>>;
  ASSERT_TRUE(wait_until(
    [&] {
      std::lock_guard<std::mutex> guard{hooks_mtx};
      return responses.size() >= 5;
    },
    5s));
  std::lock_guard<std::mutex> guard{hooks_mtx};
  EXPECT_EQ(responses, (response_list{{"echo", 200},
                                      {"unknown", 404},
                                      {"ingest", 401},
                                      {"unknown", 405},
                                      {"ingest", 204}}));
  EXPECT_EQ(rejects, (reject_list{{"unknown", "not_found"},
                                  {"ingest", "unauthorized"},
                                  {"unknown", "method_not_allowed"}}));
}

// -- load ---------------------------------------------------------------------

TEST_F(http_server, serves_many_concurrent_clients) {
  start();
  constexpr int threads = 8;
  constexpr int requests = 200;
  std::atomic<int> ok{0};
  std::atomic<int> wrong{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      auto c = make_client();
      for (int i = 0; i < requests; ++i) {
        auto id = std::to_string(t) + "-" + std::to_string(i);
        bool good = false;
        if (i % 2 == 0) {
          auto res = c.send(verb::get, "/echo/" + id);
          good = res && res->status == 200
                 && res->body.rfind("name=" + id + ";", 0) == 0;
        } else {
          auto body = binary_body(100 + i) + id;
          auto res = i % 3 == 0
                       ? c.send_chunked(verb::post, "/upload", body, 64)
                       : c.send(verb::post, "/upload", body);
          good = res && res->status == 200 && res->body == body;
        }
        (good ? ok : wrong)++;
      }
    });
  }
  for (auto& w : workers)
    w.join();
  EXPECT_EQ(ok.load(), threads * requests);
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_TRUE(wait_until(
    [&] {
      return count_responses("echo", 200) + count_responses("upload", 200)
             == threads * requests;
    },
    5s));
  EXPECT_EQ(srv->in_flight(), 0u);
}

} // namespace
