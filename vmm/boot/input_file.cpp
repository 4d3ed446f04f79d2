#include "vmm/boot/input_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/error.h"

namespace kvrun::vmm {

InputFile InputFile::open(const std::filesystem::path& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) throw Error(std::strerror(errno));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) throw_errno("fstat");
  if (!S_ISREG(st.st_mode)) throw Error("not a regular file");
  // An empty kernel or initramfs is always a mistake (a failed build, a wrong path).
  if (st.st_size == 0) throw Error("file is empty");
  return InputFile(std::move(fd), static_cast<uint64_t>(st.st_size));
}

void InputFile::read_exact(std::span<uint8_t> out) const {
  size_t done = 0;
  while (done < out.size()) {
    const ssize_t n =
        ::pread(fd_.get(), out.data() + done, out.size() - done, static_cast<off_t>(done));
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_errno("read");
    }
    if (n == 0) throw Error("file shrank while it was being read");
    done += static_cast<size_t>(n);
  }
}

}  // namespace kvrun::vmm
