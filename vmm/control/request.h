// The requests kvrun-vmm's control socket takes (docs/vmm-control.md), one line each:
//   ATTACH-DISK\n        with one file descriptor (SCM_RIGHTS): the media for a free disk slot
//   DETACH-DISK <slot>\n the slot's media out again
// answered by "OK[ <slot>]\n" or "ERR <why>\n". The line comes from another process: parsed
// strictly, bounded, every problem one line.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <variant>

namespace kvrun::vmm::control {

inline constexpr std::size_t kMaxRequestLine = 64;

struct AttachDisk {};
struct DetachDisk {
  unsigned slot;
};
using Request = std::variant<AttachDisk, DetachDisk>;

// `line` without its '\n'. Throws Error("<why>") for anything else.
Request parse_request(std::string_view line);

std::string format_request(const Request& request);

}  // namespace kvrun::vmm::control
