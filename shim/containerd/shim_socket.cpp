#include "shim/containerd/shim_socket.h"

#include <openssl/sha.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <cstring>
#include <filesystem>

#include "common/error.h"

namespace kvrun::containerd {
namespace {

sockaddr_un unix_address(const std::string& path) {
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof sa.sun_path) {
    throw Error("socket path '" + path + "' is empty or too long");
  }
  std::memcpy(sa.sun_path, path.data(), path.size());
  return sa;
}

}  // namespace

std::string shim_socket_address(const std::string& containerd_address, const std::string& ns,
                                const std::string& id) {
  // Go's filepath.Join: joined with '/', then cleaned.
  std::string joined =
      (std::filesystem::path(containerd_address) / ns / id).lexically_normal().string();
  while (joined.size() > 1 && joined.back() == '/') joined.pop_back();
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(joined.data()), joined.size(), digest);
  static const char hex[] = "0123456789abcdef";
  std::string name;
  for (unsigned char byte : digest) {
    name += hex[byte >> 4];
    name += hex[byte & 15];
  }
  return std::string("unix://") + kSocketDir + "/" + name;
}

std::string socket_path(const std::string& address) {
  constexpr std::string_view prefix = "unix://";
  if (!address.starts_with(prefix) || address.size() == prefix.size()) {
    throw Error("shim address '" + address + "' is not unix://<path>");
  }
  return address.substr(prefix.size());
}

UniqueFd listen_unix(const std::string& path) {
  sockaddr_un sa = unix_address(path);
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  if (ec)
    throw Error("create " + std::filesystem::path(path).parent_path().string() + ": " +
                ec.message());
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) throw_errno("socket");
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) < 0)
    throw_errno("bind " + path);
  if (::chmod(path.c_str(), 0600) < 0 || ::listen(fd.get(), 128) < 0) {
    int err = errno;
    ::unlink(path.c_str());
    throw_errno("listen " + path, err);
  }
  return fd;
}

bool can_connect(const std::string& path) {
  sockaddr_un sa;
  try {
    sa = unix_address(path);
  } catch (const Error&) {
    return false;
  }
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  return fd && ::connect(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0;
}

}  // namespace kvrun::containerd
