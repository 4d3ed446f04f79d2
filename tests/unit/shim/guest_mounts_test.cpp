#include "shim/sandbox/guest_mounts.h"

#include <gtest/gtest.h>

#include "common/error.h"
#include "shim/sandbox/guest_spec.h"
#include "temp_dir.h"

namespace kvrun::sandbox {
namespace {

// A bundle whose config.json mounts match bundle.mounts, as load_bundle makes them.
oci::Bundle bundle_with(std::vector<oci::Mount> mounts) {
  oci::Bundle bundle;
  bundle.config = {{"ociVersion", "1.0.2"}, {"mounts", nlohmann::json::array()}};
  for (const auto& m : mounts) {
    bundle.config["mounts"].push_back({{"destination", m.destination},
                                       {"type", m.type},
                                       {"source", m.source},
                                       {"options", m.options}});
  }
  bundle.mounts = std::move(mounts);
  return bundle;
}

std::string refusal(const oci::Bundle& bundle) {
  try {
    guest_files(bundle);
    return "";
  } catch (const Error& e) {
    return e.what();
  }
}

TEST(GuestMountsTest, SmallTextFilesAreCopiedByMountIndex) {
  testing::TempDir dir;
  dir.write("hosts", "127.0.0.1 localhost\n");
  dir.write("containerenv", "");
  auto bundle = bundle_with(
      {{"/proc", "proc", "proc", {}},
       {"/etc/hosts", "bind", (dir.path() / "hosts").string(), {"bind"}},
       {"/run/.containerenv", "", (dir.path() / "containerenv").string(), {"rbind", "ro"}}});
  auto files = guest_files(bundle);
  ASSERT_EQ(files.size(), 2u);
  EXPECT_EQ(files[0], (protocol::FileCopy{1, "127.0.0.1 localhost\n"}));
  EXPECT_EQ(files[1], (protocol::FileCopy{2, ""}));
  // The config itself is left to the agent, which points the sources at its copies.
  EXPECT_EQ(constrain_for_guest(bundle, {}), bundle.config);
}

TEST(GuestMountsTest, DevShmBindIsNotCopied) {
  testing::TempDir dir;
  auto bundle = bundle_with({{"/dev/shm", "bind", dir.path().string(), {"bind", "nosuid"}}});
  EXPECT_TRUE(guest_files(bundle).empty());
}

TEST(GuestMountsTest, WhatCannotBeCopiedIsRefusedNamingTheMount) {
  testing::TempDir dir;
  dir.write("big", std::string(kMaxCopiedFile + 1, 'x'));
  dir.write("binary", std::string("\xff\xfe\x00\x01", 4));
  dir.write("quarter", std::string(kMaxCopiedFile, 'x'));
  EXPECT_EQ(refusal(bundle_with({{"/data", "bind", dir.path().string(), {}}})),
            "config.json: mounts[0] (/data): bind mounts of host directories and devices are not "
            "supported in a VM sandbox (source " +
                dir.path().string() + ")");
  EXPECT_EQ(refusal(bundle_with({{"/big", "bind", (dir.path() / "big").string(), {}}})),
            "config.json: mounts[0] (/big): only files up to 256 KiB (1 MiB in all) are copied "
            "into a VM sandbox; this one has 262145 bytes (source " +
                (dir.path() / "big").string() + ")");
  EXPECT_NE(refusal(bundle_with({{"/bin", "bind", (dir.path() / "binary").string(), {}}}))
                .find("only text files are copied"),
            std::string::npos);
  EXPECT_NE(refusal(bundle_with({{"/gone", "bind", (dir.path() / "gone").string(), {}}}))
                .find("mounts[0] (/gone): bind mount source: No such file or directory"),
            std::string::npos);
  // Five files of 256 KiB exceed the 1 MiB budget: the fifth is refused.
  std::vector<oci::Mount> many;
  for (int i = 0; i < 5; ++i)
    many.push_back({"/q" + std::to_string(i), "bind", (dir.path() / "quarter").string(), {}});
  EXPECT_NE(refusal(bundle_with(many)).find("mounts[4] (/q4): only files up to"),
            std::string::npos);
}

}  // namespace
}  // namespace kvrun::sandbox
