#!/bin/bash
# Builds a one-layer busybox image as a docker-archive (what `docker save` writes and
# `podman load` reads) without any registry: a layer tar holding busybox-static and its applet
# links, the image config, manifest.json and repositories, with sha256sum digests.
# Usage: make-busybox-archive.sh OUT.tar TAG   (TAG e.g. localhost/kvrun-busybox:latest)
set -euo pipefail
out=${1:?usage: make-busybox-archive.sh OUT.tar TAG}
tag=${2:?usage: make-busybox-archive.sh OUT.tar TAG}
busybox=${BUSYBOX:-/bin/busybox}
file "$busybox" 2>/dev/null | grep -q "statically linked" ||
  ldd "$busybox" 2>&1 | grep -q "not a dynamic executable" ||
  { echo "make-busybox-archive: $busybox is not a static binary" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
rootfs=$work/rootfs
mkdir -p "$rootfs"/{bin,dev,etc,proc,sys,tmp,root,run}
cp "$busybox" "$rootfs/bin/busybox"
# One process for all applet links (a loop of ln takes minutes in a nested VM); chroot so that
# they point at /bin/busybox as the container sees it.
chroot "$rootfs" /bin/busybox --install -s /bin
chmod 1777 "$rootfs/tmp"

archive=$work/archive
mkdir -p "$archive"
# Fixed owners and times: the same inputs give the same digests.
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$rootfs" -cf "$work/layer.tar" .
layer=$(sha256sum "$work/layer.tar" | cut -d' ' -f1)
mkdir "$archive/$layer"
mv "$work/layer.tar" "$archive/$layer/layer.tar"
printf '{"architecture":"amd64","os":"linux","config":{"Env":["PATH=/bin"],"Cmd":["sh"]},' \
  >"$work/config.json"
printf '"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' "$layer" >>"$work/config.json"
config=$(sha256sum "$work/config.json" | cut -d' ' -f1)
mv "$work/config.json" "$archive/$config.json"
printf '[{"Config":"%s.json","RepoTags":["%s"],"Layers":["%s/layer.tar"]}]' \
  "$config" "$tag" "$layer" >"$archive/manifest.json"
printf '{"%s":{"%s":"%s"}}' "${tag%:*}" "${tag##*:}" "$layer" >"$archive/repositories"
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$archive" -cf "$out" .
