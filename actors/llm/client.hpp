#pragma once

// Incident summaries by a language model: the prompt (built only from the
// incident's evidence, asking the model to cite it), the request for an
// OpenAI-compatible chat completions API or the Anthropic Messages API, and
// reading the answer. Pure functions plus one blocking HTTP call.

#include <string>
#include <string_view>
#include <vector>

#include <caf/expected.hpp>

#include "config/options.hpp"
#include "messages/incidents.hpp"

namespace vigil::llm {

/// The system instruction and the user message for one incident.
struct prompt {
  std::string system;
  std::string user;
};

/// Builds the prompt: title, severity, services, the ranked candidates with
/// their evidence and confidence, the changes and the timeline (bounded),
/// what Vigil did; `neighbours` are topology edges "A->B" around the
/// candidates. The model is told to use only this evidence, to cite it, to
/// say when the cause is unclear, and to answer in at most 120 words.
prompt make_prompt(const incident_view& inc,
                   const std::vector<std::string>& neighbours);

/// An HTTP request (JSON body) for `opts.provider`.
struct request {
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

/// The request for `p` under `opts` with `key`.
request make_request(const llm_options& opts, const std::string& key,
                     const prompt& p);

/// Reads the text of an answer (choices[0].message.content for openai,
/// the text blocks of content[] for anthropic); the error names what is
/// missing, or carries the API's own error message.
caf::expected<std::string> read_answer(const llm_options& opts,
                                       std::string_view body);

/// Sends `r` (blocking, opts.timeout) and reads the answer.
caf::expected<std::string> complete(const llm_options& opts,
                                    const request& r);

/// The API key from opts.api_key_file or opts.api_key_env (trimmed); an
/// error when neither yields one.
caf::expected<std::string> api_key(const llm_options& opts);

} // namespace vigil::llm
