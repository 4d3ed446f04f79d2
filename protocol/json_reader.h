// Strict, path-aware reading of untrusted JSON objects. Every accessor checks presence, type and
// range, and every error names the offending field by its full path ("body.process.args[2]"),
// so one line tells the user what to fix. Fields nobody asked for are rejected by
// reject_unknown(): a typo in a config must not be ignored silently.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace kvrun::protocol {

class JsonReader {
 public:
  // Throws Error("<path>: expected an object") if value is not an object. The reader keeps a
  // reference: value must outlive it.
  JsonReader(const nlohmann::json& value, std::string path);

  const std::string& path() const { return path_; }
  bool has(std::string_view key) const;
  std::string path_of(std::string_view key) const;

  std::string string(std::string_view key);
  std::optional<std::string> optional_string(std::string_view key);
  bool boolean(std::string_view key);
  std::optional<bool> optional_boolean(std::string_view key);
  // Integers are range-checked against [min, max] inclusive.
  std::int64_t integer(std::string_view key, std::int64_t min, std::int64_t max);
  std::optional<std::int64_t> optional_integer(std::string_view key, std::int64_t min,
                                               std::int64_t max);
  std::uint64_t unsigned_integer(std::string_view key, std::uint64_t max = UINT64_MAX);
  std::optional<std::uint64_t> optional_unsigned(std::string_view key,
                                                 std::uint64_t max = UINT64_MAX);
  std::vector<std::string> string_array(std::string_view key);
  std::optional<std::vector<std::string>> optional_string_array(std::string_view key);

  // Nested values: the returned reference points into the original document.
  const nlohmann::json& object(std::string_view key);
  const nlohmann::json* optional_object(std::string_view key);
  const nlohmann::json& array(std::string_view key);
  const nlohmann::json* optional_array(std::string_view key);

  // Throws for the first key that no accessor above has asked for.
  void reject_unknown() const;
  // Full paths of the keys no accessor has asked for, for readers that must ignore them (the
  // OCI spec: a runtime MUST NOT fail on an unknown property).
  std::vector<std::string> unknown_keys() const;

 private:
  const nlohmann::json* find(std::string_view key);
  const nlohmann::json& require(std::string_view key);
  [[noreturn]] void type_error(std::string_view key, std::string_view expected) const;

  const nlohmann::json& value_;
  std::string path_;
  std::set<std::string, std::less<>> seen_;
};

// Element helpers for arrays read through JsonReader::array().
std::string element_path(std::string_view array_path, std::size_t index);
std::string expect_string(const nlohmann::json& value, std::string_view path);
std::uint64_t expect_unsigned(const nlohmann::json& value, std::string_view path,
                              std::uint64_t max = UINT64_MAX);

}  // namespace kvrun::protocol
