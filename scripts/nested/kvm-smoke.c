// kvm-smoke: minimal /dev/kvm self-test used to prove that KVM works inside
// the nested (TCG + emulated SVM) L1 VM of scripts/with-nested-kvm.sh.
//
//  1. real mode:  mov $0x3f8,%dx; mov $'A',%al; out %al,(%dx); hlt
//  2. long mode:  identity-mapped 2 MiB page, 64-bit code segment, entered
//                 directly (CR0.PG|PE, CR4.PAE, EFER.LME|LMA) like kvrun-vmm;
//                 writes 'L' to 0x3f8, then a 64-bit-computed dword to 0x3fa
//  3. exit loop:  N x `out` in long mode to measure the cost of one exit
//  4. kick:       the guest spins with interrupts off (`pause; jmp`, then
//                 `jmp .`); another thread signals the vCPU thread, and
//                 KVM_RUN must return EINTR (how kvrun-vmm stops a running VM)
//
// Build: cc -O2 -Wall -pthread -o kvm-smoke kvm-smoke.c
// Run:   ./kvm-smoke [N-exits [kick]]   (kick test only when asked: "kick")
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define MEM_SIZE (2u << 20)
#define CODE_ADDR 0x1000u
#define GDT_ADDR 0x500u
#define PML4_ADDR 0x2000u
#define PDPT_ADDR 0x3000u
#define PD_ADDR 0x4000u

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void fail(const char *what) {
  fprintf(stderr, "kvm-smoke: FAIL: %s: %s\n", what, strerror(errno));
  exit(1);
}

__attribute__((format(printf, 1, 2))) static void failx(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "kvm-smoke: FAIL: ");
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\n");
  va_end(ap);
  exit(1);
}

struct vm {
  int vm, vcpu;
  uint8_t *mem;
  struct kvm_run *run;
};

static struct vm make_vm(int kvm) {
  struct vm v;
  v.vm = ioctl(kvm, KVM_CREATE_VM, 0);
  if (v.vm < 0) fail("KVM_CREATE_VM");
  v.mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (v.mem == MAP_FAILED) fail("mmap guest memory");
  struct kvm_userspace_memory_region region = {
      .slot = 0, .guest_phys_addr = 0, .memory_size = MEM_SIZE, .userspace_addr = (uintptr_t)v.mem};
  if (ioctl(v.vm, KVM_SET_USER_MEMORY_REGION, &region) < 0) fail("KVM_SET_USER_MEMORY_REGION");
  v.vcpu = ioctl(v.vm, KVM_CREATE_VCPU, 0);
  if (v.vcpu < 0) fail("KVM_CREATE_VCPU");
  int run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
  if (run_size < 0) fail("KVM_GET_VCPU_MMAP_SIZE");
  v.run = mmap(NULL, run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v.vcpu, 0);
  if (v.run == MAP_FAILED) fail("mmap kvm_run");
  return v;
}

static void free_vm(struct vm *v) {
  close(v->vcpu);
  close(v->vm);
  munmap(v->mem, MEM_SIZE);
}

static void run_once(struct vm *v) {
  if (ioctl(v->vcpu, KVM_RUN, 0) < 0) fail("KVM_RUN");
}

static void expect_io(struct vm *v, unsigned port, unsigned size, uint32_t value) {
  run_once(v);
  struct kvm_run *r = v->run;
  if (r->exit_reason != KVM_EXIT_IO)
    failx("expected KVM_EXIT_IO, got exit_reason %u (hw reason 0x%llx)", r->exit_reason,
          (unsigned long long)r->hw.hardware_exit_reason);
  if (r->io.direction != KVM_EXIT_IO_OUT || r->io.port != port || r->io.size != size)
    failx("unexpected io: port 0x%x size %u", r->io.port, r->io.size);
  uint32_t got = 0;
  memcpy(&got, (uint8_t *)r + r->io.data_offset, size);
  if (got != value) failx("io value 0x%x, expected 0x%x", got, value);
}

static void expect_hlt(struct vm *v) {
  run_once(v);
  if (v->run->exit_reason != KVM_EXIT_HLT)
    failx("expected KVM_EXIT_HLT, got exit_reason %u", v->run->exit_reason);
}

static void test_real_mode(int kvm) {
  double t0 = now();
  struct vm v = make_vm(kvm);
  static const uint8_t code[] = {
      0xba, 0xf8, 0x03, // mov $0x3f8,%dx
      0xb0, 'A',        // mov $'A',%al
      0xee,             // out %al,(%dx)
      0xf4,             // hlt
  };
  memcpy(v.mem + CODE_ADDR, code, sizeof code);
  struct kvm_sregs sregs;
  if (ioctl(v.vcpu, KVM_GET_SREGS, &sregs) < 0) fail("KVM_GET_SREGS");
  sregs.cs.base = 0;
  sregs.cs.selector = 0;
  if (ioctl(v.vcpu, KVM_SET_SREGS, &sregs) < 0) fail("KVM_SET_SREGS");
  struct kvm_regs regs = {.rip = CODE_ADDR, .rflags = 0x2};
  if (ioctl(v.vcpu, KVM_SET_REGS, &regs) < 0) fail("KVM_SET_REGS");
  expect_io(&v, 0x3f8, 1, 'A');
  expect_hlt(&v);
  free_vm(&v);
  printf("kvm-smoke: real mode OK: out 'A' to 0x3f8, then hlt (%.1f ms incl. VM setup)\n",
         (now() - t0) * 1e3);
}

static void setup_long_mode(struct vm *v) {
  uint64_t *gdt = (uint64_t *)(v->mem + GDT_ADDR);
  gdt[0] = 0;
  gdt[1] = 0x00af9a000000ffffull; // 0x08: 64-bit code, DPL0
  gdt[2] = 0x00cf92000000ffffull; // 0x10: data
  uint64_t *pml4 = (uint64_t *)(v->mem + PML4_ADDR);
  uint64_t *pdpt = (uint64_t *)(v->mem + PDPT_ADDR);
  uint64_t *pd = (uint64_t *)(v->mem + PD_ADDR);
  pml4[0] = PDPT_ADDR | 0x3;   // present | writable
  pdpt[0] = PD_ADDR | 0x3;
  pd[0] = 0x0 | 0x83;          // 2 MiB page at 0, present | writable | PS

  struct kvm_sregs s;
  if (ioctl(v->vcpu, KVM_GET_SREGS, &s) < 0) fail("KVM_GET_SREGS");
  struct kvm_segment code = {.base = 0, .limit = 0xffffffff, .selector = 0x08, .type = 11,
                             .present = 1, .dpl = 0, .db = 0, .s = 1, .l = 1, .g = 1};
  struct kvm_segment data = {.base = 0, .limit = 0xffffffff, .selector = 0x10, .type = 3,
                             .present = 1, .dpl = 0, .db = 1, .s = 1, .l = 0, .g = 1};
  s.cs = code;
  s.ds = s.es = s.fs = s.gs = s.ss = data;
  s.gdt.base = GDT_ADDR;
  s.gdt.limit = 3 * 8 - 1;
  s.cr3 = PML4_ADDR;
  s.cr4 = 1u << 5;                          // PAE
  s.cr0 = (1u << 0) | (1u << 4) | (1u << 31); // PE | ET | PG
  s.efer = (1u << 8) | (1u << 10);          // LME | LMA
  if (ioctl(v->vcpu, KVM_SET_SREGS, &s) < 0) fail("KVM_SET_SREGS (long mode)");
}

static void test_long_mode(int kvm) {
  double t0 = now();
  struct vm v = make_vm(kvm);
  setup_long_mode(&v);
  static const uint8_t code[] = {
      0x66, 0xba, 0xf8, 0x03,                               // mov $0x3f8,%dx
      0xb0, 'L',                                            // mov $'L',%al
      0xee,                                                 // out %al,(%dx)
      0x48, 0xb8, 0xef, 0xbe, 0xad, 0xde, 0x78, 0x56, 0x34, 0x12, // movabs $0x12345678deadbeef,%rax
      0x48, 0xc1, 0xe8, 0x20,                               // shr $32,%rax
      0x66, 0xba, 0xfa, 0x03,                               // mov $0x3fa,%dx
      0xef,                                                 // out %eax,(%dx)
      0xf4,                                                 // hlt
  };
  memcpy(v.mem + CODE_ADDR, code, sizeof code);
  struct kvm_regs regs = {.rip = CODE_ADDR, .rflags = 0x2, .rsp = 0x1ff000};
  if (ioctl(v.vcpu, KVM_SET_REGS, &regs) < 0) fail("KVM_SET_REGS");
  expect_io(&v, 0x3f8, 1, 'L');
  expect_io(&v, 0x3fa, 4, 0x12345678);
  expect_hlt(&v);
  free_vm(&v);
  printf("kvm-smoke: long mode OK: 64-bit code ran (out 'L', out 0x12345678 from a 64-bit shift), "
         "then hlt (%.1f ms incl. VM setup)\n",
         (now() - t0) * 1e3);
}

static void test_exit_loop(int kvm, unsigned n) {
  struct vm v = make_vm(kvm);
  setup_long_mode(&v);
  const uint8_t code[] = {
      0xb9, (uint8_t)n, (uint8_t)(n >> 8), (uint8_t)(n >> 16), (uint8_t)(n >> 24), // mov $n,%ecx
      0x66, 0xba, 0xf8, 0x03,                                                   // mov $0x3f8,%dx
      0xee,                                                                     // 1: out %al,(%dx)
      0xff, 0xc9,                                                               // dec %ecx
      0x75, 0xfb,                                                               // jnz 1b
      0xf4,                                                                     // hlt
  };
  memcpy(v.mem + CODE_ADDR, code, sizeof code);
  struct kvm_regs regs = {.rip = CODE_ADDR, .rflags = 0x2};
  if (ioctl(v.vcpu, KVM_SET_REGS, &regs) < 0) fail("KVM_SET_REGS");
  double t0 = now();
  unsigned exits = 0;
  for (;;) {
    run_once(&v);
    if (v.run->exit_reason == KVM_EXIT_HLT) break;
    if (v.run->exit_reason != KVM_EXIT_IO) failx("exit loop: exit_reason %u", v.run->exit_reason);
    exits++;
  }
  double dt = now() - t0;
  if (exits != n) failx("exit loop: %u exits, expected %u", exits, n);
  free_vm(&v);
  printf("kvm-smoke: exit loop OK: %u I/O exits in %.1f ms = %.1f us per exit\n", n, dt * 1e3,
         dt * 1e6 / n);
}

struct kicker {
  pthread_t target;
  volatile int done;
};

static void *kick_thread(void *arg) {
  struct kicker *k = arg;
  for (int i = 0; i < 100 && !k->done; i++) { // 100 x 100 ms
    usleep(100 * 1000);
    if (!k->done) pthread_kill(k->target, SIGUSR1);
  }
  if (!k->done) {
    fprintf(stderr, "kvm-smoke: FAIL: kick: KVM_RUN not interrupted after 10 s of kicks\n");
    _exit(1);
  }
  return NULL;
}

static void on_kick(int sig) { (void)sig; }

static void test_kick(int kvm, const char *name, const uint8_t *code, size_t len) {
  struct vm v = make_vm(kvm);
  setup_long_mode(&v);
  memcpy(v.mem + CODE_ADDR, code, len);
  struct kvm_regs regs = {.rip = CODE_ADDR, .rflags = 0x2};
  if (ioctl(v.vcpu, KVM_SET_REGS, &regs) < 0) fail("KVM_SET_REGS");
  struct kicker k = {.target = pthread_self(), .done = 0};
  pthread_t t;
  double t0 = now();
  if (pthread_create(&t, NULL, kick_thread, &k) != 0) fail("pthread_create");
  int r = ioctl(v.vcpu, KVM_RUN, 0);
  int err = errno;
  k.done = 1;
  pthread_join(t, NULL);
  if (r >= 0) failx("kick (%s): KVM_RUN returned exit_reason %u, expected EINTR", name, v.run->exit_reason);
  if (err != EINTR) { errno = err; fail("kick: KVM_RUN"); }
  free_vm(&v);
  printf("kvm-smoke: kick OK (%s): KVM_RUN returned EINTR after %.0f ms\n", name, (now() - t0) * 1e3);
}

int main(int argc, char **argv) {
  unsigned n = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 0) : 1000;
  double t0 = now();
  int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
  if (kvm < 0) fail("open /dev/kvm");
  int api = ioctl(kvm, KVM_GET_API_VERSION, 0);
  if (api != KVM_API_VERSION) failx("KVM_GET_API_VERSION = %d, expected %d", api, KVM_API_VERSION);
  printf("kvm-smoke: KVM_GET_API_VERSION = %d\n", api);
  test_real_mode(kvm);
  test_long_mode(kvm);
  if (n) test_exit_loop(kvm, n);
  if (argc > 2 && strcmp(argv[2], "kick") == 0) {
    struct sigaction sa = {.sa_handler = on_kick}; // no SA_RESTART
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGUSR1, &sa, NULL) < 0) fail("sigaction");
    static const uint8_t pause_loop[] = {0xf3, 0x90, 0xeb, 0xfc}; // 1: pause; jmp 1b
    static const uint8_t jmp_self[] = {0xeb, 0xfe};                // 1: jmp 1b
    test_kick(kvm, "pause loop, IF=0", pause_loop, sizeof pause_loop);
    test_kick(kvm, "jmp ., IF=0", jmp_self, sizeof jmp_self);
  }
  printf("kvm-smoke: PASS (%.1f ms total)\n", (now() - t0) * 1e3);
  return 0;
}
