#include "agent/listen_address.h"

#include <gtest/gtest.h>

#include "common/error.h"

namespace kvrun::agent {
namespace {

TEST(ListenAddress, UnixAndVsockForms) {
  auto unix_address = parse_listen_address("unix:/run/kvrun/agent.sock");
  EXPECT_EQ(unix_address.kind, ListenAddress::Kind::kUnix);
  EXPECT_EQ(unix_address.path, "/run/kvrun/agent.sock");
  auto vsock = parse_listen_address("vsock:1024");
  EXPECT_EQ(vsock.kind, ListenAddress::Kind::kVsock);
  EXPECT_EQ(vsock.port, 1024u);
}

TEST(ListenAddress, BadFormsNameTheAcceptedOnes) {
  try {
    parse_listen_address("tcp:1.2.3.4:5");
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(),
                 "listen address tcp:1.2.3.4:5: unknown form (expected unix:/path or vsock:PORT)");
  }
  EXPECT_THROW(parse_listen_address("vsock:"), Error);
  EXPECT_THROW(parse_listen_address("vsock:12x"), Error);
  EXPECT_THROW(parse_listen_address("vsock:99999999999"), Error);
  EXPECT_THROW(parse_listen_address("unix:"), Error);
  EXPECT_THROW(parse_listen_address("unix:/" + std::string(200, 'a')), Error);
}

}  // namespace
}  // namespace kvrun::agent
