#include "vmm/devices/virtio/net/net_option.h"

#include <gtest/gtest.h>

#include "common/error.h"

namespace kvrun::vmm::net {
namespace {

std::string option_error(const std::string& text) {
  try {
    parse_net_option(text);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(NetOptionTest, TapAloneOrWithNamespaceAndMac) {
  NetConfig plain = parse_net_option("tap=kvt0");
  EXPECT_EQ(plain.tap, "kvt0");
  EXPECT_FALSE(plain.netns);
  EXPECT_FALSE(plain.mac);

  NetConfig full = parse_net_option("mac=02:AB:cd:00:00:01,tap=kvt1,netns=/run/netns/x");
  EXPECT_EQ(full.tap, "kvt1");
  EXPECT_EQ(full.netns, std::filesystem::path("/run/netns/x"));
  ASSERT_TRUE(full.mac);
  EXPECT_EQ(*full.mac, (MacAddress{0x02, 0xab, 0xcd, 0x00, 0x00, 0x01}));
  EXPECT_EQ(format_mac(*full.mac), "02:ab:cd:00:00:01");
}

TEST(NetOptionTest, MistakesGetOneLineNamingThem) {
  EXPECT_EQ(option_error("netns=/run/netns/x"), "--net 'netns=/run/netns/x': tap=NAME is required");
  EXPECT_EQ(option_error("tap=a,tap=b"), "--net 'tap=a,tap=b': tap= given twice");
  EXPECT_EQ(option_error("tap=a,speed=10"),
            "--net 'tap=a,speed=10': unknown key 'speed' (tap, netns, mac)");
  EXPECT_EQ(option_error("tap=a,ro"), "--net 'tap=a,ro': 'ro' is not key=value");
  EXPECT_EQ(option_error("tap=a,netns="), "--net 'tap=a,netns=': empty netns=");
  EXPECT_EQ(option_error("tap=this-name-is-too-long"),
            "tap name 'this-name-is-too-long': longer than 15 bytes");
  EXPECT_EQ(option_error("tap=a,mac=01:00:5e:00:00:01"),
            "MAC address '01:00:5e:00:00:01': multicast, a NIC needs a unicast address");
  EXPECT_EQ(option_error("tap=a,mac=00:00:00:00:00:00"),
            "MAC address '00:00:00:00:00:00': all zero");
  EXPECT_EQ(option_error("tap=a,mac=02:00:00:00:00"),
            "MAC address '02:00:00:00:00': expected xx:xx:xx:xx:xx:xx");
  EXPECT_EQ(option_error("tap=a,mac=02-00-00-00-00-01"),
            "MAC address '02-00-00-00-00-01': expected xx:xx:xx:xx:xx:xx");
  EXPECT_EQ(option_error("tap=a,mac=02:00:00:00:00:0g"),
            "MAC address '02:00:00:00:00:0g': expected xx:xx:xx:xx:xx:xx");
}

TEST(NetOptionTest, RandomMacIsUnicastAndLocallyAdministered) {
  const MacAddress a = random_mac();
  const MacAddress b = random_mac();
  EXPECT_EQ(a[0] & 0x03, 0x02);
  EXPECT_NE(a, b);
}

}  // namespace
}  // namespace kvrun::vmm::net
