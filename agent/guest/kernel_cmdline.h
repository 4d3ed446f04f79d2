// The agent's switches on the kernel command line. As PID 1 it gets no useful argv (the
// kernel passes only words it does not recognise), so the guest is configured with
// `kvrun.NAME=VALUE` parameters, which the kernel leaves alone and init reads from /proc/cmdline.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kvrun::agent {

// Values of every `kvrun.<name>=` word, in order (a parameter may repeat).
std::vector<std::string> cmdline_values(std::string_view cmdline, std::string_view name);
// The last value of `kvrun.<name>=`, or nullopt.
std::optional<std::string> cmdline_value(std::string_view cmdline, std::string_view name);

}  // namespace kvrun::agent
