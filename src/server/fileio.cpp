#include "server/fileio.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/openat2.h>
#include <pwd.h>
#include <sys/fsuid.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>

#include "util/unique_file.hpp"

namespace trex::server::fileio {
namespace {

// While alive, this thread's file system calls are checked as `user`. The
// raw setgroups syscall changes this thread only (glibc's wrapper would
// change every thread of trexd); setfsuid to a non-zero id drops the file
// capabilities (CAP_DAC_OVERRIDE, ...) until it is set back to 0.
class ActAs {
 public:
  explicit ActAs(const FsUser& u) : on_(u.switch_ids) {
    if (!on_) return;
    const int n = ::getgroups(0, nullptr);
    saved_.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
    if (n > 0) ::getgroups(n, saved_.data());
    ok_ = ::syscall(SYS_setgroups, u.groups.size(), u.groups.data()) == 0;
    ::setfsgid(u.gid);
    ::setfsuid(u.uid);
    ok_ = ok_ && static_cast<uid_t>(::setfsuid(static_cast<uid_t>(-1))) == u.uid &&
          static_cast<gid_t>(::setfsgid(static_cast<gid_t>(-1))) == u.gid;
  }
  ~ActAs() {
    if (!on_) return;
    ::setfsuid(::geteuid());
    ::setfsgid(::getegid());
    ::syscall(SYS_setgroups, saved_.size(), saved_.data());
  }
  ActAs(const ActAs&) = delete;
  ActAs& operator=(const ActAs&) = delete;
  bool ok() const { return !on_ || ok_; }

 private:
  bool on_;
  bool ok_ = false;
  std::vector<gid_t> saved_;
};

std::string errno_text(int err) {
  switch (err) {
    case ELOOP:
      return "a symbolic link is in the way (links are never followed)";
    case EXDEV:
      return "the path leaves the granted tree";
    default:
      return std::strerror(err);
  }
}

Error io_error(const std::string& what, const std::string& path, int err) {
  return make_error(what + " " + path + ": " + errno_text(err));
}

// openat2 beneath `dir`; on kernels without it, a walk that opens each
// folder with O_NOFOLLOW (a symlink fails with ELOOP or ENOTDIR).
int open_beneath(int dir, const std::string& rel, int flags, mode_t mode) {
  open_how how{};
  how.flags = static_cast<std::uint64_t>(flags | O_CLOEXEC | O_NOFOLLOW);
  how.mode = (flags & O_CREAT) != 0 ? mode : 0;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  const long fd = ::syscall(SYS_openat2, dir, rel.c_str(), &how, sizeof(how));
  if (fd >= 0 || errno != ENOSYS) return static_cast<int>(fd);
  util::UniqueFd cur(::fcntl(dir, F_DUPFD_CLOEXEC, 0));
  std::size_t start = 0;
  for (;;) {
    const std::size_t slash = rel.find('/', start);
    const std::string part = rel.substr(start, slash - start);
    if (part == ".." || part == "." || part.empty()) {
      errno = EXDEV;
      return -1;
    }
    if (slash == std::string::npos) {
      return ::openat(cur.get(), part.c_str(), flags | O_CLOEXEC | O_NOFOLLOW, mode);
    }
    util::UniqueFd next(
        ::openat(cur.get(), part.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!next) return -1;
    cur = std::move(next);
    start = slash + 1;
  }
}

std::string random_suffix() {
  unsigned char b[6];
  if (::getrandom(b, sizeof(b), 0) != static_cast<ssize_t>(sizeof(b))) {
    const auto t = static_cast<unsigned long>(::getpid()) ^ static_cast<unsigned long>(::clock());
    std::memcpy(b, &t, sizeof(b));
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : b) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

// The granted tree itself is the operator's path (symlinks in it are theirs).
Result<util::UniqueFd> open_tree(const std::string& tree) {
  util::UniqueFd fd(::open(tree.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return io_error("cannot open the granted folder", tree, errno);
  return fd;
}

}  // namespace

Result<FsUser> fs_user(const std::optional<std::string>& run_as) {
  passwd pw{};
  passwd* found = nullptr;
  std::vector<char> buf(16384);
  if (run_as) {
    ::getpwnam_r(run_as->c_str(), &pw, buf.data(), buf.size(), &found);
  } else {
    ::getpwuid_r(::geteuid(), &pw, buf.data(), buf.size(), &found);
  }
  if (found == nullptr) {
    if (!run_as) return FsUser{std::to_string(::geteuid()), ::geteuid(), ::getegid(), {}, false};
    return make_error("unknown user '" + *run_as + "'");
  }
  FsUser u{pw.pw_name, pw.pw_uid, pw.pw_gid, {}, false};
  if (u.uid == ::geteuid()) return u;
  if (::geteuid() != 0) {
    return make_error("cannot act as user '" + u.name + "': trexd does not run as root");
  }
  int n = 64;
  u.groups.resize(static_cast<std::size_t>(n));
  if (::getgrouplist(pw.pw_name, pw.pw_gid, u.groups.data(), &n) < 0) {
    u.groups.resize(static_cast<std::size_t>(n));
    ::getgrouplist(pw.pw_name, pw.pw_gid, u.groups.data(), &n);
  }
  u.groups.resize(static_cast<std::size_t>(n));
  u.switch_ids = true;
  return u;
}

Result<PutTarget> create_temp(const FsUser& user, const std::string& tree,
                              const std::string& beneath) {
  ActAs as(user);
  if (!as.ok()) return make_error("cannot act as user '" + user.name + "'");
  auto root = open_tree(tree);
  if (!root) return root.error();
  PutTarget t;
  const auto slash = beneath.rfind('/');
  t.name = slash == std::string::npos ? beneath : beneath.substr(slash + 1);
  const std::string folder = slash == std::string::npos ? "." : beneath.substr(0, slash);
  const std::string shown = tree + (tree == "/" ? "" : "/") + beneath;
  t.dir.reset(folder == "." ? ::openat(root->get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
                            : open_beneath(root->get(), folder, O_RDONLY | O_DIRECTORY, 0));
  if (!t.dir) return io_error("cannot open the folder of", shown, errno);
  struct stat st {};
  if (::fstatat(t.dir.get(), t.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
    if (S_ISDIR(st.st_mode))
      return make_error(shown + " is a folder (end the path with / to put into it)");
    if (!S_ISREG(st.st_mode)) return make_error(shown + " exists and is not a regular file");
  }
  for (int attempt = 0; attempt < 8 && !t.file; ++attempt) {
    t.temp = "." + t.name.substr(0, 200) + ".trex-" + random_suffix();
    t.file.reset(::openat(t.dir.get(), t.temp.c_str(),
                          O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!t.file && errno != EEXIST) break;
  }
  if (!t.file) return io_error("cannot create a temporary file beside", shown, errno);
  return t;
}

Status commit(const FsUser& user, PutTarget& t, unsigned mode,
              const std::optional<timespec>& times) {
  if (::fchmod(t.file.get(), mode & 07777) != 0)
    return io_error("cannot set the mode of", t.name, errno);
  if (times) {
    const timespec ts[2] = {*times, *times};
    if (::futimens(t.file.get(), ts) != 0)
      return io_error("cannot set the times of", t.name, errno);
  }
  if (::fsync(t.file.get()) != 0) return io_error("cannot write", t.name, errno);
  ActAs as(user);
  if (!as.ok()) return make_error("cannot act as user '" + user.name + "'");
  t.replaced.reset(::openat(t.dir.get(), t.name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
  if (::renameat(t.dir.get(), t.temp.c_str(), t.dir.get(), t.name.c_str()) != 0) {
    return io_error("cannot rename the temporary file over", t.name, errno);
  }
  t.temp.clear();
  ::fsync(t.dir.get());  // the rename itself reaches the disk
  return Status::success();
}

void abandon(const FsUser& user, PutTarget& t) {
  if (t.temp.empty() || !t.dir) return;
  ActAs as(user);
  ::unlinkat(t.dir.get(), t.temp.c_str(), 0);
  t.temp.clear();
}

Result<util::UniqueFd> open_for_get(const FsUser& user, const std::string& tree,
                                    const std::string& beneath, struct stat& st) {
  ActAs as(user);
  if (!as.ok()) return make_error("cannot act as user '" + user.name + "'");
  auto root = open_tree(tree);
  if (!root) return root.error();
  const std::string shown = tree + (tree == "/" ? "" : "/") + beneath;
  // O_NONBLOCK: opening a FIFO must not wait for a writer.
  util::UniqueFd fd(open_beneath(root->get(), beneath, O_RDONLY | O_NONBLOCK, 0));
  if (!fd) return io_error("cannot open", shown, errno);
  if (::fstat(fd.get(), &st) != 0) return io_error("cannot stat", shown, errno);
  if (!S_ISREG(st.st_mode)) return make_error(shown + " is not a regular file");
  ::fcntl(fd.get(), F_SETFL, 0);
  return fd;
}

Result<util::UniqueFd> open_folder(const FsUser& user, const std::string& tree,
                                   const std::string& beneath) {
  ActAs as(user);
  if (!as.ok()) return make_error("cannot act as user '" + user.name + "'");
  auto root = open_tree(tree);
  if (!root) return root.error();
  const std::string shown = tree + (beneath.empty() || tree == "/" ? "" : "/") + beneath;
  util::UniqueFd fd(beneath.empty()
                        ? ::openat(root->get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
                        : open_beneath(root->get(), beneath, O_RDONLY | O_DIRECTORY, 0));
  if (!fd && errno == ENOTDIR) return make_error(shown + " is not a folder");
  if (!fd) return io_error("cannot open", shown, errno);
  return fd;
}

Result<std::vector<Child>> read_folder(const FsUser& user, int dir) {
  ActAs as(user);
  if (!as.ok()) return make_error("cannot act as user '" + user.name + "'");
  // Its own descriptor (the offset starts at 0), owned by the DIR once fdopendir takes it.
  util::UniqueFd fd(::openat(dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  util::UniqueDir d(fd ? ::fdopendir(fd.get()) : nullptr);
  if (!d) return make_error(std::string("cannot read the folder: ") + std::strerror(errno));
  fd.release();
  std::vector<Child> out;
  errno = 0;
  while (const dirent* e = ::readdir(d.get())) {
    const std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    Child c{name, {}};
    if (::fstatat(dir, name.c_str(), &c.st, AT_SYMLINK_NOFOLLOW) == 0) out.push_back(std::move(c));
    errno = 0;
  }
  const int err = errno;
  d.reset();
  if (err != 0) return make_error(std::string("cannot read the folder: ") + std::strerror(err));
  std::sort(out.begin(), out.end(), [](const Child& a, const Child& b) { return a.name < b.name; });
  return out;
}

Result<util::UniqueFd> open_child(const FsUser& user, int dir, const std::string& name) {
  ActAs as(user);
  if (!as.ok()) return make_error("cannot act as user '" + user.name + "'");
  util::UniqueFd fd(
      ::openat(dir, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK));
  if (!fd) return make_error(errno_text(errno));
  return fd;
}

Status make_folder(const FsUser& user, const std::string& tree, const std::string& beneath,
                   unsigned mode, const std::optional<timespec>& times, struct stat& st) {
  ActAs as(user);
  if (!as.ok()) return make_error("cannot act as user '" + user.name + "'");
  auto root = open_tree(tree);
  if (!root) return root.error();
  const std::string shown = tree + (beneath.empty() || tree == "/" ? "" : "/") + beneath;
  const auto slash = beneath.rfind('/');
  const std::string name = slash == std::string::npos ? beneath : beneath.substr(slash + 1);
  util::UniqueFd parent(
      slash == std::string::npos
          ? ::openat(root->get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
          : open_beneath(root->get(), beneath.substr(0, slash), O_RDONLY | O_DIRECTORY, 0));
  if (!parent) return io_error("cannot open the folder of", shown, errno);
  // The granted folder itself (beneath "") exists: it is only opened.
  const bool made = !name.empty() && ::mkdirat(parent.get(), name.c_str(), 0700) == 0;
  if (!made && !name.empty() && errno != EEXIST) return io_error("cannot make", shown, errno);
  util::UniqueFd fd(::openat(parent.get(), name.empty() ? "." : name.c_str(),
                             O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd && (errno == ENOTDIR || errno == ELOOP)) {
    return make_error(shown + " exists and is not a folder");
  }
  if (!fd) return io_error("cannot open", shown, errno);
  if ((made || times) && ::fchmod(fd.get(), mode & 07777) != 0) {
    return io_error("cannot set the mode of", shown, errno);
  }
  if (times) {
    const timespec ts[2] = {*times, *times};
    if (::futimens(fd.get(), ts) != 0) return io_error("cannot set the times of", shown, errno);
  }
  if (::fstat(fd.get(), &st) != 0) return io_error("cannot stat", shown, errno);
  if (made) ::fsync(parent.get());
  return Status::success();
}

}  // namespace trex::server::fileio
