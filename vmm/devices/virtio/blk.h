// virtio-blk (virtio 1.2 §5.2) on a raw image file: read, write, flush (fdatasync), get-id,
// and discard / write-zeroes by punching holes where the host file system can. Data moves with
// preadv/pwritev straight between the file and guest memory.
//
// The image's size is rounded down to whole 512-byte sectors (the tail is not visible to the
// guest); every request's sector range is checked against that capacity, so no access reaches
// past it.
//
// A disk slot (empty_slot()) is a read-only drive whose media comes and goes while the guest
// runs (vmm/control/: a pod's containers bring their root filesystems): empty, it has capacity
// 0 and fails every transfer. Media changes come from another thread than the requests, so
// the file and capacity sit behind a lock of their own; a request runs wholly against one
// media.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/unique_fd.h"
#include "vmm/devices/virtio/device.h"

namespace kvrun::vmm::virtio {

namespace blk {
inline constexpr uint64_t kSectorSize = 512;
// Feature bits (§5.2.3).
inline constexpr unsigned kFeatureSizeMax = 1;
inline constexpr unsigned kFeatureSegMax = 2;
inline constexpr unsigned kFeatureRo = 5;
inline constexpr unsigned kFeatureBlkSize = 6;
inline constexpr unsigned kFeatureFlush = 9;
inline constexpr unsigned kFeatureDiscard = 13;
inline constexpr unsigned kFeatureWriteZeroes = 14;
// Request types and status values (§5.2.6).
inline constexpr uint32_t kTypeIn = 0;
inline constexpr uint32_t kTypeOut = 1;
inline constexpr uint32_t kTypeFlush = 4;
inline constexpr uint32_t kTypeGetId = 8;
inline constexpr uint32_t kTypeDiscard = 11;
inline constexpr uint32_t kTypeWriteZeroes = 13;
inline constexpr uint8_t kStatusOk = 0;
inline constexpr uint8_t kStatusIoErr = 1;
inline constexpr uint8_t kStatusUnsupported = 2;
inline constexpr uint32_t kWriteZeroesFlagUnmap = 1;
inline constexpr size_t kIdBytes = 20;

struct RequestHeader {
  uint32_t type;
  uint32_t reserved;
  uint64_t sector;
};
static_assert(sizeof(RequestHeader) == 16);

struct DiscardSegment {
  uint64_t sector;
  uint32_t num_sectors;
  uint32_t flags;
};
static_assert(sizeof(DiscardSegment) == 16);

// A request as parsed from a chain, before it touches the file.
struct Request {
  uint32_t type = 0;
  uint64_t sector = 0;
  ChainWriter to_guest;    // IN, GET_ID: the writable bytes before the status byte
  ChainReader from_guest;  // OUT, DISCARD, WRITE_ZEROES: the readable bytes after the header
  ChainWriter status;      // the last writable byte
};

// Why a chain carries no request; kNone when it does.
enum class RequestError {
  kNone,
  kShortHeader,  // fewer readable bytes than the 16-byte header
  kNoStatus,     // no writable byte for the status
};
std::string_view describe(RequestError error);

// Splits `chain` into header, data and status byte (Firecracker's request.rs has the same
// split). A chain that fails here is answered with nothing: it has no status byte to set, or
// no request to set it for.
RequestError parse_request(const DescriptorChain& chain, Request& out);
}  // namespace blk

class Blk : public VirtioDevice {
 public:
  static constexpr uint16_t kQueueSize = 256;
  // Data segments per request: the queue's descriptors minus header and status.
  static constexpr uint32_t kSegMax = kQueueSize - 2;
  static constexpr uint32_t kMaxDiscardSegments = 16;
  static constexpr uint32_t kMaxDiscardSectors = 1u << 22;  // 2 GiB per segment

  // Opens the image (read-only: O_RDONLY and VIRTIO_BLK_F_RO). Throws kvrun::Error naming the
  // path if it cannot be opened, is a directory, or is smaller than one sector.
  static std::shared_ptr<Blk> open(const std::filesystem::path& path, bool read_only);

  // `id` is what GET_ID reports (up to 20 bytes). `punch_holes`: offer DISCARD/WRITE_ZEROES.
  Blk(UniqueFd file, uint64_t size_bytes, bool read_only, std::string id, bool punch_holes);

  // A read-only drive with no media.
  static std::shared_ptr<Blk> empty_slot(std::string id);
  // Puts `file` (open for reading, size_bytes long) in the drive, or takes the media out
  // (closing it). The caller tells the driver (a config change): its capacity changed.
  // insert_media throws Error for media smaller than one sector.
  void insert_media(UniqueFd file, uint64_t size_bytes);
  void eject_media();
  bool has_media() const;

  uint64_t capacity_sectors() const;
  bool read_only() const { return read_only_; }

  DeviceType type() const override { return DeviceType::kBlock; }
  uint64_t features() const override;
  std::vector<uint16_t> queue_max_sizes() const override { return {kQueueSize}; }
  void read_config(uint64_t offset, std::span<uint8_t> data) const override;
  void activate(const DeviceContext& context) override { context_ = &context; }
  void process_queue(size_t index) override;
  void reset() override { context_ = nullptr; }

  // Executes one request chain and returns the used length (bytes written to the chain).
  // Public for the tests and the fuzzer.
  uint32_t handle(const DescriptorChain& chain);

 private:
  uint8_t execute(blk::Request& request);
  bool in_range(uint64_t sector, uint64_t sectors) const;
  uint8_t read_write(const blk::Request& request, bool write);
  uint8_t punch(blk::Request& request);

  mutable std::mutex media_mutex_;  // file_ and capacity_
  UniqueFd file_;
  uint64_t capacity_;
  bool read_only_;
  std::string id_;
  bool punch_holes_;
  const DeviceContext* context_ = nullptr;
};

}  // namespace kvrun::vmm::virtio
