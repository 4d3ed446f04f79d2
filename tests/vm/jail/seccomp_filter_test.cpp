// kvrun-vmm's per-thread seccomp filters (vmm/jail/seccomp_filters.h), label unit;hostile: a
// child process installs the very filter a VMM thread of that kind runs under and then makes
// one system call. What a compromised VMM would reach for first (exec, opening files, network
// sockets, ptrace, executable memory, another thread kind's ioctls, the id lock) must kill it
// with SIGSYS; what the thread needs must go through.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/kvm.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <functional>
#include <string>

#include "vmm/jail/seccomp_filters.h"

namespace kvrun::vmm::jail {
namespace {

constexpr int kProtectedFd = 9;

struct Outcome {
  bool killed_by_sigsys = false;
  int exit_code = -1;
};

// Forks; the child installs `kind`'s filter and makes `call` (whose result it ignores).
Outcome run_under_filter(ThreadKind kind, const std::function<void()>& call) {
  const pid_t child = ::fork();
  if (child == 0) {
    // The protected descriptor must exist for close() to mean anything.
    ::dup2(STDERR_FILENO, kProtectedFd);
    try {
      install_thread_filter(kind, FilterOptions{::getpid(), kProtectedFd});
    } catch (...) {
      ::_exit(3);
    }
    call();
    ::_exit(0);
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  Outcome outcome;
  outcome.killed_by_sigsys = WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS;
  if (WIFEXITED(status)) outcome.exit_code = WEXITSTATUS(status);
  return outcome;
}

const ThreadKind kAllKinds[] = {ThreadKind::kVcpu, ThreadKind::kDevice, ThreadKind::kControl};

void expect_killed(const char* what, const std::function<void()>& call) {
  for (ThreadKind kind : kAllKinds) {
    Outcome outcome = run_under_filter(kind, call);
    EXPECT_TRUE(outcome.killed_by_sigsys)
        << what << " on a " << to_string(kind) << " thread was not killed by SIGSYS (exit "
        << outcome.exit_code << ")";
  }
}

TEST(HostileJailSeccomp, EveryThreadKindDiesOnExec) {
  expect_killed("execve", [] {
    char* const argv[] = {const_cast<char*>("/bin/true"), nullptr};
    ::execve("/bin/true", argv, nullptr);
  });
}

TEST(HostileJailSeccomp, EveryThreadKindDiesOnOpeningAFile) {
  expect_killed("openat", [] { ::syscall(SYS_openat, AT_FDCWD, "/etc/passwd", O_RDONLY); });
  expect_killed("open", [] { ::syscall(SYS_open, "/etc/passwd", O_RDONLY); });
}

TEST(HostileJailSeccomp, EveryThreadKindDiesOnANetworkSocket) {
  expect_killed("socket(AF_INET)", [] { ::socket(AF_INET, SOCK_STREAM, 0); });
  expect_killed("socket(AF_NETLINK)", [] { ::socket(AF_NETLINK, SOCK_RAW, 0); });
}

TEST(HostileJailSeccomp, EveryThreadKindDiesOnPtraceForkAndNamespaces) {
  expect_killed("ptrace", [] { ::ptrace(PTRACE_TRACEME, 0, nullptr, nullptr); });
  expect_killed("fork", [] { ::syscall(SYS_fork); });
  expect_killed("unshare", [] { ::unshare(CLONE_NEWUSER); });
  expect_killed("mount", [] { ::syscall(SYS_mount, "none", "/", "tmpfs", 0, nullptr); });
}

TEST(HostileJailSeccomp, EveryThreadKindDiesOnExecutableMemory) {
  expect_killed("mmap(PROT_EXEC)", [] {
    ::mmap(nullptr, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  });
  expect_killed("mprotect(PROT_EXEC)", [] {
    void* page = ::mmap(nullptr, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ::mprotect(page, 4096, PROT_READ | PROT_EXEC);
  });
}

TEST(HostileJailSeccomp, EveryThreadKindDiesOnClosingTheIdLock) {
  expect_killed("close(id lock)", [] { ::close(kProtectedFd); });
  expect_killed("dup2 onto the id lock", [] { ::dup2(STDERR_FILENO, kProtectedFd); });
}

TEST(HostileJailSeccomp, EveryThreadKindDiesOnSignallingAnotherProcess) {
  expect_killed("kill(1)", [] { ::kill(1, SIGTERM); });
  expect_killed("tgkill(other pid)", [] { ::syscall(SYS_tgkill, 1, 1, SIGUSR1); });
}

TEST(HostileJailSeccomp, OnlyTheirOwnIoctlsPass) {
  // Creating a VM or vCPU, or mapping memory into the guest, is setup: no thread does it later.
  expect_killed("KVM_CREATE_VM", [] { ::ioctl(-1, KVM_CREATE_VM, 0); });
  expect_killed("KVM_SET_USER_MEMORY_REGION", [] { ::ioctl(-1, KVM_SET_USER_MEMORY_REGION, 0); });
  // KVM_RUN is the vCPU thread's alone.
  EXPECT_EQ(run_under_filter(ThreadKind::kVcpu, [] { ::ioctl(-1, KVM_RUN, 0); }).exit_code, 0);
  EXPECT_TRUE(
      run_under_filter(ThreadKind::kDevice, [] { ::ioctl(-1, KVM_RUN, 0); }).killed_by_sigsys);
  EXPECT_TRUE(
      run_under_filter(ThreadKind::kControl, [] { ::ioctl(-1, KVM_RUN, 0); }).killed_by_sigsys);
  // The serial IRQ line goes up from every kind (guest output, console input, media change).
  for (ThreadKind kind : kAllKinds)
    EXPECT_EQ(run_under_filter(kind, [] { ::ioctl(-1, KVM_IRQ_LINE, 0); }).exit_code, 0)
        << to_string(kind);
}

TEST(HostileJailSeccomp, OnlyTheDeviceThreadOpensUnixSockets) {
  EXPECT_EQ(
      run_under_filter(ThreadKind::kDevice, [] { ::socket(AF_UNIX, SOCK_STREAM, 0); }).exit_code,
      0);
  EXPECT_TRUE(run_under_filter(ThreadKind::kVcpu, [] {
                ::socket(AF_UNIX, SOCK_STREAM, 0);
              }).killed_by_sigsys);
  EXPECT_TRUE(run_under_filter(ThreadKind::kControl, [] {
                ::socket(AF_UNIX, SOCK_STREAM, 0);
              }).killed_by_sigsys);
}

TEST(HostileJailSeccomp, WhatEveryThreadNeedsGoesThrough) {
  for (ThreadKind kind : kAllKinds) {
    Outcome outcome = run_under_filter(kind, [] {
      void* page =
          ::mmap(nullptr, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      ::munmap(page, 1 << 20);
      std::string grown(1 << 22, 'x');  // malloc: brk or mmap
      timespec now{};
      ::clock_gettime(CLOCK_MONOTONIC, &now);
      (void)!::write(STDERR_FILENO, "", 0);
      ::close(100);  // any descriptor but the id lock
    });
    EXPECT_EQ(outcome.exit_code, 0) << to_string(kind);
  }
}

TEST(HostileJailSeccomp, NoThreadMakesNewDescriptorsOfItsOwn) {
  // Pipes, eventfds, epolls and files are made during setup; a thread that makes one later is
  // not doing the VMM's work (the main thread's epoll is the one exception).
  expect_killed("pipe2", [] {
    int fds[2];
    ::pipe2(fds, O_CLOEXEC);
  });
  expect_killed("memfd_create", [] { ::syscall(SYS_memfd_create, "x", 0); });
}

}  // namespace
}  // namespace kvrun::vmm::jail
