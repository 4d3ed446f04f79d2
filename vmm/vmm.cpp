#include "vmm/vmm.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <exception>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "common/error.h"
#include "common/unique_fd.h"
#include "vmm/boot/boot_params.h"
#include "vmm/boot/kernel_loader.h"
#include "vmm/boot/layout.h"
#include "vmm/boot/long_mode.h"
#include "vmm/boot/mptable.h"
#include "vmm/console_input.h"
#include "vmm/console_output.h"
#include "vmm/control/server.h"
#include "vmm/devices/exit_port.h"
#include "vmm/devices/i8042.h"
#include "vmm/devices/io_bus.h"
#include "vmm/devices/pvpanic.h"
#include "vmm/devices/serial.h"
#include "vmm/devices/virtio/event_loop.h"
#include "vmm/jail/jail.h"
#include "vmm/kvm/cpuid.h"
#include "vmm/kvm/host_kind.h"
#include "vmm/kvm/kvm_system.h"
#include "vmm/kvm/msrs.h"
#include "vmm/kvm/vcpu.h"
#include "vmm/kvm/vcpu_setup.h"
#include "vmm/kvm/vm.h"
#include "vmm/memory/guest_memory.h"
#include "vmm/stop.h"
#include "vmm/vcpu_loop.h"
#include "vmm/virtio_devices.h"

namespace kvrun::vmm {

namespace {

constexpr uint64_t kMib = 1ull << 20;
// The signal that kicks a vCPU thread out of KVM_RUN (or a blocked console write).
constexpr int kKickSignal = SIGUSR1;
// How often the event loop looks at input it cannot wait for (a regular file, or a full
// receive queue), and how often a stuck vCPU thread is kicked again while stopping.
constexpr int kPollMs = 10;

void check_openable(const std::filesystem::path& path, const std::string& what) {
  const std::string context = what + " " + path.string();
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) throw_errno(context);
  struct stat st {};
  if (::fstat(fd.get(), &st) < 0) throw_errno(context);
  if (S_ISDIR(st.st_mode)) throw_errno(context, EISDIR);
}

void ignore_kick(int) {}

// Routes SIGINT/SIGTERM to a signalfd (blocked in this thread and every thread it creates)
// and installs the kick handler, without SA_RESTART so the kick interrupts KVM_RUN.
class SignalSetup {
 public:
  SignalSetup() {
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    if (int err = pthread_sigmask(SIG_BLOCK, &stop_signals, &saved_mask_); err != 0) {
      throw_errno("pthread_sigmask", err);
    }
    mask_saved_ = true;
    sigset_t kick;
    sigemptyset(&kick);
    sigaddset(&kick, kKickSignal);
    if (int err = pthread_sigmask(SIG_UNBLOCK, &kick, nullptr); err != 0) {
      throw_errno("pthread_sigmask", err);
    }
    fd_ = UniqueFd(::signalfd(-1, &stop_signals, SFD_CLOEXEC | SFD_NONBLOCK));
    if (!fd_) throw_errno("signalfd");

    struct sigaction action {};
    action.sa_handler = ignore_kick;
    sigemptyset(&action.sa_mask);
    action.sa_flags = 0;
    if (::sigaction(kKickSignal, &action, &saved_action_) < 0) throw_errno("sigaction");
    action_saved_ = true;
  }
  ~SignalSetup() {
    if (action_saved_) ::sigaction(kKickSignal, &saved_action_, nullptr);
    if (fd_) {
      // Swallow signals that arrived while stopping, so unblocking does not deliver them.
      signalfd_siginfo info;
      while (::read(fd_.get(), &info, sizeof(info)) == sizeof(info)) {
      }
    }
    if (mask_saved_) pthread_sigmask(SIG_SETMASK, &saved_mask_, nullptr);
  }
  SignalSetup(const SignalSetup&) = delete;
  SignalSetup& operator=(const SignalSetup&) = delete;

  int fd() const { return fd_.get(); }

 private:
  UniqueFd fd_;
  sigset_t saved_mask_{};
  struct sigaction saved_action_ {};
  bool mask_saved_ = false;
  bool action_saved_ = false;
};

// Runs a thread's start hook; a failure stops the VM with its message. False if it failed.
bool start_thread(const std::function<void()>& on_start, VmStop& stop) noexcept {
  if (!on_start) return true;
  try {
    on_start();
    return true;
  } catch (const std::exception& e) {
    stop.request(StopOutcome{StopCause::kError, 0, e.what()});
    return false;
  }
}

// One thread per vCPU. Stopping kicks each until it has left its loop, then joins it; the
// destructor does the same, so no path out of run_vm leaves a thread behind.
class VcpuThreads {
 public:
  // Each thread first runs `on_start` (its seccomp filter) and does not run its vCPU if that
  // throws.
  VcpuThreads(std::vector<Vcpu>& vcpus, Buses buses, VmStop& stop,
              const std::function<void()>& on_start)
      : vcpus_(vcpus), stop_(stop) {
    try {
      for (Vcpu& vcpu : vcpus) {
        auto worker = std::make_unique<Worker>();
        Worker* w = worker.get();
        workers_.push_back(std::move(worker));
        w->thread = std::thread([&vcpu, buses, &stop, w, on_start] {
          // Named from inside: naming another thread goes through /proc, not in the jail.
          const std::string name = "vcpu" + std::to_string(vcpu.id());
          pthread_setname_np(pthread_self(), name.c_str());
          if (start_thread(on_start, stop)) run_vcpu(vcpu, buses, stop);
          w->done.store(true);
        });
      }
    } catch (...) {
      stop_and_join();
      throw;
    }
  }
  ~VcpuThreads() { stop_and_join(); }
  VcpuThreads(const VcpuThreads&) = delete;
  VcpuThreads& operator=(const VcpuThreads&) = delete;

  void stop_and_join() {
    if (workers_.empty()) return;
    // Normally a stop was requested already and this does nothing.
    stop_.request(StopOutcome{StopCause::kError, 0, "the VMM stopped before the guest did"});
    for (size_t i = 0; i < workers_.size(); ++i) {
      Worker& w = *workers_[i];
      if (!w.thread.joinable()) continue;
      vcpus_[i].request_immediate_exit();
      // A kick can land just before a blocking call and be lost; immediate_exit covers
      // KVM_RUN, repetition covers a console write to a reader that is not reading.
      while (!w.done.load()) {
        pthread_kill(w.thread.native_handle(), kKickSignal);
        std::this_thread::sleep_for(std::chrono::milliseconds(kPollMs));
      }
      w.thread.join();
    }
    workers_.clear();
  }

 private:
  struct Worker {
    std::thread thread;
    std::atomic<bool> done{false};
  };
  std::vector<Vcpu>& vcpus_;
  VmStop& stop_;
  std::vector<std::unique_ptr<Worker>> workers_;
};

// Runs the device event loop for as long as it lives; stops and joins it on every way out.
class DeviceThread {
 public:
  DeviceThread(EventLoop& loop, std::function<void()> on_start) : loop_(loop) {
    loop_.start("devices", std::move(on_start));
  }
  ~DeviceThread() { loop_.stop(); }
  DeviceThread(const DeviceThread&) = delete;
  DeviceThread& operator=(const DeviceThread&) = delete;
  void stop() { loop_.stop(); }

 private:
  EventLoop& loop_;
};

std::vector<Vcpu> create_vcpus(const KvmSystem& kvm, const Vm& vm, const GuestMemory& memory,
                               GuestAddress entry, unsigned count, HostKind host) {
  const auto supported = kvm.supported_cpuid();
  const size_t mmap_size = kvm.vcpu_mmap_size();
  const bool tsc_deadline_timer = kvm.check_extension(KVM_CAP_TSC_DEADLINE_TIMER) > 0;
  const auto msrs = boot_msrs();
  const BootGdt gdt{memory.read_obj<uint64_t>(layout::kGdtAddr + layout::kCodeSelector),
                    memory.read_obj<uint64_t>(layout::kGdtAddr + layout::kDataSelector)};
  const kvm_segment code = segment_from_gdt_entry(gdt.code, layout::kCodeSelector);
  if (!code.present || !code.l || !code.s || (code.type & 0x8) == 0) {
    throw Error(fmt::format("GDT entry {:#x} at selector {:#x} is not a 64-bit code segment",
                            gdt.code, layout::kCodeSelector));
  }

  std::vector<Vcpu> vcpus;
  vcpus.reserve(count);
  for (uint32_t id = 0; id < count; ++id) {
    Vcpu vcpu = Vcpu::create(vm, id, mmap_size);
    // CPUID first: KVM checks later register values (CR4 bits, MSRs) against it.
    vcpu.set_cpuid(normalize_cpuid(supported, CpuidTarget{id, count, host, tsc_deadline_timer}));
    vcpu.set_msrs(msrs);
    kvm_lapic_state lapic = vcpu.lapic();
    set_lint_delivery_modes(lapic);
    vcpu.set_lapic(lapic);
    if (id == 0) {
      vcpu.set_sregs(long_mode_sregs(vcpu.sregs(), gdt));
      vcpu.set_regs(boot_regs(entry));
      vcpu.set_fpu(boot_fpu());
    } else {
      // Secondary vCPUs keep KVM's reset state: the in-kernel LAPIC holds them until the
      // guest's INIT/SIPI, and they start in real mode at the guest's trampoline.
      spdlog::debug("vCPU {}: mp_state {}", id, vcpu.mp_state().mp_state);
    }
    vcpus.push_back(std::move(vcpu));
  }
  return vcpus;
}

void epoll_add(int epoll_fd, int fd, uint32_t events) {
  epoll_event ev{};
  ev.events = events;
  ev.data.fd = fd;
  if (::epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0) throw_errno("epoll_ctl");
}

UniqueFd arm_timeout(std::chrono::seconds timeout) {
  UniqueFd fd(::timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK));
  if (!fd) throw_errno("timerfd_create");
  itimerspec spec{};
  spec.it_value.tv_sec = static_cast<time_t>(timeout.count());
  if (::timerfd_settime(fd.get(), 0, &spec, nullptr) < 0) throw_errno("timerfd_settime");
  return fd;
}

// The main thread's loop: host input to the UART, signals, the timeout, and the wake-up
// when anything else asked the VM to stop. Returns once a stop was requested.
void serve_until_stopped(VmStop& stop, int signal_fd, int timer_fd, int timeout_s,
                         Serial8250& serial) {
  UniqueFd epoll(::epoll_create1(EPOLL_CLOEXEC));
  if (!epoll) throw_errno("epoll_create1");
  epoll_add(epoll.get(), stop.fd(), EPOLLIN);
  epoll_add(epoll.get(), signal_fd, EPOLLIN);
  if (timer_fd >= 0) epoll_add(epoll.get(), timer_fd, EPOLLIN);

  ConsoleInput input(STDIN_FILENO, epoll.get(), serial);

  std::array<epoll_event, 8> events;
  while (!stop.requested()) {
    const int n = ::epoll_wait(epoll.get(), events.data(), static_cast<int>(events.size()),
                               input.wait_timeout_ms());
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_errno("epoll_wait");
    }
    bool input_ready = false;
    for (int i = 0; i < n; ++i) {
      const int fd = events[i].data.fd;
      if (fd == signal_fd) {
        signalfd_siginfo info{};
        if (::read(signal_fd, &info, sizeof(info)) == sizeof(info)) {
          spdlog::info("received signal {}, stopping the VM", info.ssi_signo);
          stop.request(StopOutcome{StopCause::kSignal, static_cast<int>(info.ssi_signo), {}});
        }
      } else if (fd == timer_fd) {
        stop.request(StopOutcome{StopCause::kTimeout, timeout_s, {}});
      } else if (fd == input.fd()) {
        input_ready = true;
      }
    }
    input.pump(input_ready);
  }
}

// What the jail must leave the VM: the vsock socket's directory (guest connections go to
// <uds>_<port>), a limit for each thread it starts, writes up to the end of its largest
// writable disk.
jail::JailNeeds jail_needs(const VmConfig& config) {
  jail::JailNeeds needs;
  if (config.virtio.vsock) {
    needs.dirs.push_back(
        std::filesystem::absolute(config.virtio.vsock->uds_path).lexically_normal().parent_path());
  }
  // Main, devices, control, the vCPUs, and KVM's own worker (NX huge page recovery), which
  // kernels from 6.13 start in our thread group, counted against our uid, at the first KVM_RUN.
  needs.threads = 3 + config.vcpus + (config.virtio.control_socket ? 1 : 0);
  for (const DiskConfig& disk : config.virtio.disks) {
    struct stat st {};
    if (!disk.read_only && ::stat(disk.path.c_str(), &st) == 0)
      needs.largest_write = std::max(needs.largest_write, static_cast<uint64_t>(st.st_size));
  }
  return needs;
}

}  // namespace

void validate_config(const VmConfig& config) {
  if (config.memory_mib > kMaxMemoryMib) {
    throw Error("guest memory " + std::to_string(config.memory_mib) + " MiB is above the " +
                std::to_string(kMaxMemoryMib) + " MiB maximum");
  }
  if (config.memory_mib * kMib < layout::kMinMemoryBytes) {
    throw Error("guest memory " + std::to_string(config.memory_mib) + " MiB is below the " +
                std::to_string(layout::kMinMemoryBytes / kMib) + " MiB minimum");
  }
  if (config.vcpus < 1 || config.vcpus > kMaxVcpus) {
    throw Error("vCPU count " + std::to_string(config.vcpus) + " is not between 1 and " +
                std::to_string(kMaxVcpus));
  }
  if (config.timeout && config.timeout->count() < 1) {
    throw Error("timeout " + std::to_string(config.timeout->count()) +
                " s is not a positive number of seconds");
  }
  check_openable(config.kernel, "kernel");
  if (config.initrd) check_openable(*config.initrd, "initramfs");
  for (const DiskConfig& disk : config.virtio.disks) check_openable(disk.path, "disk");
  if (config.virtio.disk_slots > 0 && !config.virtio.control_socket)
    throw Error("--disk-slots needs --control-socket: nothing else can fill them");
}

int run_vm(const VmConfig& config, std::ostream& diagnostics) {
  validate_config(config);

  // Everything that only touches guest memory comes before /dev/kvm, so a bad kernel or
  // initramfs is reported as such on any machine.
  GuestMemory memory = GuestMemory::create(config.memory_mib * kMib);
  const LoadedKernel kernel = load_kernel(memory, config.kernel);
  std::optional<LoadedInitrd> initrd;
  if (config.initrd) initrd = load_initramfs(memory, *config.initrd, kernel);

  VmStop stop;
  // The device thread. Declared before the devices, stopped (DeviceThread) before they go.
  EventLoop device_loop([&stop](const std::string& message) {
    stop.request(StopOutcome{StopCause::kError, 0, "device thread: " + message});
  });
  VirtioMmioDevices virtio(create_virtio_devices(config.virtio), memory, device_loop);
  write_boot_params(memory, kernel, initrd,
                    config.cmdline + virtio.cmdline() + pvpanic_cmdline(layout::kPvPanicPort));
  write_identity_page_tables(memory);
  write_gdt(memory);
  write_mp_table(memory, config.vcpus);

  const HostKind host = detect_host_kind();
  spdlog::info("host KVM backend: {}", to_string(host));
  const KvmSystem kvm = KvmSystem::open();
  Vm vm = Vm::create(kvm);
  vm.set_memory(memory);

  ConsoleOutput console(STDOUT_FILENO, stop, config.console);
  IoBus pio("pio");
  IoBus mmio("mmio");
  auto serial = std::make_shared<Serial8250>(
      [&console](std::span<const uint8_t> bytes) { console.write(bytes); },
      [&vm](bool asserted) { vm.set_irq_line(Serial8250::kCom1Irq, asserted); });
  pio.insert(serial, Serial8250::kCom1Base, Serial8250::kSize, "serial COM1");
  pio.insert(std::make_shared<I8042>([&stop] {
               stop.request(StopOutcome{StopCause::kReboot, 0, {}});
             }),
             I8042::kBase, I8042::kSize, "i8042");
  pio.insert(std::make_shared<ExitPort>([&stop](uint8_t status) {
               stop.request(StopOutcome{StopCause::kGuestExit, status, {}});
             }),
             layout::kExitPort, ExitPort::kSize, "exit port");
  pio.insert(std::make_shared<PvPanic>([&stop] {
               stop.request(StopOutcome{StopCause::kPanic, 0, "reported on the pvpanic port"});
             }),
             layout::kPvPanicPort, PvPanic::kSize, "pvpanic");
  virtio.attach(vm, mmio);

  std::vector<Vcpu> vcpus = create_vcpus(kvm, vm, memory, kernel.entry, config.vcpus, host);

  SignalSetup signals;  // before the threads exist, so they inherit the signal mask
  std::optional<control::ControlServer> control_server;
  if (config.virtio.control_socket)
    control_server.emplace(*config.virtio.control_socket, virtio.disk_slots());
  UniqueFd timer;
  if (config.timeout) timer = arm_timeout(*config.timeout);
  TerminalMode terminal(STDIN_FILENO);

  // Everything the VM will use is open: the jail takes the rest away. Before any thread, as
  // namespaces, ids and limits are the whole process's; each thread then installs its own
  // seccomp filter, the main thread last (a new thread inherits its creator's filter).
  std::optional<jail::Jail> jailed;
  if (config.jail.enabled) jailed = jail::enter_jail(config.jail, jail_needs(config));
  const auto filter_for = [&jailed](jail::ThreadKind kind) -> std::function<void()> {
    if (!jailed) return {};
    return
        [kind, options = jailed->filter_options()] { jail::install_thread_filter(kind, options); };
  };
  if (control_server) {
    control_server->start([&stop, hook = filter_for(jail::ThreadKind::kControl)] {
      if (!start_thread(hook, stop)) throw Error("the control thread's filter failed");
    });
  }
  DeviceThread device_thread(device_loop, filter_for(jail::ThreadKind::kDevice));
  VcpuThreads threads(vcpus, Buses{pio, mmio}, stop, filter_for(jail::ThreadKind::kVcpu));
  if (auto main_filter = filter_for(jail::ThreadKind::kControl)) main_filter();
  serve_until_stopped(stop, signals.fd(), timer ? timer.get() : -1,
                      config.timeout ? static_cast<int>(config.timeout->count()) : 0, *serial);
  threads.stop_and_join();
  device_thread.stop();
  console.finish();

  const StopOutcome outcome = *stop.outcome();
  if (outcome.cause == StopCause::kError) throw Error(outcome.detail);
  if (auto message = stop_message(outcome)) diagnostics << "kvrun-vmm: " << *message << std::endl;
  return exit_status(outcome);
}

}  // namespace kvrun::vmm
