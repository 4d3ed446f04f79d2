// runc's "tmpcopyup": a tmpfs mounted over a directory of the image starts with that
// directory's files (podman's --tmpfs asks for it), instead of hiding them.
#pragma once

namespace kvrun::agent {

// Copies the tree below the directory `from` into the directory `to` (both open directory
// descriptors): directories, regular files, symlinks and FIFOs with their modes and owners.
// Nothing is followed: a symlink is copied as a symlink, so the image cannot make the agent
// read outside the rootfs. Device nodes and sockets are skipped. Throws Error naming the entry.
void copy_tree(int from, int to);

}  // namespace kvrun::agent
