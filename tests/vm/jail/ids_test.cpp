// The jail's id leases (vmm/jail/ids.h): no two live leases share an id, an id comes back
// once its holder is gone, and the lock directory must be root's alone.
#include "vmm/jail/ids.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/unique_fd.h"

namespace kvrun::vmm::jail {
namespace {

namespace fs = std::filesystem;

class IdLeases : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string templ = (fs::temp_directory_path() / "kvrun-jail-ids-XXXXXX").string();
    ASSERT_NE(::mkdtemp(templ.data()), nullptr);
    dir_ = templ;
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(IdLeases, LiveLeasesNeverShareAnId) {
  if (::geteuid() != 0) GTEST_SKIP() << "the lock directory must be owned by root";
  std::vector<IdLease> leases;
  std::set<uid_t> ids;
  for (int i = 0; i < 200; ++i) {
    leases.push_back(lease_ids(std::nullopt, dir_ / "ids"));
    const IdLease& lease = leases.back();
    EXPECT_GE(lease.uid(), kIdRangeFirst);
    EXPECT_LT(lease.uid(), kIdRangeFirst + kIdRangeSize);
    EXPECT_EQ(lease.gid(), lease.uid());
    EXPECT_GE(lease.lock_fd(), 0);
    EXPECT_TRUE(ids.insert(lease.uid()).second) << "id " << lease.uid() << " leased twice";
  }
  EXPECT_EQ(fs::status(dir_ / "ids").permissions() & fs::perms::all, fs::perms::owner_all);
}

TEST_F(IdLeases, AnotherProcessCannotTakeAHeldIdButGetsItOnceItsHolderIsGone) {
  if (::geteuid() != 0) GTEST_SKIP() << "the lock directory must be owned by root";
  // A child holds a lease until it exits (as a VMM does); meanwhile the parent never gets its
  // id, afterwards the id's lock is free again.
  int to_parent[2];
  ASSERT_EQ(::pipe(to_parent), 0);
  int release[2];
  ASSERT_EQ(::pipe(release), 0);
  const pid_t child = ::fork();
  if (child == 0) {
    ::close(release[1]);
    IdLease lease = lease_ids(std::nullopt, dir_ / "ids");
    uid_t id = lease.uid();
    (void)!::write(to_parent[1], &id, sizeof id);
    char byte;
    (void)!::read(release[0], &byte, 1);
    ::_exit(0);
  }
  uid_t held = 0;
  ASSERT_EQ(::read(to_parent[0], &held, sizeof held), static_cast<ssize_t>(sizeof held));
  for (int i = 0; i < 300; ++i) EXPECT_NE(lease_ids(std::nullopt, dir_ / "ids").uid(), held);
  ::close(release[1]);
  int status = 0;
  ::waitpid(child, &status, 0);
  // The holder is gone: its lock file can be locked again, so the scan would hand it out.
  UniqueFd again(::open((dir_ / "ids" / std::to_string(held)).c_str(), O_RDONLY | O_CLOEXEC));
  ASSERT_TRUE(again);
  EXPECT_EQ(::flock(again.get(), LOCK_EX | LOCK_NB), 0)
      << "id " << held << " stayed locked after its holder exited";
  ::close(to_parent[0]);
  ::close(to_parent[1]);
  ::close(release[0]);
}

TEST_F(IdLeases, ALockDirectoryOthersCanWriteIsRefused) {
  if (::geteuid() != 0) GTEST_SKIP() << "the lock directory must be owned by root";
  fs::create_directory(dir_ / "ids");
  ::chmod((dir_ / "ids").c_str(), 0777);
  EXPECT_THROW(lease_ids(std::nullopt, dir_ / "ids"), Error);
}

TEST_F(IdLeases, AGivenGidIsKept) {
  if (::geteuid() != 0) GTEST_SKIP() << "the lock directory must be owned by root";
  IdLease lease = lease_ids(gid_t{4242}, dir_ / "ids");
  EXPECT_EQ(lease.gid(), 4242u);
  EXPECT_NE(lease.uid(), 4242u);
}

}  // namespace
}  // namespace kvrun::vmm::jail
