#pragma once

// Alertmanager webhook notifications (payload version "4").

#include <string_view>

#include <caf/expected.hpp>

#include "messages/records.hpp"
#include "runtime/codec/options.hpp"

namespace vigil::codec {

/// Decodes an Alertmanager webhook body: the top-level fields (receiver,
/// status, alerts, groupLabels, commonLabels, commonAnnotations,
/// externalURL, version, groupKey, truncatedAlerts) and per alert its
/// status, labels, annotations, startsAt / endsAt (RFC 3339 to ms; Go's
/// zero time to 0), generatorURL and fingerprint. An alert's service is the
/// first of `opts.service_labels` among its labels, or empty. Any version
/// other than "4" is refused. Errors name the JSON path
/// (`$.alerts[2].startsAt`).
[[nodiscard]] caf::expected<alert_batch>
decode_alertmanager(std::string_view json, const decode_options& opts,
                    decode_stats* stats = nullptr);

} // namespace vigil::codec
