#include "shim/state/state_dir.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <sstream>
#include <system_error>

#include "common/error.h"
#include "common/error_code.h"
#include "common/full_io.h"
#include "protocol/messages.h"
#include "shim/state/process_identity.h"
#include "shim/state/transition.h"

namespace kvrun::state {

ContainerLock::ContainerLock(const std::filesystem::path& dir)
    : fd_(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) {
  if (!fd_) throw_errno("open " + dir.string());
  while (::flock(fd_.get(), LOCK_EX) != 0) {
    if (errno != EINTR) throw_errno("flock " + dir.string());
  }
}

StateDir::StateDir(std::filesystem::path root) : root_(std::move(root)) {
  std::error_code ec;
  std::filesystem::create_directories(root_, ec);
  if (ec) throw Error("state root " + root_.string() + ": " + ec.message());
  ::chmod(root_.c_str(), 0700);
}

std::filesystem::path StateDir::container_dir(const std::string& id) const {
  protocol::check_id(id, "container id", false);
  return root_ / id;
}

bool StateDir::exists(const std::string& id) const {
  return std::filesystem::is_directory(container_dir(id));
}

std::filesystem::path StateDir::create(const std::string& id) const {
  auto dir = container_dir(id);
  if (::mkdir(dir.c_str(), 0700) != 0) {
    if (errno == EEXIST)
      throw CodedError(ErrorCode::kAlreadyExists, "container with id " + id + " already exists");
    throw_errno("mkdir " + dir.string());
  }
  return dir;
}

std::filesystem::path StateDir::open(const std::string& id) const {
  auto dir = container_dir(id);
  if (!std::filesystem::is_directory(dir))
    throw CodedError(ErrorCode::kNotFound, "container does not exist");
  return dir;
}

std::vector<std::string> StateDir::list() const {
  std::vector<std::string> ids;
  for (const auto& entry : std::filesystem::directory_iterator(root_)) {
    if (entry.is_directory()) ids.push_back(entry.path().filename());
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

void StateDir::remove(const std::string& id) const {
  std::error_code ec;
  std::filesystem::remove_all(container_dir(id), ec);
  if (ec) throw Error("remove state of " + id + ": " + ec.message());
}

void write_state_file(const std::filesystem::path& dir, const std::string& name,
                      const std::string& text) {
  auto final_path = dir / name;
  auto temp_path = dir / ("." + name + ".tmp");
  UniqueFd fd(::open(temp_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!fd) throw_errno("create " + temp_path.string());
  write_all(fd.get(), text, "write " + temp_path.string());
  if (::fsync(fd.get()) != 0) throw_errno("fsync " + temp_path.string());
  if (::rename(temp_path.c_str(), final_path.c_str()) != 0)
    throw_errno("rename " + final_path.string());
}

void save_state(const std::filesystem::path& dir, const ContainerState& state) {
  write_state_file(dir, "state.json", to_json(state).dump() + "\n");
}

ContainerState load_state(const std::filesystem::path& dir) {
  std::ifstream in(dir / "state.json");
  if (!in) throw Error((dir / "state.json").string() + ": cannot be read");
  std::stringstream text;
  text << in.rdbuf();
  nlohmann::json json = nlohmann::json::parse(text.str(), nullptr, false);
  if (json.is_discarded()) throw Error((dir / "state.json").string() + ": invalid JSON");
  return from_json(json);
}

ContainerState load_current_state(const std::filesystem::path& dir) {
  ContainerState state = load_state(dir);
  if (state.status != Status::kStopped && !process_alive(state.pid, state.pid_start_time))
    transition(state, Status::kStopped);
  return state;
}

}  // namespace kvrun::state
