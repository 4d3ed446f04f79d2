#!/usr/bin/env bash
# Checks that the changed lines of C and C++ files are as clang-format (.clang-format at the
# root) would write them, and prints the changes it would make. Only changed lines: much of the
# older code is not formatted whole, and nobody reformats lines they did not write.
#
# "Changed" means the diff from BASE to the working tree: the last commit and whatever is not
# committed yet (new files once added to the index). BASE is $KVRUN_FORMAT_BASE if set (say, the
# commit before a series), else HEAD~1. That needs only the checkout's own history, so it works
# on a clean CI checkout of main; one without a parent commit (a shallow clone, no git) has
# nothing to compare with, and the check says so in one line and passes.
#
# Usage: scripts/check-format.sh          Exit status: 0 formatted (or nothing to check), 1 not.
# To fix: git diff -U0 HEAD~1 | clang-format-diff-14 -p1 -i
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
me=check-format

format_diff=$(command -v clang-format-diff ||
  find /usr/bin -maxdepth 1 -name 'clang-format-diff-*' | sort -V | tail -n 1)
[[ -n $format_diff ]] || { echo "$me: clang-format-diff not found (apt-get install clang-format)" >&2; exit 1; }

base=${KVRUN_FORMAT_BASE:-HEAD~1}
if ! why=$(git rev-parse --verify --quiet "$base^{commit}" 2>&1 >/dev/null); then
  [[ -z ${KVRUN_FORMAT_BASE:-} ]] || { echo "$me: no commit $base${why:+ ($why)}" >&2; exit 1; }
  echo "$me: nothing to compare with (${why:-no commit before HEAD}); not checked"
  exit 0
fi
changes=$(git diff -U0 --no-color --no-ext-diff --src-prefix=a/ --dst-prefix=b/ "$base" -- |
  "$format_diff" -p1 -iregex '.*\.(c|cc|cpp|cxx|h|hh|hpp)')
if [[ -n $changes ]]; then
  printf '%s\n' "$changes"
  echo "$me: changed lines since $base are not clang-formatted (above: what clang-format wants)"
  exit 1
fi
echo "$me: changed lines since $base are clang-formatted"
