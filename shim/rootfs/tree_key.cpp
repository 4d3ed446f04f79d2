#include "shim/rootfs/tree_key.h"

namespace kvrun::rootfs {
namespace {

// One byte per record kind, so that a type change alone changes the key.
enum Tag : char {
  kDirectory = 'd',
  kEndOfDirectory = 'e',
  kFile = 'f',
  kSymlink = 'l',
  kCharDevice = 'c',
  kBlockDevice = 'b',
  kFifo = 'p',
  kSocket = 's',
  kHardLink = 'h',
};

char special_tag(mode_t mode) {
  if (S_ISLNK(mode)) return kSymlink;
  if (S_ISCHR(mode)) return kCharDevice;
  if (S_ISBLK(mode)) return kBlockDevice;
  if (S_ISFIFO(mode)) return kFifo;
  return kSocket;
}

}  // namespace

TreeHasher::TreeHasher(std::string_view salt) { bytes(salt); }

std::string TreeHasher::key() { return Sha256::hex(tree_.finish()); }

void TreeHasher::u64(std::uint64_t value) {
  unsigned char le[8];
  for (int i = 0; i < 8; ++i) le[i] = static_cast<unsigned char>(value >> (8 * i));
  tree_.update(le, sizeof le);
}

void TreeHasher::bytes(std::string_view value) {
  u64(value.size());
  tree_.update(value);
}

void TreeHasher::head(char tag, const TreeEntry& entry, bool with_mtime) {
  tree_.update(&tag, 1);
  bytes(entry.name);
  u64(entry.st.st_mode);
  u64(entry.st.st_uid);
  u64(entry.st.st_gid);
  u64(with_mtime ? static_cast<std::uint64_t>(entry.st.st_mtim.tv_sec) : 0);
  u64(with_mtime ? static_cast<std::uint64_t>(entry.st.st_mtim.tv_nsec) : 0);
  u64(entry.xattrs.size());
  for (const auto& [name, value] : entry.xattrs) {
    bytes(name);
    bytes(value);
  }
}

void TreeHasher::enter_directory(const TreeEntry& entry) { head(kDirectory, entry, false); }

void TreeHasher::leave_directory(const TreeEntry&) {
  char tag = kEndOfDirectory;
  tree_.update(&tag, 1);
}

void TreeHasher::begin_file(const TreeEntry&) { file_ = Sha256(); }

void TreeHasher::file_data(std::span<const char> chunk) {
  file_.update(chunk.data(), chunk.size());
}

void TreeHasher::end_file(const TreeEntry& entry, std::uint64_t bytes_read) {
  head(kFile, entry, bytes_read != 0);
  u64(bytes_read);
  file_bytes_ += bytes_read;
  auto digest = file_.finish();
  tree_.update(digest.data(), digest.size());
}

void TreeHasher::special(const TreeEntry& entry) {
  char tag = special_tag(entry.st.st_mode);
  head(tag, entry, true);
  if (tag == kSymlink) bytes(entry.link_target);
  if (tag == kCharDevice || tag == kBlockDevice) u64(entry.st.st_rdev);
}

void TreeHasher::hard_link(std::string_view name, std::string_view, std::string_view first_path) {
  char tag = kHardLink;
  tree_.update(&tag, 1);
  bytes(name);
  bytes(first_path);
}

std::string tree_key(const std::filesystem::path& root, std::string_view salt) {
  TreeHasher hasher(salt);
  walk_tree(root, hasher);
  return hasher.key();
}

}  // namespace kvrun::rootfs
