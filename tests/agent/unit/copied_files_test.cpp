#include "agent/container/copied_files.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <fstream>

#include "common/error.h"

namespace kvrun::agent {
namespace {

class CopiedFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = "/tmp/kvrun-copied-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    state_dir_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(state_dir_); }

  static nlohmann::json config() {
    return {{"mounts",
             {{{"destination", "/proc"}, {"type", "proc"}, {"source", "proc"}},
              {{"destination", "/etc/hosts"}, {"type", "bind"}, {"source", "/host/hosts"}},
              {{"destination", "/etc/hostname"},
               {"source", "/host/hostname"},
               {"options", {"rbind", "ro"}}}}}};
  }
  std::filesystem::path state_dir_;
};

std::string read(const std::filesystem::path& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST_F(CopiedFilesTest, WritesTheFilesAndPointsTheirMountsAtThem) {
  auto c = config();
  {
    auto copied = CopiedFiles::write(state_dir_, "c1", {{1, "127.0.0.1 localhost\n"}, {2, "h"}}, c);
    std::string hosts = c["mounts"][1]["source"];
    std::string hostname = c["mounts"][2]["source"];
    EXPECT_EQ(hosts.rfind((state_dir_ / "c1.files").string() + "/", 0), 0u) << hosts;
    EXPECT_EQ(read(hosts), "127.0.0.1 localhost\n");
    EXPECT_EQ(read(hostname), "h");
    EXPECT_EQ(c["mounts"][2]["options"], nlohmann::json({"rbind", "ro"}));
  }
  // Removed with the container.
  EXPECT_FALSE(std::filesystem::exists(state_dir_ / "c1.files"));
}

TEST_F(CopiedFilesTest, AnIndexThatIsNoBindMountIsRefusedAndNothingIsWritten) {
  auto c = config();
  for (std::size_t index : {0u, 3u, 1000u}) {
    try {
      CopiedFiles::write(state_dir_, "c1", {{1, "ok"}, {index, "x"}}, c);
      ADD_FAILURE() << index;
    } catch (const Error& e) {
      EXPECT_EQ(std::string(e.what()), "body.files[1].mount: config.mounts[" +
                                           std::to_string(index) + "] is not a bind mount");
    }
    EXPECT_FALSE(std::filesystem::exists(state_dir_ / "c1.files"));
    EXPECT_EQ(c["mounts"][1]["source"], "/host/hosts");
  }
}

}  // namespace
}  // namespace kvrun::agent
