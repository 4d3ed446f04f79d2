#!/usr/bin/env bash
# Installs everything kvrun needs on a fresh Debian 12 machine (run as root).
# Idempotent: a second run with everything present only checks.
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake pkg-config clang-format
  # libFuzzer targets (scripts/fuzz.sh): clang with its fuzzer and sanitizer runtimes
  clang libclang-rt-14-dev
  # vmm, agent and shared libraries
  linux-libc-dev nlohmann-json3-dev libspdlog-dev libcli11-dev libgtest-dev libgmock-dev
  libseccomp-dev
  # guest kernel build (kernel-config/build-kernel.sh)
  linux-source-6.1 flex bison bc libelf-dev libssl-dev xz-utils
  # guest initramfs and test images (busybox also runs the nested VM's /init)
  busybox-static cpio
  # container rootfs images (kvrun CLI), network namespaces, veth and tap devices in tests
  erofs-utils e2fsprogs iproute2 procps
  # peers for tests and benchmarks (QEMU microvm), QEMU TCG for tests where /dev/kvm is missing
  qemu-system-x86
  # engines that drive kvrun in end-to-end tests, and the runtimes it is benchmarked against
  podman conmon containerd runc crun
  # bench/containers draws its chart with gnuplot
  gnuplot-nox
  # containerd-shim-kvrun-v2: protoc and containerd's own .proto files
  protobuf-compiler libprotobuf-dev golang-github-containerd-containerd-dev
  # container networking (shim/network): links, addresses, routes and tc mirred over netlink;
  # podman's default bridge network
  libnl-3-dev libnl-route-3-dev containernetworking-plugins
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
echo "setup: all packages present"
