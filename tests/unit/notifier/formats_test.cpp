#include "actors/notifier/formats.hpp"

#include <algorithm>
#include <optional>
#include <string>
#include <tuple>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "runtime/codec/protobuf_check.hpp"

namespace vigil::notifier {
namespace {

using json = nlohmann::json;

notification sample(event_kind event = event_kind::opened) {
  notification n;
  n.event = event;
  n.dedup_key = "vigil-INC-000042";
  n.incident = 42;
  n.incident_id = "INC-000042";
  n.severity = 4;
  n.status = "open";
  n.type = "latency";
  n.title = "Checkout latency p99 above 2s";
  n.service = "checkout";
  n.text = "p99 latency of checkout rose from 180 ms to 2.4 s.";
  n.ts_ms = 1'700'000'000'123;
  n.source = "vigil-node-1";
  return n;
}

/// Parses a request body; a parse error fails the test.
json parse(const http_request& req) {
  EXPECT_TRUE(codec::is_valid_utf8(req.body)) << req.body;
  return json::parse(req.body);
}

/// The value of the header `name`, if present (exactly once).
std::optional<std::string> header(const http_request& req,
                                  std::string_view name) {
  std::optional<std::string> found;
  for (auto& [k, v] : req.headers) {
    if (k == name) {
      EXPECT_FALSE(found) << "header " << name << " twice";
      found = v;
    }
  }
  return found;
}

/// Unicode code points in valid UTF-8 text.
size_t code_points(std::string_view s) {
  return static_cast<size_t>(std::count_if(s.begin(), s.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xc0) != 0x80;
  }));
}

std::string repeat(std::string_view piece, size_t times) {
  std::string out;
  for (size_t i = 0; i < times; ++i)
    out += piece;
  return out;
}

// -- names -------------------------------------------------------------------

TEST(formats, kinds_print_their_documented_names) {
  EXPECT_EQ(to_string(receiver_kind::webhook), "webhook");
  EXPECT_EQ(to_string(receiver_kind::slack), "slack");
  EXPECT_EQ(to_string(receiver_kind::pagerduty), "pagerduty");
  EXPECT_EQ(to_string(receiver_kind::opsgenie), "opsgenie");
  EXPECT_EQ(to_string(event_kind::opened), "opened");
  EXPECT_EQ(to_string(event_kind::escalated), "escalated");
  EXPECT_EQ(to_string(event_kind::action), "action");
  EXPECT_EQ(to_string(event_kind::acknowledged), "acknowledged");
  EXPECT_EQ(to_string(event_kind::resolved), "resolved");
}

// -- HMAC and the webhook signature ------------------------------------------

TEST(formats, hmac_sha256_matches_rfc_4231_test_cases) {
  // Test case 2.
  EXPECT_EQ(hmac_sha256_hex("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  // Test case 1: key 20 x 0x0b, data "Hi There".
  EXPECT_EQ(hmac_sha256_hex(std::string(20, '\x0b'), "Hi There"),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  // Empty key and message do not crash and give the known value.
  EXPECT_EQ(hmac_sha256_hex("", ""),
            "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}

TEST(formats, webhook_body_holds_every_documented_field) {
  auto n = sample(event_kind::escalated);
  auto req = webhook_request(n, "https://hooks.example/vigil", "ops-hook", "");
  EXPECT_EQ(req.method, "POST");
  EXPECT_EQ(req.url, "https://hooks.example/vigil");
  EXPECT_EQ(header(req, "Content-Type"), "application/json");
  EXPECT_FALSE(header(req, "X-Vigil-Signature"));
  EXPECT_FALSE(header(req, "X-Vigil-Timestamp"));
  auto j = parse(req);
  EXPECT_EQ(j["version"], "1");
  EXPECT_EQ(j["receiver"], "ops-hook");
  EXPECT_EQ(j["event"], "escalated");
  EXPECT_EQ(j["dedup_key"], "vigil-INC-000042");
  EXPECT_EQ(j["incident"]["id"], "INC-000042");
  EXPECT_EQ(j["incident"]["status"], "open");
  EXPECT_EQ(j["incident"]["severity"], 4);
  EXPECT_EQ(j["incident"]["type"], "latency");
  EXPECT_EQ(j["incident"]["title"], n.title);
  EXPECT_EQ(j["incident"]["service"], "checkout");
  EXPECT_EQ(j["text"], n.text);
  EXPECT_EQ(j["ts"], n.ts_ms);
  EXPECT_EQ(j["source"], "vigil-node-1");
}

TEST(formats, webhook_sends_every_event_kind) {
  for (auto e : {event_kind::opened, event_kind::escalated, event_kind::action,
                 event_kind::acknowledged, event_kind::resolved}) {
    auto req = webhook_request(sample(e), "https://hooks.example/", "r", "");
    EXPECT_EQ(req.url, "https://hooks.example/");
    EXPECT_EQ(parse(req)["event"], std::string{to_string(e)});
  }
}

TEST(formats, webhook_signature_covers_timestamp_and_body) {
  auto n = sample();
  auto req = webhook_request(n, "https://hooks.example/", "r", "s3cret");
  auto ts = header(req, "X-Vigil-Timestamp");
  auto sig = header(req, "X-Vigil-Signature");
  ASSERT_TRUE(ts);
  ASSERT_TRUE(sig);
  // Unix seconds of ts_ms, rounded down.
  EXPECT_EQ(*ts, "1700000000");
  // A receiver recomputes it from what it got, with no help from us.
  EXPECT_EQ(*sig, "sha256=" + hmac_sha256_hex("s3cret", *ts + "." + req.body));
  EXPECT_EQ(*sig, webhook_signature("s3cret", *ts, req.body));
  // Another secret, another timestamp or another body gives another value.
  EXPECT_NE(*sig, webhook_signature("other", *ts, req.body));
  EXPECT_NE(*sig, webhook_signature("s3cret", "1700000001", req.body));
  EXPECT_NE(*sig, webhook_signature("s3cret", *ts, req.body + " "));
  // The signature is not over the body alone.
  EXPECT_NE(*sig, "sha256=" + hmac_sha256_hex("s3cret", req.body));
}

TEST(formats, webhook_timestamps_round_toward_the_past) {
  EXPECT_EQ(webhook_timestamp(0), "0");
  EXPECT_EQ(webhook_timestamp(999), "0");
  EXPECT_EQ(webhook_timestamp(1'000), "1");
  EXPECT_EQ(webhook_timestamp(-1), "-1");
  EXPECT_EQ(webhook_timestamp(-1'000), "-1");
  EXPECT_EQ(webhook_timestamp(-1'001), "-2");
}

// -- PagerDuty ----------------------------------------------------------------

TEST(formats, pagerduty_trigger_has_every_required_field) {
  auto n = sample();
  auto req = pagerduty_request(n, "", "R0UT1NGKEY");
  EXPECT_EQ(req.method, "POST");
  EXPECT_EQ(req.url, "https://events.pagerduty.com/v2/enqueue");
  EXPECT_EQ(header(req, "Content-Type"), "application/json");
  auto j = parse(req);
  EXPECT_EQ(j["routing_key"], "R0UT1NGKEY");
  EXPECT_EQ(j["event_action"], "trigger");
  EXPECT_EQ(j["dedup_key"], "vigil-INC-000042");
  EXPECT_EQ(j["client"], "Vigil");
  auto& p = j["payload"];
  EXPECT_EQ(p["summary"], n.title);
  EXPECT_EQ(p["source"], "vigil-node-1");
  EXPECT_EQ(p["severity"], "error");
  EXPECT_EQ(p["component"], "checkout");
  EXPECT_EQ(p["class"], "latency");
  EXPECT_EQ(p["timestamp"], "2023-11-14T22:13:20.123Z");
  EXPECT_EQ(p["custom_details"]["incident"], "INC-000042");
  EXPECT_EQ(p["custom_details"]["status"], "open");
  EXPECT_EQ(p["custom_details"]["text"], n.text);
}

TEST(formats, pagerduty_uses_the_url_it_is_given) {
  auto req = pagerduty_request(sample(), "http://127.0.0.1:9/v2/enqueue", "k");
  EXPECT_EQ(req.url, "http://127.0.0.1:9/v2/enqueue");
}

TEST(formats, pagerduty_severity_follows_the_mapping_table) {
  EXPECT_EQ(pagerduty_severity(5), "critical");
  EXPECT_EQ(pagerduty_severity(4), "error");
  EXPECT_EQ(pagerduty_severity(3), "warning");
  EXPECT_EQ(pagerduty_severity(2), "info");
  EXPECT_EQ(pagerduty_severity(1), "info");
  EXPECT_EQ(pagerduty_severity(0), "info");
  EXPECT_EQ(pagerduty_severity(9), "critical");
  // And the body carries it.
  for (uint32_t s = 1; s <= 5; ++s) {
    auto n = sample();
    n.severity = s;
    auto j = parse(pagerduty_request(n, "", "k"));
    EXPECT_EQ(j["payload"]["severity"], std::string{pagerduty_severity(s)});
  }
}

TEST(formats, pagerduty_event_actions_follow_the_incident) {
  auto action_of = [](event_kind e) {
    return parse(pagerduty_request(sample(e), "", "k"))["event_action"];
  };
  EXPECT_EQ(action_of(event_kind::opened), "trigger");
  EXPECT_EQ(action_of(event_kind::escalated), "trigger");
  EXPECT_EQ(action_of(event_kind::acknowledged), "acknowledge");
  EXPECT_EQ(action_of(event_kind::resolved), "resolve");
  // Follow-ups carry the routing and dedup keys but no payload.
  for (auto e : {event_kind::acknowledged, event_kind::resolved}) {
    auto j = parse(pagerduty_request(sample(e), "", "k"));
    EXPECT_EQ(j["routing_key"], "k");
    EXPECT_EQ(j["dedup_key"], "vigil-INC-000042");
    EXPECT_FALSE(j.contains("payload"));
  }
}

TEST(formats, pagerduty_and_opsgenie_send_nothing_for_actions) {
  auto pd = pagerduty_request(sample(event_kind::action), "", "k");
  EXPECT_TRUE(pd.url.empty());
  EXPECT_TRUE(pd.body.empty());
  auto og = opsgenie_request(sample(event_kind::action), "", "k");
  EXPECT_TRUE(og.url.empty());
  EXPECT_TRUE(og.body.empty());
}

TEST(formats, pagerduty_summary_is_cut_to_1024_characters) {
  auto n = sample();
  n.title = std::string(5'000, 'x');
  auto j = parse(pagerduty_request(n, "", "k"));
  auto summary = j["payload"]["summary"].get<std::string>();
  EXPECT_EQ(code_points(summary), 1024u);
  EXPECT_EQ(summary.substr(0, 1023), std::string(1023, 'x'));
  // A title at the limit is kept whole.
  n.title = std::string(1024, 'y');
  j = parse(pagerduty_request(n, "", "k"));
  EXPECT_EQ(j["payload"]["summary"], n.title);
}

TEST(formats, an_empty_title_falls_back_to_the_incident_id) {
  auto n = sample();
  n.title.clear();
  n.source.clear();
  auto j = parse(pagerduty_request(n, "", "k"));
  EXPECT_EQ(j["payload"]["summary"], "INC-000042");
  // PagerDuty requires a source.
  EXPECT_EQ(j["payload"]["source"], "vigil");
}

// -- OpsGenie -----------------------------------------------------------------

TEST(formats, opsgenie_create_has_every_field_and_the_genie_key) {
  auto n = sample();
  auto req = opsgenie_request(n, "", "KEY-123");
  EXPECT_EQ(req.method, "POST");
  EXPECT_EQ(req.url, "https://api.opsgenie.com/v2/alerts");
  EXPECT_EQ(header(req, "Authorization"), "GenieKey KEY-123");
  EXPECT_EQ(header(req, "Content-Type"), "application/json");
  auto j = parse(req);
  EXPECT_EQ(j["message"], n.title);
  EXPECT_EQ(j["alias"], "vigil-INC-000042");
  EXPECT_EQ(j["description"], n.text);
  EXPECT_EQ(j["priority"], "P2");
  EXPECT_EQ(j["source"], "vigil-node-1");
  EXPECT_EQ(j["entity"], "checkout");
  EXPECT_EQ(j["tags"], json::array({"vigil", "latency", "checkout"}));
  ASSERT_TRUE(j["details"].is_object());
  for (auto& [k, v] : j["details"].items())
    EXPECT_TRUE(v.is_string()) << k;
  EXPECT_EQ(j["details"]["incident"], "INC-000042");
  EXPECT_EQ(j["details"]["severity"], "4");
}

TEST(formats, opsgenie_priority_follows_the_mapping_table) {
  EXPECT_EQ(opsgenie_priority(5), "P1");
  EXPECT_EQ(opsgenie_priority(4), "P2");
  EXPECT_EQ(opsgenie_priority(3), "P3");
  EXPECT_EQ(opsgenie_priority(2), "P4");
  EXPECT_EQ(opsgenie_priority(1), "P5");
  EXPECT_EQ(opsgenie_priority(0), "P5");
  EXPECT_EQ(opsgenie_priority(7), "P1");
  for (uint32_t s = 1; s <= 5; ++s) {
    auto n = sample();
    n.severity = s;
    EXPECT_EQ(parse(opsgenie_request(n, "", "k"))["priority"],
              "P" + std::to_string(6 - s));
  }
}

TEST(formats, opsgenie_escalation_is_a_create_with_the_same_alias) {
  auto opened = opsgenie_request(sample(event_kind::opened), "", "k");
  auto escalated = opsgenie_request(sample(event_kind::escalated), "", "k");
  EXPECT_EQ(escalated.url, opened.url);
  EXPECT_EQ(parse(escalated)["alias"], parse(opened)["alias"]);
  EXPECT_TRUE(parse(escalated).contains("note"));
}

TEST(formats, opsgenie_acknowledge_and_close_address_the_alias) {
  auto n = sample(event_kind::acknowledged);
  n.dedup_key = "vigil INC/42?x#y%z";
  auto ack = opsgenie_request(n, "https://api.eu.opsgenie.com/", "k");
  EXPECT_EQ(ack.url, "https://api.eu.opsgenie.com/v2/alerts/"
                     "vigil%20INC%2F42%3Fx%23y%25z/acknowledge"
                     "?identifierType=alias");
  EXPECT_EQ(header(ack, "Authorization"), "GenieKey k");
  auto j = parse(ack);
  EXPECT_EQ(j["source"], "vigil-node-1");
  EXPECT_TRUE(j["note"].is_string());
  EXPECT_FALSE(j.contains("message"));
  n.event = event_kind::resolved;
  auto close = opsgenie_request(n, "https://api.eu.opsgenie.com", "k");
  EXPECT_EQ(close.url, "https://api.eu.opsgenie.com/v2/alerts/"
                       "vigil%20INC%2F42%3Fx%23y%25z/close"
                       "?identifierType=alias");
  j = parse(close);
  EXPECT_EQ(j["source"], "vigil-node-1");
  EXPECT_TRUE(j["note"].is_string());
}

TEST(formats, opsgenie_message_is_cut_to_130_characters) {
  auto n = sample();
  n.title = std::string(300, 'm');
  n.text = std::string(20'000, 'd');
  auto j = parse(opsgenie_request(n, "", "k"));
  EXPECT_EQ(code_points(j["message"].get<std::string>()), 130u);
  EXPECT_EQ(code_points(j["description"].get<std::string>()), 15'000u);
}

TEST(formats, an_over_long_alias_is_cut_the_same_way_everywhere) {
  auto n = sample();
  n.dedup_key = std::string(600, 'a');
  auto create = parse(opsgenie_request(n, "", "k"));
  auto alias = create["alias"].get<std::string>();
  EXPECT_EQ(code_points(alias), 512u);
  n.event = event_kind::resolved;
  auto close = opsgenie_request(n, "", "k");
  // The alias is 511 'a' and "…", percent-encoded in the path.
  EXPECT_EQ(close.url, "https://api.opsgenie.com/v2/alerts/"
                         + std::string(511, 'a')
                         + "%E2%80%A6/close?identifierType=alias");
}

// -- Slack --------------------------------------------------------------------

TEST(formats, slack_message_has_header_section_and_context) {
  auto n = sample();
  auto req = slack_request(n, "https://hooks.slack.com/services/T/B/X");
  EXPECT_EQ(req.method, "POST");
  EXPECT_EQ(req.url, "https://hooks.slack.com/services/T/B/X");
  EXPECT_EQ(header(req, "Content-Type"), "application/json");
  auto j = parse(req);
  ASSERT_TRUE(j["text"].is_string());
  EXPECT_NE(j["text"].get<std::string>().find(n.title), std::string::npos);
  auto& blocks = j["blocks"];
  ASSERT_EQ(blocks.size(), 3u);
  EXPECT_EQ(blocks[0]["type"], "header");
  EXPECT_EQ(blocks[0]["text"]["type"], "plain_text");
  EXPECT_EQ(blocks[0]["text"]["text"], n.title);
  EXPECT_EQ(blocks[1]["type"], "section");
  EXPECT_EQ(blocks[1]["text"]["type"], "mrkdwn");
  EXPECT_EQ(blocks[1]["text"]["text"], n.text);
  EXPECT_EQ(blocks[2]["type"], "context");
  ASSERT_EQ(blocks[2]["elements"].size(), 1u);
  EXPECT_EQ(blocks[2]["elements"][0]["type"], "mrkdwn");
  auto context = blocks[2]["elements"][0]["text"].get<std::string>();
  EXPECT_EQ(context.rfind("INC-000042 \u00b7 severity 4 \u00b7 status open", 0),
            0u)
    << context;
  EXPECT_NE(context.find("opened"), std::string::npos);
}

TEST(formats, slack_sends_every_event_kind) {
  for (auto e : {event_kind::opened, event_kind::escalated, event_kind::action,
                 event_kind::acknowledged, event_kind::resolved}) {
    auto req = slack_request(sample(e), "https://hooks.slack.com/x");
    EXPECT_EQ(req.url, "https://hooks.slack.com/x");
    auto context = parse(req)["blocks"][2]["elements"][0]["text"];
    EXPECT_NE(context.get<std::string>().find(to_string(e)), std::string::npos);
  }
}

TEST(formats, slack_escapes_its_control_characters_in_mrkdwn) {
  auto n = sample();
  n.text = "a < b && c > d <!channel> <https://evil|click>";
  n.status = "<open>";
  n.title = "R&D <down>";
  auto j = parse(slack_request(n, "u"));
  EXPECT_EQ(j["blocks"][1]["text"]["text"],
            "a &lt; b &amp;&amp; c &gt; d &lt;!channel&gt; "
            "&lt;https://evil|click&gt;");
  auto context = j["blocks"][2]["elements"][0]["text"].get<std::string>();
  EXPECT_NE(context.find("status &lt;open&gt;"), std::string::npos);
  auto fallback = j["text"].get<std::string>();
  EXPECT_NE(fallback.find("R&amp;D &lt;down&gt;"), std::string::npos);
  EXPECT_EQ(fallback.find('<'), std::string::npos);
  // plain_text is not parsed for markup, so the header shows the title as is.
  EXPECT_EQ(j["blocks"][0]["text"]["text"], "R&D <down>");
}

TEST(formats, slack_header_is_cut_to_150_characters_between_characters) {
  auto n = sample();
  // 200 three-byte characters: a byte cut at 150 would split one.
  n.title = repeat("\u8b66", 200);
  auto j = parse(slack_request(n, "u"));
  auto title = j["blocks"][0]["text"]["text"].get<std::string>();
  EXPECT_TRUE(codec::is_valid_utf8(title));
  EXPECT_EQ(code_points(title), 150u);
  EXPECT_EQ(title, repeat("\u8b66", 149) + "\u2026");
  // Four-byte characters (emoji) too, via the plain function.
  auto cut = truncate_utf8(repeat("\U0001F525", 10) + "tail", 5);
  EXPECT_EQ(cut, repeat("\U0001F525", 4) + "\u2026");
}

TEST(formats, slack_section_is_cut_to_3000_without_splitting_an_entity) {
  auto n = sample();
  n.text = std::string(2'998, 'x') + "&&&";
  auto j = parse(slack_request(n, "u"));
  auto text = j["blocks"][1]["text"]["text"].get<std::string>();
  EXPECT_LE(code_points(text), 3'000u);
  // "&amp;" does not fit after 2998 characters and 1 for the ellipsis.
  EXPECT_EQ(text, std::string(2'998, 'x') + "\u2026");
  EXPECT_EQ(slack_escape("a&b", 5), "a\u2026");
  EXPECT_EQ(slack_escape("a&b", 7), "a&amp;b");
  EXPECT_EQ(slack_escape("a&b", 6), "a\u2026");
  EXPECT_EQ(slack_escape("a&b", 0), "");
}

// -- truncation and bad input ----------------------------------------------

TEST(formats, truncation_keeps_short_text_and_marks_cut_text) {
  EXPECT_EQ(truncate_utf8("abc", 3), "abc");
  EXPECT_EQ(truncate_utf8("abcd", 3), "ab\u2026");
  EXPECT_EQ(truncate_utf8("abcd", 1), "\u2026");
  EXPECT_EQ(truncate_utf8("abcd", 0), "");
  EXPECT_EQ(truncate_utf8("", 5), "");
  EXPECT_EQ(truncate_utf8("h\u00e9llo", 5), "h\u00e9llo");
}

TEST(formats, invalid_utf8_never_throws_and_is_replaced) {
  auto n = sample();
  // A lone continuation byte, a truncated sequence, an overlong slash and a
  // UTF-16 surrogate encoded in UTF-8.
  std::string bad = "bad \x80 \xe2\x82 \xc0\xaf \xed\xa0\x80 end";
  n.title = bad;
  n.text = bad;
  n.service = bad;
  n.dedup_key = bad;
  n.status = bad;
  n.type = bad;
  n.source = bad;
  n.incident_id = bad;
  for (auto e : {event_kind::opened, event_kind::acknowledged,
                 event_kind::resolved, event_kind::action}) {
    n.event = e;
    http_request reqs[4];
    EXPECT_NO_THROW(reqs[0] = webhook_request(n, "u", "r", "s"));
    EXPECT_NO_THROW(reqs[1] = slack_request(n, "u"));
    EXPECT_NO_THROW(reqs[2] = pagerduty_request(n, "u", "k"));
    EXPECT_NO_THROW(reqs[3] = opsgenie_request(n, "u", "k"));
    for (auto& req : reqs) {
      if (req.body.empty())
        continue; // action events for paging receivers
      EXPECT_TRUE(codec::is_valid_utf8(req.body)) << req.body;
      EXPECT_NO_THROW(std::ignore = json::parse(req.body));
    }
  }
  auto fixed = truncate_utf8(bad, 100);
  EXPECT_TRUE(codec::is_valid_utf8(fixed));
  EXPECT_NE(fixed.find("\uFFFD"), std::string::npos);
  EXPECT_EQ(fixed.rfind("bad ", 0), 0u);
}

} // namespace
} // namespace vigil::notifier
