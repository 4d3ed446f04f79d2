#include "vmm/devices/virtio/blk.h"

#include <fcntl.h>
#include <linux/falloc.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstddef>
#include <cstring>

#include "common/error.h"

namespace kvrun::vmm::virtio {

namespace blk {

namespace {

// struct virtio_blk_config (§5.2.4), the fields up to write_zeroes_may_unmap.
struct __attribute__((packed)) Config {
  uint64_t capacity;
  uint32_t size_max;
  uint32_t seg_max;
  uint16_t cylinders;
  uint8_t heads;
  uint8_t sectors;
  uint32_t blk_size;
  uint8_t physical_block_exp;
  uint8_t alignment_offset;
  uint16_t min_io_size;
  uint32_t opt_io_size;
  uint8_t writeback;
  uint8_t unused0;
  uint16_t num_queues;
  uint32_t max_discard_sectors;
  uint32_t max_discard_seg;
  uint32_t discard_sector_alignment;
  uint32_t max_write_zeroes_sectors;
  uint32_t max_write_zeroes_seg;
  uint8_t write_zeroes_may_unmap;
  uint8_t unused1[3];
};
static_assert(offsetof(Config, seg_max) == 12 && offsetof(Config, blk_size) == 20 &&
              offsetof(Config, writeback) == 32 && offsetof(Config, max_discard_sectors) == 36 &&
              offsetof(Config, write_zeroes_may_unmap) == 56 && sizeof(Config) == 60);

}  // namespace

std::string_view describe(RequestError error) {
  switch (error) {
    case RequestError::kNone:
      return "accepted";
    case RequestError::kShortHeader:
      return "chain shorter than the 16-byte request header";
    case RequestError::kNoStatus:
      return "no device-writable byte for the status";
  }
  return "unknown";
}

RequestError parse_request(const DescriptorChain& chain, Request& out) {
  ChainWriter writable = chain.writer();
  if (writable.available() == 0) return RequestError::kNoStatus;
  ChainReader readable = chain.reader();
  const std::optional<RequestHeader> header = readable.read_obj<RequestHeader>();
  if (!header) return RequestError::kShortHeader;
  out.type = header->type;
  out.sector = header->sector;
  out.to_guest = writable.take(writable.available() - 1);
  out.status = std::move(writable);
  out.from_guest = std::move(readable);
  return RequestError::kNone;
}

}  // namespace blk

using namespace blk;

std::shared_ptr<Blk> Blk::open(const std::filesystem::path& path, bool read_only) {
  const std::string context = "disk " + path.string();
  UniqueFd fd(::open(path.c_str(), (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC));
  if (!fd) throw_errno(context);
  struct stat st {};
  if (::fstat(fd.get(), &st) < 0) throw_errno(context);
  if (S_ISDIR(st.st_mode)) throw_errno(context, EISDIR);
  uint64_t size = static_cast<uint64_t>(st.st_size);
  if (S_ISBLK(st.st_mode)) {
    const off_t end = ::lseek(fd.get(), 0, SEEK_END);
    if (end < 0) throw_errno(context);
    size = static_cast<uint64_t>(end);
  }
  if (size < kSectorSize) {
    throw Error(context + ": image of " + std::to_string(size) +
                " bytes is smaller than one 512-byte sector");
  }
  if (size % kSectorSize != 0) {
    spdlog::warn("{}: size {} is not a multiple of 512; the last {} bytes are not visible", context,
                 size, size % kSectorSize);
  }
  // Holes are cheap only where the file system punches them; probing past the end changes
  // nothing (KEEP_SIZE) yet fails the same way an unsupported punch would.
  bool punch_holes = false;
  if (!read_only) {
    const auto end = static_cast<off_t>(size - size % kSectorSize);
    punch_holes = ::fallocate(fd.get(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, end,
                              static_cast<off_t>(kSectorSize)) == 0;
  }
  return std::make_shared<Blk>(std::move(fd), size, read_only, path.filename().string(),
                               punch_holes);
}

Blk::Blk(UniqueFd file, uint64_t size_bytes, bool read_only, std::string id, bool punch_holes)
    : file_(std::move(file)),
      capacity_(size_bytes / kSectorSize),
      read_only_(read_only),
      id_(std::move(id)),
      punch_holes_(punch_holes && !read_only) {
  id_.resize(std::min(id_.size(), kIdBytes));
}

std::shared_ptr<Blk> Blk::empty_slot(std::string id) {
  return std::make_shared<Blk>(UniqueFd(), 0, true, std::move(id), false);
}

void Blk::insert_media(UniqueFd file, uint64_t size_bytes) {
  if (size_bytes < kSectorSize) {
    throw Error("media of " + std::to_string(size_bytes) +
                " bytes is smaller than one 512-byte sector");
  }
  std::lock_guard lock(media_mutex_);
  file_ = std::move(file);
  capacity_ = size_bytes / kSectorSize;
}

void Blk::eject_media() {
  UniqueFd old;
  {
    std::lock_guard lock(media_mutex_);
    old = std::move(file_);
    capacity_ = 0;
  }
}

bool Blk::has_media() const {
  std::lock_guard lock(media_mutex_);
  return capacity_ > 0;
}

uint64_t Blk::capacity_sectors() const {
  std::lock_guard lock(media_mutex_);
  return capacity_;
}

uint64_t Blk::features() const {
  uint64_t features = feature_bit(kFeatureSegMax) | feature_bit(kFeatureFlush);
  if (read_only_) features |= feature_bit(kFeatureRo);
  if (punch_holes_) features |= feature_bit(kFeatureDiscard) | feature_bit(kFeatureWriteZeroes);
  return features;
}

void Blk::read_config(uint64_t offset, std::span<uint8_t> data) const {
  Config config{};
  config.capacity = capacity_sectors();
  config.seg_max = kSegMax;
  config.max_discard_sectors = kMaxDiscardSectors;
  config.max_discard_seg = kMaxDiscardSegments;
  config.discard_sector_alignment = 8;  // 4 KiB: what file systems punch whole
  config.max_write_zeroes_sectors = kMaxDiscardSectors;
  config.max_write_zeroes_seg = kMaxDiscardSegments;
  config.write_zeroes_may_unmap = 1;
  read_config_bytes({reinterpret_cast<const uint8_t*>(&config), sizeof(config)}, offset, data);
}

void Blk::process_queue(size_t index) {
  if (context_ == nullptr || index != 0) return;
  Queue& queue = context_->queue(0);
  do {
    while (auto chain = queue.pop()) queue.add_used(chain->head(), handle(*chain));
  } while (queue.enable_notification());
  context_->notify_used(queue);
}

uint32_t Blk::handle(const DescriptorChain& chain) {
  Request request;
  if (const RequestError error = parse_request(chain, request); error != RequestError::kNone) {
    spdlog::debug("virtio-blk: chain {} holds no request: {} (readable {}, writable {} bytes)",
                  chain.head(), describe(error), chain.readable_bytes(), chain.writable_bytes());
    return 0;
  }
  const bool data_in = request.type == kTypeIn || request.type == kTypeGetId;
  const size_t data_in_bytes = request.to_guest.available();
  uint8_t status;
  {
    std::lock_guard lock(media_mutex_);
    status = execute(request);
  }
  request.status.write_obj(status);
  // A chain holds under 4 GiB (kMaxChainBytes), so this fits the used ring's 32 bits.
  return static_cast<uint32_t>((status == kStatusOk && data_in ? data_in_bytes : 0) + 1);
}

bool Blk::in_range(uint64_t sector, uint64_t sectors) const {
  return sector <= capacity_ && sectors <= capacity_ - sector;
}

uint8_t Blk::execute(Request& request) {
  switch (request.type) {
    case kTypeIn:
      return read_write(request, false);
    case kTypeOut:
      return read_only_ ? kStatusIoErr : read_write(request, true);
    case kTypeFlush:
      if (read_only_) return kStatusOk;
      if (::fdatasync(file_.get()) < 0) {
        spdlog::warn("virtio-blk {}: fdatasync: {}", id_, std::strerror(errno));
        return kStatusIoErr;
      }
      return kStatusOk;
    case kTypeGetId: {
      std::vector<uint8_t> id(kIdBytes, 0);  // NUL-padded when shorter than 20 bytes
      std::memcpy(id.data(), id_.data(), id_.size());
      request.to_guest.write(id);  // as much as fits
      return kStatusOk;
    }
    case kTypeDiscard:
    case kTypeWriteZeroes:
      if (!punch_holes_) return kStatusUnsupported;
      return punch(request);
    default:
      return kStatusUnsupported;
  }
}

uint8_t Blk::read_write(const Request& request, bool write) {
  const size_t data_bytes = write ? request.from_guest.available() : request.to_guest.available();
  if (data_bytes % kSectorSize != 0 || !in_range(request.sector, data_bytes / kSectorSize)) {
    spdlog::debug("virtio-blk {}: {} of {} bytes at sector {} rejected (capacity {})", id_,
                  write ? "write" : "read", data_bytes, request.sector, capacity_);
    return kStatusIoErr;
  }
  std::vector<iovec> iov = write ? request.from_guest.iovecs() : request.to_guest.iovecs();
  // in_range() bounds offset + length by the capacity, itself from a file size (an off_t).
  auto offset = static_cast<off_t>(request.sector * kSectorSize);
  size_t first = 0;
  while (first < iov.size()) {
    const int count = static_cast<int>(std::min<size_t>(iov.size() - first, IOV_MAX));
    const ssize_t n = write ? ::pwritev(file_.get(), &iov[first], count, offset)
                            : ::preadv(file_.get(), &iov[first], count, offset);
    if (n < 0) {
      if (errno == EINTR) continue;
      spdlog::warn("virtio-blk {}: {} at byte {}: {}", id_, write ? "pwritev" : "preadv", offset,
                   std::strerror(errno));
      return kStatusIoErr;
    }
    if (n == 0) {
      spdlog::warn("virtio-blk {}: image ends before byte {} (shrunk?)", id_, offset);
      return kStatusIoErr;
    }
    offset += n;
    auto left = static_cast<size_t>(n);
    while (first < iov.size() && left >= iov[first].iov_len) left -= iov[first++].iov_len;
    if (left > 0) {
      iov[first].iov_base = static_cast<uint8_t*>(iov[first].iov_base) + left;
      iov[first].iov_len -= left;
    }
  }
  return kStatusOk;
}

uint8_t Blk::punch(Request& request) {
  const bool write_zeroes = request.type == kTypeWriteZeroes;
  const size_t data_bytes = request.from_guest.available();
  if (data_bytes == 0 || data_bytes % sizeof(DiscardSegment) != 0 ||
      data_bytes / sizeof(DiscardSegment) > kMaxDiscardSegments) {
    return kStatusUnsupported;
  }
  // Copy the segments out of guest memory first: the guest may change them meanwhile.
  std::vector<DiscardSegment> segments(data_bytes / sizeof(DiscardSegment));
  request.from_guest.read_exact(
      {reinterpret_cast<uint8_t*>(segments.data()), segments.size() * sizeof(DiscardSegment)});
  for (const DiscardSegment& segment : segments) {
    const uint32_t allowed_flags = write_zeroes ? kWriteZeroesFlagUnmap : 0;
    if ((segment.flags & ~allowed_flags) != 0) return kStatusUnsupported;
    if (segment.num_sectors > kMaxDiscardSectors ||
        !in_range(segment.sector, segment.num_sectors)) {
      return kStatusIoErr;
    }
  }
  for (const DiscardSegment& segment : segments) {
    if (segment.num_sectors == 0) continue;
    // A punched range reads back as zeroes, which is what both requests promise.
    if (::fallocate(file_.get(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                    static_cast<off_t>(segment.sector * kSectorSize),
                    static_cast<off_t>(uint64_t{segment.num_sectors} * kSectorSize)) < 0) {
      spdlog::warn("virtio-blk {}: punching a hole: {}", id_, std::strerror(errno));
      return kStatusIoErr;
    }
  }
  return kStatusOk;
}

}  // namespace kvrun::vmm::virtio
