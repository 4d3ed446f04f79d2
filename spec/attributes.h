// Parsers for the runtime-spec 1.1 attributes of a process and a container that runc 1.2 applies
// (process.scheduler, process.ioPriority, linux.personality, linux.timeOffsets, linux.devices).
// Each checks types and ranges as the kernel would, so a bad value is an error naming the field
// before any process exists. Throw Error("<field path>: <problem>").
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "spec/spec.h"

namespace kvrun::spec {

SchedulerSpec parse_scheduler(const nlohmann::json& json, const std::string& path);
IoPrioritySpec parse_io_priority(const nlohmann::json& json, const std::string& path);
// The personality(2) value; flags (none defined by the spec) are logged and ignored, as runc does.
unsigned long parse_personality(const nlohmann::json& json, const std::string& path);
std::vector<TimeOffsetSpec> parse_time_offsets(const nlohmann::json& json, const std::string& path);
std::vector<DeviceNodeSpec> parse_device_nodes(const nlohmann::json& json, const std::string& path);

}  // namespace kvrun::spec
