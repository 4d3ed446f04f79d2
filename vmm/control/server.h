// kvrun-vmm's control socket (--control-socket PATH): a Unix stream socket, mode 0600, served
// by a thread of its own so that a slow or hostile client never holds up the vCPUs or the
// device thread. One request per connection (request.h); a client gets a second to send it.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "common/unique_fd.h"
#include "vmm/devices/virtio/blk.h"
#include "vmm/devices/virtio/mmio_transport.h"

namespace kvrun::vmm::control {

struct DiskSlot {
  std::shared_ptr<virtio::Blk> drive;
  std::shared_ptr<virtio::MmioTransport> transport;  // to tell the driver of a media change
};

class ControlServer {
 public:
  // Creates and listens on `path` (which must not exist). Throws Error naming it. Requests
  // are served once start() is called.
  ControlServer(std::filesystem::path path, std::vector<DiskSlot> slots);
  // Stops the thread and removes the socket (which a jailed VMM cannot: it stays behind for
  // the owner of its directory, kvrun's state dir, to remove).
  ~ControlServer();
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  // Starts the thread that serves requests; it first runs `on_thread_start` (the VMM installs
  // the control thread's seccomp filter there) and serves nothing if that throws. Once only.
  void start(std::function<void()> on_thread_start = {});

 private:
  void serve();
  void answer(int connection);
  std::string attach(UniqueFd media);
  std::string detach(unsigned slot);

  std::filesystem::path path_;
  std::vector<DiskSlot> slots_;
  UniqueFd listener_;
  UniqueFd stop_;  // eventfd
  std::thread thread_;
};

}  // namespace kvrun::vmm::control
