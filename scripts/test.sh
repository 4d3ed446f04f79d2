#!/usr/bin/env bash
# Installs what kvrun needs, builds it, builds the guest kernel (cached) and runs every test.
#
# Test labels: unit (no root, no KVM), root (agent containers, as root), tcg (boots our kernel
# under QEMU's emulator), kvm (runs kvrun-vmm on /dev/kvm), linux (kvrun-vmm boots our kernel).
# Where /dev/kvm cannot be opened, the kvm/linux tests run inside a nested VM that has one
# (scripts/with-nested-kvm.sh) if that works here; otherwise a banner names each of them as NOT
# RUN and the script fails. Where /dev/kvm is PVM (docs/machine.md), the kvm tests (our test
# guests) run on it and the linux ones nested: PVM emulates an unmodified Linux guest so slowly
# that it does not reach init in minutes.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${KVRUN_BUILD_DIR:-$repo/build}

"$repo/scripts/setup.sh"
# The changed lines' formatting first (scripts/check-format.sh says what "changed" is): it
# takes a second, and a failure fails the script at the end, after all the tests have run.
format_ok=1
"$repo/scripts/check-format.sh" || format_ok=0
# shellcheck disable=SC2317 # the EXIT trap calls it
format_verdict() {
  local status=$?
  if ((!format_ok)); then
    echo "test: FAILED: changed lines are not clang-formatted (scripts/check-format.sh, above)"
    ((status)) || status=1
  fi
  exit "$status"
}
trap 'format_verdict' EXIT
KVRUN_BUILD_DIR=$build_dir "$repo/scripts/build.sh"
KVRUN_KERNEL=$("$repo/kernel-config/build-kernel.sh" | tail -n 1)
export KVRUN_KERNEL

cd "$build_dir"
ctest_args=(--output-on-failure --no-tests=error)
# shellcheck source=scripts/kvm-host.sh
source "$repo/scripts/kvm-host.sh"

# Host tests first (unit, root, tcg), then a short libFuzzer run of every fuzz target.
ctest "${ctest_args[@]}" -LE 'kvm|linux'
"$repo/scripts/fuzz.sh" "${KVRUN_FUZZ_SECONDS:-15}"

nested_labels='kvm|linux'
verdict=0
if kvm_error=$(kvm_runs_linux); then
  ctest "${ctest_args[@]}" -L 'kvm|linux'
  exit
fi
if kvm_usable >/dev/null; then # PVM: our test guests run on it, Linux guests go nested
  echo "test: /dev/kvm is KVM's PVM backend: kvm tests run on it, linux tests in a nested VM"
  ctest "${ctest_args[@]}" -L kvm -LE linux || verdict=$?
  nested_labels=linux
fi

nested=$repo/scripts/with-nested-kvm.sh
# The emulated L1 VM sometimes stops making progress (see docs/nested-kvm.md), at a different
# test each time. So each test suite gets a nested boot of its own (about 15 s each), a stall
# is recognised by silence (ctest prints a line per test; no nested test takes 5 minutes), and
# an L1 failure (124/125, never a test's verdict) boots it again, up to three times. A stalled
# L2 guest inside a running L1 looks like a failed test instead (seen once in AgentInVm, which
# then passed 6 times in a row), so a failed suite gets one fresh boot more, and a pass there
# is printed as FLAKY.
nested_args=(--idle-timeout 300 --timeout 1500)
# L1's own /tmp keeps the tests' temporary files off the 9p share, which made hangs rarer; it
# hides the host's /tmp, so only when the build is elsewhere.
[[ $build_dir == /tmp/* ]] || nested_args+=(--private-tmp)
run_suite_once() { # run_suite_once <suite>; up to three nested boots when L1 itself fails
  local status attempt
  for attempt in 1 2 3; do
    status=0
    "$nested" "${nested_args[@]}" -- ctest "${ctest_args[@]}" -L "$nested_labels" -R "^$1(\.|\$)" ||
      status=$?
    if [[ $status -ne 124 && $status -ne 125 ]] || ((attempt == 3)); then return "$status"; fi
    echo "test: the nested VM failed (status $status); running suite $1 again"
  done
}
run_suite() { # run_suite <suite>; a failed suite runs once more in a fresh nested boot
  local status=0
  run_suite_once "$1" || status=$?
  if ((status == 0 || status == 124 || status == 125)); then return "$status"; fi
  echo "test: suite $1 failed in the nested VM (status $status); once more in a fresh boot"
  status=0
  run_suite_once "$1" || status=$?
  ((status != 0)) || echo "test: FLAKY: suite $1 failed once, then passed in a fresh nested boot"
  return "$status"
}
if [[ -x $nested ]] && "$nested" --timeout 300 --probe; then
  echo "test: /dev/kvm unusable here (${kvm_error}); running $nested_labels tests in a nested VM"
  # A suite is what comes before the first dot of a test name (a binary run as one test, such as
  # ContainerdVmTest, has none).
  mapfile -t suites < <(ctest -N -L "$nested_labels" |
    sed -n 's/^ *Test *#[0-9]*: \([A-Za-z0-9_]*\).*/\1/p' | awk '!seen[$0]++')
  for suite in "${suites[@]}"; do
    echo "test: nested: suite $suite"
    run_suite "$suite" || verdict=$?
  done
  exit "$verdict"
fi

cat <<BANNER
=====================================================================================
 test: /dev/kvm unusable here (${kvm_error:-not present}); the tests that need KVM
 did NOT run on this machine. They are:
$(ctest -N -L "$nested_labels" | sed -n 's/^ *Test *#[0-9]*: /   /p')
=====================================================================================
BANNER
exit 1
