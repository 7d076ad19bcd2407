#pragma once

#include <string>

#include <caf/expected.hpp>

namespace vigil::cluster {

/// The node's id: `configured` when not empty, else the one kept in
/// `<data_dir>/node.id`, created ("vigil-" + 8 hex digits) on first start.
/// Kept per data dir, so several nodes on one host differ and a restarted
/// node keeps its name.
caf::expected<std::string> node_id(const std::string& configured,
                                   const std::string& data_dir);

} // namespace vigil::cluster
