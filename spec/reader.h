// Helpers the OCI spec parsers share.
#pragma once

#include <spdlog/spdlog.h>

#include "protocol/json_reader.h"

namespace kvrun::spec {

// The runtime-spec: a runtime MUST NOT generate an error on an unknown property and MUST ignore
// it. Fields kvrun knows are still checked strictly by the reader's accessors.
inline void ignore_unknown(const protocol::JsonReader& reader) {
  for (const auto& key : reader.unknown_keys()) spdlog::debug("{}: unknown field, ignored", key);
}

}  // namespace kvrun::spec
