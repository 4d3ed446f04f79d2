#include "agent/guest/kernel_cmdline.h"

namespace kvrun::agent {

std::vector<std::string> cmdline_values(std::string_view cmdline, std::string_view name) {
  const std::string prefix = "kvrun." + std::string(name) + "=";
  std::vector<std::string> values;
  std::size_t pos = 0;
  while (pos < cmdline.size()) {
    std::size_t start = cmdline.find_first_not_of(" \t\n", pos);
    if (start == std::string_view::npos) break;
    std::size_t end = cmdline.find_first_of(" \t\n", start);
    if (end == std::string_view::npos) end = cmdline.size();
    std::string_view word = cmdline.substr(start, end - start);
    if (word.starts_with(prefix)) values.emplace_back(word.substr(prefix.size()));
    pos = end;
  }
  return values;
}

std::optional<std::string> cmdline_value(std::string_view cmdline, std::string_view name) {
  auto values = cmdline_values(cmdline, name);
  if (values.empty()) return std::nullopt;
  return values.back();
}

}  // namespace kvrun::agent
