#include "vmm/devices/virtio/vsock/vsock_option.h"

#include <gtest/gtest.h>

#include <string>

#include "common/error.h"

namespace kvrun::vmm::vsock {
namespace {

TEST(VsockOption, CidAndUdsInEitherOrder) {
  VsockConfig c = parse_vsock_option("cid=3,uds=/run/v.sock");
  EXPECT_EQ(c.guest_cid, 3u);
  EXPECT_EQ(c.uds_path, "/run/v.sock");
  c = parse_vsock_option("uds=/tmp/x,cid=4294967294");
  EXPECT_EQ(c.guest_cid, 4294967294u);
}

TEST(VsockOption, BadOptionsNameTheirProblem) {
  auto error_of = [](const std::string& text) {
    try {
      parse_vsock_option(text);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(error_of("uds=/x"), "--vsock uds=/x: cid= is required") << "names the whole option";
  EXPECT_NE(error_of("cid=3").find("uds= is required"), std::string::npos);
  EXPECT_NE(error_of("cid=2,uds=/x").find("between 3 and"), std::string::npos);
  EXPECT_NE(error_of("cid=4294967295,uds=/x").find("between 3 and"), std::string::npos);
  EXPECT_NE(error_of("cid=x,uds=/x").find("decimal"), std::string::npos);
  EXPECT_NE(error_of("cid=3,cid=4,uds=/x").find("twice"), std::string::npos);
  EXPECT_NE(error_of("cid=3,uds=").find("empty"), std::string::npos);
  EXPECT_NE(error_of("cid=3,uds=/" + std::string(100, 'a')).find("too long"), std::string::npos);
  EXPECT_NE(error_of("cid=3,uds=/x,port=1").find("unknown key"), std::string::npos);
  EXPECT_NE(error_of("cid=3,uds=/x,junk").find("key=value"), std::string::npos);
}

}  // namespace
}  // namespace kvrun::vmm::vsock
