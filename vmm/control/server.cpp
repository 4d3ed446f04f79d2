#include "vmm/control/server.h"

#include <poll.h>
#include <pthread.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <exception>
#include <optional>

#include "common/error.h"
#include "common/fd_passing.h"
#include "common/full_io.h"
#include "vmm/control/request.h"

namespace kvrun::vmm::control {
namespace {

constexpr int kClientTimeoutMs = 1000;

struct Received {
  std::string line;
  std::vector<UniqueFd> fds;
};

// Reads up to the first '\n' (at most kMaxRequestLine bytes) and every descriptor that came
// with it. Throws Error on a timeout, a hang-up before the newline or a line too long.
Received receive_request(int connection) {
  Received received;
  for (;;) {
    pollfd ready{connection, POLLIN, 0};
    int polled = ::poll(&ready, 1, kClientTimeoutMs);
    if (polled < 0 && errno == EINTR) continue;
    if (polled <= 0) throw Error("no request within a second");
    ReceivedFds part = receive_with_fds(connection, kMaxRequestLine + 1, "recvmsg");
    for (auto& fd : part.fds) received.fds.push_back(std::move(fd));
    if (received.fds.size() > kMaxReceivedFds) throw Error("too many file descriptors");
    if (part.payload.empty()) throw Error("connection closed before a whole request line");
    received.line += part.payload;
    auto newline = received.line.find('\n');
    if (newline != std::string::npos) {
      if (newline + 1 != received.line.size()) throw Error("data after the request line");
      received.line.pop_back();
      return received;
    }
    if (received.line.size() > kMaxRequestLine) throw Error("request line too long");
  }
}

// The media's size: a regular file's length or a block device's; a whole number of sectors.
uint64_t media_size(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw_errno("fstat");
  uint64_t size = static_cast<uint64_t>(st.st_size);
  if (S_ISBLK(st.st_mode)) {
    off_t end = ::lseek(fd, 0, SEEK_END);
    if (end < 0) throw_errno("lseek");
    size = static_cast<uint64_t>(end);
  } else if (!S_ISREG(st.st_mode)) {
    throw Error("media must be a regular file or a block device");
  }
  if (size == 0 || size % virtio::blk::kSectorSize != 0)
    throw Error("media of " + std::to_string(size) + " bytes is not a whole number of sectors");
  return size;
}

}  // namespace

ControlServer::ControlServer(std::filesystem::path path, std::vector<DiskSlot> slots)
    : path_(std::move(path)), slots_(std::move(slots)) {
  const std::string context = "control socket " + path_.string();
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path_.native().size() >= sizeof address.sun_path) throw Error(context + ": path too long");
  std::memcpy(address.sun_path, path_.c_str(), path_.native().size());
  listener_ = UniqueFd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!listener_) throw_errno(context);
  // Only the owner (kvrun, as root) may attach media: the mode is set before anyone can connect.
  mode_t old_mask = ::umask(0177);
  int bound = ::bind(listener_.get(), reinterpret_cast<sockaddr*>(&address), sizeof address);
  int bind_errno = errno;
  ::umask(old_mask);
  if (bound != 0) throw_errno(context, bind_errno);
  if (::listen(listener_.get(), 8) != 0) {
    int err = errno;
    std::filesystem::remove(path_);
    throw_errno(context, err);
  }
  stop_ = UniqueFd(::eventfd(0, EFD_CLOEXEC));
  if (!stop_) {
    int err = errno;
    std::filesystem::remove(path_);
    throw_errno("eventfd", err);
  }
}

ControlServer::~ControlServer() {
  if (thread_.joinable()) {
    uint64_t one = 1;
    if (::write(stop_.get(), &one, sizeof one) < 0) spdlog::warn("control socket: stop failed");
    thread_.join();
  }
  std::error_code ignored;
  std::filesystem::remove(path_, ignored);
}

void ControlServer::start(std::function<void()> on_thread_start) {
  if (thread_.joinable()) return;
  thread_ = std::thread([this, on_start = std::move(on_thread_start)] {
    pthread_setname_np(pthread_self(), "control");
    if (on_start) {
      try {
        on_start();
      } catch (const std::exception& e) {
        spdlog::error("control socket: {}; not serving requests", e.what());
        return;
      }
    }
    serve();
  });
}

void ControlServer::serve() {
  for (;;) {
    pollfd fds[2] = {{listener_.get(), POLLIN, 0}, {stop_.get(), POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      spdlog::error("control socket: poll: {}", std::strerror(errno));
      return;
    }
    if (fds[1].revents != 0) return;
    UniqueFd connection(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!connection) continue;
    answer(connection.get());
  }
}

void ControlServer::answer(int connection) {
  std::string reply;
  try {
    Received received = receive_request(connection);
    Request request = parse_request(received.line);
    if (std::holds_alternative<AttachDisk>(request)) {
      if (received.fds.size() != 1) throw Error("ATTACH-DISK needs exactly one file descriptor");
      reply = attach(std::move(received.fds.front()));
    } else {
      if (!received.fds.empty()) throw Error("DETACH-DISK takes no file descriptor");
      reply = detach(std::get<DetachDisk>(request).slot);
    }
  } catch (const Error& e) {
    reply = std::string("ERR ") + e.what() + "\n";
  }
  try {
    write_all(connection, reply, "control socket reply");
  } catch (const Error& e) {
    spdlog::debug("{}", e.what());
  }
}

std::string ControlServer::attach(UniqueFd media) {
  uint64_t size = media_size(media.get());
  for (std::size_t i = 0; i < slots_.size(); ++i) {
    if (slots_[i].drive->has_media()) continue;
    slots_[i].drive->insert_media(std::move(media), size);
    slots_[i].transport->notify_config_change();
    spdlog::info("disk slot {}: media of {} bytes attached", i, size);
    return "OK " + std::to_string(i) + "\n";
  }
  throw Error("no free disk slot (all " + std::to_string(slots_.size()) + " in use)");
}

std::string ControlServer::detach(unsigned slot) {
  if (slot >= slots_.size())
    throw Error("no disk slot " + std::to_string(slot) + " (there are " +
                std::to_string(slots_.size()) + ")");
  if (!slots_[slot].drive->has_media())
    throw Error("disk slot " + std::to_string(slot) + " is empty");
  slots_[slot].drive->eject_media();
  slots_[slot].transport->notify_config_change();
  spdlog::info("disk slot {}: media detached", slot);
  return "OK\n";
}

}  // namespace kvrun::vmm::control
