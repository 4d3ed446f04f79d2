#include "tests/e2e/conformance/conformance_fixture.h"

#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "tests/support/child_process.h"

namespace kvrun::e2e::conformance {
namespace {

constexpr const char* kRunc = "/usr/sbin/runc";
constexpr const char* kMark = "@@ ";

// Objects merge, arrays append, anything else replaces.
void merge(nlohmann::json& into, const nlohmann::json& patch) {
  for (const auto& [key, value] : patch.items()) {
    if (into.contains(key) && into[key].is_object() && value.is_object()) {
      merge(into[key], value);
    } else if (into.contains(key) && into[key].is_array() && value.is_array()) {
      for (const auto& item : value) into[key].push_back(item);
    } else {
      into[key] = value;
    }
  }
}

std::vector<std::string> split_command(const std::string& command, const std::string& id) {
  std::vector<std::string> args;
  std::istringstream words(command);
  for (std::string word; words >> word;) args.push_back(word == "@" ? id : word);
  return args;
}

std::string trim(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

// runc logs `time="..." level=error msg="container does not exist"`; kvrun
// `<time> error container does not exist`.
std::string error_gist(Runtime which, const std::string& err) {
  if (which == Runtime::kRunc) {
    auto start = err.find("msg=\"");
    if (start == std::string::npos) return trim(err);
    std::string gist;
    for (std::size_t i = start + 5; i < err.size() && err[i] != '\n'; ++i) {
      if (err[i] == '\\' && i + 1 < err.size()) {
        gist += err[++i];
      } else if (err[i] == '"') {
        break;
      } else {
        gist += err[i];
      }
    }
    return gist;
  }
  auto start = err.find(" error ");
  if (start == std::string::npos) return trim(err);
  return trim(err.substr(start + 7, err.find('\n', start) - start - 7));
}

bool is_kill(const std::vector<std::string>& args) {
  return !args.empty() && args[0] == "kill" && args.back() != "0";
}

}  // namespace

void ConformanceTest::SetUp() {
  if (::access(kRunc, X_OK) != 0) GTEST_SKIP() << kRunc << " is not installed: no reference";
  CliTest::SetUp();
  for (const char* applet : {"grep", "sed", "head", "sort", "env", "pwd", "stat", "touch"})
    std::filesystem::create_symlink("busybox", rootfs_ / "bin" / applet);
  // uid 1000 has an entry (HOME comes from it), root has none (HOME is "/").
  std::ofstream(rootfs_ / "etc/passwd") << "conf:x:1000:1000::/home/conf:/bin/sh\n";
  runc_root_ = scratch_ / "runc-state";
  long_bundle_ = group_bundle("long", Group::kRoot, "sleep 1000", {});
  short_bundle_ = group_bundle("short", Group::kRoot, "exit 3", {});
}

void ConformanceTest::TearDown() {
  if (!runc_root_.empty() && std::filesystem::is_directory(runc_root_)) {
    for (const auto& entry : std::filesystem::directory_iterator(runc_root_))
      runtime(Runtime::kRunc, {"delete", "--force", entry.path().filename()});
  }
  if (!scratch_.empty()) CliTest::TearDown();
}

Result ConformanceTest::runtime(Runtime which, const std::vector<std::string>& args,
                                int timeout_seconds) {
  if (which == Runtime::kKvrun)
    return kvrun(args, {.input = "", .timeout_seconds = timeout_seconds});
  std::vector<std::string> argv = {kRunc, "--root", runc_root_.string()};
  argv.insert(argv.end(), args.begin(), args.end());
  auto child = test::ChildProcess::spawn(argv);
  child.close_stdin();
  child.wait(std::chrono::seconds(timeout_seconds));
  return {child.status()->shell_status(), child.stdout_text(), child.stderr_text()};
}

std::filesystem::path ConformanceTest::group_bundle(const std::string& name, Group group,
                                                    const std::string& script,
                                                    const std::vector<const Observation*>& rows,
                                                    const std::string& hooks) {
  auto dir = scratch_ / name;
  std::filesystem::create_directories(dir);
  const bool user = group == Group::kUser;
  nlohmann::json config = {
      {"ociVersion", "1.0.2"},
      {"process",
       {// The scratch path marks the container's processes as this test's (leftover_processes).
        {"args", {"/bin/sh", "-c", script + "\n# " + scratch_.string()}},
        {"env", {"PATH=/bin"}},
        {"cwd", "/"},
        {"user", {{"uid", user ? 1000 : 0}, {"gid", user ? 1000 : 0}}}}},
      {"root", {{"path", rootfs_.string()}}},
      {"hostname", "kvrun-conformance"},
      {"mounts", {{{"destination", "/proc"}, {"type", "proc"}, {"source", "proc"}}}},
      {"linux",
       {{"namespaces",
         {{{"type", "pid"}}, {{"type", "mount"}}, {{"type", "uts"}}, {{"type", "ipc"}}}}}},
  };
  config["process"]["env"].push_back("HOOK_DIR=/conf-hooks/" + hooks);
  const std::string hooks_dir = (rootfs_ / "conf-hooks" / hooks).string();
  for (const Observation* row : rows) {
    std::string patch = row->patch;
    for (auto at = patch.find("@HOOKS@"); at != std::string::npos; at = patch.find("@HOOKS@"))
      patch.replace(at, 7, hooks_dir);
    merge(config, nlohmann::json::parse(patch));
  }
  std::ofstream(dir / "config.json") << config.dump(2);
  return dir;
}

std::map<std::string, std::string> ConformanceTest::observe(
    Runtime which, Group group, const std::vector<const Observation*>& rows, int timeout_seconds) {
  std::string script;
  for (const Observation* row : rows)
    script += std::string("echo '") + kMark + row->name + "'; (" + row->probe + ") 2>&1\n";
  script += "exit 0\n";  // a probe's failure is its observation, not the run's
  // One id and bundle for both runtimes (they run one after the other), as hooks see them.
  std::string name = group == Group::kRoot ? "conf-root" : "conf-user";
  std::string hooks = which == Runtime::kRunc ? "runc" : "kvrun";
  std::filesystem::create_directories(rootfs_ / "conf-hooks" / hooks);
  auto dir = group_bundle(name, group, script, rows, hooks);
  Result r = runtime(which, {"run", "--bundle", dir.string(), name}, timeout_seconds);
  std::map<std::string, std::string> seen;
  if (r.status != 0) {
    ADD_FAILURE() << name << ": run exited " << r.status << ": " << r.err;
    return seen;
  }
  std::istringstream lines(r.out);
  std::string* current = nullptr;
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(kMark, 0) == 0) {
      current = &seen[line.substr(3)];
    } else if (current) {
      *current += line + "\n";
    }
  }
  return seen;
}

std::string ConformanceTest::status_of(Runtime which, const std::string& id) {
  Result r = runtime(which, {"state", id});
  if (r.status != 0) return "absent";
  auto json = nlohmann::json::parse(r.out, nullptr, false);
  if (json.is_discarded() || !json.contains("status")) return "unreadable";
  return json["status"].get<std::string>();
}

bool ConformanceTest::prepare(Runtime which, From from, const std::string& id, std::string* why) {
  if (from == From::kMissing) return true;
  auto step = [&](const std::vector<std::string>& args) {
    Result r = runtime(which, args, 120);
    if (r.status != 0) *why = args[0] + ": " + error_gist(which, r.err);
    return r.status == 0;
  };
  const auto& bundle = from == From::kStopped ? short_bundle_ : long_bundle_;
  if (!step({"create", "--bundle", bundle.string(), id})) return false;
  if (from == From::kCreated) return true;
  if (!step({"start", id})) return false;
  if (from == From::kPaused) return step({"pause", id});
  if (from == From::kStopped &&
      !wait_until([&] { return status_of(which, id) == "stopped"; }, 10000)) {
    *why = "did not stop";
    return false;
  }
  return true;
}

Answer ConformanceTest::answer(Runtime which, const std::string& id, const std::string& command) {
  std::string before = is_kill(split_command(command, id)) ? status_of(which, id) : "";
  Result r = runtime(which, split_command(command, id));
  Answer a{r.status, r.status == 0 ? "" : error_gist(which, r.err), "", r.out};
  a.after = status_of(which, id);
  if (!before.empty() && a.after == before) {
    wait_until([&] { return (a.after = status_of(which, id)) != before; }, 2000);
  }
  return a;
}

std::vector<std::string> ConformanceTest::state_differences(const nlohmann::json& runc,
                                                            const nlohmann::json& kvrun) {
  std::vector<std::string> found;
  if (!kvrun.is_object()) return {"kvrun's state is not a JSON object"};
  for (const auto& [key, value] : runc.items()) {
    if (!kvrun.contains(key)) {
      found.push_back("no " + key);
    } else if (kvrun[key].type() != value.type()) {
      found.push_back(key + " is a " + kvrun[key].type_name() + ", runc's a " + value.type_name());
    }
  }
  for (const char* key : {"id", "status", "bundle", "rootfs", "owner"}) {
    if (runc.contains(key) && kvrun.value(key, nlohmann::json()) != runc[key])
      found.push_back(std::string(key) + " " + kvrun.value(key, nlohmann::json()).dump() +
                      ", runc's " + runc[key].dump());
  }
  if (runc.contains("pid") && kvrun.contains("pid") && (runc["pid"] == 0) != (kvrun["pid"] == 0))
    found.push_back("pid " + kvrun["pid"].dump() + ", runc's " + runc["pid"].dump());
  return found;
}

std::string compare(const Answer& runc, const Answer& kvrun) {
  std::string differences;
  if (runc.status != kvrun.status) differences += " status";
  std::string gist = runc.error;
  if (gist.rfind("exec failed: ", 0) == 0) gist.erase(0, 13);
  // A hint in parentheses names runc's own flags ("(use --ignore-paused to override)").
  if (auto hint = gist.find(" ("); hint != std::string::npos) gist.erase(hint);
  if (gist.empty() != kvrun.error.empty() || kvrun.error.find(gist) == std::string::npos)
    differences += " error";
  if (runc.after != kvrun.after) differences += " status-after";
  return differences;
}

std::string describe(const Answer& answer) {
  return "exit " + std::to_string(answer.status) +
         (answer.error.empty() ? "" : " \"" + answer.error + "\"") + " -> " + answer.after;
}

}  // namespace kvrun::e2e::conformance
