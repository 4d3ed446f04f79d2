// The ttrpc server and client over a real Unix socket: dispatch, error statuses, concurrent
// requests on one connection (containerd's Wait stays outstanding while it sends Kill), and a
// malformed frame that costs the sender its connection but not the server.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <future>
#include <mutex>
#include <thread>

#include "kvrun/ttrpc.pb.h"
#include "shim/containerd/shim_socket.h"
#include "shim/containerd/ttrpc/client.h"
#include "shim/containerd/ttrpc/frame.h"
#include "shim/containerd/ttrpc/server.h"

namespace kvrun::containerd::ttrpc {
namespace {
using namespace std::chrono_literals;

class TtrpcServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/kvrun-ttrpc-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    dir_ = pattern;
    path_ = dir_ + "/s.sock";
    registry_.add("test.Svc", "Echo",
                  [](std::string_view payload) { return "echo:" + std::string(payload); });
    registry_.add("test.Svc", "Fail", [](std::string_view) -> std::string {
      throw RpcError(Code::kNotFound, "no such thing");
    });
    registry_.add("test.Svc", "Block", [this](std::string_view) {
      std::unique_lock lock(mutex_);
      released_.wait(lock, [this] { return release_; });
      return std::string("released");
    });
    registry_.add("test.Svc", "Release", [this](std::string_view) {
      std::lock_guard lock(mutex_);
      release_ = true;
      released_.notify_all();
      return std::string();
    });
    server_ = std::make_unique<Server>(listen_unix(path_), registry_);
    thread_ = std::thread([this] { server_->serve(); });
  }
  void TearDown() override {
    server_->stop();
    thread_.join();
    std::filesystem::remove_all(dir_);
  }

  std::string dir_, path_;
  Registry registry_;
  std::unique_ptr<Server> server_;
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable released_;
  bool release_ = false;
};

TEST_F(TtrpcServerTest, CallsAMethodAndReturnsItsPayload) {
  Client client = Client::connect("unix://" + path_);
  EXPECT_EQ(client.call("test.Svc", "Echo", "hi", 5s), "echo:hi");
  EXPECT_EQ(client.call("test.Svc", "Echo", "again", 5s), "echo:again");
}

TEST_F(TtrpcServerTest, ErrorStatusReachesTheClientWithItsCode) {
  Client client = Client::connect(path_);
  try {
    client.call("test.Svc", "Fail", "", 5s);
    FAIL() << "no error";
  } catch (const RpcError& e) {
    EXPECT_EQ(e.code(), Code::kNotFound);
    EXPECT_NE(std::string(e.what()).find("no such thing"), std::string::npos);
  }
  try {
    client.call("test.Svc", "Nope", "", 5s);
    FAIL() << "unknown method answered";
  } catch (const RpcError& e) {
    EXPECT_EQ(e.code(), Code::kUnimplemented);
    EXPECT_NE(std::string(e.what()).find("test.Svc/Nope is not implemented"), std::string::npos);
  }
}

TEST_F(TtrpcServerTest, UndecodableRequestGetsInvalidArgument) {
  std::string reply = registry_.dispatch(std::string("\xff\xff\xff\xff", 4));
  kvrun::ttrpc::Response response;
  ASSERT_TRUE(response.ParseFromString(reply));
  EXPECT_EQ(response.status().code(), static_cast<int>(Code::kInvalidArgument));
}

TEST_F(TtrpcServerTest, ABlockedRequestDoesNotHoldUpOthersOnTheSameConnection) {
  // Two requests in flight on one socket, answered out of order by stream id.
  Client raw = Client::connect(path_);
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM, 0));
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  std::strncpy(sa.sun_path, path_.c_str(), sizeof sa.sun_path - 1);
  ASSERT_EQ(::connect(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
  auto request = [](const char* method) {
    kvrun::ttrpc::Request r;
    r.set_service("test.Svc");
    r.set_method(method);
    return r.SerializeAsString();
  };
  write_frame(fd.get(), 1, MessageType::kRequest, request("Block"));
  write_frame(fd.get(), 3, MessageType::kRequest, request("Echo"));
  auto first = read_frame(fd.get());
  ASSERT_TRUE(first);
  EXPECT_EQ(first->stream_id, 3u);  // the Echo, while Block still waits
  raw.call("test.Svc", "Release", "", 5s);
  auto second = read_frame(fd.get());
  ASSERT_TRUE(second);
  EXPECT_EQ(second->stream_id, 1u);
  kvrun::ttrpc::Response response;
  ASSERT_TRUE(response.ParseFromString(second->payload));
  EXPECT_EQ(response.payload(), "released");
}

TEST_F(TtrpcServerTest, MalformedFrameClosesThatConnectionOnly) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM, 0));
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  std::strncpy(sa.sun_path, path_.c_str(), sizeof sa.sun_path - 1);
  ASSERT_EQ(::connect(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
  auto header = encode_header({kMaxMessageSize + 1, 1, 1, 0});
  ASSERT_EQ(::write(fd.get(), header.data(), header.size()), 10);
  char byte;
  EXPECT_EQ(::read(fd.get(), &byte, 1), 0);  // the server hung up
  Client client = Client::connect(path_);
  EXPECT_EQ(client.call("test.Svc", "Echo", "still", 5s), "echo:still");
}

}  // namespace
}  // namespace kvrun::containerd::ttrpc
