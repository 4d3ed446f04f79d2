// Splits a process's resident memory, as listed in /proc/<pid>/smaps, into guest RAM and the
// rest (the VMM's own overhead). Header-only and free of kvrun libraries so that run.sh can
// compile boot_latency.cpp with one c++ call; tests/unit/bench_smaps_test.cpp pins it down.
//
// A mapping is guest RAM if
//   - kvrun-vmm named it (prctl PR_SET_VMA_ANON_NAME, see vmm/memory/guest_memory.cpp), or
//   - it is anonymous, unnamed, and its size is the guest memory size give or take 1/16.
// The size rule covers QEMU, which does not name its RAM, and kvrun-vmm on kernels without
// CONFIG_ANON_VMA_NAME. Its tolerance is wide enough for a RAM block that is trimmed or padded
// by a few pages, yet far from what else a VMM maps anonymously: thread stacks (8 MiB), malloc
// arenas (64 MiB reserved, mostly PROT_NONE and not resident) and QEMU's 1 GiB TCG code buffer,
// at the default 128 MiB guest.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace kvrun::bench {

inline constexpr std::string_view kGuestRamVmaName = "[anon:kvrun-guest-ram]";

struct SmapsMemory {
  uint64_t rss_kib = 0;        // all mappings
  uint64_t guest_rss_kib = 0;  // guest RAM mappings only
  int guest_mappings = 0;
  bool guest_found_by_name = false;  // at least one guest mapping carried kGuestRamVmaName

  uint64_t overhead_kib() const { return rss_kib - guest_rss_kib; }
};

namespace smaps_detail {

inline std::string_view next_token(std::string_view& rest) {
  size_t start = rest.find_first_not_of(' ');
  if (start == std::string_view::npos) {
    rest = {};
    return {};
  }
  rest.remove_prefix(start);
  size_t end = rest.find(' ');
  std::string_view token = rest.substr(0, end);
  rest.remove_prefix(end == std::string_view::npos ? rest.size() : end);
  return token;
}

// Parses all of `text` as a number in `base`; false if empty, not a number or too large.
inline bool parse_u64(std::string_view text, int base, uint64_t& out) {
  if (text.empty() || text.size() > 20) return false;
  uint64_t value = 0;
  for (char c : text) {
    int digit = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : base;
    if (digit >= base) return false;
    if (value > (UINT64_MAX - static_cast<uint64_t>(digit)) / static_cast<uint64_t>(base)) {
      return false;
    }
    value = value * static_cast<uint64_t>(base) + static_cast<uint64_t>(digit);
  }
  out = value;
  return true;
}

[[noreturn]] inline void malformed(size_t line_number, std::string_view line) {
  throw std::invalid_argument("smaps line " + std::to_string(line_number) + " is malformed: \"" +
                              std::string(line.substr(0, 120)) + "\"");
}

}  // namespace smaps_detail

// Throws std::invalid_argument naming the line if a mapping header or an Rss line does not
// parse, or if an Rss line comes before any header.
inline SmapsMemory summarize_smaps(std::string_view smaps, uint64_t guest_bytes) {
  SmapsMemory memory;
  bool in_mapping = false;
  bool mapping_is_guest = false;
  bool mapping_has_rss = false;
  size_t line_number = 0;
  while (!smaps.empty()) {
    size_t eol = smaps.find('\n');
    std::string_view line = smaps.substr(0, eol);
    smaps.remove_prefix(eol == std::string_view::npos ? smaps.size() : eol + 1);
    ++line_number;
    std::string_view rest = line;
    std::string_view first = smaps_detail::next_token(rest);
    if (first.empty()) continue;

    if (first.back() == ':') {  // "Rss:   123 kB" and the other per-mapping fields
      if (first != "Rss:") continue;
      uint64_t kib = 0;
      if (!in_mapping || mapping_has_rss ||
          !smaps_detail::parse_u64(smaps_detail::next_token(rest), 10, kib) ||
          smaps_detail::next_token(rest) != "kB") {
        smaps_detail::malformed(line_number, line);
      }
      mapping_has_rss = true;
      memory.rss_kib += kib;
      if (mapping_is_guest) memory.guest_rss_kib += kib;
      continue;
    }

    // Header: "start-end perms offset dev inode [name]"; the name may contain spaces.
    size_t dash = first.find('-');
    uint64_t start = 0, end = 0, inode = 0;
    if (dash == std::string_view::npos ||
        !smaps_detail::parse_u64(first.substr(0, dash), 16, start) ||
        !smaps_detail::parse_u64(first.substr(dash + 1), 16, end) || end < start) {
      smaps_detail::malformed(line_number, line);
    }
    std::string_view perms = smaps_detail::next_token(rest);
    std::string_view offset = smaps_detail::next_token(rest);
    std::string_view device = smaps_detail::next_token(rest);
    if (perms.size() != 4 || offset.empty() || device.empty() ||
        !smaps_detail::parse_u64(smaps_detail::next_token(rest), 10, inode)) {
      smaps_detail::malformed(line_number, line);
    }
    size_t name_start = rest.find_first_not_of(' ');
    std::string_view name =
        name_start == std::string_view::npos ? std::string_view{} : rest.substr(name_start);

    const uint64_t size = end - start;
    const uint64_t tolerance = guest_bytes / 16;
    const bool by_name = name == kGuestRamVmaName;
    const bool by_size = guest_bytes > 0 && inode == 0 && name.empty() &&
                         size + tolerance >= guest_bytes && size <= guest_bytes + tolerance;
    in_mapping = true;
    mapping_has_rss = false;
    mapping_is_guest = by_name || by_size;
    if (mapping_is_guest) ++memory.guest_mappings;
    if (by_name) memory.guest_found_by_name = true;
  }
  return memory;
}

}  // namespace kvrun::bench
