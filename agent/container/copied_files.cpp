#include "agent/container/copied_files.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>

#include "common/error.h"
#include "common/full_io.h"
#include "common/unique_fd.h"

namespace kvrun::agent {
namespace {

bool is_bind(const nlohmann::json& mount) {
  if (!mount.is_object()) return false;
  if (mount.value("type", "") == "bind") return true;
  auto options = mount.value("options", nlohmann::json::array());
  return options.is_array() && std::any_of(options.begin(), options.end(), [](const auto& o) {
           return o == "bind" || o == "rbind";
         });
}

void write_file(const std::filesystem::path& path, const std::string& content) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644));
  if (!fd) throw_errno("create " + path.string());
  write_all(fd.get(), content, "write " + path.string());
}

}  // namespace

CopiedFiles CopiedFiles::write(const std::filesystem::path& state_dir,
                               const std::string& container_id,
                               const std::vector<protocol::FileCopy>& files,
                               nlohmann::json& config) {
  const auto* mounts = config.contains("mounts") ? &config["mounts"] : nullptr;
  for (std::size_t n = 0; n < files.size(); ++n) {
    std::size_t index = files[n].mount_index;
    if (mounts == nullptr || !mounts->is_array() || index >= mounts->size() ||
        !is_bind((*mounts)[index])) {
      throw Error("body.files[" + std::to_string(n) + "].mount: config.mounts[" +
                  std::to_string(index) + "] is not a bind mount");
    }
  }
  // The container id is checked by the protocol ([A-Za-z0-9_.-], no leading dot).
  CopiedFiles copied(state_dir / (container_id + ".files"));
  std::error_code ec;
  std::filesystem::remove_all(copied.dir_, ec);
  if (!std::filesystem::create_directories(copied.dir_, ec) && ec)
    throw Error("create " + copied.dir_.string() + ": " + ec.message());
  for (const auto& file : files) {
    auto path = copied.dir_ / std::to_string(file.mount_index);
    write_file(path, file.content);
    config["mounts"][file.mount_index]["source"] = path.string();
  }
  return copied;
}

CopiedFiles::~CopiedFiles() {
  if (dir_.empty()) return;
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

}  // namespace kvrun::agent
