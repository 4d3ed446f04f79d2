// Fuzzes virtio-blk's request parser and executor: chains from hostile bytes (see
// guest_ring.h) against a 64 KiB image in a memfd, read-write or read-only (byte 1, bit 2).
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <memory>

#include "common/unique_fd.h"
#include "fuzz/guest_ring.h"
#include "vmm/devices/virtio/blk.h"

using namespace kvrun::vmm::virtio;

namespace {

constexpr uint64_t kImageBytes = 64 * 1024;

std::shared_ptr<Blk> make_disk(bool read_only) {
  kvrun::UniqueFd fd(::memfd_create("kvrun-fuzz-disk", MFD_CLOEXEC));
  if (!fd || ::ftruncate(fd.get(), kImageBytes) != 0) __builtin_trap();
  return std::make_shared<Blk>(std::move(fd), kImageBytes, read_only, "fuzz-disk", true);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static std::shared_ptr<Blk> rw = make_disk(false);
  static std::shared_ptr<Blk> ro = make_disk(true);
  std::optional<Queue> queue = fuzz::ring_from_input(data, size);
  if (!queue) return 0;
  Blk& disk = (data[1] & 4) ? *ro : *rw;
  for (int round = 0; round < 2 * 256 + 2; ++round) {
    std::optional<DescriptorChain> chain = queue->pop();
    if (!chain) break;
    queue->add_used(chain->head(), disk.handle(*chain));
  }
  return 0;
}
