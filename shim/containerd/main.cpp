// containerd-shim-kvrun-v2: containerd's runtime io.containerd.kvrun.v2. See actions.h for the
// roles and docs/containerd.md for configuration.
#include <cstdio>
#include <string>
#include <vector>

#include "common/error.h"
#include "shim/containerd/actions.h"
#include "shim/containerd/flags.h"

int main(int argc, char** argv) {
  using namespace kvrun::containerd;
  std::vector<std::string> args(argv + 1, argv + argc);
  try {
    ShimFlags flags = parse_flags(args);
    if (flags.version) {
      std::printf(
          "containerd-shim-kvrun-v2:\n  Version: 0.1.0\n  Runtime: io.containerd.kvrun.v2\n");
      return 0;
    }
    if (flags.ns.empty()) throw kvrun::Error("shim namespace cannot be empty (-namespace)");
    if (flags.action == "start") return start_shim(flags, "/proc/self/exe");
    if (flags.action == "delete") return delete_shim(flags);
    if (!flags.action.empty()) throw kvrun::Error("unknown action '" + flags.action + "'");
    return run_daemon(flags);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "containerd-shim-kvrun-v2: %s\n", e.what());
    return 1;
  }
}
