// Running the kvrun CLI for one task, as containerd-shim-runc-v2 runs runc: `kvrun --root R
// --log <bundle>/log.json --log-format json <command...>`, collected through the Reaper. A
// failure becomes a CodedError carrying kvrun's own one-line reason and code from the log
// (docs/cli.md "Errors").
#pragma once

#include <array>
#include <filesystem>
#include <string>
#include <vector>

#include "common/error_code.h"
#include "shim/containerd/reaper.h"

namespace kvrun::containerd {

// Where kvrun is found: $KVRUN_BIN, else `kvrun` next to the shim binary, else PATH.
std::filesystem::path locate_kvrun();

class KvrunCommand {
 public:
  KvrunCommand(Reaper& reaper, std::filesystem::path kvrun, std::filesystem::path root,
               std::filesystem::path bundle)
      : reaper_(reaper),
        kvrun_(std::move(kvrun)),
        root_(std::move(root)),
        bundle_(std::move(bundle)) {}

  // stdio: the child's fds 0, 1, 2 (-1 = /dev/null). Returns once kvrun has exited; throws
  // CodedError("kvrun <command>: <reason>", kvrun's code, else kInternal) on a non-zero status.
  void run(const std::vector<std::string>& args, const std::array<int, 3>& stdio) const;
  void run(const std::vector<std::string>& args) const;

  const std::filesystem::path& root() const { return root_; }

 private:
  struct Failure {
    std::string reason;
    ErrorCode code = ErrorCode::kInternal;
  };
  // The last error line kvrun logged after log_offset.
  Failure last_error(std::uintmax_t log_offset) const;

  Reaper& reaper_;
  std::filesystem::path kvrun_;
  std::filesystem::path root_;
  std::filesystem::path bundle_;
};

}  // namespace kvrun::containerd
