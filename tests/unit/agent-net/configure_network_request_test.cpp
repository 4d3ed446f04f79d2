// ConfigureNetwork decoding: a valid request round-trips, and every malformed field is refused
// with its path. Also the network value parsers (MAC, IP, CIDR) it relies on.
#include <gtest/gtest.h>

#include "protocol/messages.h"
#include "protocol/net_address.h"

namespace kvrun::protocol {
namespace {

nlohmann::json valid_body() {
  return nlohmann::json::parse(R"({
    "interfaces": [{"mac": "02:42:AC:11:00:02", "name": "eth0", "mtu": 1500,
                    "addresses": ["10.88.0.5/16", "fd00::5/64"]}],
    "routes": [{"destination": "default", "gateway": "10.88.0.1"},
               {"destination": "10.1.0.0/16", "gateway": "10.88.0.254", "device": "eth0"},
               {"destination": "10.2.0.0/24", "device": "eth0"}]})");
}

std::string request(const nlohmann::json& body) {
  return nlohmann::json{
      {"version", kProtocolVersion}, {"id", 3}, {"type", "ConfigureNetwork"}, {"body", body}}
      .dump();
}

// The error the body decodes to, or "" if it decodes.
std::string error_of(const nlohmann::json& body) {
  try {
    decode_request(request(body));
    return "";
  } catch (const RequestError& e) {
    EXPECT_EQ(e.id(), 3u);
    return e.what();
  }
}

TEST(ConfigureNetworkRequest, DecodesTheDocumentedExample) {
  auto decoded = std::get<ConfigureNetwork>(decode_request(request(valid_body())).body);
  ASSERT_EQ(decoded.interfaces.size(), 1u);
  const auto& eth0 = decoded.interfaces[0];
  EXPECT_EQ(eth0.mac, "02:42:AC:11:00:02");
  EXPECT_EQ(eth0.name, "eth0");
  EXPECT_EQ(eth0.mtu, 1500);
  EXPECT_EQ(eth0.addresses, (std::vector<std::string>{"10.88.0.5/16", "fd00::5/64"}));
  ASSERT_EQ(decoded.routes.size(), 3u);
  EXPECT_EQ(decoded.routes[0].destination, "default");
  EXPECT_EQ(decoded.routes[0].gateway, "10.88.0.1");
  EXPECT_FALSE(decoded.routes[0].device);
  EXPECT_EQ(decoded.routes[2].device, "eth0");
  EXPECT_FALSE(decoded.routes[2].gateway);
}

TEST(ConfigureNetworkRequest, OptionalFieldsMayBeLeftOut) {
  auto decoded = std::get<ConfigureNetwork>(
      decode_request(request({{"interfaces", {{{"mac", "02:00:00:00:00:01"}}}}})).body);
  ASSERT_EQ(decoded.interfaces.size(), 1u);
  EXPECT_FALSE(decoded.interfaces[0].name);
  EXPECT_FALSE(decoded.interfaces[0].mtu);
  EXPECT_TRUE(decoded.interfaces[0].addresses.empty());
  EXPECT_TRUE(decoded.routes.empty());
}

TEST(ConfigureNetworkRequest, EncodeDecodeRoundTrip) {
  auto decoded = std::get<ConfigureNetwork>(decode_request(request(valid_body())).body);
  auto again = std::get<ConfigureNetwork>(decode_request(encode_request({9, decoded})).body);
  EXPECT_EQ(again, decoded);
}

TEST(ConfigureNetworkRequest, CreateContainerNetworkFlag) {
  nlohmann::json body = {{"container_id", "c1"}, {"config", nlohmann::json::object()}};
  auto plain = std::get<CreateContainer>(
      decode_request(
          nlohmann::json{
              {"version", kProtocolVersion}, {"id", 1}, {"type", "CreateContainer"}, {"body", body}}
              .dump())
          .body);
  EXPECT_FALSE(plain.network);
  EXPECT_FALSE(nlohmann::json::parse(encode_request({1, plain}))["body"].contains("network"));
  plain.network = true;
  auto back = std::get<CreateContainer>(decode_request(encode_request({1, plain})).body);
  EXPECT_TRUE(back.network);
  body["network"] = "yes";
  auto text = nlohmann::json{
      {"version", kProtocolVersion},
      {"id", 1},
      {"type", "CreateContainer"},
      {"body",
       body}}.dump();
  EXPECT_THROW(
      {
        try {
          decode_request(text);
        } catch (const RequestError& e) {
          EXPECT_STREQ(e.what(), "body.network: expected a boolean");
          throw;
        }
      },
      RequestError);
}

struct Malformed {
  const char* json_pointer;  // where to put the value ("" removes nothing, see remove)
  nlohmann::json value;
  const char* error;
};

TEST(ConfigureNetworkRequest, EachMalformedFieldIsNamed) {
  const Malformed cases[] = {
      {"/interfaces", nlohmann::json::array(), "body.interfaces: expected 1-16 entries, got 0"},
      {"/interfaces", "eth0", "body.interfaces: expected an array"},
      {"/interfaces/0", 5, "body.interfaces[0]: expected an object"},
      {"/interfaces/0/mac", "02:42:ac:11:00", "body.interfaces[0].mac 02:42:ac:11:00: expected"},
      {"/interfaces/0/mac", "02-42-ac-11-00-02", "body.interfaces[0].mac 02-42-ac-11-00-02:"},
      {"/interfaces/0/mac", "0g:42:ac:11:00:02", "body.interfaces[0].mac 0g:42:ac:11:00:02:"},
      {"/interfaces/0/mac", "01:00:5e:00:00:01", "multicast"},
      {"/interfaces/0/mac", 42, "body.interfaces[0].mac: expected a string"},
      {"/interfaces/0/name", "", "body.interfaces[0].name: a link name is 1-15"},
      {"/interfaces/0/name", "eth0/x", "body.interfaces[0].name: a link name"},
      {"/interfaces/0/name", "a-very-long-name0", "body.interfaces[0].name: a link name"},
      {"/interfaces/0/name", "..", "body.interfaces[0].name: a link name"},
      {"/interfaces/0/mtu", 67, "body.interfaces[0].mtu: expected an integer in [68, 65535]"},
      {"/interfaces/0/mtu", 65536, "body.interfaces[0].mtu: expected an integer in [68, 65535]"},
      {"/interfaces/0/mtu", "1500", "body.interfaces[0].mtu: expected an integer"},
      {"/interfaces/0/addresses/1", "10.88.0.5", "body.interfaces[0].addresses[1] 10.88.0.5:"},
      {"/interfaces/0/addresses/1", "10.88.0.5/33",
       "body.interfaces[0].addresses[1] 10.88.0.5/33: prefix length must be 0-32"},
      {"/interfaces/0/addresses/1", "fd00::5/129", "prefix length must be 0-128"},
      {"/interfaces/0/addresses/1", "10.88.0.5/-1", "prefix length must be 0-32"},
      {"/interfaces/0/addresses/1", "10.88.0.5/1x", "prefix length must be 0-32"},
      {"/interfaces/0/addresses/1", "10.88.0/16", "body.interfaces[0].addresses[1] 10.88.0/16:"},
      {"/interfaces/0/addresses/1", 7, "body.interfaces[0].addresses[1]: expected a string"},
      {"/interfaces/0/colour", "blue", "body.interfaces[0].colour: unknown field"},
      {"/routes/0/destination", "10.1.0.5/16",
       "body.routes[0].destination 10.1.0.5/16: has bits set past the prefix length (did you "
       "mean 10.1.0.0/16?)"},
      {"/routes/0/destination", "everywhere", "body.routes[0].destination everywhere:"},
      {"/routes/0/gateway", "10.88.0", "body.routes[0].gateway 10.88.0: not an IP address"},
      {"/routes/1/gateway", "fd00::1",
       "body.routes[1].gateway fd00::1: not the address family of the destination 10.1.0.0/16"},
      {"/routes/2/device", "bad name", "body.routes[2].device: a link name"},
      {"/routes/2/metric", 5, "body.routes[2].metric: unknown field"},
      {"/routes/0",
       {{"destination", "default"}},
       "body.routes[0]: needs a gateway, a device or both"},
      {"/routes/0", {{"gateway", "10.88.0.1"}}, "body.routes[0].destination: required field"},
      {"/routes", "default", "body.routes: expected an array"},
      {"/extra", true, "body.extra: unknown field"},
  };
  for (const auto& c : cases) {
    nlohmann::json body = valid_body();
    body[nlohmann::json::json_pointer(c.json_pointer)] = c.value;
    std::string error = error_of(body);
    EXPECT_NE(error.find(c.error), std::string::npos)
        << c.json_pointer << " = " << c.value.dump() << " gave \"" << error << "\"";
  }
}

TEST(ConfigureNetworkRequest, CountsAndDuplicatesAreBounded) {
  nlohmann::json body = valid_body();
  body["interfaces"] = nlohmann::json::array();
  for (int i = 0; i < 17; ++i) {
    char mac[18];
    std::snprintf(mac, sizeof mac, "02:00:00:00:00:%02x", i);
    body["interfaces"].push_back({{"mac", mac}});
  }
  EXPECT_EQ(error_of(body), "body.interfaces: expected 1-16 entries, got 17");
  body["interfaces"].erase(16);
  body["routes"] = nlohmann::json::array();
  EXPECT_EQ(error_of(body), "");

  body["routes"] = nlohmann::json::array();
  for (int i = 0; i < 257; ++i)
    body["routes"].push_back({{"destination", "default"}, {"device", "lo"}});
  EXPECT_EQ(error_of(body), "body.routes: expected 0-256 entries, got 257");

  body = valid_body();
  body["interfaces"][0]["addresses"] = nlohmann::json::array();
  for (int i = 0; i < 65; ++i)
    body["interfaces"][0]["addresses"].push_back("10.0.0." + std::to_string(i) + "/8");
  EXPECT_EQ(error_of(body), "body.interfaces[0].addresses: expected 0-64 entries, got 65");

  body = valid_body();
  body["interfaces"].push_back({{"mac", "02:42:ac:11:00:02"}});
  EXPECT_EQ(error_of(body), "body.interfaces[1].mac: same MAC address as body.interfaces[0]");
  body["interfaces"][1] = {{"mac", "02:42:ac:11:00:03"}, {"name", "eth0"}};
  EXPECT_EQ(error_of(body), "body.interfaces[1].name: same name as body.interfaces[0]");
}

TEST(NetAddress, ParsesMacAddresses) {
  EXPECT_EQ(parse_mac("02:42:AC:11:00:02", "mac").to_string(), "02:42:ac:11:00:02");
  EXPECT_EQ(parse_mac("fe:ff:ff:ff:ff:ff", "mac").bytes[5], 0xff);
  for (const char* bad : {"", "02:42:ac:11:00:02:", "02:42:ac:11:00:2", "02:42:ac:11:00;02",
                          "ff:ff:ff:ff:ff:ff", "02:42:ac:11:00:0x"}) {
    EXPECT_THROW(parse_mac(bad, "mac"), Error) << bad;
  }
}

TEST(NetAddress, ParsesIpAddresses) {
  auto v4 = parse_ip("10.209.1.2", "ip");
  EXPECT_EQ(v4.family, AF_INET);
  EXPECT_EQ(v4.size(), 4u);
  EXPECT_EQ(v4.bytes[3], 2);
  EXPECT_EQ(v4.to_string(), "10.209.1.2");
  auto v6 = parse_ip("FD00::5", "ip");
  EXPECT_EQ(v6.family, AF_INET6);
  EXPECT_EQ(v6.size(), 16u);
  EXPECT_EQ(v6.to_string(), "fd00::5");
  for (const char* bad : {"", "10.209.1", "10.209.1.256", "1.2.3.4 ", "fd00:::5", "host",
                          "0000:0000:0000:0000:0000:0000:0000:0000:1"}) {
    EXPECT_THROW(parse_ip(bad, "ip"), Error) << bad;
  }
  try {
    parse_ip("10.1", "body.x");
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "body.x 10.1: not an IP address");
  }
}

TEST(NetAddress, ParsesCidrPrefixes) {
  auto prefix = parse_cidr("10.88.0.5/16", "a");
  EXPECT_EQ(prefix.length, 16);
  EXPECT_EQ(prefix.to_string(), "10.88.0.5/16");
  EXPECT_EQ(prefix.network().to_string(), "10.88.0.0/16");
  EXPECT_EQ(parse_cidr("10.88.0.0/16", "a").network(), parse_cidr("10.88.0.0/16", "a"));
  EXPECT_EQ(parse_cidr("fd00::5/64", "a").network().to_string(), "fd00::/64");
  EXPECT_EQ(parse_cidr("fd00::ffff/127", "a").network().to_string(), "fd00::fffe/127");
  EXPECT_EQ(parse_cidr("0.0.0.0/0", "a").length, 0);
  EXPECT_EQ(parse_cidr("10.0.0.1/32", "a").network().to_string(), "10.0.0.1/32");
  EXPECT_EQ(parse_cidr("10.0.0.255/29", "a").network().to_string(), "10.0.0.248/29");
  for (const char* bad : {"10.0.0.1", "10.0.0.1/", "10.0.0.1/33", "/8", "10.0.0.1/08a",
                          "10.0.0.1/+8", "fd00::/1280", "10.0.0.1//8"}) {
    EXPECT_THROW(parse_cidr(bad, "a"), Error) << bad;
  }
}

}  // namespace
}  // namespace kvrun::protocol
