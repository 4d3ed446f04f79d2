#include <gtest/gtest.h>

#include <string>

#include "common/error.h"
#include "vmm/control/client.h"
#include "vmm/control/request.h"

namespace kvrun::vmm::control {
namespace {

std::string error_of(std::string_view line) {
  try {
    parse_request(line);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(VmmControlRequest, ParsesExactlyTheTwoRequests) {
  EXPECT_TRUE(std::holds_alternative<AttachDisk>(parse_request("ATTACH-DISK")));
  EXPECT_EQ(std::get<DetachDisk>(parse_request("DETACH-DISK 0")).slot, 0u);
  EXPECT_EQ(std::get<DetachDisk>(parse_request("DETACH-DISK 12")).slot, 12u);
  EXPECT_EQ(format_request(DetachDisk{3}), "DETACH-DISK 3\n");
  EXPECT_EQ(format_request(AttachDisk{}), "ATTACH-DISK\n");
}

TEST(VmmControlRequest, RefusesEverythingElse) {
  for (std::string_view line :
       {"", "attach-disk", "ATTACH-DISK ", "ATTACH-DISK 1", "DETACH-DISK", "DETACH-DISK ",
        "DETACH-DISK -1", "DETACH-DISK +1", "DETACH-DISK 01", "DETACH-DISK 1 ", "DETACH-DISK 1x",
        "DETACH-DISK 99999999999999999999", "DETACH-DISK 1001"}) {
    EXPECT_NE(error_of(line), "") << "accepted: \"" << line << "\"";
  }
  EXPECT_EQ(error_of(std::string(200, 'A')), "request line too long");
  EXPECT_EQ(error_of(std::string("ATTACH\0DISK", 11)).rfind("unknown request", 0), 0u);
}

TEST(VmmControlRequest, GuestDiskNamesFollowTheCommandLineOrder) {
  EXPECT_EQ(guest_disk_name(0, 0), "/dev/vda");
  EXPECT_EQ(guest_disk_name(1, 0), "/dev/vdb");
  EXPECT_EQ(guest_disk_name(1, 24), "/dev/vdz");
  EXPECT_EQ(guest_disk_name(1, 25), "/dev/vdaa");
  EXPECT_EQ(guest_disk_name(0, 27), "/dev/vdab");
}

}  // namespace
}  // namespace kvrun::vmm::control
