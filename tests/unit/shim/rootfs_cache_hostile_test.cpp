// Hostile images against the rootfs image cache (issue 16, hole 3): a tenant who controls a
// tree's bytes, xattrs, names and timing must never get its image served for another tree, and
// a local user must neither read the cache nor plant an image in it.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <iterator>
#include <map>
#include <thread>

#include "shim/common/command.h"
#include "shim/rootfs/image_cache.h"
#include "shim/rootfs/tree_key.h"
#include "temp_dir.h"

namespace kvrun::rootfs {
namespace {

constexpr long kFixedTime = 1700000000;

std::string slurp(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

mode_t mode_of(const std::filesystem::path& path) {
  struct stat st {};
  EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

// The same mtime (and so the same metadata) on every entry of a tree, as an author who
// forges it would set.
void pin_mtimes(const std::filesystem::path& root) {
  timespec times[2] = {{kFixedTime, 0}, {kFixedTime, 0}};
  for (const auto& entry : std::filesystem::recursive_directory_iterator(root))
    ::utimensat(AT_FDCWD, entry.path().c_str(), times, AT_SYMLINK_NOFOLLOW);
  ::utimensat(AT_FDCWD, root.c_str(), times, AT_SYMLINK_NOFOLLOW);
}

// A file of `size` bytes of `fill`: same size, different bytes.
void write_filled(const testing::TempDir& tree, const char* relative, char fill,
                  std::size_t size = 4096) {
  tree.write(relative, std::string(size, fill));
  ::chmod((tree.path() / relative).c_str(), 0755);
}

// What a container would read from the image: fsck.erofs extracts its files.
std::string file_in_image(const std::filesystem::path& image, const char* relative) {
  testing::TempDir out;
  auto result =
      shim::run_command({"fsck.erofs", "--extract=" + (out.path() / "x").string(), image.string()});
  EXPECT_EQ(result.status, 0) << result.output;
  return slurp(out.path() / "x" / relative);
}

bool set_user_xattr(const std::filesystem::path& path, const std::string& value) {
  return ::lsetxattr(path.c_str(), "user.kvrun.test", value.data(), value.size(), 0) == 0;
}

TEST(HostileRootfsCacheTest, SameMetadataDifferentBytesGetTheirOwnImage) {
  testing::TempDir a, b, cache_dir;
  write_filled(a, "bin/sh", 'A');
  write_filled(b, "bin/sh", 'T');  // the trojan: same size, mode, owner and mtime
  pin_mtimes(a.path());
  pin_mtimes(b.path());
  ImageCache cache(cache_dir.path());
  CachedImage first = cache.get(a.path());
  CachedImage second = cache.get(b.path());
  EXPECT_FALSE(second.hit);
  EXPECT_NE(second.key, first.key);
  EXPECT_EQ(file_in_image(first.path, "bin/sh"), std::string(4096, 'A'));
  EXPECT_EQ(file_in_image(second.path, "bin/sh"), std::string(4096, 'T'));
  EXPECT_TRUE(cache.get(a.path()).hit);
}

TEST(HostileRootfsCacheTest, XattrOnlyDifferenceGetsItsOwnImage) {
  testing::TempDir a, b, cache_dir;
  write_filled(a, "bin/sh", 'A');
  write_filled(b, "bin/sh", 'A');
  if (!set_user_xattr(a.path() / "bin/sh", "benign-value-1234") ||
      !set_user_xattr(b.path() / "bin/sh", "trojan-value-9876"))
    GTEST_SKIP() << "no user xattrs on " << a.path();
  pin_mtimes(a.path());
  pin_mtimes(b.path());
  ImageCache cache(cache_dir.path());
  CachedImage first = cache.get(a.path());
  CachedImage second = cache.get(b.path());
  EXPECT_FALSE(second.hit);
  // Uncompressed erofs stores xattr values as they are (fsck.erofs does not extract them).
  EXPECT_NE(slurp(second.path).find("trojan-value-9876"), std::string::npos);
  EXPECT_EQ(slurp(second.path).find("benign-value-1234"), std::string::npos);
  EXPECT_NE(slurp(first.path).find("benign-value-1234"), std::string::npos);
}

TEST(HostileRootfsCacheTest, SymlinkTargetOnlyDifferenceGetsItsOwnImage) {
  testing::TempDir a, b, cache_dir;
  ::symlink("/usr/bin/benign", (a.path() / "tool").c_str());
  ::symlink("/usr/bin/trojan", (b.path() / "tool").c_str());
  pin_mtimes(a.path());
  pin_mtimes(b.path());
  ImageCache cache(cache_dir.path());
  cache.get(a.path());
  CachedImage second = cache.get(b.path());
  EXPECT_FALSE(second.hit);
  EXPECT_NE(slurp(second.path).find("/usr/bin/trojan"), std::string::npos);
}

// A name may hold the key's old field separator: a symlink `a` -> `t|<mode>|<uid>|<gid>|u`
// and a symlink `a|<mode>|<uid>|<gid>|t` -> `u` once made the same record.
TEST(HostileRootfsCacheTest, SeparatorsInNamesCannotForgeAnotherTree) {
  testing::TempDir a, b, cache_dir;
  std::string fields = "|" + std::to_string(S_IFLNK | 0777) + "|" + std::to_string(::getuid()) +
                       "|" + std::to_string(::getgid()) + "|";
  ::symlink(("t" + fields + "u").c_str(), (a.path() / "a").c_str());
  ::symlink("u", (b.path() / ("a" + fields + "t")).c_str());
  pin_mtimes(a.path());
  pin_mtimes(b.path());
  EXPECT_NE(tree_key(a.path(), "salt"), tree_key(b.path(), "salt"));
  ImageCache cache(cache_dir.path());
  cache.get(a.path());
  EXPECT_FALSE(cache.get(b.path()).hit);
}

// The tree changes while it is hashed and imaged: a file flips between two contents of one
// size every millisecond, its mtime put back each time, so a lookup mostly hashes one state
// and mkfs.erofs, milliseconds later, may read the other. Whatever interleaving happens, one
// key must never name two contents: an image is stored under the key of what it holds. (Keyed
// by content but built from the live tree, about every other build is under the wrong key.)
void flip_while_caching(const StagingOptions& staging) {
  testing::TempDir tree, cache_dir;
  write_filled(tree, "bin/sh", 'A');
  pin_mtimes(tree.path());
  std::atomic<bool> stop{false};
  std::thread flipper([&] {
    int fd = ::open((tree.path() / "bin/sh").c_str(), O_WRONLY | O_CLOEXEC);
    std::string contents[2] = {std::string(4096, 'A'), std::string(4096, 'T')};
    timespec times[2] = {{kFixedTime, 0}, {kFixedTime, 0}};
    for (unsigned i = 0; !stop; ++i) {
      const std::string& next = contents[i & 1];
      if (::pwrite(fd, next.data(), next.size(), 0) < 0) break;
      ::futimens(fd, times);
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    ::close(fd);
  });
  ImageCache cache(cache_dir.path(), kDefaultMaxBytes, staging);
  std::map<std::string, std::string> content_of_key;
  std::size_t conflicts = 0;
  for (int i = 0; i < 24; ++i) {
    CachedImage image = cache.get(tree.path());
    std::string content = file_in_image(image.path, "bin/sh");
    auto [at, inserted] = content_of_key.try_emplace(image.key, content);
    if (!inserted && at->second != content) ++conflicts;
    if (i % 2 == 1) cache.clear();  // builds, and hits on what was built
  }
  stop = true;
  flipper.join();
  EXPECT_EQ(conflicts, 0u) << content_of_key.size() << " keys seen";
}

TEST(HostileRootfsCacheTest, TreeChangingWhileReadNeverCachesForeignContent) {
  flip_while_caching({});
}

TEST(HostileRootfsCacheTest, TreeChangingWhileReadNeverCachesForeignContentStagedOnDisk) {
  flip_while_caching({.memory_max_bytes = 0});
}

TEST(HostileRootfsCacheTest, CacheDirectoryIs0700AndImages0600) {
  testing::TempDir tree, parent;
  tree.write("f", "x");
  ImageCache cache(parent.path() / "cache");
  CachedImage image = cache.get(tree.path());
  EXPECT_EQ(mode_of(parent.path() / "cache"), 0700u);
  EXPECT_EQ(mode_of(image.path), 0600u);
  EXPECT_EQ(mode_of(parent.path() / "cache" / ".lock"), 0600u);
}

// A directory an older kvrun created 0755, with 0644 images.
TEST(HostileRootfsCacheTest, LooseCacheFromAnOlderVersionIsTightened) {
  testing::TempDir parent;
  auto dir = parent.path() / "cache";
  ASSERT_EQ(::mkdir(dir.c_str(), 0755), 0);
  ::chmod(dir.c_str(), 0755);
  std::ofstream(dir / "old.erofs") << "image";
  ::chmod((dir / "old.erofs").c_str(), 0644);
  ImageCache cache(dir);
  EXPECT_EQ(mode_of(dir), 0700u);
  EXPECT_EQ(mode_of(dir / "old.erofs"), 0600u);
}

// Someone who could write the directory put a symlink where an image goes, pointing at an
// image of their own: it must be neither served nor written through.
TEST(HostileRootfsCacheTest, PlantedSymlinkInTheCacheIsNotFollowed) {
  testing::TempDir tree, evil, outside, cache_dir;
  write_filled(tree, "bin/sh", 'A');
  write_filled(evil, "bin/sh", 'T');
  ImageCache cache(cache_dir.path());
  CachedImage genuine = cache.get(tree.path());
  CachedImage planted = cache.get(evil.path());
  std::filesystem::copy_file(planted.path, outside.path() / "evil.erofs");
  cache.clear();
  ASSERT_EQ(::symlink((outside.path() / "evil.erofs").c_str(), genuine.path.c_str()), 0);
  std::string evil_bytes = slurp(outside.path() / "evil.erofs");

  CachedImage image = cache.get(tree.path());
  EXPECT_FALSE(image.hit);
  struct stat served {
  }, evil_st{};
  ASSERT_EQ(::fstat(image.fd.get(), &served), 0);
  ASSERT_EQ(::stat((outside.path() / "evil.erofs").c_str(), &evil_st), 0);
  EXPECT_NE(served.st_ino, evil_st.st_ino);
  EXPECT_EQ(file_in_image(image.path, "bin/sh"), std::string(4096, 'A'));
  EXPECT_EQ(slurp(outside.path() / "evil.erofs"), evil_bytes);
  EXPECT_FALSE(std::filesystem::is_symlink(image.path));
}

TEST(HostileRootfsCacheTest, SymlinkedCacheDirectoryIsRefused) {
  testing::TempDir parent;
  std::filesystem::create_directory(parent.path() / "elsewhere");
  std::filesystem::create_directory_symlink(parent.path() / "elsewhere", parent.path() / "cache");
  EXPECT_THROW(ImageCache(parent.path() / "cache"), std::exception);
}

// Anyone who can rename entries of a directory above the cache can swap the cache itself.
TEST(HostileRootfsCacheTest, CacheBelowAWorldWritableDirectoryIsRefused) {
  testing::TempDir parent;
  auto open_dir = parent.path() / "open";
  std::filesystem::create_directory(open_dir);
  ::chmod(open_dir.c_str(), 0777);
  EXPECT_THROW(ImageCache(open_dir / "cache"), std::exception);
  ::chmod(open_dir.c_str(), 01777);  // sticky, as /tmp: others cannot rename our entries
  EXPECT_NO_THROW(ImageCache(open_dir / "cache"));
}

class HostileRootfsCacheAsRoot : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root";
  }
};

TEST_F(HostileRootfsCacheAsRoot, DeviceNumberOnlyDifferenceGetsItsOwnImage) {
  testing::TempDir a, b, cache_dir;
  ASSERT_EQ(::mknod((a.path() / "disk").c_str(), S_IFBLK | 0600, ::makedev(7, 1)), 0);
  ASSERT_EQ(::mknod((b.path() / "disk").c_str(), S_IFBLK | 0600, ::makedev(8, 0)), 0);
  pin_mtimes(a.path());
  pin_mtimes(b.path());
  ImageCache cache(cache_dir.path());
  CachedImage first = cache.get(a.path());
  CachedImage second = cache.get(b.path());
  EXPECT_FALSE(second.hit);
  EXPECT_NE(first.key, second.key);
}

TEST_F(HostileRootfsCacheAsRoot, TrustedAndSecurityXattrsCount) {
  testing::TempDir a, b;
  write_filled(a, "bin/ping", 'A');
  write_filled(b, "bin/ping", 'A');
  // A file capability: what `setcap cap_net_raw+ep` writes (VFS_CAP_REVISION_2).
  const unsigned char cap[20] = {0x01, 0x00, 0x00, 0x02, 0x00, 0x20};
  ASSERT_EQ(::setxattr((b.path() / "bin/ping").c_str(), "security.capability", cap, sizeof cap, 0),
            0);
  pin_mtimes(a.path());
  pin_mtimes(b.path());
  EXPECT_NE(tree_key(a.path(), "s"), tree_key(b.path(), "s"));
  std::string key_b = tree_key(b.path(), "s");
  ASSERT_EQ(::setxattr((b.path() / "bin").c_str(), "trusted.kvrun", "1", 1, 0), 0);
  pin_mtimes(b.path());
  EXPECT_NE(tree_key(b.path(), "s"), key_b);
}

TEST_F(HostileRootfsCacheAsRoot, CacheDirectoryOwnedByAnotherUserIsRefused) {
  testing::TempDir parent;
  auto dir = parent.path() / "cache";
  ASSERT_EQ(::mkdir(dir.c_str(), 0700), 0);
  ASSERT_EQ(::chown(dir.c_str(), 1000, 1000), 0);
  EXPECT_THROW(ImageCache{dir}, std::exception);
}

}  // namespace
}  // namespace kvrun::rootfs
