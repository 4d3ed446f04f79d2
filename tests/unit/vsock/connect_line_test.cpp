#include "vmm/devices/virtio/vsock/connect_line.h"

#include <gtest/gtest.h>

namespace kvrun::vmm::vsock {
namespace {

TEST(VsockConnectLine, AcceptsExactlyConnectAndADecimalPort) {
  EXPECT_EQ(parse_connect_line("CONNECT 1024"), 1024u);
  EXPECT_EQ(parse_connect_line("CONNECT 0"), 0u);
  EXPECT_EQ(parse_connect_line("CONNECT 4294967295"), 4294967295u);
}

TEST(VsockConnectLine, RefusesEverythingElse) {
  for (const char* line : {"", "CONNECT", "CONNECT ", "connect 1", "CONNECT  1", "CONNECT 1 ",
                           "CONNECT -1", "CONNECT +1", "CONNECT 0x10", "CONNECT 4294967296",
                           "CONNECT 99999999999", "CONNECT 1\r", "OK 1", "CONNECT\t1"})
    EXPECT_FALSE(parse_connect_line(line)) << '"' << line << '"';
}

TEST(VsockConnectLine, OkLineCarriesTheLocalPort) {
  EXPECT_EQ(ok_line(1073741824), "OK 1073741824\n");
}

TEST(VsockConnectLine, LongestValidLineFits) {
  EXPECT_LT(std::string("CONNECT 4294967295\n").size(), kMaxConnectLine);
}

}  // namespace
}  // namespace kvrun::vmm::vsock
