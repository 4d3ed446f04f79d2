// kvrun-vmm's control socket (--control-socket PATH): a Unix stream socket, mode 0600, served
// by a thread of its own so that a slow or hostile client never holds up the vCPUs or the
// device thread. One request per connection (request.h); a client gets a second to send it.
#pragma once

#include <filesystem>
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
  // Creates and listens on `path` (which must not exist). Throws Error naming it.
  ControlServer(std::filesystem::path path, std::vector<DiskSlot> slots);
  // Stops the thread and removes the socket.
  ~ControlServer();
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

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
