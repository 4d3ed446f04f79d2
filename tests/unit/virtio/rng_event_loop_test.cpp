// virtio-rng fills what it is given; the device event loop dispatches, removes and reports.
#include <gtest/gtest.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include "common/error.h"
#include "common/unique_fd.h"
#include "tests/support/virtio/test_driver.h"
#include "vmm/devices/virtio/event_loop.h"
#include "vmm/devices/virtio/rng.h"

namespace kvrun::vmm::virtio {
namespace {

using test::TestDriver;

TEST(RngTest, FillsEveryWritableByteUpToTheLimit) {
  GuestMemory memory = GuestMemory::create(test::kTestMemoryBytes);
  Queue queue(Rng::kQueueSize);
  TestDriver driver(memory, Rng::kQueueSize);
  driver.setup(queue);
  Interrupt interrupt;
  DeviceContext context(memory, std::span<Queue>(&queue, 1), interrupt, 0, {}, {});
  Rng rng;
  rng.activate(context);
  const uint64_t a = driver.alloc(4096);
  driver.add_chain({{a, 4096, true}});
  const uint64_t big = driver.alloc(128 * 1024);
  driver.add_chain({{big, 128 * 1024, true}});
  rng.process_queue(0);
  EXPECT_EQ(driver.used_idx(), 2);
  EXPECT_EQ(driver.used(0).len, 4096u);
  EXPECT_EQ(driver.used(1).len, Rng::kMaxBytesPerBuffer);
  // 4 KiB of zeroes from getrandom would be a broken host; count the zero bytes loosely.
  int zeroes = 0;
  for (uint64_t i = 0; i < 4096; ++i) zeroes += memory.read_obj<uint8_t>(a + i) == 0;
  EXPECT_LT(zeroes, 100);
  EXPECT_EQ(memory.read_obj<uint64_t>(big + Rng::kMaxBytesPerBuffer), 0u);  // past the limit
  EXPECT_TRUE(interrupt.status() & mmio::kInterruptUsedBuffer);
}

UniqueFd make_eventfd() { return UniqueFd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)); }
void poke(int fd) {
  const uint64_t one = 1;
  ASSERT_EQ(::write(fd, &one, 8), 8);
}

TEST(EventLoopTest, RunsCallbacksUntilRemoved) {
  EventLoop loop;
  UniqueFd fd = make_eventfd();
  int calls = 0;
  EventLoop::Registration r = loop.add(fd.get(), EPOLLIN, [&](uint32_t events) {
    EXPECT_TRUE(events & EPOLLIN);
    uint64_t v;
    (void)::read(fd.get(), &v, 8);
    ++calls;
  });
  poke(fd.get());
  EXPECT_EQ(loop.run_once(1000), 1);
  EXPECT_EQ(calls, 1);
  poke(fd.get());
  r.reset();
  EXPECT_EQ(loop.run_once(0), 0);
  EXPECT_EQ(calls, 1);
}

TEST(EventLoopTest, ThrowingCallbackIsReportedAndTheLoopGoesOn) {
  std::string reported;
  EventLoop loop([&](const std::string& message) { reported = message; });
  UniqueFd fd = make_eventfd();
  auto r = loop.add(fd.get(), EPOLLIN, [&](uint32_t) {
    uint64_t v;
    (void)::read(fd.get(), &v, 8);
    throw std::runtime_error("device broke");
  });
  poke(fd.get());
  loop.run_once(1000);
  EXPECT_EQ(reported, "device broke");
  poke(fd.get());
  EXPECT_EQ(loop.run_once(1000), 1);
}

TEST(EventLoopTest, ThreadServesAndStops) {
  EventLoop loop;
  UniqueFd fd = make_eventfd();
  std::atomic<int> calls{0};
  auto r = loop.add(fd.get(), EPOLLIN, [&](uint32_t) {
    uint64_t v;
    (void)::read(fd.get(), &v, 8);
    ++calls;
  });
  loop.start("test-devices");
  poke(fd.get());
  for (int i = 0; i < 200 && calls.load() == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(calls.load(), 1);
  loop.stop();
  loop.stop();  // idempotent
  poke(fd.get());
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(calls.load(), 1);
}

TEST(EventLoopTest, AddingABadFdThrows) {
  EventLoop loop;
  EXPECT_THROW((void)loop.add(-1, EPOLLIN, [](uint32_t) {}), Error);
}

}  // namespace
}  // namespace kvrun::vmm::virtio
