#include <gtest/gtest.h>

#include "common/error.h"
#include "vmm/devices/virtio/net/tap.h"

namespace kvrun::vmm::net {
namespace {

std::string name_error(const std::string& name) {
  try {
    Tap::check_name(name);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(TapNameTest, ValidNamesPass) {
  EXPECT_EQ(name_error("kvt0"), "");
  EXPECT_EQ(name_error("tap-with.dots_1"), "");
  EXPECT_EQ(name_error("fifteen-bytes-x"), "");
}

TEST(TapNameTest, InvalidNamesGetOneLineWithTheName) {
  EXPECT_EQ(name_error(""), "tap name '': empty");
  EXPECT_EQ(name_error("sixteen-bytes-xx"), "tap name 'sixteen-bytes-xx': longer than 15 bytes");
  EXPECT_EQ(name_error(".."), "tap name '..': not an interface name");
  for (std::string bad : {"a/b", "a:b", "tap%d", "a b", "a\nb"})
    EXPECT_NE(name_error(bad), "") << bad;
}

}  // namespace
}  // namespace kvrun::vmm::net
