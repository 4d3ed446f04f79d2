// The command line containerd gives a v2 shim, in Go's flag syntax (-name value, -name=value,
// --name value; booleans alone): -namespace, -address, -publish-binary, -id, -bundle, -socket,
// -debug, -v, then the action: "start", "delete", or none for the daemon itself.
#pragma once

#include <span>
#include <string>

namespace kvrun::containerd {

struct ShimFlags {
  std::string ns;
  std::string id;
  std::string address;         // containerd's gRPC socket: part of the shim socket's name
  std::string publish_binary;  // containerd's own binary (we publish over ttrpc instead)
  std::string bundle;          // delete: the bundle (else the working directory)
  std::string socket;          // accepted for compatibility; the daemon gets its socket as fd 3
  bool debug = false;
  bool version = false;
  std::string action;
};

// Throws Error("<flag>: ...") for an unknown flag or a missing value.
ShimFlags parse_flags(std::span<const std::string> args);

}  // namespace kvrun::containerd
