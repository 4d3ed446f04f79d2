#include "common/full_io.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "common/error.h"

namespace kvrun {

void write_all(int fd, std::string_view data, const std::string& context) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == ENOTSOCK) n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_errno(context);
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
}

std::size_t read_full(int fd, char* data, std::size_t size, const std::string& context) {
  std::size_t done = 0;
  while (done < size) {
    ssize_t n = ::read(fd, data + done, size - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_errno(context);
    }
    if (n == 0) break;
    done += static_cast<std::size_t>(n);
  }
  return done;
}

}  // namespace kvrun
