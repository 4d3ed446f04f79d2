#include "agent/listen_address.h"

#include <linux/vm_sockets.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <charconv>
#include <cstring>

#include "common/error.h"

namespace kvrun::agent {

ListenAddress parse_listen_address(std::string_view text) {
  const std::string usage = " (expected unix:/path or vsock:PORT)";
  ListenAddress address;
  if (text.starts_with("unix:")) {
    address.kind = ListenAddress::Kind::kUnix;
    address.path = std::string(text.substr(5));
    if (address.path.empty())
      throw Error("listen address " + std::string(text) + ": empty path" + usage);
    if (address.path.size() >= sizeof(sockaddr_un::sun_path)) {
      throw Error("listen address " + std::string(text) + ": path too long");
    }
    return address;
  }
  if (text.starts_with("vsock:")) {
    address.kind = ListenAddress::Kind::kVsock;
    auto port = text.substr(6);
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), address.port);
    if (ec != std::errc() || end != port.data() + port.size() || port.empty()) {
      throw Error("listen address " + std::string(text) + ": bad port" + usage);
    }
    return address;
  }
  throw Error("listen address " + std::string(text) + ": unknown form" + usage);
}

UniqueFd listen_on(const ListenAddress& address) {
  if (address.kind == ListenAddress::Kind::kUnix) {
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd) throw_errno("socket AF_UNIX");
    struct stat st;
    if (::lstat(address.path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) {
      ::unlink(address.path.c_str());
    }
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::memcpy(sa.sun_path, address.path.c_str(), address.path.size() + 1);
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
      throw_errno("bind " + address.path);
    }
    if (::listen(fd.get(), 64) != 0) throw_errno("listen " + address.path);
    return fd;
  }
  UniqueFd fd(::socket(AF_VSOCK, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) throw_errno("socket AF_VSOCK");
  sockaddr_vm sa{};
  sa.svm_family = AF_VSOCK;
  sa.svm_cid = VMADDR_CID_ANY;
  sa.svm_port = address.port;
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    throw_errno("bind vsock port " + std::to_string(address.port));
  }
  if (::listen(fd.get(), 64) != 0) throw_errno("listen vsock port " + std::to_string(address.port));
  return fd;
}

bool accepts_peer(const sockaddr* peer, socklen_t length) {
  if (peer == nullptr || length < static_cast<socklen_t>(sizeof(sa_family_t))) return false;
  switch (peer->sa_family) {
    case AF_UNIX:
      return true;
    case AF_VSOCK: {
      if (length < static_cast<socklen_t>(sizeof(sockaddr_vm))) return false;
      sockaddr_vm vm;
      std::memcpy(&vm, peer, sizeof vm);
      return vm.svm_cid == VMADDR_CID_HOST;
    }
    default:
      return false;
  }
}

}  // namespace kvrun::agent
