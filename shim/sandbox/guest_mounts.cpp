#include "shim/sandbox/guest_mounts.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/error.h"
#include "shim/sandbox/guest_spec.h"

namespace kvrun::sandbox {
namespace {

[[noreturn]] void refuse(std::size_t index, const oci::Mount& mount, const std::string& why) {
  throw Error("config.json: mounts[" + std::to_string(index) + "] (" + mount.destination +
              "): " + why + " (source " + mount.source + ")");
}

std::string read_small_text_file(std::size_t index, const oci::Mount& mount, std::size_t limit) {
  struct stat st {};
  if (::stat(mount.source.c_str(), &st) != 0)
    refuse(index, mount, std::string("bind mount source: ") + std::strerror(errno));
  if (!S_ISREG(st.st_mode))
    refuse(index, mount,
           "bind mounts of host directories and devices are not supported in a VM sandbox");
  if (static_cast<std::size_t>(st.st_size) > limit)
    refuse(index, mount,
           "only files up to " + std::to_string(kMaxCopiedFile / 1024) +
               " KiB (1 MiB in all) are copied into a VM sandbox; this one has " +
               std::to_string(st.st_size) + " bytes");
  std::ifstream in(mount.source, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  if (!in) refuse(index, mount, "bind mount source cannot be read");
  std::string content = text.str();
  if (content.size() > limit) refuse(index, mount, "bind mount source grew while being read");
  try {
    // The request is JSON, whose strings are UTF-8: binary files cannot travel in it.
    (void)nlohmann::json(content).dump();
  } catch (const nlohmann::json::exception&) {
    refuse(index, mount, "only text files are copied into a VM sandbox; this one is binary");
  }
  return content;
}

}  // namespace

std::vector<protocol::FileCopy> guest_files(const oci::Bundle& bundle) {
  std::vector<protocol::FileCopy> files;
  std::size_t total = 0;
  for (std::size_t i = 0; i < bundle.mounts.size(); ++i) {
    const auto& mount = bundle.mounts[i];
    if (!mount.is_bind() || is_shm_bind(mount)) continue;
    std::size_t room = std::min(kMaxCopiedFile, kMaxCopiedTotal - total);
    std::string content = read_small_text_file(i, mount, room);
    total += content.size();
    files.push_back({i, std::move(content)});
  }
  return files;
}

}  // namespace kvrun::sandbox
