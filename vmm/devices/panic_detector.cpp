#include "vmm/devices/panic_detector.h"

namespace kvrun::vmm {

std::optional<std::string> PanicDetector::feed(std::span<const uint8_t> bytes) {
  std::optional<std::string> found;
  for (uint8_t byte : bytes) {
    if (reported_) return found;
    if (byte == '\n' || byte == '\r') {
      if (auto panic = end_line()) found = std::move(panic);
      continue;
    }
    line_.push_back(static_cast<char>(byte));
    if (line_.size() > kMaxLine) {
      // A runaway line (the guest controls the console) must not grow without bound. Keep the
      // marker if it is in there, else only a tail that could still start one.
      const size_t at = line_.find(kMarker);
      if (at != std::string::npos) {
        line_.erase(0, at);
        line_.resize(kMaxLine);
      } else {
        line_.erase(0, line_.size() - (kMarker.size() - 1));
      }
    }
  }
  return found;
}

std::optional<std::string> PanicDetector::end_line() {
  std::string line;
  line.swap(line_);
  const size_t at = line.find(kMarker);
  if (at == std::string::npos) return std::nullopt;
  reported_ = true;
  return line.substr(at);
}

}  // namespace kvrun::vmm
