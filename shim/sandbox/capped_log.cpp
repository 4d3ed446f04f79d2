#include "shim/sandbox/capped_log.h"

#include <fcntl.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <utility>

#include "common/error.h"

namespace kvrun::sandbox {
namespace {

constexpr size_t kReadChunk = 64 * 1024;  // <= kMinLogMaxBytes: a chunk fits an empty file
// How long the destructor waits for the child's last output after asking the thread to stop.
constexpr int kStopDrainMs = 1000;

UniqueFd open_log(const std::filesystem::path& path, int extra_flags) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | extra_flags, 0600));
  if (!fd) throw_errno("open " + path.string());
  return fd;
}

}  // namespace

std::filesystem::path CappedLog::rotated_path(const std::filesystem::path& path) {
  return path.string() + ".1";
}

CappedLog::CappedLog(std::filesystem::path path, uint64_t max_bytes)
    : path_(std::move(path)), max_bytes_(max_bytes) {
  if (max_bytes_ < kMinLogMaxBytes)
    throw Error("log " + path_.string() + ": cap " + std::to_string(max_bytes_) +
                " bytes is below the minimum of " + std::to_string(kMinLogMaxBytes));
  file_ = open_log(path_, 0);
  struct stat st {};
  if (::fstat(file_.get(), &st) < 0) throw_errno("stat " + path_.string());
  size_ = static_cast<uint64_t>(st.st_size);
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) < 0) throw_errno("pipe for " + path_.string());
  read_end_ = UniqueFd(fds[0]);
  child_end_ = UniqueFd(fds[1]);
  stop_ = UniqueFd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!stop_) throw_errno("eventfd");
  thread_ = std::thread([this] { run(); });
}

CappedLog::~CappedLog() {
  child_end_.reset();
  // The child is gone by now (ChildProcess reaps it first): let the thread take what is left,
  // but do not hang on a descendant that still holds the pipe.
  wait_closed(std::chrono::milliseconds(kStopDrainMs));
  const uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(stop_.get(), &one, sizeof one);
  if (thread_.joinable()) thread_.join();
}

bool CappedLog::wait_closed(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  return closed_cv_.wait_for(lock, timeout, [this] { return closed_; });
}

void CappedLog::run() {
  std::array<char, kReadChunk> buffer;
  for (;;) {
    pollfd fds[2] = {{read_end_.get(), POLLIN, 0}, {stop_.get(), POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      spdlog::warn("log {}: poll: {}", path_.string(), std::strerror(errno));
      break;
    }
    if (fds[0].revents == 0) break;  // asked to stop
    const ssize_t n = ::read(read_end_.get(), buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // EOF: every writer closed its end
    append(buffer.data(), static_cast<size_t>(n));
  }
  std::lock_guard lock(mutex_);
  closed_ = true;
  closed_cv_.notify_all();
}

void CappedLog::append(const char* data, size_t size) {
  if (size_ + size > max_bytes_) {
    // Fill the old file up to its last whole line that fits, so a line is rarely split.
    const size_t fits = static_cast<size_t>(max_bytes_ - std::min(size_, max_bytes_));
    const char* cut = static_cast<const char*>(::memrchr(data, '\n', std::min(fits, size)));
    if (cut != nullptr) {
      const size_t head = static_cast<size_t>(cut - data) + 1;
      write_file(data, head);
      data += head;
      size -= head;
    }
    rotate();
  }
  write_file(data, size);
}

void CappedLog::write_file(const char* data, size_t size) {
  while (size > 0 && file_) {
    const ssize_t n = ::write(file_.get(), data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      // Out of space, most likely: the output is lost, the child must not block on it.
      spdlog::warn("log {}: write: {}", path_.string(), std::strerror(errno));
      return;
    }
    data += n;
    size -= static_cast<size_t>(n);
    size_ += static_cast<uint64_t>(n);
  }
}

void CappedLog::rotate() {
  const auto old = rotated_path(path_);
  if (::rename(path_.c_str(), old.c_str()) < 0) {
    // The file was removed under us (the state dir is going away): start over in place.
    spdlog::debug("log {}: rename: {}", path_.string(), std::strerror(errno));
  }
  try {
    file_ = open_log(path_, O_TRUNC);
  } catch (const Error& e) {
    spdlog::warn("{}", e.what());
    file_.reset();  // the rest of the output is dropped
  }
  size_ = 0;
}

std::string read_capped_log(const std::filesystem::path& path) {
  std::stringstream text;
  for (const auto& part : {CappedLog::rotated_path(path), path}) {
    std::ifstream in(part);
    if (in) text << in.rdbuf();
  }
  return text.str();
}

}  // namespace kvrun::sandbox
