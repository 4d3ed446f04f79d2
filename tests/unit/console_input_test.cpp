// Host stdin to the guest UART: flows, holds back while the receive queue is full, resumes,
// and stops at end of input, for pipes, regular files and /dev/null.
#include "vmm/console_input.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <string>

#include "common/unique_fd.h"

namespace kvrun::vmm {
namespace {

class ConsoleInputTest : public ::testing::Test {
 protected:
  ConsoleInputTest() : epoll_(::epoll_create1(EPOLL_CLOEXEC)), uart_(nullptr, nullptr) {
    int fds[2];
    EXPECT_EQ(::pipe2(fds, O_CLOEXEC), 0);
    read_end_.reset(fds[0]);
    write_end_.reset(fds[1]);
  }

  // One turn of the event loop, without blocking.
  bool turn(ConsoleInput& in) {
    epoll_event ev{};
    const bool ready = ::epoll_wait(epoll_.get(), &ev, 1, 0) == 1 && ev.data.fd == in.fd();
    in.pump(ready);
    return ready;
  }
  void send(const std::string& s) {
    ASSERT_EQ(::write(write_end_.get(), s.data(), s.size()), static_cast<ssize_t>(s.size()));
  }
  std::string drain(size_t max) {
    std::string got;
    for (size_t i = 0; i < max; ++i) {
      uint8_t lsr = 0;
      uart_.read(Serial8250::kLsr, {&lsr, 1});
      if (!(lsr & Serial8250::kLsrDr)) break;
      uint8_t c = 0;
      uart_.read(Serial8250::kData, {&c, 1});
      got.push_back(static_cast<char>(c));
    }
    return got;
  }

  UniqueFd epoll_;
  UniqueFd read_end_;
  UniqueFd write_end_;
  Serial8250 uart_;
};

TEST_F(ConsoleInputTest, PipeInputReachesTheUart) {
  ConsoleInput in(read_end_.get(), epoll_.get(), uart_);
  EXPECT_TRUE(in.active());
  EXPECT_EQ(in.wait_timeout_ms(), -1) << "a pipe is waited for, not polled";
  EXPECT_FALSE(turn(in)) << "nothing to read yet";
  send("hello");
  EXPECT_TRUE(turn(in));
  EXPECT_EQ(drain(100), "hello");
}

TEST_F(ConsoleInputTest, FullQueuePausesWithoutSpinningAndResumesWhenDrained) {
  ConsoleInput in(read_end_.get(), epoll_.get(), uart_);
  send(std::string(Serial8250::kRxCapacity + 100, 'x'));
  while (uart_.input_space() > 0) ASSERT_TRUE(turn(in));
  EXPECT_FALSE(in.paused());
  turn(in);  // data pending, no room: steps out of the epoll set
  EXPECT_TRUE(in.paused());
  EXPECT_EQ(in.wait_timeout_ms(), ConsoleInput::kPollMs);
  EXPECT_FALSE(turn(in)) << "paused input must not wake the loop";
  EXPECT_EQ(drain(50).size(), 50u);
  turn(in);  // room again: back in the set
  EXPECT_FALSE(in.paused());
  EXPECT_TRUE(turn(in));
  EXPECT_EQ(drain(100000).size(), Serial8250::kRxCapacity) << "refilled by the resumed read";
  EXPECT_TRUE(turn(in));
  EXPECT_EQ(drain(100000).size(), 50u) << "and nothing lost";
}

TEST_F(ConsoleInputTest, EndOfInputStopsWatching) {
  ConsoleInput in(read_end_.get(), epoll_.get(), uart_);
  send("bye");
  write_end_.reset();
  EXPECT_TRUE(turn(in));
  EXPECT_TRUE(in.active());
  EXPECT_TRUE(turn(in)) << "hang-up is reported";
  EXPECT_FALSE(in.active());
  EXPECT_FALSE(turn(in)) << "no longer in the epoll set";
  EXPECT_EQ(drain(10), "bye");
}

TEST_F(ConsoleInputTest, HangUpWhilePausedDoesNotSpin) {
  ConsoleInput in(read_end_.get(), epoll_.get(), uart_);
  send(std::string(Serial8250::kRxCapacity + 10, 'y'));
  write_end_.reset();
  for (int i = 0; i < 5 && !in.paused(); ++i) turn(in);
  ASSERT_TRUE(in.paused());
  EXPECT_FALSE(turn(in));
  drain(100000);
  turn(in);  // resumes
  for (int i = 0; i < 5 && in.active(); ++i) turn(in);
  EXPECT_FALSE(in.active());
  EXPECT_EQ(drain(100000).size(), 10u);
}

TEST_F(ConsoleInputTest, RegularFileIsPolledToTheEnd) {
  const std::string path =
      ::testing::TempDir() + "kvrun-console-input-" + std::to_string(::getpid());
  {
    UniqueFd f(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    ASSERT_TRUE(f);
    ASSERT_EQ(::write(f.get(), "from a file", 11), 11);
  }
  UniqueFd file(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  ::unlink(path.c_str());
  ConsoleInput in(file.get(), epoll_.get(), uart_);
  EXPECT_TRUE(in.active());
  EXPECT_EQ(in.wait_timeout_ms(), ConsoleInput::kPollMs) << "epoll refuses regular files";
  turn(in);
  EXPECT_EQ(drain(100), "from a file");
  turn(in);
  EXPECT_FALSE(in.active());
}

TEST_F(ConsoleInputTest, DevNullAndClosedFdGiveNoInput) {
  UniqueFd null(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  ConsoleInput from_null(null.get(), epoll_.get(), uart_);
  turn(from_null);
  EXPECT_FALSE(from_null.active());

  const int closed = ::dup(null.get());
  ::close(closed);
  ConsoleInput from_closed(closed, epoll_.get(), uart_);
  EXPECT_FALSE(from_closed.active());
  EXPECT_EQ(from_closed.wait_timeout_ms(), -1);
}

TEST(TerminalMode, LeavesNonTerminalsAlone) {
  UniqueFd null(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  TerminalMode mode(null.get());
  EXPECT_FALSE(mode.active());
}

}  // namespace
}  // namespace kvrun::vmm
