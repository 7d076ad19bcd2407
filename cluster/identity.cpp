#include "cluster/identity.hpp"

#include <filesystem>
#include <fstream>

#include "messages/errc.hpp"
#include "runtime/secrets.hpp"

namespace vigil::cluster {

caf::expected<std::string> node_id(const std::string& configured,
                                   const std::string& data_dir) {
  if (!configured.empty())
    return configured;
  auto path = (std::filesystem::path{data_dir} / "node.id").string();
  if (std::filesystem::exists(path))
    return read_token_file(path);
  auto id = "vigil-" + random_hex(4);
  std::ofstream out{path};
  out << id << "\n";
  if (!out)
    return caf::make_error(errc::storage_failure, "cannot write node id",
                           path);
  return id;
}

} // namespace vigil::cluster
