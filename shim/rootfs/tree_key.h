// The cache key of a rootfs directory: SHA-256 over its metadata, not its contents.
//
// For every entry, in sorted path order: relative path, file type, mode, uid, gid, and
//   - regular files: size, and the mtime (ns) when the size is not zero;
//   - symlinks: the target; devices: the device number;
//   - directories: nothing more (their mtime only says entries changed, and every entry is
//     hashed itself).
// Why metadata: hashing contents reads the whole tree on every run, which is what the cache is
// there to avoid; package managers, `cp -a`, tar and image unpackers all keep size and mtime
// honest. The blind spot is an in-place rewrite keeping both size and mtime (`touch -r`), which
// `kvrun gc --all` (or a new mtime) resolves. Empty files and directory mtimes are left out so
// that mount points that podman creates fresh in every container's rootfs do not make each
// container miss the cache.
#pragma once

#include <filesystem>
#include <string>

namespace kvrun::rootfs {

// Hex SHA-256 (64 characters). `salt` separates image formats and builder versions.
// Throws Error naming the path that could not be read.
std::string tree_key(const std::filesystem::path& root, std::string_view salt);

}  // namespace kvrun::rootfs
