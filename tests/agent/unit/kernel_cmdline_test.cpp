// kvrun.NAME=VALUE parameters on the kernel command line configure the agent as PID 1.
#include "agent/guest/kernel_cmdline.h"

#include <gtest/gtest.h>

namespace kvrun::agent {
namespace {

TEST(KernelCmdline, FindsTheLastValueOfAParameter) {
  std::string cmdline = "console=ttyS0 kvrun.init=stay quiet kvrun.init=poweroff-when-ready\n";
  EXPECT_EQ(cmdline_value(cmdline, "init"), "poweroff-when-ready");
  EXPECT_EQ(cmdline_values(cmdline, "init"),
            (std::vector<std::string>{"stay", "poweroff-when-ready"}));
}

TEST(KernelCmdline, MatchesWholeNamesOnly) {
  std::string cmdline = "kvrun.initx=1 xkvrun.init=2 kvrun.init kvrun.agent.log=debug";
  EXPECT_EQ(cmdline_value(cmdline, "init"), std::nullopt);
  EXPECT_EQ(cmdline_value(cmdline, "agent.log"), "debug");
}

TEST(KernelCmdline, EmptyValueIsAValue) {
  EXPECT_EQ(cmdline_value("kvrun.init= quiet", "init"), "");
  EXPECT_EQ(cmdline_value("", "init"), std::nullopt);
}

}  // namespace
}  // namespace kvrun::agent
