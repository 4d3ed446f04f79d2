#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <fstream>

#include "common/unique_fd.h"
#include "shim/rootfs/image_cache.h"
#include "shim/rootfs/tree_copy.h"
#include "shim/rootfs/tree_key.h"
#include "temp_dir.h"

namespace kvrun::rootfs {
namespace {

class TreeKeyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tree.write("bin/tool", "#!/bin/sh\necho hi\n");
    tree.write("etc/conf", "a=1\n");
    ::symlink("tool", (tree.path() / "bin/link").c_str());
    key = tree_key(tree.path(), "salt");
  }
  void set_mtime(const char* relative, long seconds) {
    timespec times[2] = {{seconds, 0}, {seconds, 0}};
    ::utimensat(AT_FDCWD, (tree.path() / relative).c_str(), times, AT_SYMLINK_NOFOLLOW);
  }
  std::string again() { return tree_key(tree.path(), "salt"); }

  testing::TempDir tree;
  std::string key;
};

TEST_F(TreeKeyTest, SameTreeSameKey) {
  EXPECT_EQ(key.size(), 64u);
  EXPECT_EQ(again(), key);
  EXPECT_NE(tree_key(tree.path(), "other salt"), key);
}

TEST_F(TreeKeyTest, ContentChangeWithNewSizeChangesKey) {
  tree.write("etc/conf", "a=12\n");
  EXPECT_NE(again(), key);
}

TEST_F(TreeKeyTest, SameSizeNewMtimeChangesKey) {
  set_mtime("etc/conf", 1000);
  std::string before = again();
  tree.write("etc/conf", "a=2\n");
  set_mtime("etc/conf", 2000);
  EXPECT_NE(again(), before);
}

TEST_F(TreeKeyTest, ModeOwnerAndLinkTargetCount) {
  ::chmod((tree.path() / "bin/tool").c_str(), 0755);
  std::string after_chmod = again();
  EXPECT_NE(after_chmod, key);
  if (::geteuid() == 0) {
    ::lchown((tree.path() / "bin/tool").c_str(), 1000, 1000);
    EXPECT_NE(again(), after_chmod);
  }
  std::string before = again();
  ::unlink((tree.path() / "bin/link").c_str());
  ::symlink("other", (tree.path() / "bin/link").c_str());
  EXPECT_NE(again(), before);
}

TEST_F(TreeKeyTest, NewOrRenamedEntriesCount) {
  tree.write("etc/new", "");
  std::string with_new = again();
  EXPECT_NE(with_new, key);
  std::filesystem::rename(tree.path() / "etc/new", tree.path() / "etc/renamed");
  EXPECT_NE(again(), with_new);
}

// Mount points that a container engine creates fresh in every rootfs (empty files, directories
// touched by it) must not defeat the cache.
TEST_F(TreeKeyTest, DirectoryMtimesAndEmptyFileMtimesDoNotCount) {
  tree.write("etc/hosts", "");
  std::string with_hosts = again();
  set_mtime("etc/hosts", 12345);
  set_mtime("etc", 12345);
  EXPECT_EQ(again(), with_hosts);
}

TEST_F(TreeKeyTest, HardLinksCount) {
  std::filesystem::copy_file(tree.path() / "etc/conf", tree.path() / "etc/copy");
  set_mtime("etc/conf", 1000);
  set_mtime("etc/copy", 1000);
  std::string copied = again();
  std::filesystem::remove(tree.path() / "etc/copy");
  std::filesystem::create_hard_link(tree.path() / "etc/conf", tree.path() / "etc/copy");
  EXPECT_NE(again(), copied);
}

TEST_F(TreeKeyTest, FileTypeCounts) {
  tree.write("run/point", "");
  std::string as_file = again();
  std::filesystem::remove(tree.path() / "run/point");
  ASSERT_EQ(::mkfifo((tree.path() / "run/point").c_str(), 0644), 0);
  ::chmod((tree.path() / "run/point").c_str(), 0644);
  EXPECT_NE(again(), as_file);
}

// The copy an image is built from holds everything the key covers, so the key of the copy is
// the key of the tree it came from; and the mtimes the key leaves out still reach the image.
TEST_F(TreeKeyTest, CopyKeepsWhatTheKeyCovers) {
  tree.write("usr/bin/su", "setuid");
  ::chmod((tree.path() / "usr/bin/su").c_str(), 04755);
  ::chmod((tree.path() / "etc").c_str(), 0555);
  tree.write("empty", "");
  ::setxattr((tree.path() / "etc/conf").c_str(), "user.label", "v", 1, 0);
  std::filesystem::create_hard_link(tree.path() / "bin/tool", tree.path() / "bin/tool2");
  ASSERT_EQ(::mkfifo((tree.path() / "fifo").c_str(), 0600), 0);
  {
    UniqueFd sock(::socket(AF_UNIX, SOCK_STREAM, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::string path = (tree.path() / "sock").string();
    ASSERT_LT(path.size(), sizeof addr.sun_path);
    path.copy(addr.sun_path, path.size());
    ASSERT_EQ(::bind(sock.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  }
  set_mtime("etc", 4242);
  set_mtime("empty", 4343);
  set_mtime("bin/link", 4444);
  std::string source = again();

  testing::TempDir copy;
  UniqueFd dest(::open(copy.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  EXPECT_EQ(copy_tree(tree.path(), dest.get(), "salt"), source);
  EXPECT_EQ(tree_key(copy.path(), "salt"), source);
  struct stat st {};
  ASSERT_EQ(::stat((copy.path() / "etc").c_str(), &st), 0);
  EXPECT_EQ(st.st_mtim.tv_sec, 4242);
  EXPECT_EQ(st.st_mode & 07777, 0555u);
  ASSERT_EQ(::stat((copy.path() / "empty").c_str(), &st), 0);
  EXPECT_EQ(st.st_mtim.tv_sec, 4343);
  ASSERT_EQ(::stat((copy.path() / "bin/tool2").c_str(), &st), 0);
  EXPECT_EQ(st.st_nlink, 2u);
  ::chmod((copy.path() / "etc").c_str(), 0755);  // so that TempDir can remove it
  ::chmod((tree.path() / "etc").c_str(), 0755);
}

TEST(TreeKeyErrorsTest, MissingRootNamesThePath) {
  try {
    tree_key("/nonexistent/rootfs", "");
    FAIL();
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/rootfs"), std::string::npos);
  }
}

TEST(ImageCacheTest, BuildsOnceThenHits) {
  testing::TempDir tree, cache_dir;
  tree.write("hello", "world\n");
  ImageCache cache(cache_dir.path());
  CachedImage first = cache.get(tree.path());
  EXPECT_FALSE(first.hit);
  ASSERT_TRUE(first.fd);
  EXPECT_TRUE(std::filesystem::is_regular_file(first.path));
  // erofs superblock magic at offset 1024.
  std::ifstream image(first.path, std::ios::binary);
  image.seekg(1024);
  unsigned char magic[4] = {};
  image.read(reinterpret_cast<char*>(magic), 4);
  EXPECT_EQ(magic[0] | magic[1] << 8 | magic[2] << 16 | static_cast<unsigned>(magic[3]) << 24,
            0xE0F5E1E2u);
  CachedImage second = cache.get(tree.path());
  EXPECT_TRUE(second.hit);
  EXPECT_EQ(second.path, first.path);
  tree.write("hello", "world, again\n");
  CachedImage third = cache.get(tree.path());
  EXPECT_FALSE(third.hit);
  EXPECT_NE(third.path, first.path);
  // Only images and the lock file: no temporary build left behind.
  for (const auto& entry : std::filesystem::directory_iterator(cache_dir.path())) {
    auto name = entry.path().filename().string();
    EXPECT_TRUE(name == ".lock" || entry.path().extension() == ".erofs") << name;
  }
}

// Where the build's copy goes (memory or the cache directory) changes nothing in the image's
// key, and neither leaves anything behind.
TEST(ImageCacheTest, StagingInMemoryOrOnDiskGivesTheSameKey) {
  testing::TempDir tree, memory, on_disk;
  tree.write("bin/tool", "#!/bin/sh\n");
  tree.write("etc/conf", "a=1\n");
  auto leftovers = [] {
    std::size_t n = 0;
    for (const auto& entry : std::filesystem::directory_iterator("/dev/shm"))
      n += entry.path().filename().string().starts_with(".kvrun-stage-");
    return n;
  };
  std::size_t before = std::filesystem::is_directory("/dev/shm") ? leftovers() : 0;
  CachedImage a = ImageCache(memory.path()).get(tree.path());
  CachedImage b =
      ImageCache(on_disk.path(), kDefaultMaxBytes, {.memory_max_bytes = 0}).get(tree.path());
  EXPECT_EQ(a.key, b.key);
  EXPECT_EQ(std::filesystem::file_size(a.path), std::filesystem::file_size(b.path));
  if (std::filesystem::is_directory("/dev/shm")) {
    EXPECT_LE(leftovers(), before);
  }
  for (const auto& dir : {memory.path(), on_disk.path()}) {
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
      auto name = entry.path().filename().string();
      EXPECT_TRUE(name == ".lock" || entry.path().extension() == ".erofs") << name;
    }
  }
}

TEST(ImageCacheTest, CollectHonoursAgeSizeAndKeep) {
  testing::TempDir a, b, cache_dir;
  a.write("f", "a");
  b.write("f", "bb");
  ImageCache cache(cache_dir.path());
  auto image_a = cache.get(a.path()).path;
  auto image_b = cache.get(b.path()).path;
  // Both unused for two hours; b is in use by a container.
  auto old = std::filesystem::file_time_type::clock::now() - std::chrono::hours(2);
  std::filesystem::last_write_time(image_a, old);
  std::filesystem::last_write_time(image_b, old);
  EXPECT_EQ(cache.collect(std::chrono::hours(1), {image_b}), 1u);
  EXPECT_FALSE(std::filesystem::exists(image_a));
  EXPECT_TRUE(std::filesystem::exists(image_b));
  EXPECT_EQ(cache.collect(std::chrono::hours(3), {}), 0u);
  // A size bound of 0 evicts everything not kept.
  ImageCache tiny(cache_dir.path(), 0);
  EXPECT_EQ(tiny.collect(std::chrono::seconds::max(), {}), 1u);
  EXPECT_FALSE(std::filesystem::exists(image_b));
}

TEST(ImageCacheTest, BuildFailureIsOneLineAndLeavesNothing) {
  testing::TempDir cache_dir;
  ImageCache cache(cache_dir.path());
  EXPECT_THROW(cache.get("/nonexistent/rootfs"), std::exception);
  for (const auto& entry : std::filesystem::directory_iterator(cache_dir.path()))
    EXPECT_EQ(entry.path().filename(), ".lock");
}

}  // namespace
}  // namespace kvrun::rootfs
