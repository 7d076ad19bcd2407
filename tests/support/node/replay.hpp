#pragma once

// Replays captured requests (tests/fixtures/*.{bin,json} with their
// .headers) against a node the way the real client sent them, and reads
// vigild's /metrics.

#include <optional>
#include <string>

#include "tests/support/node/vigild.hpp"

namespace vigil::test {

/// Sends fixture `body_file` to `target` with the Content-Type and
/// Content-Encoding of its `.headers` file, chunked when the original was.
caf::expected<http::client_response> replay(const vigild& node,
                                            const std::string& body_file,
                                            const std::string& target);

/// The value of the sample `series` (e.g. `x_total{a="b"}`) in a Prometheus
/// text exposition; nothing when absent.
std::optional<double> metric_value(const std::string& exposition,
                                   const std::string& series);

/// Scrapes `node`'s /metrics and returns the value of `series` (0 when
/// absent).
double scrape(const vigild& node, const std::string& series);

} // namespace vigil::test
