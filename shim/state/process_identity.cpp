#include "shim/state/process_identity.h"

#include <fstream>
#include <sstream>
#include <string>

namespace kvrun::state {
namespace {

struct StatFields {
  char state = '?';
  std::uint64_t start_time = 0;
};

std::optional<StatFields> read_stat(pid_t pid) {
  if (pid <= 0) return std::nullopt;
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!in || !std::getline(in, line)) return std::nullopt;
  // The command name (field 2) may hold spaces and parentheses: fields resume after the last ')'.
  auto close = line.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream rest(line.substr(close + 1));
  StatFields fields;
  rest >> fields.state;
  std::string skip;
  for (int field = 4; field < 22; ++field) rest >> skip;  // fields 4..21
  rest >> fields.start_time;
  if (!rest) return std::nullopt;
  return fields;
}

}  // namespace

std::optional<std::uint64_t> process_start_time(pid_t pid) {
  auto fields = read_stat(pid);
  if (!fields) return std::nullopt;
  return fields->start_time;
}

bool process_alive(pid_t pid, std::uint64_t start_time) {
  auto fields = read_stat(pid);
  return fields && fields->start_time == start_time && fields->state != 'Z' && fields->state != 'X';
}

}  // namespace kvrun::state
