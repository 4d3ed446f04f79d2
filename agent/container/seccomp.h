// The spec's seccomp profile, compiled with libseccomp in the agent (so an unknown syscall name
// is reported before any process exists) and loaded by the child just before it gives up its
// privileges or execs.
#pragma once

#include <memory>

#include "spec/spec.h"

namespace kvrun::agent {

class SeccompFilter {
 public:
  // Throws Error naming the field of an unknown syscall, architecture or a rejected rule.
  static SeccompFilter compile(const spec::SeccompSpec& spec);

  SeccompFilter(SeccompFilter&&) noexcept;
  SeccompFilter& operator=(SeccompFilter&&) noexcept;
  ~SeccompFilter();

  // Installs the filter on the calling thread. Never sets no_new_privs on its own: that is the
  // spec's noNewPrivileges and nothing else.
  void load() const;

 private:
  struct Context;
  explicit SeccompFilter(std::unique_ptr<Context> context);
  std::unique_ptr<Context> context_;
};

}  // namespace kvrun::agent
