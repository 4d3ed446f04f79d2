#include "vmm/jail/seccomp_filters.h"

#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/if_tun.h>
#include <linux/kvm.h>
#include <seccomp.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include <csignal>
#include <memory>
#include <string>
#include <vector>

#include "common/error.h"

namespace kvrun::vmm::jail {
namespace {

// The signal that kicks a vCPU thread out of KVM_RUN (vmm.cpp).
constexpr int kKickSignal = SIGUSR1;

struct CtxDeleter {
  void operator()(void* ctx) const { seccomp_release(ctx); }
};
using Ctx = std::unique_ptr<void, CtxDeleter>;

// Collects rules and reports the first failure with the syscall's name.
class Rules {
 public:
  Rules(void* ctx, ThreadKind kind) : ctx_(ctx), kind_(kind) {}

  void allow(int nr) { add(nr, {}); }
  void allow(int nr, std::vector<scmp_arg_cmp> args) { add(nr, std::move(args)); }
  // ioctl(fd, request, ...) for exactly these requests. The kernel takes the request as an
  // unsigned int: only the low 32 bits are compared.
  void allow_ioctls(std::initializer_list<unsigned long> requests) {
    for (unsigned long request : requests)
      add(SCMP_SYS(ioctl), {SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, request & 0xffffffffu)});
  }

 private:
  void add(int nr, std::vector<scmp_arg_cmp> args) {
    int rc = seccomp_rule_add_array(ctx_, SCMP_ACT_ALLOW, nr, static_cast<unsigned>(args.size()),
                                    args.empty() ? nullptr : args.data());
    if (rc != 0) {
      char* name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
      std::string what = std::string("seccomp (") + std::string(to_string(kind_)) +
                         " thread): rule for " + (name ? name : std::to_string(nr));
      std::free(name);
      throw_errno(what, -rc);
    }
  }

  void* ctx_;
  ThreadKind kind_;
};

// What every thread does whatever its job: memory (glibc's allocator; never executable
// memory), locks and sleeps, time for log lines, signal returns, reading and writing the
// descriptors it was handed (logs on stderr), closing them, and ending. abort() (std::terminate)
// raises SIGABRT at itself.
void add_common(Rules& r, const FilterOptions& options) {
  const scmp_arg_cmp no_exec = SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0);
  r.allow(SCMP_SYS(mmap), {no_exec});
  r.allow(SCMP_SYS(mprotect), {no_exec});
  r.allow(SCMP_SYS(munmap));
  r.allow(SCMP_SYS(mremap));
  r.allow(SCMP_SYS(brk));
  r.allow(SCMP_SYS(madvise));
  r.allow(SCMP_SYS(futex));
  r.allow(SCMP_SYS(sched_yield));
  r.allow(SCMP_SYS(nanosleep));
  r.allow(SCMP_SYS(clock_nanosleep));
  r.allow(SCMP_SYS(clock_gettime));
  r.allow(SCMP_SYS(clock_getres));
  r.allow(SCMP_SYS(gettimeofday));
  r.allow(SCMP_SYS(rt_sigreturn));
  r.allow(SCMP_SYS(restart_syscall));
  r.allow(SCMP_SYS(rt_sigprocmask));
  r.allow(SCMP_SYS(sigaltstack));
  r.allow(SCMP_SYS(getpid));
  r.allow(SCMP_SYS(gettid));
  r.allow(SCMP_SYS(read));
  r.allow(SCMP_SYS(write));
  r.allow(SCMP_SYS(readv));
  r.allow(SCMP_SYS(writev));
  r.allow(SCMP_SYS(epoll_ctl));  // devices (un)register with the event loop from any thread
  if (options.protected_fd >= 0) {
    r.allow(SCMP_SYS(close),
            {SCMP_A0(SCMP_CMP_NE, static_cast<scmp_datum_t>(options.protected_fd))});
  } else {
    r.allow(SCMP_SYS(close));
  }
  r.allow(SCMP_SYS(exit));
  r.allow(SCMP_SYS(exit_group));
  r.allow(SCMP_SYS(tgkill), {SCMP_A0(SCMP_CMP_EQ, static_cast<scmp_datum_t>(options.pid)),
                             SCMP_A2(SCMP_CMP_EQ, SIGABRT)});
  r.allow(SCMP_SYS(rt_sigaction), {SCMP_A0(SCMP_CMP_EQ, SIGABRT)});
}

// KVM_RUN and what the exits it returns lead to: the serial port's IRQ line, the console
// write (which waits with poll on a full non-blocking stdout), a tap's offloads when the guest's
// net driver starts, and the registers for an error message.
void add_vcpu(Rules& r) {
  r.allow_ioctls({KVM_RUN, KVM_GET_REGS, KVM_IRQ_LINE, TUNSETOFFLOAD});
  r.allow(SCMP_SYS(poll));
  r.allow(SCMP_SYS(ppoll));
}

// The event loop: queue notifications and interrupts (eventfds), disks (positioned I/O,
// flushes, holes punched for discards), taps, vsock's Unix sockets (the guest connects to
// <uds>_<port>: socket + connect, AF_UNIX only), its timer, and entropy for virtio-rng.
void add_device(Rules& r) {
  r.allow(SCMP_SYS(epoll_wait));
  r.allow(SCMP_SYS(epoll_pwait));
  r.allow(SCMP_SYS(pread64));
  r.allow(SCMP_SYS(pwrite64));
  r.allow(SCMP_SYS(preadv));
  r.allow(SCMP_SYS(pwritev));
  r.allow(SCMP_SYS(fsync));
  r.allow(SCMP_SYS(fdatasync));
  // Discard and write-zeroes on a writable disk punch holes, never grow the file.
  r.allow(SCMP_SYS(fallocate), {SCMP_A1(SCMP_CMP_EQ, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE)});
  r.allow(SCMP_SYS(lseek));
  r.allow(SCMP_SYS(recvfrom));
  r.allow(SCMP_SYS(recvmsg));
  r.allow(SCMP_SYS(sendto));
  r.allow(SCMP_SYS(sendmsg));
  r.allow(SCMP_SYS(shutdown));
  r.allow(SCMP_SYS(accept4));
  r.allow(SCMP_SYS(connect));
  r.allow(SCMP_SYS(socket), {SCMP_A0(SCMP_CMP_EQ, AF_UNIX)});
  r.allow(SCMP_SYS(timerfd_settime));
  r.allow(SCMP_SYS(timerfd_gettime));
  r.allow(SCMP_SYS(getrandom));
  r.allow_ioctls({KVM_IRQ_LINE, TUNSETOFFLOAD});
}

// The main thread: its epoll over signals, the timeout and console input (terminal queries
// and the mode restored at exit), the serial IRQ for that input, kicking vCPU threads, and
// teardown (the kick handler put back, sockets unlinked where the jail lets it, which it does
// not: the calls fail harmlessly). The control socket's thread: accept, a request with
// descriptors, the media's size, the reply.
void add_control(Rules& r, const FilterOptions& options) {
  r.allow(SCMP_SYS(epoll_create1));
  r.allow(SCMP_SYS(epoll_wait));
  r.allow(SCMP_SYS(epoll_pwait));
  r.allow(SCMP_SYS(poll));
  r.allow(SCMP_SYS(ppoll));
  r.allow(SCMP_SYS(fcntl), {SCMP_A1(SCMP_CMP_EQ, F_GETFD)});
  r.allow(SCMP_SYS(fcntl), {SCMP_A1(SCMP_CMP_EQ, F_GETFL)});
  r.allow(SCMP_SYS(getpgrp));
  // TUNSETOFFLOAD: at teardown the transports stop their devices on this thread, and
  // virtio-net's reset clears the tap's offloads (seen as SIGSYS at the end of every net VM).
  r.allow_ioctls({KVM_IRQ_LINE, TCGETS, TCSETS, TIOCGPGRP, TUNSETOFFLOAD});
  r.allow(SCMP_SYS(tgkill), {SCMP_A0(SCMP_CMP_EQ, static_cast<scmp_datum_t>(options.pid)),
                             SCMP_A2(SCMP_CMP_EQ, kKickSignal)});
  r.allow(SCMP_SYS(rt_sigaction), {SCMP_A0(SCMP_CMP_EQ, kKickSignal)});
  r.allow(SCMP_SYS(unlink));
  r.allow(SCMP_SYS(accept4));
  r.allow(SCMP_SYS(recvmsg));
  r.allow(SCMP_SYS(sendmsg));
  r.allow(SCMP_SYS(sendto));
  r.allow(SCMP_SYS(fstat));
  r.allow(SCMP_SYS(newfstatat), {SCMP_A3(SCMP_CMP_EQ, AT_EMPTY_PATH)});  // glibc's fstat()
  r.allow(SCMP_SYS(lseek));
}

}  // namespace

std::string_view to_string(ThreadKind kind) {
  switch (kind) {
    case ThreadKind::kVcpu:
      return "vCPU";
    case ThreadKind::kDevice:
      return "device";
    case ThreadKind::kControl:
      return "control";
  }
  return "?";
}

void install_thread_filter(ThreadKind kind, const FilterOptions& options) {
  const std::string context = "seccomp (" + std::string(to_string(kind)) + " thread)";
  Ctx ctx(seccomp_init(SCMP_ACT_KILL_PROCESS));
  if (!ctx) throw Error(context + ": seccomp_init failed");
  Rules rules(ctx.get(), kind);
  add_common(rules, options);
  switch (kind) {
    case ThreadKind::kVcpu:
      add_vcpu(rules);
      break;
    case ThreadKind::kDevice:
      add_device(rules);
      break;
    case ThreadKind::kControl:
      add_control(rules, options);
      break;
  }
  if (int rc = seccomp_load(ctx.get()); rc != 0) throw_errno(context + ": load", -rc);
}

}  // namespace kvrun::vmm::jail
