#include "runtime/secrets.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <random>

#include "messages/errc.hpp"

namespace vigil {

std::string random_hex(size_t bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::random_device rd; // /dev/urandom on Linux
  std::string out;
  out.reserve(bytes * 2);
  for (size_t i = 0; i < bytes; ++i) {
    auto b = static_cast<unsigned>(rd()) & 0xff;
    out += digits[b >> 4];
    out += digits[b & 0xf];
  }
  return out;
}

caf::expected<std::string> read_token_file(const std::string& path) {
  std::ifstream in{path};
  if (!in)
    return caf::make_error(errc::invalid_config, "cannot read token file",
                           path);
  std::string line;
  std::getline(in, line);
  auto b = line.find_first_not_of(" \t\r\n");
  auto e = line.find_last_not_of(" \t\r\n");
  if (b == std::string::npos)
    return caf::make_error(errc::invalid_config, "token file is empty", path);
  return line.substr(b, e - b + 1);
}

caf::expected<std::string> load_or_create_token(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST)
      return read_token_file(path);
    return caf::make_error(errc::invalid_config,
                           std::string{"cannot create token file: "}
                             + std::strerror(errno),
                           path);
  }
  auto token = random_hex(32);
  auto line = token + "\n";
  auto written = ::write(fd, line.data(), line.size());
  ::fsync(fd);
  ::close(fd);
  if (written != static_cast<ssize_t>(line.size()))
    return caf::make_error(errc::invalid_config, "cannot write token file",
                           path);
  return token;
}

bool equal_secrets(std::string_view a, std::string_view b) {
  // Length is not secret; contents are compared without early exit.
  if (a.size() != b.size())
    return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i)
    diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

} // namespace vigil
