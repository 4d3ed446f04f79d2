// A private copy of a rootfs tree, keyed by the very bytes that were written into it.
//
// Why a copy: mkfs.erofs reads the tree by path on its own, so keying the tree and building
// from it are two reads, and a tree that changes between them (or changes and changes back)
// would leave an image under the key of content it does not hold: the next tenant whose tree
// has that key would run the other tenant's files. mkfs.erofs instead reads this copy, made
// inside the cache's private directory where only we write, and the image is stored under
// the key of the copy, hashed from the same reads that filled it. An image can therefore only
// ever sit under the key of its own content, whatever the source tree does meanwhile.
// The copy keeps what mkfs.erofs keeps: types, bytes, owners, modes (setuid bits included),
// xattrs, mtimes, symlink targets, device numbers, hard links.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace kvrun::rootfs {

// Copies the tree under root into the empty directory dest_fd and returns the copy's key
// (tree_key.h, same salt). Throws Error naming the entry that could not be read or written;
// the caller removes the partial copy.
std::string copy_tree(const std::filesystem::path& root, int dest_fd, std::string_view salt);

}  // namespace kvrun::rootfs
