#pragma once

// The summarizer actor: asks a language model (llm.*) to summarise an
// incident from its evidence and hands the text to the correlator, which
// shows it instead of the template summary. Detached (the call blocks);
// one call at a time, requests for the same incident coalesce; any
// failure leaves the template summary and is counted.

#include <memory>
#include <set>
#include <string>

#include "config/options.hpp"
#include "messages/interfaces.hpp"
#include "runtime/metrics/registry.hpp"

namespace vigil::llm {

/// Everything the summarizer needs, passed by value at spawn.
struct summarizer_config {
  llm_options opts;
  /// The API key, read at start.
  std::string key;
  caf::atom_value correlator_key = caf::atom("");
  caf::atom_value rca_key = caf::atom("");
  std::shared_ptr<metrics::registry> metrics;
};

/// What the summarizer owns: its config and the incidents queued.
struct summarizer_state {
  summarizer_config cfg;
  std::set<uint64_t> queued;
  metrics::family<metrics::counter>* calls = nullptr;
  static inline const char* name = "vigil.summarizer";
};

/// The summarizer's behaviour; spawn it detached.
summarizer_actor::behavior_type
summarizer(summarizer_actor::stateful_pointer<summarizer_state> self,
           summarizer_config cfg);

} // namespace vigil::llm
