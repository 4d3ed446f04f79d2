#include "shim/rootfs/tree_key.h"

#include <dirent.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <memory>
#include <vector>

#include "common/error.h"
#include "common/unique_fd.h"

namespace kvrun::rootfs {
namespace {

class Sha256 {
 public:
  Sha256() : ctx_(EVP_MD_CTX_new(), EVP_MD_CTX_free) {
    if (!ctx_ || EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr) != 1)
      throw Error("sha256: cannot initialise");
  }
  void update(std::string_view bytes) {
    // Every record ends in a NUL so that field boundaries cannot be shifted between records.
    EVP_DigestUpdate(ctx_.get(), bytes.data(), bytes.size());
    EVP_DigestUpdate(ctx_.get(), "", 1);
  }
  std::string hex() {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    EVP_DigestFinal_ex(ctx_.get(), digest, &size);
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string text;
    for (unsigned i = 0; i < size; ++i) {
      text += kDigits[digest[i] >> 4];
      text += kDigits[digest[i] & 15];
    }
    return text;
  }

 private:
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx_;
};

std::string record(const std::string& path, const struct stat& st, int dir_fd, const char* name) {
  std::string text = path;
  text += '|' + std::to_string(st.st_mode) + '|' + std::to_string(st.st_uid) + '|' +
          std::to_string(st.st_gid);
  if (S_ISREG(st.st_mode)) {
    text += '|' + std::to_string(st.st_size);
    if (st.st_size != 0) {
      text += '|' + std::to_string(st.st_mtim.tv_sec) + '.' + std::to_string(st.st_mtim.tv_nsec);
    }
  } else if (S_ISLNK(st.st_mode)) {
    std::vector<char> target(static_cast<std::size_t>(st.st_size) + 1);
    ssize_t n = ::readlinkat(dir_fd, name, target.data(), target.size());
    if (n < 0) throw_errno("readlink " + path);
    text += '|' + std::string(target.data(), static_cast<std::size_t>(n));
  } else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
    text += '|' + std::to_string(major(st.st_rdev)) + ':' + std::to_string(minor(st.st_rdev));
  }
  return text;
}

void walk(int dir_fd, const std::string& path, Sha256& hash) {
  int dup_fd = ::dup(dir_fd);
  if (dup_fd < 0) throw_errno("dup");
  struct CloseDir {
    void operator()(DIR* d) const { ::closedir(d); }
  };
  std::unique_ptr<DIR, CloseDir> dir(::fdopendir(dup_fd));
  if (!dir) {
    ::close(dup_fd);
    throw_errno("opendir " + path);
  }
  std::vector<std::string> names;
  while (dirent* entry = ::readdir(dir.get())) {
    std::string_view name = entry->d_name;
    if (name != "." && name != "..") names.emplace_back(name);
  }
  std::sort(names.begin(), names.end());
  for (const auto& name : names) {
    std::string child = path + "/" + name;
    struct stat st {};
    if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
      throw_errno("stat " + child);
    hash.update(record(child, st, dir_fd, name.c_str()));
    if (S_ISDIR(st.st_mode)) {
      UniqueFd sub(::openat(dir_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!sub) throw_errno("open " + child);
      walk(sub.get(), child, hash);
    }
  }
}

}  // namespace

std::string tree_key(const std::filesystem::path& root, std::string_view salt) {
  UniqueFd fd(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) throw_errno("open rootfs " + root.string());
  Sha256 hash;
  hash.update(salt);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) throw_errno("stat " + root.string());
  hash.update(record("", st, fd.get(), ""));
  walk(fd.get(), "", hash);
  return hash.hex();
}

}  // namespace kvrun::rootfs
