#include "vmm/control/client.h"

#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>

#include <charconv>
#include <cstring>

#include "common/deadline_io.h"
#include "common/error.h"
#include "common/fd_passing.h"
#include "common/full_io.h"
#include "common/printable.h"
#include "common/unique_fd.h"
#include "vmm/control/request.h"

namespace kvrun::vmm::control {
namespace {

constexpr std::size_t kMaxReply = 512;

// The socket's send timeout bounds connect() (a full listen backlog) and the request's sendmsg.
UniqueFd connect_to(const std::filesystem::path& socket, std::chrono::milliseconds timeout) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (socket.native().size() >= sizeof address.sun_path)
    throw Error(socket.string() + ": path too long");
  std::memcpy(address.sun_path, socket.c_str(), socket.native().size());
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) throw_errno(socket.string());
  timeval tv{static_cast<time_t>(timeout.count() / 1000),
             static_cast<suseconds_t>((timeout.count() % 1000) * 1000)};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    if (errno == EAGAIN)
      throw TimeoutError(socket.string() + ": not accepted within " +
                         std::to_string(timeout.count()) + " ms");
    throw_errno(socket.string());
  }
  return fd;
}

// The reply line without "OK" and its newline; Error with the VMM's words for "ERR ...".
// The server closes after its line, so the reply is read to the end, by the deadline.
std::string read_reply(int fd, const std::filesystem::path& socket, std::string_view request,
                       const Deadline& deadline) {
  std::string reply(kMaxReply, '\0');
  std::size_t got = read_full(fd, reply.data(), reply.size(), deadline,
                              socket.string() + ": " + std::string(request));
  reply.resize(got);
  if (reply.empty() || reply.back() != '\n')
    throw Error(socket.string() + ": no whole reply from the VMM");
  reply.pop_back();
  if (reply.rfind("ERR ", 0) == 0)
    throw Error(socket.string() + ": " + printable(reply.substr(4), kMaxReply));
  if (reply == "OK") return "";
  if (reply.rfind("OK ", 0) == 0) return reply.substr(3);
  throw Error(socket.string() + ": unexpected reply \"" + printable(reply) + "\"");
}

}  // namespace

unsigned attach_disk(const std::filesystem::path& socket, int image_fd,
                     std::chrono::milliseconds timeout) {
  Deadline deadline = Deadline::after(timeout);
  UniqueFd fd = connect_to(socket, timeout);
  send_with_fd(fd.get(), format_request(AttachDisk{}), image_fd, socket.string());
  ::shutdown(fd.get(), SHUT_WR);
  std::string number = read_reply(fd.get(), socket, "ATTACH-DISK", deadline);
  unsigned slot = 0;
  auto [end, error] = std::from_chars(number.data(), number.data() + number.size(), slot);
  if (number.empty() || error != std::errc() || end != number.data() + number.size())
    throw Error(socket.string() + ": ATTACH-DISK answered no slot number");
  return slot;
}

void detach_disk(const std::filesystem::path& socket, unsigned slot,
                 std::chrono::milliseconds timeout) {
  Deadline deadline = Deadline::after(timeout);
  UniqueFd fd = connect_to(socket, timeout);
  write_all(fd.get(), format_request(DetachDisk{slot}), deadline, socket.string());
  ::shutdown(fd.get(), SHUT_WR);
  read_reply(fd.get(), socket, "DETACH-DISK", deadline);
}

std::string guest_disk_name(unsigned disks, unsigned slot) {
  unsigned index = disks + slot;
  // vda..vdz, then vdaa..: Linux's sd-style naming.
  std::string name;
  do {
    name.insert(name.begin(), static_cast<char>('a' + index % 26));
    index = index / 26;
  } while (index-- > 0);
  return "/dev/vd" + name;
}

}  // namespace kvrun::vmm::control
