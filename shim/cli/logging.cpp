#include "shim/cli/logging.h"

#include <fcntl.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>

#include "common/error.h"
#include "common/unique_fd.h"
#include "shim/state/container_state.h"

namespace kvrun::cli {
namespace {

std::string_view level_name(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::trace:
    case spdlog::level::debug:
      return "debug";
    case spdlog::level::info:
      return "info";
    case spdlog::level::warn:
      return "warning";
    default:
      return "error";
  }
}

// One write(2) per line on an O_APPEND fd: lines from the CLI and the monitor (which shares the
// file) never interleave mid-line.
class LineSink : public spdlog::sinks::base_sink<std::mutex> {
 public:
  LineSink(UniqueFd fd, bool json) : fd_(std::move(fd)), json_(json) {}

  // The failure line: as sink_it_'s at level error, with the code in JSON.
  void write_failure(const std::string& message, ErrorCode code) {
    std::lock_guard lock(mutex_);
    write_line(spdlog::level::err, message, code);
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    write_line(msg.level, std::string(msg.payload.data(), msg.payload.size()), std::nullopt);
  }
  void flush_() override {}

 private:
  void write_line(spdlog::level::level_enum level, const std::string& text,
                  std::optional<ErrorCode> code) {
    std::string line;
    if (json_) {
      nlohmann::json entry = {{"level", level_name(level)}, {"msg", text}};
      if (code) entry["code"] = to_string(*code);
      entry["time"] = state::now_rfc3339();
      line = entry.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    } else {
      line = state::now_rfc3339() + " " + std::string(level_name(level)) + " " + text;
    }
    line += "\n";
    [[maybe_unused]] auto ignored = ::write(fd_.get(), line.data(), line.size());
  }

  UniqueFd fd_;
  bool json_;
};

}  // namespace

void setup_logging(const std::string& path, const std::string& format, bool debug) {
  UniqueFd fd;
  if (path.empty()) {
    fd = UniqueFd(::fcntl(2, F_DUPFD_CLOEXEC, 3));
  } else {
    fd = UniqueFd(::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640));
  }
  if (!fd) throw_errno("open log " + (path.empty() ? std::string("stderr") : path));
  auto logger = std::make_shared<spdlog::logger>(
      "kvrun", std::make_shared<LineSink>(std::move(fd), format == "json"));
  logger->set_level(debug ? spdlog::level::debug : spdlog::level::warn);
  spdlog::set_default_logger(logger);
}

void log_failure(const std::string& message, ErrorCode code) {
  auto logger = spdlog::default_logger();
  auto sink = logger && !logger->sinks().empty()
                  ? std::dynamic_pointer_cast<LineSink>(logger->sinks().front())
                  : nullptr;
  if (sink == nullptr) {
    spdlog::error("{}", message);  // logging was never set up: spdlog's own stderr logger
    return;
  }
  sink->write_failure(message, code);
}

}  // namespace kvrun::cli
