#include "actors/llm/client.hpp"
#include "messages/labels.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include <curl/curl.h>
#include <nlohmann/json.hpp>

#include "messages/errc.hpp"

namespace vigil::llm {

namespace {

using json = nlohmann::json;

constexpr size_t max_timeline = 60;
constexpr size_t max_answer_bytes = 256 * 1024;

std::string trim(std::string s) {
  auto sp = [](unsigned char c) { return std::isspace(c) != 0; };
  while (!s.empty() && sp(static_cast<unsigned char>(s.back())))
    s.pop_back();
  size_t i = 0;
  while (i < s.size() && sp(static_cast<unsigned char>(s[i])))
    ++i;
  return s.substr(i);
}

size_t collect(char* data, size_t size, size_t n, void* user) {
  auto* s = static_cast<std::string*>(user);
  auto len = size * n;
  if (s->size() + len > max_answer_bytes)
    return 0; // too large: abort the transfer
  s->append(data, len);
  return len;
}

} // namespace

prompt make_prompt(const incident_view& inc,
                   const std::vector<std::string>& neighbours) {
  prompt p;
  p.system
    = "You summarise production incidents for the engineer on call. Use "
      "only the evidence given; cite it (service, metric, change, time) for "
      "every claim; if the evidence does not settle the cause, say so "
      "instead of guessing. Plain text, at most 120 words: what is broken, "
      "the likely cause and why, what was already done, what to check "
      "next.";
  std::ostringstream u;
  u << "Incident " << incident_label(inc.id) << ": " << inc.title << "\n"
    << "Type: " << inc.type << "; severity " << inc.severity
    << " of 5; status " << inc.status << "\n"
    << "Services affected: ";
  for (size_t i = 0; i < inc.services.size(); ++i)
    u << (i ? ", " : "") << inc.services[i];
  u << "\n";
  const auto& rc = inc.root_cause;
  u << "Root-cause ranking (confidence " << rc.confidence_level;
  if (!rc.confidence_reason.empty())
    u << ": " << rc.confidence_reason;
  u << "):\n";
  for (size_t i = 0; i < rc.candidates.size() && i < 5; ++i) {
    const auto& c = rc.candidates[i];
    char score[16];
    std::snprintf(score, sizeof score, "%.2f", c.score);
    u << "- " << c.service << " score " << score;
    for (const auto& e : c.evidence)
      u << "; " << e;
    u << "\n";
  }
  if (!neighbours.empty()) {
    u << "Dependencies around the candidates (caller->callee): ";
    for (size_t i = 0; i < neighbours.size() && i < 30; ++i)
      u << (i ? ", " : "") << neighbours[i];
    u << "\n";
  }
  u << "Timeline (Unix seconds, oldest first):\n";
  size_t shown = 0;
  for (const auto& e : inc.timeline) {
    if (shown++ >= max_timeline) {
      u << "- ... " << inc.timeline.size() - max_timeline
        << " more entries\n";
      break;
    }
    u << "- " << e.ts_ms / 1000 << " " << e.kind
      << (e.service.empty() ? "" : " " + e.service) << ": " << e.text << "\n";
  }
  if (!inc.actions.empty()) {
    u << "Actions by Vigil:\n";
    for (const auto& a : inc.actions)
      u << "- " << a.playbook << "/" << a.step << " (" << a.action
        << "): " << a.status << (a.reason.empty() ? "" : " - " + a.reason)
        << "\n";
  }
  p.user = u.str();
  return p;
}

request make_request(const llm_options& opts, const std::string& key,
                     const prompt& p) {
  request r;
  r.url = opts.endpoint;
  r.headers.emplace_back("Content-Type", "application/json");
  json body;
  if (opts.provider == "anthropic") {
    r.headers.emplace_back("x-api-key", key);
    r.headers.emplace_back("anthropic-version", "2023-06-01");
    body = {{"model", opts.model},
            {"max_tokens", opts.max_tokens},
            {"system", p.system},
            {"messages", json::array({{{"role", "user"}, {"content", p.user}}})}};
  } else {
    r.headers.emplace_back("Authorization", "Bearer " + key);
    body = {{"model", opts.model},
            {"max_tokens", opts.max_tokens},
            {"temperature", 0},
            {"messages",
             json::array({{{"role", "system"}, {"content", p.system}},
                          {{"role", "user"}, {"content", p.user}}})}};
  }
  r.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
  return r;
}

caf::expected<std::string> read_answer(const llm_options& opts,
                                       std::string_view body) {
  auto j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return caf::make_error(errc::malformed, "the answer is not JSON");
  if (auto e = j.find("error"); e != j.end()) {
    std::string msg = e->is_object() && e->contains("message")
                          && (*e)["message"].is_string()
                        ? (*e)["message"].get<std::string>()
                        : e->dump();
    return caf::make_error(errc::unavailable, "the model's API: " + msg);
  }
  std::string text;
  if (opts.provider == "anthropic") {
    auto c = j.find("content");
    if (c == j.end() || !c->is_array())
      return caf::make_error(errc::malformed, "no content[] in the answer");
    for (const auto& block : *c)
      if (block.value("type", "") == "text" && block.contains("text")
          && block["text"].is_string())
        text += block["text"].get<std::string>();
  } else {
    auto ch = j.find("choices");
    if (ch == j.end() || !ch->is_array() || ch->empty()
        || !(*ch)[0].contains("message")
        || !(*ch)[0]["message"].contains("content")
        || !(*ch)[0]["message"]["content"].is_string())
      return caf::make_error(errc::malformed,
                             "no choices[0].message.content in the answer");
    text = (*ch)[0]["message"]["content"].get<std::string>();
  }
  text = trim(text);
  if (text.empty())
    return caf::make_error(errc::malformed, "the model answered nothing");
  if (text.size() > 4000)
    text.resize(4000);
  return text;
}

caf::expected<std::string> complete(const llm_options& opts,
                                    const request& r) {
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> h{curl_easy_init(),
                                                        curl_easy_cleanup};
  if (!h)
    return caf::make_error(errc::unavailable, "cannot create an HTTP handle");
  curl_slist* headers = nullptr;
  for (const auto& [k, v] : r.headers)
    headers = curl_slist_append(headers, (k + ": " + v).c_str());
  std::string answer;
  curl_easy_setopt(h.get(), CURLOPT_URL, r.url.c_str());
  curl_easy_setopt(h.get(), CURLOPT_POST, 1L);
  curl_easy_setopt(h.get(), CURLOPT_POSTFIELDS, r.body.c_str());
  curl_easy_setopt(h.get(), CURLOPT_POSTFIELDSIZE,
                   static_cast<long>(r.body.size()));
  curl_easy_setopt(h.get(), CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(h.get(), CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h.get(), CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h.get(), CURLOPT_TIMEOUT_MS,
                   static_cast<long>(opts.timeout.count()));
  curl_easy_setopt(h.get(), CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(h.get(), CURLOPT_WRITEDATA, &answer);
  auto rc = curl_easy_perform(h.get());
  curl_slist_free_all(headers);
  if (rc != CURLE_OK)
    return caf::make_error(errc::unavailable,
                           std::string{"the model's API: "}
                             + curl_easy_strerror(rc));
  long code = 0;
  curl_easy_getinfo(h.get(), CURLINFO_RESPONSE_CODE, &code);
  auto text = read_answer(opts, answer);
  if (code < 200 || code >= 300) {
    if (!text && text.error().code() == static_cast<uint8_t>(errc::unavailable))
      return text.error(); // carries the API's message
    return caf::make_error(errc::unavailable,
                           "the model's API answered HTTP "
                             + std::to_string(code));
  }
  return text;
}

caf::expected<std::string> api_key(const llm_options& opts) {
  std::string key;
  if (!opts.api_key_file.empty()) {
    std::ifstream in{opts.api_key_file};
    if (!in)
      return caf::make_error(errc::invalid_config,
                             "llm.api_key_file: cannot read "
                               + opts.api_key_file);
    std::stringstream ss;
    ss << in.rdbuf();
    key = trim(ss.str());
  } else if (!opts.api_key_env.empty()) {
    const char* v = std::getenv(opts.api_key_env.c_str());
    key = v ? trim(v) : std::string{};
  }
  if (key.empty())
    return caf::make_error(errc::invalid_config,
                           "llm: no API key (llm.api_key_file or "
                           "llm.api_key_env)");
  return key;
}

} // namespace vigil::llm
