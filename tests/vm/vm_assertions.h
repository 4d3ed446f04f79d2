// gtest assertions on a finished kvrun-vmm run that print its output when they fail.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "tests/support/child_process.h"

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

// Guest serial output with "\r\n" as "\n": Linux's console (tty ONLCR) ends lines with CRLF,
// the test guests with LF.
inline std::string serial_text(const ChildProcess& vm) {
  std::string text;
  const std::string& raw = vm.stdout_text();
  for (size_t i = 0; i < raw.size(); ++i)
    if (!(raw[i] == '\r' && i + 1 < raw.size() && raw[i + 1] == '\n')) text += raw[i];
  return text;
}

inline ::testing::AssertionResult stdout_has(const ChildProcess& vm, const std::string& text) {
  if (serial_text(vm).find(text) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "expected on stdout: \"" << text << "\"" << transcript(vm);
}

inline ::testing::AssertionResult stderr_has(const ChildProcess& vm, const std::string& text) {
  if (vm.stderr_text().find(text) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "expected on stderr: \"" << text << "\"" << transcript(vm);
}

}  // namespace kvrun::test
