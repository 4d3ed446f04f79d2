#include "protocol/json_reader.h"

#include "common/error.h"
#include "common/printable.h"

namespace kvrun::protocol {

JsonReader::JsonReader(const nlohmann::json& value, std::string path)
    : value_(value), path_(std::move(path)) {
  if (!value_.is_object()) throw Error(path_ + ": expected an object");
}

std::string JsonReader::path_of(std::string_view key) const {
  return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
}

bool JsonReader::has(std::string_view key) const {
  auto it = value_.find(key);
  return it != value_.end() && !it->is_null();
}

const nlohmann::json* JsonReader::find(std::string_view key) {
  seen_.emplace(key);
  auto it = value_.find(key);
  // JSON null counts as absent, as in the OCI spec's Go decoder.
  if (it == value_.end() || it->is_null()) return nullptr;
  return &*it;
}

const nlohmann::json& JsonReader::require(std::string_view key) {
  const nlohmann::json* value = find(key);
  if (value == nullptr) throw Error(path_of(key) + ": required field is missing");
  return *value;
}

void JsonReader::type_error(std::string_view key, std::string_view expected) const {
  throw Error(path_of(key) + ": expected " + std::string(expected));
}

std::string JsonReader::string(std::string_view key) {
  const auto& value = require(key);
  if (!value.is_string()) type_error(key, "a string");
  return value.get<std::string>();
}

std::optional<std::string> JsonReader::optional_string(std::string_view key) {
  if (find(key) == nullptr) return std::nullopt;
  return string(key);
}

bool JsonReader::boolean(std::string_view key) {
  const auto& value = require(key);
  if (!value.is_boolean()) type_error(key, "a boolean");
  return value.get<bool>();
}

std::optional<bool> JsonReader::optional_boolean(std::string_view key) {
  if (find(key) == nullptr) return std::nullopt;
  return boolean(key);
}

std::int64_t JsonReader::integer(std::string_view key, std::int64_t min, std::int64_t max) {
  const auto& value = require(key);
  std::string range = "an integer in [" + std::to_string(min) + ", " + std::to_string(max) + "]";
  if (value.is_number_unsigned()) {
    auto v = value.get<std::uint64_t>();
    if (v > static_cast<std::uint64_t>(INT64_MAX) || static_cast<std::int64_t>(v) > max ||
        static_cast<std::int64_t>(v) < min) {
      type_error(key, range);
    }
    return static_cast<std::int64_t>(v);
  }
  if (!value.is_number_integer()) type_error(key, range);
  auto v = value.get<std::int64_t>();
  if (v < min || v > max) type_error(key, range);
  return v;
}

std::optional<std::int64_t> JsonReader::optional_integer(std::string_view key, std::int64_t min,
                                                         std::int64_t max) {
  if (find(key) == nullptr) return std::nullopt;
  return integer(key, min, max);
}

std::uint64_t JsonReader::unsigned_integer(std::string_view key, std::uint64_t max) {
  return expect_unsigned(require(key), path_of(key), max);
}

std::optional<std::uint64_t> JsonReader::optional_unsigned(std::string_view key,
                                                           std::uint64_t max) {
  if (find(key) == nullptr) return std::nullopt;
  return unsigned_integer(key, max);
}

std::vector<std::string> JsonReader::string_array(std::string_view key) {
  const auto& value = array(key);
  std::vector<std::string> out;
  out.reserve(value.size());
  for (std::size_t i = 0; i < value.size(); ++i) {
    out.push_back(expect_string(value[i], element_path(path_of(key), i)));
  }
  return out;
}

std::optional<std::vector<std::string>> JsonReader::optional_string_array(std::string_view key) {
  if (find(key) == nullptr) return std::nullopt;
  return string_array(key);
}

const nlohmann::json& JsonReader::object(std::string_view key) {
  const auto& value = require(key);
  if (!value.is_object()) type_error(key, "an object");
  return value;
}

const nlohmann::json* JsonReader::optional_object(std::string_view key) {
  if (find(key) == nullptr) return nullptr;
  return &object(key);
}

const nlohmann::json& JsonReader::array(std::string_view key) {
  const auto& value = require(key);
  if (!value.is_array()) type_error(key, "an array");
  return value;
}

const nlohmann::json* JsonReader::optional_array(std::string_view key) {
  if (find(key) == nullptr) return nullptr;
  return &array(key);
}

void JsonReader::reject_unknown() const {
  for (const auto& [key, _] : value_.items()) {
    // The key is the peer's text (a guest's): escaped before it reaches a terminal or a log.
    if (!seen_.contains(key)) throw Error(path_of(printable(key)) + ": unknown field");
  }
}

std::vector<std::string> JsonReader::unknown_keys() const {
  std::vector<std::string> keys;
  for (const auto& [key, _] : value_.items()) {
    if (!seen_.contains(key)) keys.push_back(path_of(key));
  }
  return keys;
}

std::string element_path(std::string_view array_path, std::size_t index) {
  return std::string(array_path) + "[" + std::to_string(index) + "]";
}

std::string expect_string(const nlohmann::json& value, std::string_view path) {
  if (!value.is_string()) throw Error(std::string(path) + ": expected a string");
  return value.get<std::string>();
}

std::uint64_t expect_unsigned(const nlohmann::json& value, std::string_view path,
                              std::uint64_t max) {
  std::string range = "an integer in [0, " + std::to_string(max) + "]";
  if (value.is_number_unsigned()) {
    auto v = value.get<std::uint64_t>();
    if (v <= max) return v;
  } else if (value.is_number_integer() && value.get<std::int64_t>() >= 0) {
    auto v = static_cast<std::uint64_t>(value.get<std::int64_t>());
    if (v <= max) return v;
  }
  throw Error(std::string(path) + ": expected " + range);
}

}  // namespace kvrun::protocol
