#include "common/mapping.h"

#include "common/error.h"

namespace kvrun {

Mapping map_or_throw(const char* what, size_t size, int prot, int flags, int fd, off_t offset) {
  void* addr = ::mmap(nullptr, size, prot, flags, fd, offset);
  if (addr == MAP_FAILED) throw_errno(what);
  return Mapping(addr, size);
}

}  // namespace kvrun
