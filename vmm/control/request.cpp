#include "vmm/control/request.h"

#include <charconv>

#include "common/error.h"

namespace kvrun::vmm::control {
namespace {

constexpr std::string_view kAttach = "ATTACH-DISK";
constexpr std::string_view kDetach = "DETACH-DISK ";
constexpr unsigned kMaxSlot = 1000;

}  // namespace

Request parse_request(std::string_view line) {
  if (line.size() > kMaxRequestLine) throw Error("request line too long");
  if (line == kAttach) return AttachDisk{};
  if (line.substr(0, kDetach.size()) == kDetach) {
    std::string_view number = line.substr(kDetach.size());
    unsigned slot = 0;
    auto [end, error] = std::from_chars(number.data(), number.data() + number.size(), slot);
    // Digits only: no sign, no spaces, no leading zeros beyond "0" itself.
    if (number.empty() || error != std::errc() || end != number.data() + number.size() ||
        (number.size() > 1 && number[0] == '0') || slot > kMaxSlot)
      throw Error("DETACH-DISK: not a slot number: \"" + std::string(number) + "\"");
    return DetachDisk{slot};
  }
  throw Error("unknown request \"" + std::string(line.substr(0, 32)) + "\"");
}

std::string format_request(const Request& request) {
  if (const auto* detach = std::get_if<DetachDisk>(&request))
    return std::string(kDetach) + std::to_string(detach->slot) + "\n";
  return std::string(kAttach) + "\n";
}

}  // namespace kvrun::vmm::control
