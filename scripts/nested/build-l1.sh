#!/usr/bin/env bash
# Builds (or reuses from cache) the L1 guest used by scripts/with-nested-kvm.sh:
# Debian's stock kernel (which ships kvm.ko/kvm-amd.ko as modules) plus a tiny
# busybox initramfs that loads KVM and 9p, mounts the host root and runs a job.
#
# Usage: build-l1.sh            -> prints "<kernel> <initramfs>" on stdout
#                                  (kernel: PVH-bootable vmlinux, else vmlinuz)
# Env:   KVRUN_CACHE_DIR         cache root (default /var/cache/kvrun)
#        KVRUN_NESTED_KERNEL     Debian kernel flavour+ABI, e.g. 6.1.0-56-amd64
#                                (default: what linux-image-amd64 depends on,
#                                or the newest one already in the cache)
set -euo pipefail

here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
cache_root=${KVRUN_CACHE_DIR:-/var/cache/kvrun}/nested

die() { echo "build-l1: $*" >&2; exit 1; }
log() { echo "build-l1: $*" >&2; }

for tool in cpio dpkg-deb sha256sum; do
  command -v "$tool" >/dev/null || die "missing tool '$tool' (apt-get install cpio dpkg)"
done
busybox=${KVRUN_BUSYBOX:-/bin/busybox}
[[ -x $busybox ]] || die "missing $busybox (apt-get install busybox-static)"
file_out=$(LC_ALL=C readelf -d "$busybox" 2>/dev/null || true)
if grep -q NEEDED <<<"$file_out"; then
  die "$busybox is dynamically linked; install busybox-static"
fi

mkdir -p "$cache_root"

# --- pick the kernel ---------------------------------------------------------
# Default: the newest kernel already in the cache (stable and offline); with
# none cached, or KVRUN_NESTED_KERNEL=latest, what linux-image-amd64 depends on.
kver=${KVRUN_NESTED_KERNEL:-}
if [[ -z $kver ]]; then
  kver=$(find "$cache_root" -mindepth 2 -maxdepth 2 -name vmlinuz -printf '%h\n' |
         sed 's,.*/,,' | sort -V | tail -n1)
fi
if [[ -z $kver || $kver == latest ]]; then
  kver=$(apt-cache depends linux-image-amd64 2>/dev/null |
         sed -n 's/^ *Depends: linux-image-\(6[^ ]*-amd64\)$/\1/p' | head -n1 || true)
fi
[[ -n $kver ]] || die "cannot determine a Debian kernel (apt-cache depends linux-image-amd64 gave nothing; run apt-get update or set KVRUN_NESTED_KERNEL)"
[[ $kver != *cloud* && $kver != *rt* ]] || log "warning: $kver is not the generic flavour"

kdir=$cache_root/$kver
mkdir -p "$kdir"
exec 9>"$kdir/.lock"
flock 9

# --- fetch + unpack the kernel package (once) --------------------------------
# The module subtrees kept from the package; a cache holding other ones is unpacked again.
module_subtrees="arch/x86 fs net virt drivers/virtio drivers/crypto drivers/char lib crypto"
# Single modules from large subtrees (the VM tests' tap and veth devices).
module_files="drivers/net/tun drivers/net/veth"
if [[ ! -s $kdir/vmlinuz || ! -d $kdir/modules ||
      $(cat "$kdir/modules/.subtrees" 2>/dev/null) != "$module_subtrees $module_files" ]]; then
  work=$(mktemp -d "$kdir/.unpack.XXXXXX")
  trap 'rm -rf -- "$work"' EXIT
  deb=$(ls /var/cache/apt/archives/linux-image-"$kver"_*_amd64.deb 2>/dev/null | tail -n1 || true)
  if [[ -z $deb ]]; then
    log "downloading linux-image-$kver (apt-get download)"
    (cd "$work" && apt-get download "linux-image-$kver" >&2) ||
      die "apt-get download linux-image-$kver failed (run apt-get update?)"
    deb=$(ls "$work"/linux-image-"$kver"_*_amd64.deb)
  fi
  dpkg-deb -x "$deb" "$work/root"
  moddir=$work/root/lib/modules/$kver
  [[ -d $moddir ]] || die "$deb has no lib/modules/$kver"
  grep -q '^CONFIG_KVM_AMD=[my]' "$work/root/boot/config-$kver" ||
    die "$kver is built without CONFIG_KVM_AMD"
  rm -rf -- "$kdir/modules"
  mkdir -p "$kdir/modules.tmp"
  # The full module tree is ~400 MB; keep only the subtrees the resolver
  # below may need.
  (cd "$moddir/kernel" &&
   # shellcheck disable=SC2086 # lists of paths
   { find $module_subtrees -name '*.ko*' -print0 2>/dev/null
     for f in $module_files; do find "${f%/*}" -maxdepth 1 -name "${f##*/}.ko*" -print0; done
   } | cpio -0 -pdm --quiet "$kdir/modules.tmp")
  echo "$module_subtrees $module_files" >"$kdir/modules.tmp/.subtrees"
  cp "$work/root/boot/config-$kver" "$kdir/config"
  cp "$moddir/modules.builtin" "$kdir/modules.builtin"
  cp "$work/root/boot/vmlinuz-$kver" "$kdir/vmlinuz.tmp"
  mv "$kdir/modules.tmp" "$kdir/modules"
  mv "$kdir/vmlinuz.tmp" "$kdir/vmlinuz"
  rm -rf -- "$work"
  trap - EXIT
fi

# --- uncompressed ELF vmlinux for PVH boot ------------------------------------
# Under TCG, SeaBIOS + the bzImage's own XZ decompressor cost ~4 s per boot;
# QEMU boots an ELF vmlinux with a PVH note directly (~1 s). Kept next to
# vmlinuz; if the extraction fails we boot the bzImage.
if [[ ! -e $kdir/vmlinux && ! -e $kdir/vmlinux.none ]]; then
  boot_kernel=$kdir/vmlinuz
  if grep -q '^CONFIG_PVH=y' "$kdir/config" && command -v xz >/dev/null; then
    off=$(LC_ALL=C grep -abo $'\xfd7zXZ\x00' "$kdir/vmlinuz" | head -n1 | cut -d: -f1 || true)
    if [[ -n $off ]] &&
       # (tail may die of SIGPIPE once xz has read the one stream it needs)
       (set +o pipefail; tail -c +$((off + 1)) "$kdir/vmlinuz" |
        xz -dc --single-stream >"$kdir/vmlinux.tmp" 2>/dev/null) &&
       [[ $(head -c 4 "$kdir/vmlinux.tmp" | od -An -tx1 | tr -d ' ') == 7f454c46 ]]; then
      mv "$kdir/vmlinux.tmp" "$kdir/vmlinux"
    fi
  fi
  rm -f "$kdir/vmlinux.tmp"
  [[ -e $kdir/vmlinux ]] || { log "no PVH vmlinux extracted; booting the bzImage (slower)"; : >"$kdir/vmlinux.none"; }
fi
boot_kernel=$kdir/vmlinuz
[[ -s $kdir/vmlinux ]] && boot_kernel=$kdir/vmlinux

# --- fast path: initramfs already built from the same inputs ----------------
key=$( {
  echo "$kver"
  sha256sum "$here/init" "$busybox" "${BASH_SOURCE[0]}" | cut -d' ' -f1
} | sha256sum | cut -c1-16)
img=$kdir/initramfs-$key.cpio
if [[ -s $img ]]; then
  echo "$boot_kernel $img"
  exit 0
fi

# --- resolve module load order -----------------------------------------------
declare -A modpath=()
while IFS= read -r -d '' f; do
  b=${f##*/}; b=${b%%.ko*}; b=${b//-/_}
  modpath[$b]=$f
done < <(find "$kdir/modules" -name '*.ko*' -print0)

mod_deps() { # prints the depends= list of a module file (compressed or not)
  local f=$1
  case $f in
    *.ko.xz)  xz -dc -- "$f" ;;
    *.ko.zst) zstd -dc -- "$f" ;;
    *.ko.gz)  gzip -dc -- "$f" ;;
    *)        cat -- "$f" ;;
  esac | grep -a -o 'depends=[^[:cntrl:]]*' | head -n1 | sed 's/^depends=//; s/,/ /g'
}

declare -A seen=()
order=()
visit() {
  local m=${1//-/_} d
  [[ -n ${seen[$m]:-} ]] && return 0
  seen[$m]=1
  [[ -n ${modpath[$m]:-} ]] || {
    # Built into the kernel?  Then nothing to load.
    grep -qE "/${m//_/[-_]}\.ko$" "$kdir/modules.builtin" && return 0
    die "module $m not found in $kver"
  }
  for d in $(mod_deps "${modpath[$m]}"); do visit "$d"; done
  order+=("$m")
}
# The init script treats these groups separately: transport first, KVM last,
# so that a KVM failure can still be reported through the 9p share.
base_mods=(virtio_pci 9pnet_virtio 9p)
# tun and veth: VM tests put a tap (and benchmarks a veth pair) in a network namespace;
# ingress qdisc, u32 filter and mirred action: kvrun mirrors a container's veth to its tap.
# overlay: containerd's default snapshotter in the containerd end-to-end tests.
# bridge and the iptables-nft matches/targets: podman's default CNI network (bridge, ipMasq,
# firewall and portmap plugins) in the podman end-to-end tests; libcrc32c (conntrack needs it)
# only names its crc32c implementation as a soft dependency.
kvm_mods=(kvm_amd tun veth sch_ingress cls_u32 act_mirred overlay
  bridge crc32c_generic nft_compat nft_chain_nat xt_MASQUERADE xt_comment xt_conntrack xt_addrtype
  xt_multiport xt_mark xt_tcpudp xt_nat)
for m in "${base_mods[@]}"; do visit "$m"; done
n_base=${#order[@]}
for m in "${kvm_mods[@]}"; do visit "$m"; done

# --- initramfs ---------------------------------------------------------------
log "building initramfs for $kver (${order[*]})"
stage=$(mktemp -d "$kdir/.stage.XXXXXX")
trap 'rm -rf -- "$stage"' EXIT
mkdir -p "$stage"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,host,tmp,run,lib/modules}
cp "$busybox" "$stage/bin/busybox"
cp "$here/init" "$stage/init"
chmod 0755 "$stage/init" "$stage/bin/busybox"
ln -s busybox "$stage/bin/sh"
: >"$stage/lib/modules/base.list"
: >"$stage/lib/modules/kvm.list"
i=0
for m in "${order[@]}"; do
  f=${modpath[$m]}
  case $f in
    *.ko.xz)  xz -dc -- "$f" >"$stage/lib/modules/$m.ko" ;;
    *.ko.zst) zstd -dc -- "$f" >"$stage/lib/modules/$m.ko" ;;
    *.ko.gz)  gzip -dc -- "$f" >"$stage/lib/modules/$m.ko" ;;
    *)        cp -- "$f" "$stage/lib/modules/$m.ko" ;;
  esac
  if ((i < n_base)); then echo "$m" >>"$stage/lib/modules/base.list"
  else echo "$m" >>"$stage/lib/modules/kvm.list"; fi
  i=$((i + 1))
done
(cd "$stage" && find . -print0 | LC_ALL=C sort -z |
 cpio -0 -o -H newc --quiet -R 0:0) >"$img.tmp.$$"
mv "$img.tmp.$$" "$img"
rm -rf -- "$stage"
trap - EXIT
# Drop stale images built from older inputs.
find "$kdir" -maxdepth 1 -name 'initramfs-*.cpio' ! -name "${img##*/}" -delete

echo "$boot_kernel $img"
