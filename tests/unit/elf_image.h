// Builds ELF64 x86-64 kernel images in memory for the loader tests.
#pragma once

#include <elf.h>

#include <cstdint>
#include <cstring>
#include <vector>

namespace kvrun::vmm::test_util {

struct Segment {
  uint64_t vaddr;
  uint64_t paddr;
  std::vector<uint8_t> data;
  uint64_t memsz;
  uint32_t type = PT_LOAD;
};

// An ELF64 x86-64 executable: header, program headers, then each segment's bytes.
struct ElfImage {
  Elf64_Ehdr ehdr{};
  std::vector<Elf64_Phdr> phdrs;
  std::vector<uint8_t> payload;

  ElfImage(uint64_t entry, const std::vector<Segment>& segments) {
    std::memcpy(ehdr.e_ident, ELFMAG, SELFMAG);
    ehdr.e_ident[EI_CLASS] = ELFCLASS64;
    ehdr.e_ident[EI_DATA] = ELFDATA2LSB;
    ehdr.e_ident[EI_VERSION] = EV_CURRENT;
    ehdr.e_type = ET_EXEC;
    ehdr.e_machine = EM_X86_64;
    ehdr.e_version = EV_CURRENT;
    ehdr.e_entry = entry;
    ehdr.e_phoff = sizeof(Elf64_Ehdr);
    ehdr.e_ehsize = sizeof(Elf64_Ehdr);
    ehdr.e_phentsize = sizeof(Elf64_Phdr);
    ehdr.e_phnum = static_cast<uint16_t>(segments.size());
    uint64_t offset = sizeof(Elf64_Ehdr) + segments.size() * sizeof(Elf64_Phdr);
    for (const Segment& segment : segments) {
      Elf64_Phdr phdr{};
      phdr.p_type = segment.type;
      phdr.p_flags = PF_R | PF_X;
      phdr.p_offset = offset;
      phdr.p_vaddr = segment.vaddr;
      phdr.p_paddr = segment.paddr;
      phdr.p_filesz = segment.data.size();
      phdr.p_memsz = segment.memsz;
      phdr.p_align = 0x1000;
      phdrs.push_back(phdr);
      payload.insert(payload.end(), segment.data.begin(), segment.data.end());
      offset += segment.data.size();
    }
  }

  std::vector<uint8_t> bytes() const {
    std::vector<uint8_t> out(sizeof(ehdr));
    std::memcpy(out.data(), &ehdr, sizeof(ehdr));
    for (const Elf64_Phdr& phdr : phdrs) {
      const auto* p = reinterpret_cast<const uint8_t*>(&phdr);
      out.insert(out.end(), p, p + sizeof(phdr));
    }
    out.insert(out.end(), payload.begin(), payload.end());
    return out;
  }
};

}  // namespace kvrun::vmm::test_util
