// Storm digests: a chat receiver with a backlog gets action and escalation
// notices folded into one message each, and nothing is lost; pagers never
// see a digest.

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>
#include <nlohmann/json.hpp>

#include "actors/notifier/notifier.hpp"
#include "messages/messages.hpp"
#include "tests/support/http_endpoint.hpp"
#include "tests/support/support.hpp"

namespace vigil::notifier {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

TEST(digest, folds_notices_and_keeps_the_highest_severity) {
  std::vector<outbox_entry> es(3);
  for (size_t i = 0; i < es.size(); ++i) {
    es[i].note.event = i == 1 ? event_kind::escalated : event_kind::action;
    es[i].note.incident = 4;
    es[i].note.incident_id = "INC-000004";
    es[i].note.severity = 2 + static_cast<uint32_t>(i);
    es[i].note.text = "step " + std::to_string(i);
  }
  auto d = make_digest({&es[0], &es[1], &es[2]}, "n1");
  EXPECT_EQ(d.event, event_kind::digest);
  EXPECT_EQ(d.severity, 4u);
  EXPECT_EQ(d.incident_id, "INC-000004");
  EXPECT_EQ(d.title, "3 notifications about 1 incident (storm digest)");
  EXPECT_EQ(d.text, "INC-000004 action: step 0\nINC-000004 escalated: step "
                    "1\nINC-000004 action: step 2\n");
  // Pagers get nothing for a digest.
  EXPECT_TRUE(pagerduty_request(d, "", "key").url.empty());
  EXPECT_TRUE(opsgenie_request(d, "", "key").url.empty());
}

TEST(digest, a_backlog_at_a_chat_receiver_is_delivered_in_digests_losing_nothing) {
  std::atomic<bool> down{true};
  std::mutex mtx;
  size_t requests = 0, digests = 0, covered = 0;
  auto srv = test::serve_post(
    "/hook", [&](http::request& req, http::responder respond) {
      http::response res;
      if (down) {
        res.status = 503;
        respond(std::move(res));
        return;
      }
      auto j = json::parse(req.body);
      std::lock_guard<std::mutex> guard{mtx};
      ++requests;
      if (j["event"] == "digest") {
        ++digests;
        auto text = j["text"].get<std::string>();
        covered += static_cast<size_t>(
          std::count(text.begin(), text.end(), '\n'));
      } else {
        ++covered;
      }
      respond(std::move(res));
    });
  caf::actor_system_config cfg;
  add_message_types(cfg);
  caf::actor_system sys{cfg};
  notifier_config nc;
  nc.opts.retry_initial = 20ms;
  nc.opts.retry_max = 50ms;
  nc.opts.digest_after = 20;
  nc.opts.receivers = {"hook webhook http://127.0.0.1:"
                       + std::to_string(srv->port()) + "/hook"};
  nc.receivers = *make_receivers(nc.opts);
  nc.tick = 5ms;
  auto n = sys.spawn<caf::detached>(notifier, nc);
  caf::scoped_actor self{sys};
  for (int i = 0; i < 50; ++i) {
    incident_notice x;
    x.event = i % 5 == 0 ? "escalated" : "action";
    x.incident = 1 + i % 3;
    x.severity = 3;
    x.text = "notice " + std::to_string(i);
    self->request(n, 5s, atom::notify_v, x)
      .receive([](uint32_t k) { EXPECT_EQ(k, 1u); },
               [](caf::error& err) { FAIL() << render(err); });
  }
  down = false;
  ASSERT_TRUE(test::wait_until(
    [&] {
      std::lock_guard<std::mutex> guard{mtx};
      return covered >= 50;
    },
    10s));
  std::lock_guard<std::mutex> guard{mtx};
  EXPECT_EQ(covered, 50u);
  EXPECT_GE(digests, 1u);
  EXPECT_LT(requests, 50u);
  self->send_exit(n, caf::exit_reason::user_shutdown);
}

} // namespace
} // namespace vigil::notifier
