// Deterministic mutation fuzzing of everything the agent decodes from the host: whatever the
// bytes, decoding ends in a value or in our own one-line error, never another exception or a
// crash (run under KVRUN_SANITIZE to catch memory errors too).
#include <gtest/gtest.h>

#include <random>

#include "agent_harness.h"
#include "common/error.h"
#include "protocol/framing.h"
#include "protocol/messages.h"
#include "spec/spec.h"

namespace kvrun::agent {
namespace {

std::string mutate(std::string text, std::mt19937& rng) {
  std::uniform_int_distribution<int> op(0, 3);
  std::uniform_int_distribution<int> byte(0, 255);
  int edits = 1 + static_cast<int>(rng() % 4);
  for (int i = 0; i < edits && !text.empty(); ++i) {
    std::size_t at = rng() % text.size();
    switch (op(rng)) {
      case 0:
        text[at] = static_cast<char>(byte(rng));
        break;
      case 1:
        text.erase(at, 1 + rng() % 8);
        break;
      case 2:
        text.insert(at, text.substr(rng() % text.size(), 1 + rng() % 16));
        break;
      default:
        text.insert(at, 1, "{}[]\",:0-e9tfn"[rng() % 14]);
        break;
    }
  }
  return text;
}

TEST(DecodeFuzz, RequestsFailOnlyWithRequestErrors) {
  std::mt19937 rng(1234);
  auto config = test::base_config({"/bin/sh", "-c", "true"});
  std::vector<std::string> seeds = {
      nlohmann::json{{"version", protocol::kProtocolVersion},
                     {"id", 1},
                     {"type", "CreateContainer"},
                     {"body", {{"container_id", "c"}, {"config", config}, {"rootfs", "/r"}}}}
          .dump(),
      nlohmann::json{{"version", protocol::kProtocolVersion},
                     {"id", 2},
                     {"type", "SignalProcess"},
                     {"body", {{"container_id", "c"}, {"exec_id", "e"}, {"signal", 9}}}}
          .dump(),
      nlohmann::json{{"version", protocol::kProtocolVersion},
                     {"id", 3},
                     {"type", "AttachStdio"},
                     {"body", {{"container_id", "c"}, {"stream", "stdout"}}}}
          .dump(),
  };
  int decoded = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string text = mutate(seeds[i % seeds.size()], rng);
    try {
      protocol::decode_request(text);
      ++decoded;
    } catch (const protocol::RequestError&) {
    }
  }
  EXPECT_GT(decoded, 0);  // the mutations do not only produce garbage
}

TEST(DecodeFuzz, SpecsFailOnlyWithErrors) {
  std::mt19937 rng(5678);
  auto config = test::base_config({"/bin/sh", "-c", "true"});
  config["process"]["rlimits"] = {{{"type", "RLIMIT_NOFILE"}, {"soft", 1}, {"hard", 2}}};
  config["linux"]["seccomp"] = {
      {"defaultAction", "SCMP_ACT_ALLOW"},
      {"syscalls",
       {{{"names", {"mkdir"}},
         {"action", "SCMP_ACT_ERRNO"},
         {"args", {{{"index", 0}, {"value", 1}, {"op", "SCMP_CMP_EQ"}}}}}}}};
  config["linux"]["resources"] = {{"memory", {{"limit", 1000}}}, {"cpu", {{"shares", 2}}}};
  // The runtime-spec 1.1 attributes (spec/attributes.h).
  config["domainname"] = "example.org";
  config["process"]["ioPriority"] = {{"class", "IOPRIO_CLASS_BE"}, {"priority", 4}};
  config["process"]["scheduler"] = {
      {"policy", "SCHED_RR"}, {"priority", 9}, {"flags", {"SCHED_FLAG_RESET_ON_FORK"}}};
  config["linux"]["personality"] = {{"domain", "LINUX32"}, {"flags", nlohmann::json::array()}};
  config["linux"]["namespaces"].push_back({{"type", "time"}});
  config["linux"]["timeOffsets"] = {{"boottime", {{"secs", 100}, {"nanosecs", 7}}}};
  config["linux"]["devices"] = {
      {{"path", "/dev/fuse"}, {"type", "c"}, {"major", 10}, {"minor", 229}, {"fileMode", 438}}};
  ASSERT_NO_THROW(spec::parse_container_spec(config));  // mutations start from a valid spec
  std::string seed = config.dump();
  for (int i = 0; i < 5000; ++i) {
    auto json = nlohmann::json::parse(mutate(seed, rng), nullptr, false);
    if (json.is_discarded()) continue;
    try {
      spec::parse_container_spec(json);
    } catch (const Error&) {
    }
  }
}

TEST(DecodeFuzz, FrameDecoderHandlesArbitraryChunks) {
  std::mt19937 rng(42);
  for (int i = 0; i < 2000; ++i) {
    protocol::FrameDecoder decoder(4096);
    std::string bytes(rng() % 64, '\0');
    for (auto& c : bytes) c = static_cast<char>(rng());
    try {
      decoder.feed(bytes);
      while (decoder.next()) {
      }
    } catch (const Error&) {
    }
  }
}

}  // namespace
}  // namespace kvrun::agent
