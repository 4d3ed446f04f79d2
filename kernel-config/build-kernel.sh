#!/usr/bin/env bash
# Builds the kvrun guest kernel (vmlinux and bzImage) from Debian's linux-source-6.1, our
# config fragment and our patches, into a cache outside the checkout:
#
#   ${KVRUN_CACHE_DIR:-/var/cache/kvrun}/kernel/<key>/{vmlinux,bzImage,config,build.log}
#
# <key> is the sha256 of the build recipe version, the linux-source package version, the
# fragment and every kernel-config/patches/*.patch (name and content). A cached kernel is
# reused as is, so a second run with nothing changed only prints the path.
#
# The vmlinux path is the last line of stdout:   vmlinux=$(kernel-config/build-kernel.sh | tail -1)
# Progress and errors go to stderr.
#
# Usage: build-kernel.sh [--print-path] [--verbose] [--keep-build]
#   --print-path  print where the vmlinux is (or would be) without building; exit 1 if not built
#   --verbose     stream kernel build output to stderr (always kept in build.log)
#   --keep-build  keep the temporary source/build tree (printed on stderr)
# Environment: KVRUN_CACHE_DIR (default /var/cache/kvrun), TMPDIR for the build tree.
set -euo pipefail

# Bump when the steps below change what gets built from the same inputs.
readonly recipe_version=1
readonly source_package=linux-source-6.1
readonly source_tarball=/usr/src/linux-source-6.1.tar.xz

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly here
readonly fragment=$here/microvm.config
readonly patch_dir=$here/patches

log() { echo "build-kernel: $*" >&2; }
die() {
  echo "build-kernel: error: $*" >&2
  exit 1
}

print_path=0
verbose=0
keep_build=0
for arg in "$@"; do
  case $arg in
    --print-path) print_path=1 ;;
    --verbose) verbose=1 ;;
    --keep-build) keep_build=1 ;;
    -h | --help)
      sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"
      exit 0
      ;;
    *) die "unknown argument '$arg' (see --help)" ;;
  esac
done

[[ -r $fragment ]] || die "config fragment $fragment is missing"
source_version=$(dpkg-query -W -f='${Version}' "$source_package" 2>/dev/null) ||
  die "package $source_package is not installed (run scripts/setup.sh)"
[[ -n $source_version ]] || die "package $source_package is not installed (run scripts/setup.sh)"

shopt -s nullglob
patches=("$patch_dir"/*.patch)
shopt -u nullglob

# Every input is framed by its name and length so that no two input sets hash alike.
key_material() {
  printf 'kvrun-guest-kernel recipe %s\n' "$recipe_version"
  printf 'source %s %s\n' "$source_package" "$source_version"
  local f
  for f in "$fragment" "${patches[@]}"; do
    printf 'file %s %s\n' "${f#"$here"/}" "$(stat -c %s "$f")"
    cat "$f"
  done
}
key=$(key_material | sha256sum | cut -d' ' -f1)

cache_root=${KVRUN_CACHE_DIR:-/var/cache/kvrun}/kernel
out_dir=$cache_root/$key
vmlinux=$out_dir/vmlinux

if ((print_path)); then
  echo "$vmlinux"
  [[ -f $vmlinux ]] || exit 1
  exit 0
fi

if [[ -f $vmlinux ]]; then
  log "cached kernel $key"
  echo "$vmlinux"
  exit 0
fi

mkdir -p "$cache_root" 2>/dev/null || die "cannot create cache dir $cache_root (set KVRUN_CACHE_DIR)"
[[ -w $cache_root ]] || die "cache dir $cache_root is not writable (set KVRUN_CACHE_DIR)"

# One builder at a time per cache; whoever waited finds the finished kernel.
exec {lock_fd}>"$cache_root/.lock"
if ! flock -n "$lock_fd"; then
  log "another build holds $cache_root/.lock, waiting"
  flock "$lock_fd"
fi
if [[ -f $vmlinux ]]; then
  log "cached kernel $key (built while waiting)"
  echo "$vmlinux"
  exit 0
fi

for tool in make gcc flex bison bc patch xz perl sha256sum; do
  command -v "$tool" >/dev/null || die "'$tool' not found (run scripts/setup.sh)"
done
[[ -r $source_tarball ]] || die "$source_tarball is missing (reinstall $source_package)"
[[ -r /usr/include/libelf.h ]] || die "libelf headers not found; objtool needs libelf-dev"

build_dir=$(mktemp -d "${TMPDIR:-/tmp}/kvrun-kernel.XXXXXX")
stage_dir=$cache_root/.tmp.$key.$$
cleanup() {
  rm -rf "$stage_dir"
  if ((keep_build)); then
    log "build tree kept at $build_dir"
  else
    rm -rf "$build_dir"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

build_log=$build_dir/build.log
# Runs a build step with its output in build.log; on failure shows the end of the log.
step() {
  local what=$1
  shift
  log "$what"
  local rc=0
  if ((verbose)); then
    "$@" 2>&1 | tee -a "$build_log" >&2 || rc=$?
  else
    "$@" >>"$build_log" 2>&1 || rc=$?
  fi
  if ((rc != 0)); then
    tail -n 40 "$build_log" >&2
    keep_build=1
    die "$what failed (exit $rc); full log: $build_log"
  fi
}

start=$SECONDS
log "building kernel $key from $source_package $source_version in $build_dir"
step "unpacking $source_tarball" tar -C "$build_dir" -xJf "$source_tarball"
src=$build_dir/$(basename "$source_tarball" .tar.xz)
[[ -d $src ]] || die "$source_tarball did not unpack to $(basename "$src")/"

cd "$src"
for p in "${patches[@]}"; do
  step "applying patches/$(basename "$p")" patch -p1 --forward --batch -i "$p"
done

export KBUILD_BUILD_USER=kvrun KBUILD_BUILD_HOST=kvrun
jobs=$(nproc)
step "configuring: allnoconfig + $(basename "$fragment")" make allnoconfig
step "merging $(basename "$fragment")" scripts/kconfig/merge_config.sh -m .config "$fragment"
step "resolving dependencies" make olddefconfig
if ! "$here/check-config.sh" "$fragment" .config; then
  keep_build=1
  die "config check failed: the options above did not stick (tree: $src)"
fi

step "compiling vmlinux and bzImage with -j$jobs (log: $build_log)" \
  nice -n 10 make -j"$jobs" vmlinux bzImage

mkdir "$stage_dir"
cp vmlinux "$stage_dir/vmlinux"
cp arch/x86/boot/bzImage "$stage_dir/bzImage"
cp .config "$stage_dir/config"
cp "$build_log" "$stage_dir/build.log"
mv -T "$stage_dir" "$out_dir" || die "cannot move $stage_dir to $out_dir"

log "built in $((SECONDS - start))s: vmlinux $(stat -c %s "$vmlinux") bytes," \
  "bzImage $(stat -c %s "$out_dir/bzImage") bytes"
echo "$vmlinux"
