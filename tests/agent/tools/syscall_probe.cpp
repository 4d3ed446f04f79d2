// Test tool copied into container rootfses: makes one raw system call and prints its outcome,
// so tests can observe a seccomp filter's answer to exact arguments.
//   syscall_probe <nr> [arg0 ... arg5]   (numbers in C notation: 135, 0x20008)
// Prints "ret=<value>" or "errno=<n>", exits 0; a filter that kills shows as death by SIGSYS.
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>

int main(int argc, char** argv) {
  if (argc < 2 || argc > 8) {
    std::fprintf(stderr, "usage: %s <nr> [arg0 ... arg5]\n", argv[0]);
    return 2;
  }
  long values[7] = {};
  for (int i = 1; i < argc; ++i) {
    char* end = nullptr;
    errno = 0;
    values[i - 1] = static_cast<long>(std::strtoull(argv[i], &end, 0));
    if (errno != 0 || end == argv[i] || *end != '\0') {
      std::fprintf(stderr, "%s: not a number\n", argv[i]);
      return 2;
    }
  }
  long ret = syscall(values[0], values[1], values[2], values[3], values[4], values[5], values[6]);
  if (ret == -1) {
    std::printf("errno=%d\n", errno);
  } else {
    std::printf("ret=%ld\n", ret);
  }
  return 0;
}
