#pragma once

// The deterministic incident summary: a few sentences for the on-call,
// built only from the incident's own evidence (what, where, the likely
// cause with its strongest evidence, recent changes, what Vigil did, where
// it stands). Used when no language model is configured, and as the
// fallback when one fails.

#include <string>

#include "actors/correlator/incidents.hpp"

namespace vigil::correlator {

/// The summary of `inc` (plain text, at most ~1 KB).
std::string template_summary(const incident& inc);

} // namespace vigil::correlator
