// Capability names of the spec (process.capabilities) as the kernel headers number them.
#pragma once

#include <optional>
#include <string_view>

namespace kvrun::spec {

// "CAP_NET_ADMIN" -> 12; nullopt for names this kernel header does not know.
std::optional<int> capability_from_name(std::string_view name);

}  // namespace kvrun::spec
