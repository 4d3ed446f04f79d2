#include "shim/containerd/flags.h"

#include <map>
#include <optional>

#include "common/error.h"

namespace kvrun::containerd {

ShimFlags parse_flags(std::span<const std::string> args) {
  ShimFlags flags;
  const std::map<std::string, std::string*> strings = {
      {"namespace", &flags.ns},    {"id", &flags.id},
      {"address", &flags.address}, {"publish-binary", &flags.publish_binary},
      {"bundle", &flags.bundle},   {"socket", &flags.socket},
  };
  const std::map<std::string, bool*> booleans = {{"debug", &flags.debug}, {"v", &flags.version}};
  std::size_t i = 0;
  for (; i < args.size(); ++i) {
    std::string arg = args[i];
    if (arg == "--") {
      ++i;
      break;
    }
    if (arg.size() < 2 || arg[0] != '-') break;  // the action
    std::string name = arg.substr(arg[1] == '-' ? 2 : 1);
    std::optional<std::string> value;
    if (auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name.resize(eq);
    }
    if (auto it = booleans.find(name); it != booleans.end()) {
      if (value && *value != "true" && *value != "false" && *value != "1" && *value != "0") {
        throw Error("-" + name + ": expected true or false, got '" + *value + "'");
      }
      *it->second = !value || *value == "true" || *value == "1";
      continue;
    }
    auto it = strings.find(name);
    if (it == strings.end()) throw Error("flag provided but not defined: -" + name);
    if (!value) {
      if (i + 1 >= args.size()) throw Error("flag needs an argument: -" + name);
      value = args[++i];
    }
    *it->second = *value;
  }
  if (i < args.size()) flags.action = args[i++];
  if (i < args.size()) throw Error("unexpected argument '" + args[i] + "'");
  return flags;
}

}  // namespace kvrun::containerd
