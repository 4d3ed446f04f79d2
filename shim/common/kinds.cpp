#include "shim/common/kinds.h"

#include "common/error.h"
#include "common/printable.h"

namespace kvrun::shim {

SandboxKind parse_sandbox_kind(const std::string& name) {
  if (name == "vm") return SandboxKind::kVm;
  if (name == "host") return SandboxKind::kHost;
  throw Error("sandbox \"" + name + "\": expected vm or host");
}

std::string to_string(SandboxKind kind) { return kind == SandboxKind::kVm ? "vm" : "host"; }

std::string to_string(PodRole role) {
  switch (role) {
    case PodRole::kStandalone:
      return "";
    case PodRole::kSandbox:
      return "sandbox";
    case PodRole::kMember:
      return "member";
  }
  return "";
}

PodRole parse_pod_role(const std::string& name) {
  for (PodRole role : {PodRole::kStandalone, PodRole::kSandbox, PodRole::kMember}) {
    if (to_string(role) == name) return role;
  }
  throw Error("pod role \"" + printable(name) + "\": expected sandbox, member or none");
}

}  // namespace kvrun::shim
