#include "agent/container/mounts.h"

#include <gtest/gtest.h>
#include <sys/mount.h>

#include "agent_harness.h"
#include "common/error.h"
#include "spec/mount_options.h"

namespace kvrun::agent {
namespace {

TEST(MountOptions, FlagsPropagationAndData) {
  auto o = spec::parse_mount_options(
      {"nosuid", "noexec", "nodev", "ro", "mode=755", "size=64k", "rslave"});
  EXPECT_EQ(o.flags, static_cast<unsigned long>(MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RDONLY));
  EXPECT_EQ(o.propagation, static_cast<unsigned long>(MS_SLAVE | MS_REC));
  EXPECT_EQ(o.data, "mode=755,size=64k");
  EXPECT_FALSE(o.bind);
  auto b = spec::parse_mount_options({"rbind", "ro", "rw"});
  EXPECT_TRUE(b.bind);
  EXPECT_TRUE(b.recursive);
  EXPECT_EQ(b.flags, 0ul);
}

TEST(MountOptions, RuncsFlagTableIsRead) {
  auto o = spec::parse_mount_options({"nosymfollow", "lazytime", "acl", "iversion", "silent",
                                      "mand", "nomand", "strictatime", "nostrictatime"});
  EXPECT_EQ(o.flags, static_cast<unsigned long>(MS_NOSYMFOLLOW | MS_LAZYTIME | MS_POSIXACL |
                                                MS_I_VERSION | MS_SILENT));
  EXPECT_EQ(o.data, "");
}

TEST(MountOptions, RecursiveOptionsBecomeMountAttributes) {
  auto o = spec::parse_mount_options({"rbind", "rro", "rnosuid", "rnodev", "rnoexec", "rnoatime"});
  EXPECT_EQ(o.recursive_set, static_cast<std::uint64_t>(MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID |
                                                        MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC |
                                                        MOUNT_ATTR_NOATIME));
  // An access-time mode is set by also clearing the atime field (mount_setattr(2)).
  EXPECT_EQ(o.recursive_clear, static_cast<std::uint64_t>(MOUNT_ATTR__ATIME));
  EXPECT_EQ(o.data, "") << "recursive options must never reach the filesystem as data";
  auto undone = spec::parse_mount_options({"rro", "rrw"});
  EXPECT_EQ(undone.recursive_set, 0u);
  EXPECT_EQ(undone.recursive_clear, static_cast<std::uint64_t>(MOUNT_ATTR_RDONLY));
}

TEST(MountOptions, TmpcopyupIsAnOptionNotData) {
  auto o = spec::parse_mount_options({"tmpcopyup", "mode=755"});
  EXPECT_TRUE(o.copy_up);
  EXPECT_EQ(o.data, "mode=755");
}

TEST(MountOptions, IdmappedMountsAreRefused) {
  EXPECT_THROW(spec::parse_mount_options({"rbind", "idmap"}), Error);
  EXPECT_THROW(spec::parse_mount_options({"ridmap"}), Error);
}

TEST(ResolveInRoot, SymlinksNeverLeaveTheRoot) {
  test::TempDir dir;
  auto root = dir.path();
  std::filesystem::create_directories(root / "real/dir");
  std::filesystem::create_symlink("/real", root / "abs");
  std::filesystem::create_symlink("../../..", root / "real/up");
  std::filesystem::create_symlink("/etc", root / "escape");
  std::string r = root.string();
  EXPECT_EQ(resolve_in_root(r, "/abs/dir"), r + "/real/dir");
  EXPECT_EQ(resolve_in_root(r, "/real/up/real"), r + "/real");
  EXPECT_EQ(resolve_in_root(r, "/escape/passwd"), r + "/etc/passwd");
  EXPECT_EQ(resolve_in_root(r, "/../../proc"), r + "/proc");
  EXPECT_EQ(resolve_in_root(r, "/missing/a/b"), r + "/missing/a/b");
}

}  // namespace
}  // namespace kvrun::agent
