// Disk slots (label `linux`): kvrun-vmm with --disk-slots and --control-socket; the host puts
// an erofs image into a running guest's empty drive, the guest mounts it, the host takes it
// out and puts a different image in the same slot, and the guest sees the new content (no
// stale cache). Bad requests on the socket get one-line errors and change nothing.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>

#include "common/error.h"
#include "common/unique_fd.h"
#include "tests/vm/vm_test_env.h"
#include "vmm/control/client.h"

namespace kvrun::test {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

// An erofs image of a directory holding one file `id`.
fs::path make_image(const fs::path& dir, const std::string& id) {
  fs::create_directories(dir / id);
  std::ofstream(dir / id / "id") << id;
  fs::path image = dir / (id + ".erofs");
  std::string command =
      "mkfs.erofs '" + image.string() + "' '" + (dir / id).string() + "' >/dev/null";
  if (std::system(command.c_str()) != 0) throw Error("mkfs.erofs failed for " + id);
  return image;
}

UniqueFd open_read_only(const fs::path& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) throw_errno(path.string());
  return fd;
}

// A raw request line, as a hostile client might send it; returns the reply.
std::string raw_request(const fs::path& socket, const std::string& line) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, socket.c_str(), sizeof address.sun_path - 1);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0)
    return "connect failed";
  (void)!::write(fd.get(), line.data(), line.size());
  ::shutdown(fd.get(), SHUT_WR);
  char buffer[256] = {};
  ssize_t n = ::read(fd.get(), buffer, sizeof buffer - 1);
  return n > 0 ? std::string(buffer, static_cast<size_t>(n)) : "";
}

std::string error_of(const std::function<void()>& call) {
  try {
    call();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(VirtioBlkSlotVm, DiskSlotTakesOneImageThenAnother) {
  std::string kernel;
  KVRUN_REQUIRE_KVM_AND_GUEST_KERNEL(kernel);
  std::string templ = (fs::temp_directory_path() / "kvrun-disk-slot-XXXXXX").string();
  ASSERT_NE(::mkdtemp(templ.data()), nullptr);
  fs::path dir = templ;
  fs::path first = make_image(dir, "first-image");
  fs::path second = make_image(dir, "second-image");
  fs::path socket = dir / "control.sock";
  std::ofstream(dir / "odd.img") << std::string(513, 'x');

  ChildProcess vm =
      ChildProcess::spawn({vmm_path(), "--kernel", kernel, "--initrd", KVRUN_DISK_SLOT_INITRAMFS,
                           "--cmdline", "console=ttyS0 reboot=k", "--memory", "128", "--timeout",
                           "200", "--disk-slots", "2", "--control-socket", socket.string()});
  ASSERT_TRUE(vm.wait_for_stdout("slot: ready", 120s)) << vm.stdout_text() << vm.stderr_text();

  // Nothing a bad request asks for happens, and each gets its reason.
  EXPECT_EQ(raw_request(socket, "HELLO\n"), "ERR unknown request \"HELLO\"\n");
  EXPECT_EQ(raw_request(socket, "ATTACH-DISK\n"),
            "ERR ATTACH-DISK needs exactly one file descriptor\n");
  EXPECT_EQ(raw_request(socket, "DETACH-DISK 01\n"),
            "ERR DETACH-DISK: not a slot number: \"01\"\n");
  EXPECT_NE(error_of([&] { vmm::control::detach_disk(socket, 1); }).find("disk slot 1 is empty"),
            std::string::npos);
  EXPECT_NE(error_of([&] { vmm::control::detach_disk(socket, 7); }).find("no disk slot 7"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              vmm::control::attach_disk(socket, open_read_only(dir / "odd.img").get());
            }).find("not a whole number of sectors"),
            std::string::npos);

  EXPECT_EQ(vmm::control::attach_disk(socket, open_read_only(first).get()), 0u);
  ASSERT_TRUE(vm.wait_for_stdout("slot: unmounted", 120s)) << vm.stdout_text();
  EXPECT_NE(vm.stdout_text().find("slot: first=first-image"), std::string::npos);
  vmm::control::detach_disk(socket, 0);
  ASSERT_TRUE(vm.wait_for_stdout("slot: empty", 120s)) << vm.stdout_text();
  // The freed slot is the lowest free one again.
  EXPECT_EQ(vmm::control::attach_disk(socket, open_read_only(second).get()), 0u);

  auto status = vm.wait(120s);
  ASSERT_TRUE(status) << vm.stdout_text();
  EXPECT_EQ(status->shell_status(), 0) << vm.stdout_text() << vm.stderr_text();
  EXPECT_NE(vm.stdout_text().find("slot: second=second-image"), std::string::npos)
      << vm.stdout_text();
  // The jailed VMM may not remove its socket from our directory (docs/jail.md).
  fs::remove_all(dir);
}

TEST(VirtioBlkSlotVm, DiskSlotsNeedAControlSocket) {
  ChildProcess vm = run_vmm({"--kernel", "/dev/null", "--disk-slots", "1"}, 30s);
  EXPECT_NE(vm.stderr_text().find("--disk-slots needs --control-socket"), std::string::npos)
      << vm.stderr_text();
}

}  // namespace
}  // namespace kvrun::test
