// gtest assertions on a finished kvrun-vmm run that print its output when they fail.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "tests/vm/child_process.h"

namespace kvrun::test {

// Everything a reader needs to see why a VM run did not do what the test expected.
inline std::string transcript(const ChildProcess& vm) {
  return "\n--- how it ended: " + (vm.status() ? vm.status()->describe() : "still running") +
         "\n--- stdout (guest serial):\n" + vm.stdout_text() + "\n--- stderr:\n" +
         vm.stderr_text() + "\n---";
}

inline ::testing::AssertionResult exited_with(const ChildProcess& vm, int code) {
  if (vm.status() && vm.status()->exited && vm.status()->code == code)
    return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "expected exit status " << code << transcript(vm);
}

inline ::testing::AssertionResult stdout_has(const ChildProcess& vm, const std::string& text) {
  if (vm.stdout_text().find(text) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "expected on stdout: \"" << text << "\"" << transcript(vm);
}

inline ::testing::AssertionResult stderr_has(const ChildProcess& vm, const std::string& text) {
  if (vm.stderr_text().find(text) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "expected on stderr: \"" << text << "\"" << transcript(vm);
}

}  // namespace kvrun::test
