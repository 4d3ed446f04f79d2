// kvrun: a runc-compatible command line for containers in KVM microVMs. Commands, flags, exit
// codes and the messages tools match on ("container does not exist") follow runc, so podman
// (--runtime) and containerd's runc shim can drive it.
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>

#include "common/error.h"
#include "common/error_code.h"
#include "shim/cli/failure.h"
#include "shim/cli/globals.h"
#include "shim/cli/lifecycle.h"
#include "shim/cli/logging.h"
#include "shim/cli/processes.h"
#include "shim/cli/queries.h"
#include "shim/rootfs/image_cache.h"

#ifndef KVRUN_VERSION
#define KVRUN_VERSION "0.0.0"
#endif

namespace {

using namespace kvrun::cli;
using kvrun::ErrorCode;

struct Parsed {
  Globals globals;
  CreateOptions create;
  bool detach = false, keep = false, force = false, all = false, quiet = false;
  std::string id, signal = "SIGTERM", format = "table";
  ExecOptions exec;
  std::string resources_file;
  std::string gc_max_age = "168h";
  bool gc_all = false;
};

void add_create_flags(CLI::App* command, Parsed& p) {
  command->add_option("-b,--bundle", p.create.bundle, "bundle directory (default: .)");
  command->add_option("--pid-file", p.create.pid_file, "file to write the monitor's PID to");
  command->add_option("--console-socket", p.create.console_socket,
                      "unix socket that receives the console pty (process.terminal)");
  // runc flags that do not apply to a VM: accepted so callers work unchanged.
  command->add_flag("--no-pivot,--no-new-keyring")->description("ignored (runc compatibility)");
  command->add_option("--preserve-fds", "ignored (runc compatibility)");
  command->add_option("id", p.create.id, "container id")->required();
}

std::chrono::seconds parse_age(const std::string& text) {
  std::size_t end = 0;
  long value = std::stol(text, &end);
  std::string unit = text.substr(end);
  if (unit == "s" || unit.empty()) return std::chrono::seconds(value);
  if (unit == "m") return std::chrono::minutes(value);
  if (unit == "h") return std::chrono::hours(value);
  if (unit == "d") return std::chrono::hours(24 * value);
  throw kvrun::Error("--max-age " + text + ": expected a number with s, m, h or d");
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"kvrun: OCI containers in KVM microVMs (runc-compatible)", "kvrun"};
  app.set_version_flag("-v,--version",
                       std::string("kvrun version ") + KVRUN_VERSION + "\nspec: 1.0.2");
  app.require_subcommand(1);
  Parsed p;
  Globals& g = p.globals;
  app.add_option("--root", g.root, "state directory")->capture_default_str();
  app.add_option("--log", g.log, "log file (default: stderr)");
  app.add_option("--log-format", g.log_format, "text or json")
      ->check(CLI::IsMember({"text", "json"}));
  app.add_flag("--debug", g.debug, "log debug messages");
  app.add_option("--kernel", g.kernel, "guest kernel (default: $KVRUN_KERNEL, installed)");
  app.add_option("--initrd", g.initrd, "guest initramfs (default: $KVRUN_INITRD, installed)");
  app.add_option("--sandbox", g.sandbox, "vm (default, or $KVRUN_SANDBOX) or host");
  app.add_option("--rootfs-cache", g.cache_dir,
                 "rootfs image cache (default /var/cache/kvrun/rootfs)");
  app.add_option("--sandbox-log-max", g.sandbox_log_max_kib,
                 "KiB kept of each sandbox's log (vmm.log: the guest console); the older part "
                 "goes to vmm.log.1")
      ->check(CLI::Range(uint64_t{64}, uint64_t{1} << 30))
      ->capture_default_str();
  app.add_flag("--systemd-cgroup")->description("ignored: cgroups live inside the VM");
  app.add_option("--rootless", "ignored (runc compatibility)");
  app.add_option("--criu", "ignored (runc compatibility)");

  int status = 0;
  auto* create = app.add_subcommand("create", "create a container (not started)");
  add_create_flags(create, p);
  auto* run = app.add_subcommand("run", "create and start a container");
  add_create_flags(run, p);
  run->add_flag("-d,--detach", p.detach, "do not wait for the container");
  run->add_flag("--keep", p.keep, "keep the container's state after it exits");
  auto* start = app.add_subcommand("start", "start a created container");
  start->add_option("id", p.id)->required();
  auto* state = app.add_subcommand("state", "print the container's state (runtime-spec JSON)");
  state->add_option("id", p.id)->required();
  auto* kill =
      app.add_subcommand("kill", "send a signal to the container's init (--all: every process)");
  kill->add_flag("-a,--all", p.all, "signal every process of the container");
  kill->add_option("id", p.id)->required();
  kill->add_option("signal", p.signal, "name or number (default SIGTERM)");
  auto* del = app.add_subcommand("delete", "delete a container");
  del->add_flag("-f,--force", p.force, "kill it first if it still runs");
  del->add_option("id", p.id)->required();
  auto* exec = app.add_subcommand("exec", "run a process in a running container");
  exec->add_option("-p,--process", p.exec.process_file, "OCI process JSON file");
  exec->add_flag("-d,--detach", p.exec.detach, "do not wait for the process");
  exec->add_option("--pid-file", p.exec.pid_file, "file to write the exec monitor's PID to");
  exec->add_flag("-t,--tty", p.exec.tty, "allocate a terminal");
  exec->add_option("--console-socket", p.exec.console_socket, "unix socket for the pty");
  exec->add_option("--cwd", p.exec.cwd, "working directory");
  exec->add_option("-e,--env", p.exec.env, "extra environment variable (repeatable)");
  exec->add_option("-u,--user", p.exec.user, "uid[:gid]");
  exec->add_option("--exec-id", p.exec.exec_id,
                   "the agent's id for the process (default: a new one), for signals to it");
  exec->add_flag("--no-new-privs")->description("ignored (the container's setting applies)");
  exec->add_option("--process-label,--apparmor,-c,--cap", "ignored (runc compatibility)");
  exec->add_option("id", p.exec.id)->required();
  exec->add_option("command", p.exec.args, "command and arguments");
  exec->positionals_at_end();
  auto* ps = app.add_subcommand("ps", "list the container's processes (guest PIDs)");
  ps->add_option("-f,--format", p.format)->check(CLI::IsMember({"table", "json"}));
  ps->add_option("id", p.id)->required();
  auto* pause = app.add_subcommand("pause", "freeze the container");
  pause->add_option("id", p.id)->required();
  auto* resume = app.add_subcommand("resume", "thaw the container");
  resume->add_option("id", p.id)->required();
  auto* update = app.add_subcommand(
      "update", "change the container's cgroup limits in its sandbox (not the VM's size)");
  update->add_option("-r,--resources", p.resources_file,
                     "linux.resources JSON file, or - for stdin");
  update->add_option("id", p.id)->required();
  auto* list = app.add_subcommand("list", "list containers");
  list->add_option("-f,--format", p.format)->check(CLI::IsMember({"table", "json"}));
  list->add_flag("-q,--quiet", p.quiet, "ids only");
  auto* gc = app.add_subcommand("gc", "remove unused rootfs images from the cache");
  gc->add_option("--max-age", p.gc_max_age, "remove images unused this long (default 168h)");
  gc->add_flag("--all", p.gc_all, "remove every cached image");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }

  try {
    setup_logging(g.log, g.log_format, g.debug);
    if (create->parsed()) {
      create_container(g, p.create);
    } else if (run->parsed()) {
      status = run_container(g, p.create, p.detach, p.keep);
    } else if (start->parsed()) {
      start_container(g, p.id);
    } else if (state->parsed()) {
      print_state(g, p.id, std::cout);
    } else if (kill->parsed()) {
      kill_container(g, p.id, p.signal, p.all);
    } else if (del->parsed()) {
      delete_container(g, p.id, p.force);
    } else if (exec->parsed()) {
      status = exec_in_container(g, p.exec);
    } else if (ps->parsed()) {
      print_ps(g, p.id, p.format, std::cout);
    } else if (pause->parsed() || resume->parsed()) {
      pause_container(g, p.id, pause->parsed());
    } else if (update->parsed()) {
      update_container(g, p.id, p.resources_file);
    } else if (list->parsed()) {
      print_list(g, p.format, p.quiet, std::cout);
    } else if (gc->parsed()) {
      kvrun::rootfs::ImageCache cache(g.rootfs_cache());
      std::size_t removed = p.gc_all ? cache.clear() : cache.collect(parse_age(p.gc_max_age), {});
      std::cout << "removed " << removed << " image(s)\n";
    }
  } catch (const std::exception& e) {
    // The failure's code: CodedErrors (the agent's AgentErrors among them) carry one, anything
    // else is internal.
    ErrorCode code = kvrun::code_of(e);
    log_failure(e.what(), code);
    // With a log file the error still reaches the caller's stderr, which is where podman and
    // containerd take the reason from when the log has none.
    if (!g.log.empty()) std::fprintf(stderr, "kvrun: %s\n", e.what());
    return exit_status_for(code, exec->parsed());
  }
  std::fflush(nullptr);
  return status;
}
