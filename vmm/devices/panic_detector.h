// Watches the guest console for a Linux kernel panic, so that a panicking guest ends the VM
// with a clear message instead of rebooting quietly (panic=1) or hanging.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace kvrun::vmm {

class PanicDetector {
 public:
  static constexpr std::string_view kMarker = "Kernel panic - not syncing";
  // Longest line kept; longer lines are still searched for the marker but not reported whole.
  static constexpr size_t kMaxLine = 1024;

  // Feeds console bytes in any chunking. Returns the panic line (from the marker to the end of
  // the line, without the line ending) once that line is complete; only the first panic is
  // reported. Not thread-safe: feed from one place (the serial output sink).
  std::optional<std::string> feed(std::span<const uint8_t> bytes);

 private:
  std::optional<std::string> end_line();

  std::string line_;
  bool reported_ = false;
};

}  // namespace kvrun::vmm
