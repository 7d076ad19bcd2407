#pragma once

// Incidents and silences to and from their stored form (proto records in
// the store's incidents and silences columns) and to the incident object
// people see (CONTRACT §3).

#include <string>
#include <string_view>

#include <caf/expected.hpp>

#include "actors/correlator/incidents.hpp"
#include "actors/correlator/silences.hpp"
#include "messages/incidents.hpp"

namespace vigil::correlator {

/// Encodes `inc` as a proto incident_record.
std::string encode(const incident& inc);
/// Decodes a proto incident_record; false when unreadable or out of range.
bool decode(std::string_view bytes, incident& inc);

/// The incident object; `brief` leaves out symptoms and timeline.
incident_view to_view(const incident& inc, bool brief);

/// Encodes a silence as a proto silence_record.
std::string encode(const silence_spec& s);
/// Decodes a proto silence_record; false when unreadable.
bool decode(std::string_view bytes, silence_spec& s);

/// Checks a silence and adds it to `set`: matchers parse, and either a
/// one-off range or a recurrence. The error names the offending field.
caf::expected<void> apply(const silence_spec& s, suppression_set& set);

} // namespace vigil::correlator
