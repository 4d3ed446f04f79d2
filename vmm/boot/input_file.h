// A kernel or initramfs file opened for loading. Read with pread() rather than mmap(): a file
// truncated under us then gives a clear error instead of SIGBUS in the middle of a copy.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>

#include "common/unique_fd.h"

namespace kvrun::vmm {

class InputFile {
 public:
  // Throws kvrun::Error with the bare reason ("No such file or directory", "file is empty");
  // the caller knows what the file is for and adds that context.
  static InputFile open(const std::filesystem::path& path);

  uint64_t size() const { return size_; }

  // Fills `out` from the start of the file; throws if the file is shorter than `out`.
  void read_exact(std::span<uint8_t> out) const;

 private:
  InputFile(UniqueFd fd, uint64_t size) : fd_(std::move(fd)), size_(size) {}

  UniqueFd fd_;
  uint64_t size_;
};

}  // namespace kvrun::vmm
