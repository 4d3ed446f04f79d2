#!/usr/bin/env bash
# Configures and builds kvrun into build/ (Release, warnings as errors): every target, or only
# the targets named (scripts/build.sh kvrun kvrun-vmm).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${KVRUN_BUILD_DIR:-$repo/build}
cmake -S "$repo" -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKVRUN_WERROR=ON >/dev/null
targets=()
(($# == 0)) || targets=(--target "$@")
cmake --build "$build_dir" -j"$(nproc)" "${targets[@]}"
