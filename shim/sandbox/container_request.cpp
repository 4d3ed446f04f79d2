#include "shim/sandbox/container_request.h"

#include "common/error.h"
#include "shim/sandbox/guest_mounts.h"

namespace kvrun::sandbox {

void check_mounts(const oci::Bundle& bundle, SandboxKind kind) {
  if (kind == SandboxKind::kVm) (void)guest_files(bundle);
}

protocol::CreateContainer container_request(const std::string& id, const oci::Bundle& bundle,
                                            SandboxKind kind, const GuestSpecContext& guest) {
  protocol::CreateContainer request;
  request.container_id = id;
  request.stdin = true;
  if (kind == SandboxKind::kHost) {
    request.bundle_path = bundle.dir.string();
    request.rootfs = bundle.rootfs.string();
  } else {
    // The image is read-only and shared by every run of the bundle: writes go to an overlay
    // whose upper layer lives in guest memory.
    request.files = guest_files(bundle);
    request.config = constrain_for_guest(bundle, guest);
    request.rootfs = kGuestRootfsDevice;
    request.overlay = true;
    request.state_bundle = bundle.dir.string();  // for startContainer hooks in the guest
  }
  return request;
}

}  // namespace kvrun::sandbox
