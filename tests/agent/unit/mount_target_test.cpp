// MountTarget::open against hostile image trees (no mount, so no root needed): FIFOs are never
// opened, the type is checked, symlinks never lead a created file or directory out of the root.
#include "agent/container/mount_target.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "agent_harness.h"
#include "common/error.h"

namespace kvrun::agent {
namespace {

using Type = MountTarget::Type;
using Symlinks = MountTarget::Symlinks;
using Missing = MountTarget::Missing;

class HostileMountTarget : public ::testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(root_ / "etc");
    std::filesystem::create_directories(outside_);
  }
  std::string error_of(const std::string& destination, Type type,
                       Symlinks symlinks = Symlinks::kResolveInRoot) {
    try {
      MountTarget::open(root_.string(), destination, type, symlinks, Missing::kCreate);
    } catch (const Error& e) {
      return e.what();
    }
    return "no error";
  }
  std::size_t entries_outside() const {
    return static_cast<std::size_t>(std::distance(std::filesystem::directory_iterator(outside_),
                                                  std::filesystem::directory_iterator()));
  }

  test::TempDir dir_;
  std::filesystem::path root_ = dir_.path() / "rootfs";
  std::filesystem::path outside_ = dir_.path() / "outside";
};

// Opening a FIFO for writing blocks until a reader comes; O_PATH never opens it at all.
TEST_F(HostileMountTarget, FifoIsHeldWithoutBeingOpened) {
  ASSERT_EQ(::mkfifo((root_ / "etc/hosts").c_str(), 0644), 0);
  auto target = MountTarget::open(root_.string(), "/etc/hosts", Type::kFile,
                                  Symlinks::kResolveInRoot, Missing::kCreate);
  struct stat st;
  ASSERT_EQ(::stat(target.proc_path().c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
  EXPECT_EQ(error_of("/etc/hosts", Type::kDirectory),
            "mount target /etc/hosts: the image has a FIFO there, and this mount needs a "
            "directory");
}

TEST_F(HostileMountTarget, TypesAreChecked) {
  EXPECT_EQ(error_of("/etc", Type::kFile),
            "mount target /etc: the image has a directory there, and a file cannot be bound "
            "over it");
  std::ofstream(root_ / "etc/hostname") << "x\n";
  EXPECT_EQ(error_of("/etc/hostname/below", Type::kFile),
            "mount target /etc/hostname/below: /etc/hostname is a regular file in the image, "
            "not a directory");
}

TEST_F(HostileMountTarget, MissingTargetsAreCreatedInsideTheRoot) {
  MountTarget::open(root_.string(), "/a/b/file", Type::kFile, Symlinks::kResolveInRoot,
                    Missing::kCreate);
  MountTarget::open(root_.string(), "/a/dir", Type::kDirectory, Symlinks::kResolveInRoot,
                    Missing::kCreate);
  EXPECT_TRUE(std::filesystem::is_regular_file(root_ / "a/b/file"));
  EXPECT_TRUE(std::filesystem::is_directory(root_ / "a/dir"));
  EXPECT_THROW(MountTarget::open(root_.string(), "/missing", Type::kFile, Symlinks::kResolveInRoot,
                                 Missing::kFail),
               Error);
  EXPECT_FALSE(std::filesystem::exists(root_ / "missing"));
}

TEST_F(HostileMountTarget, SymlinksOutOfTheRootCreateNothingOutside) {
  const std::string outside = outside_.string();
  std::filesystem::create_symlink(outside + "/hosts", root_ / "etc/hosts");
  std::filesystem::create_symlink("../../../../../../../.." + outside + "/dir", root_ / "etc/up");
  MountTarget::open(root_.string(), "/etc/hosts", Type::kFile, Symlinks::kResolveInRoot,
                    Missing::kCreate);
  MountTarget::open(root_.string(), "/etc/up", Type::kDirectory, Symlinks::kResolveInRoot,
                    Missing::kCreate);
  EXPECT_EQ(entries_outside(), 0u);
  auto inside = root_ / outside.substr(1);
  EXPECT_TRUE(std::filesystem::is_regular_file(inside / "hosts"));
  EXPECT_TRUE(std::filesystem::is_directory(inside / "dir"));
}

TEST_F(HostileMountTarget, RefusingSymlinksRefusesThemAnywhereOnTheWay) {
  std::filesystem::create_directories(root_ / "real");
  std::filesystem::create_symlink("real", root_ / "proc");
  EXPECT_EQ(error_of("/proc", Type::kDirectory, Symlinks::kRefuse),
            "mount target /proc: /proc is a symlink (this filesystem is mounted only on a real "
            "directory)");
  EXPECT_EQ(error_of("/proc/sys", Type::kDirectory, Symlinks::kRefuse),
            "mount target /proc/sys: /proc is a symlink (this filesystem is mounted only on a real "
            "directory)");
  EXPECT_EQ(error_of("/../real/..//real", Type::kDirectory, Symlinks::kRefuse), "no error");
}

}  // namespace
}  // namespace kvrun::agent
