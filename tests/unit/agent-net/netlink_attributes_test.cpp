// Netlink attributes from the kernel are read with their lengths checked: a truncated or
// hostile reply yields fewer attributes, never a read past the received bytes.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "agent/net/netlink.h"

namespace kvrun::agent::net {
namespace {

struct Seen {
  std::uint16_t type;
  std::vector<std::uint8_t> payload;
};

std::vector<Seen> read_all(const std::vector<std::uint8_t>& bytes) {
  std::vector<Seen> seen;
  AttributeReader(bytes).for_each([&](std::uint16_t type, std::span<const std::uint8_t> payload) {
    seen.push_back({type, {payload.begin(), payload.end()}});
  });
  return seen;
}

TEST(NetlinkAttributes, ReadsAlignedAttributes) {
  // type 3 with a 5-byte payload (padded to 8), then type 0x8004 (nested flag masked off), 4.
  std::vector<std::uint8_t> bytes = {9, 0, 3, 0, 'e', 't',  'h', '0', 0, 0,
                                     0, 0, 8, 0, 4,   0x80, 1,   2,   3, 4};
  auto seen = read_all(bytes);
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].type, 3);
  EXPECT_EQ(seen[0].payload, (std::vector<std::uint8_t>{'e', 't', 'h', '0', 0}));
  EXPECT_EQ(seen[1].type, 4);
  EXPECT_EQ(seen[1].payload, (std::vector<std::uint8_t>{1, 2, 3, 4}));
}

TEST(NetlinkAttributes, StopsAtALengthThatDoesNotFit) {
  // The second attribute claims 200 bytes where 8 remain.
  std::vector<std::uint8_t> bytes = {8, 0, 1, 0, 1, 2, 3, 4, 200, 0, 2, 0, 1, 2, 3, 4};
  auto seen = read_all(bytes);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].type, 1);
  // A length below the header's own size would loop forever if taken as given.
  EXPECT_TRUE(read_all({2, 0, 1, 0, 0, 0, 0, 0}).empty());
  EXPECT_TRUE(read_all({0, 0, 1, 0}).empty());
  // Fewer bytes than a header.
  EXPECT_TRUE(read_all({8, 0, 1}).empty());
  // The last attribute's padding may be missing.
  EXPECT_EQ(read_all({5, 0, 7, 0, 'x'}).size(), 1u);
}

TEST(NetlinkAttributes, BuiltMessagesCarryTheirLengthAndSequence) {
  NetlinkMessage message(16, 0);  // RTM_NEWLINK
  std::uint32_t fixed = 0;
  message.put_struct(fixed);
  message.put_string(3, "eth0");
  auto bytes = message.finish(42);
  nlmsghdr header;
  std::memcpy(&header, bytes.data(), sizeof header);
  EXPECT_EQ(header.nlmsg_len, bytes.size());
  EXPECT_EQ(header.nlmsg_len, 16u + 4u + 12u);  // header, struct, attribute of 4 + 5 padded to 8
  EXPECT_EQ(header.nlmsg_seq, 42u);
  EXPECT_EQ(header.nlmsg_flags, NLM_F_REQUEST);
  auto seen = read_all({bytes.begin() + 20, bytes.end()});
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].payload, (std::vector<std::uint8_t>{'e', 't', 'h', '0', 0}));
}

}  // namespace
}  // namespace kvrun::agent::net
