// Owning mmap()ed region: unmapped exactly once, movable, never copied.
#pragma once

#include <sys/mman.h>

#include <cstddef>
#include <utility>

namespace kvrun {

class Mapping {
 public:
  Mapping() = default;
  Mapping(void* addr, size_t size) : addr_(addr), size_(size) {}
  Mapping(Mapping&& other) noexcept
      : addr_(std::exchange(other.addr_, nullptr)), size_(std::exchange(other.size_, 0)) {}
  Mapping& operator=(Mapping&& other) noexcept {
    if (this != &other) {
      reset();
      addr_ = std::exchange(other.addr_, nullptr);
      size_ = std::exchange(other.size_, 0);
    }
    return *this;
  }
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  ~Mapping() { reset(); }

  void* get() const { return addr_; }
  size_t size() const { return size_; }
  explicit operator bool() const { return addr_ != nullptr; }

  void reset() {
    if (addr_ != nullptr) ::munmap(addr_, size_);
    addr_ = nullptr;
    size_ = 0;
  }

 private:
  void* addr_ = nullptr;
  size_t size_ = 0;
};

// mmap() that throws kvrun::Error with `what` as context on failure.
Mapping map_or_throw(const char* what, size_t size, int prot, int flags, int fd = -1,
                     off_t offset = 0);

}  // namespace kvrun
