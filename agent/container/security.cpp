#include "agent/container/security.h"

#include <fcntl.h>
#include <grp.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "agent/container/capabilities.h"
#include "agent/container/process_attributes.h"
#include "common/error.h"
#include "common/unique_fd.h"

namespace kvrun::agent {
namespace {

void set_oom_score_adj(int value) {
  // Without a proc mount in the spec, /proc is the image's: O_NONBLOCK so a FIFO there fails
  // (ENXIO) instead of blocking the start the agent waits for.
  UniqueFd fd(::open("/proc/self/oom_score_adj", O_WRONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) throw_errno("open /proc/self/oom_score_adj");
  std::string text = std::to_string(value);
  if (::write(fd.get(), text.data(), text.size()) < 0) throw_errno("write oom_score_adj " + text);
}

void switch_user(const spec::UserSpec& user) {
  if (::setgroups(user.additional_gids.size(), user.additional_gids.data()) != 0) {
    throw_errno("setgroups");
  }
  if (::setresgid(user.gid, user.gid, user.gid) != 0) {
    throw_errno("setgid " + std::to_string(user.gid));
  }
  if (::setresuid(user.uid, user.uid, user.uid) != 0) {
    throw_errno("setuid " + std::to_string(user.uid));
  }
  if (user.umask) ::umask(static_cast<mode_t>(*user.umask));
}

}  // namespace

void apply_rlimits(const std::vector<spec::RlimitSpec>& rlimits) {
  for (const auto& limit : rlimits) {
    rlimit value{limit.soft, limit.hard};
    if (::setrlimit(limit.resource, &value) != 0) {
      throw_errno("setrlimit " + limit.name + " " + std::to_string(limit.soft) + "/" +
                  std::to_string(limit.hard));
    }
  }
}

void enter_security_context(const spec::ProcessSpec& process, const SeccompFilter* filter) {
  apply_rlimits(process.rlimits);
  if (process.oom_score_adj) set_oom_score_adj(*process.oom_score_adj);
  // While privileged: a realtime policy or I/O class needs CAP_SYS_NICE or CAP_SYS_ADMIN.
  if (process.io_priority) apply_io_priority(*process.io_priority);
  if (process.scheduler) apply_scheduler(*process.scheduler);
  if (filter != nullptr && !process.no_new_privileges) filter->load();

  drop_bounding_set(process.capabilities);
  // Without KEEPCAPS, setuid to a non-zero uid would clear the permitted set before we can
  // set it to what the spec asks for.
  if (::prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) throw_errno("prctl PR_SET_KEEPCAPS");
  switch_user(process.user);
  if (::prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) != 0) throw_errno("prctl PR_SET_KEEPCAPS");
  apply_capabilities(process.capabilities);

  if (process.no_new_privileges) {
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) throw_errno("prctl PR_SET_NO_NEW_PRIVS");
    if (filter != nullptr) filter->load();
  }
}

}  // namespace kvrun::agent
