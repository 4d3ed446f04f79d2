// ELF64 vmlinux loading. Linux links vmlinux with high virtual addresses (p_vaddr
// 0xffffffff81000000) but physical load addresses (p_paddr 0x1000000) and a physical e_entry,
// so segments go to p_paddr and the 64-bit entry is used as is.
#include <elf.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "common/error.h"
#include "vmm/boot/kernel_loader.h"
#include "vmm/boot/layout.h"
#include "vmm/memory/format.h"

namespace kvrun::vmm {

namespace {

Elf64_Ehdr read_header(std::span<const uint8_t> image) {
  if (image.size() < sizeof(Elf64_Ehdr)) {
    throw Error("truncated ELF header (" + std::to_string(image.size()) + " bytes)");
  }
  Elf64_Ehdr ehdr;
  std::memcpy(&ehdr, image.data(), sizeof(ehdr));
  if (std::memcmp(ehdr.e_ident, ELFMAG, SELFMAG) != 0) throw Error("bad ELF magic");
  if (ehdr.e_ident[EI_CLASS] != ELFCLASS64) {
    throw Error("not a 64-bit ELF (class " + std::to_string(ehdr.e_ident[EI_CLASS]) + ")");
  }
  if (ehdr.e_ident[EI_DATA] != ELFDATA2LSB) throw Error("not a little-endian ELF");
  if (ehdr.e_machine != EM_X86_64) {
    throw Error("not an x86-64 ELF (machine " + std::to_string(ehdr.e_machine) + ")");
  }
  if (ehdr.e_type != ET_EXEC) {
    throw Error("not an executable ELF (type " + std::to_string(ehdr.e_type) + ")");
  }
  return ehdr;
}

std::vector<Elf64_Phdr> read_program_headers(std::span<const uint8_t> image,
                                             const Elf64_Ehdr& ehdr) {
  if (ehdr.e_phentsize != sizeof(Elf64_Phdr)) {
    throw Error("unexpected ELF program header size " + std::to_string(ehdr.e_phentsize));
  }
  // PN_XNUM moves the real count into section header 0; no kernel needs that many.
  if (ehdr.e_phnum == 0 || ehdr.e_phnum == PN_XNUM) {
    throw Error("unsupported ELF program header count " + std::to_string(ehdr.e_phnum));
  }
  const uint64_t table_size = uint64_t{ehdr.e_phnum} * sizeof(Elf64_Phdr);
  if (ehdr.e_phoff > image.size() || table_size > image.size() - ehdr.e_phoff) {
    throw Error("ELF program headers " + format_range(ehdr.e_phoff, table_size) +
                " lie outside the file (" + std::to_string(image.size()) + " bytes)");
  }
  std::vector<Elf64_Phdr> phdrs(ehdr.e_phnum);
  std::memcpy(phdrs.data(), image.data() + ehdr.e_phoff, table_size);
  return phdrs;
}

void check_segment(const GuestMemory& memory, std::span<const uint8_t> image, size_t index,
                   const Elf64_Phdr& phdr) {
  const std::string name = "ELF segment " + std::to_string(index);
  if (phdr.p_filesz > phdr.p_memsz) {
    throw Error(name + " has file size " + hex(phdr.p_filesz) + " above its memory size " +
                hex(phdr.p_memsz));
  }
  if (phdr.p_offset > image.size() || phdr.p_filesz > image.size() - phdr.p_offset) {
    throw Error(name + " " + format_range(phdr.p_offset, phdr.p_filesz) +
                " lies outside the file (" + std::to_string(image.size()) + " bytes)");
  }
  // Below 1 MiB live the zero page, page tables, GDT and MP table that we write after loading.
  if (phdr.p_paddr < layout::kHighMemStart) {
    throw Error(name + " at " + hex(phdr.p_paddr) + " is below " + hex(layout::kHighMemStart));
  }
  if (!memory.contains(phdr.p_paddr, phdr.p_memsz)) {
    throw Error(name + " " + format_range(phdr.p_paddr, phdr.p_memsz) +
                " lies outside guest memory");
  }
}

bool segment_holds(uint64_t start, uint64_t size, uint64_t address) {
  return address >= start && address - start < size;
}

GuestAddress physical_entry(const Elf64_Ehdr& ehdr, std::span<const Elf64_Phdr> loads) {
  for (const Elf64_Phdr& phdr : loads) {
    if (segment_holds(phdr.p_paddr, phdr.p_memsz, ehdr.e_entry)) return ehdr.e_entry;
  }
  // An ELF whose entry is virtual: translate through the segment that contains it.
  for (const Elf64_Phdr& phdr : loads) {
    if (segment_holds(phdr.p_vaddr, phdr.p_memsz, ehdr.e_entry)) {
      return phdr.p_paddr + (ehdr.e_entry - phdr.p_vaddr);
    }
  }
  throw Error("ELF entry point " + hex(ehdr.e_entry) + " is not inside any loadable segment");
}

}  // namespace

LoadedKernel load_elf_kernel(GuestMemory& memory, std::span<const uint8_t> image) {
  const Elf64_Ehdr ehdr = read_header(image);
  std::vector<Elf64_Phdr> loads;
  const std::vector<Elf64_Phdr> phdrs = read_program_headers(image, ehdr);
  for (size_t i = 0; i < phdrs.size(); ++i) {
    if (phdrs[i].p_type != PT_LOAD) continue;
    check_segment(memory, image, i, phdrs[i]);
    loads.push_back(phdrs[i]);
  }
  if (loads.empty()) throw Error("ELF has no loadable segments");
  const GuestAddress entry = physical_entry(ehdr, loads);

  // Everything is validated before the first byte is copied.
  GuestAddress end = 0;
  for (const Elf64_Phdr& phdr : loads) {
    std::span<uint8_t> dest = memory.slice(phdr.p_paddr, phdr.p_memsz);
    std::memcpy(dest.data(), image.data() + phdr.p_offset, phdr.p_filesz);
    // The bss: guest memory may hold leftovers from an earlier load, so zero it explicitly.
    std::memset(dest.data() + phdr.p_filesz, 0, phdr.p_memsz - phdr.p_filesz);
    end = std::max(end, phdr.p_paddr + phdr.p_memsz);
  }
  return LoadedKernel{entry, page_align_up(end), std::nullopt};
}

}  // namespace kvrun::vmm
