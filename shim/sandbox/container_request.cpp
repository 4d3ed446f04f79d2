#include "shim/sandbox/container_request.h"

#include "common/error.h"

namespace kvrun::sandbox {

void check_mounts(const oci::Bundle& bundle, SandboxKind kind) {
  if (kind == SandboxKind::kHost) return;
  for (std::size_t i = 0; i < bundle.mounts.size(); ++i) {
    const auto& mount = bundle.mounts[i];
    if (!mount.is_bind()) continue;
    throw Error("config.json: mounts[" + std::to_string(i) + "] (" + mount.destination +
                "): bind mounts of host paths are not supported in a VM sandbox (source " +
                mount.source + ")");
  }
}

protocol::CreateContainer container_request(const std::string& id, const oci::Bundle& bundle,
                                            SandboxKind kind) {
  protocol::CreateContainer request;
  request.container_id = id;
  request.stdin = true;
  if (kind == SandboxKind::kHost) {
    request.bundle_path = bundle.dir.string();
    request.rootfs = bundle.rootfs.string();
  } else {
    // The image is read-only and shared by every run of the bundle: writes go to an overlay
    // whose upper layer lives in guest memory.
    request.config = bundle.config;
    request.rootfs = kGuestRootfsDevice;
    request.overlay = true;
  }
  return request;
}

}  // namespace kvrun::sandbox
