// Files the host sent inside CreateContainer ("files"): the sources of bind mounts that a VM
// cannot reach on the host (/etc/hosts, /etc/hostname, ... from engines). Each is written under
// <state dir>/<container id>.files/ and the mount it belongs to is pointed at the copy, so the
// ordinary bind-mount stage mounts it with the options the spec asks for. Removed with the
// container.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "protocol/messages.h"

namespace kvrun::agent {

class CopiedFiles {
 public:
  // Writes the files and rewrites config["mounts"][i]["source"]. Throws Error naming
  // body.files[n] when its mount index does not name a bind mount of config; nothing is left
  // behind then.
  static CopiedFiles write(const std::filesystem::path& state_dir, const std::string& container_id,
                           const std::vector<protocol::FileCopy>& files, nlohmann::json& config);

  CopiedFiles(CopiedFiles&& other) noexcept : dir_(std::exchange(other.dir_, {})) {}
  CopiedFiles& operator=(CopiedFiles&&) = delete;
  CopiedFiles(const CopiedFiles&) = delete;
  CopiedFiles& operator=(const CopiedFiles&) = delete;
  ~CopiedFiles();

 private:
  explicit CopiedFiles(std::filesystem::path dir) : dir_(std::move(dir)) {}
  std::filesystem::path dir_;
};

}  // namespace kvrun::agent
