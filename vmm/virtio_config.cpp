#include "vmm/virtio_config.h"

#include <string>

#include "common/error.h"

namespace kvrun::vmm {

DiskConfig parse_disk_option(std::string_view text) {
  DiskConfig disk;
  const size_t comma = text.find(',');
  disk.path = std::string(text.substr(0, comma));
  if (disk.path.empty()) throw Error("--disk '" + std::string(text) + "': no path");
  std::string_view flags = comma == std::string_view::npos ? "" : text.substr(comma + 1);
  while (!flags.empty()) {
    const size_t next = flags.find(',');
    const std::string_view flag = flags.substr(0, next);
    if (flag == "ro") {
      disk.read_only = true;
    } else if (flag == "rw") {
      disk.read_only = false;
    } else {
      throw Error("--disk '" + std::string(text) + "': unknown flag '" + std::string(flag) +
                  "' (expected ro or rw)");
    }
    flags = next == std::string_view::npos ? "" : flags.substr(next + 1);
  }
  return disk;
}

}  // namespace kvrun::vmm
