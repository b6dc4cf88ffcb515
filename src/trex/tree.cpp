// trex put -r / trex get -r: a folder tree as one request per folder and
// per file, so each file is decided, written atomically and audited on its
// own. Neither side follows a symbolic link: they are skipped, as rsync -r
// skips them, with a line naming each.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include "common.hpp"
#include "files.hpp"
#include "util/unique_file.hpp"

namespace trex::trex_cli {
namespace {

using trex::proto::TreeEntry;

void skipped(const std::string& what, const std::string& why) {
  std::fprintf(stderr, "trex: skipped %s: %s\n", what.c_str(), why.c_str());
}

// Names in `dir`, in byte order; empty (with errno set) when unreadable.
std::vector<std::string> names_in(const std::string& dir, int& err) {
  std::vector<std::string> out;
  const util::UniqueDir d(::opendir(dir.c_str()));
  err = d ? 0 : errno;
  if (!d) return out;
  while (const dirent* e = ::readdir(d.get())) {
    const std::string n = e->d_name;
    if (n != "." && n != "..") out.push_back(n);
  }
  std::sort(out.begin(), out.end());
  return out;
}

class PutTree {
 public:
  PutTree(client::Session& s, const client::Args& args, bool progress)
      : s_(s), args_(args), progress_(progress) {}

  // The folder `local` as `remote`; false once the session is gone.
  bool folder(const std::string& local, const std::string& remote, const struct stat& st) {
    if (!make(remote, st, false)) return status_ != kOwnFailure;
    int err = 0;
    for (const auto& name : names_in(local, err)) {
      if (!entry(join(local, name), join(remote, name))) return false;
    }
    if (err != 0) note(1, local + ": " + std::strerror(err));
    // With -p the folder's mode and times are set once its files are in.
    if (args_.preserve && !make(remote, st, true)) return status_ != kOwnFailure;
    return true;
  }
  int status() const { return status_; }

 private:
  bool entry(const std::string& local, const std::string& remote) {
    struct stat st {};
    if (::lstat(local.c_str(), &st) != 0) {
      note(1, local + ": " + std::strerror(errno));
      return true;
    }
    if (S_ISDIR(st.st_mode)) return folder(local, remote, st);
    if (S_ISREG(st.st_mode)) {
      note(put_one(s_, args_, local, remote, progress_), {});
      return status_ != kOwnFailure;
    }
    skipped(local, S_ISLNK(st.st_mode) ? "a symbolic link (links are not followed)"
                                       : "not a regular file or folder");
    note(1, {});
    return true;
  }

  bool make(const std::string& remote, const struct stat& st, bool attrs) {
    proto::PutRequest req{remote,
                          0,
                          st.st_mode & 07777,
                          attrs,
                          st.st_mtim.tv_sec,
                          static_cast<std::uint32_t>(st.st_mtim.tv_nsec)};
    req.folder = true;
    auto r = s_.put(req, -1, {});
    const std::string what = s_.target().host + ":" + remote;
    if (!r) {
      note(fail(what + ": " + r.message()), {});
      return false;
    }
    const int st_code = report(what, *r);
    note(st_code, {});
    return st_code == 0;
  }

  void note(int status, const std::string& message) {
    if (!message.empty()) std::fprintf(stderr, "trex: %s\n", message.c_str());
    status_ = std::max(status_, status);
  }

  client::Session& s_;
  const client::Args& args_;
  bool progress_;
  int status_ = 0;
};

// Makes a local folder (kept when it exists); false with a line when it cannot.
bool make_local(const std::string& path) {
  if (::mkdir(path.c_str(), 0700) == 0 || (errno == EEXIST && is_dir(path))) return true;
  std::fprintf(stderr, "trex: cannot make the folder %s: %s\n", path.c_str(),
               std::strerror(errno == EEXIST ? ENOTDIR : errno));
  return false;
}

// Folders get their mode (less the umask without -p) and, with -p, their
// times once everything inside them is written: deepest first.
void settle_folders(const std::vector<std::pair<std::string, TreeEntry>>& folders, bool preserve) {
  const mode_t mask = ::umask(0);
  ::umask(mask);
  for (auto it = folders.rbegin(); it != folders.rend(); ++it) {
    const auto& [path, e] = *it;
    ::chmod(path.c_str(), preserve ? e.mode : e.mode & ~mask & 0777);
    if (!preserve) continue;
    const timespec ts[2] = {{e.mtime_s, e.mtime_ns}, {e.mtime_s, e.mtime_ns}};
    ::utimensat(AT_FDCWD, path.c_str(), ts, 0);
  }
}

}  // namespace

int put_tree(client::Session& s, const client::Args& args, const std::string& local,
             const std::string& remote, bool progress) {
  struct stat st {};
  if (::stat(local.c_str(), &st) != 0) return fail(local + ": " + std::strerror(errno));
  PutTree tree(s, args, progress);
  tree.folder(local, remote, st);
  return tree.status();
}

int get_tree(client::Session& s, const client::Args& args, const std::string& remote,
             const std::string& local, bool progress) {
  std::vector<TreeEntry> entries;
  auto r =
      s.list(proto::GetRequest{remote, true}, [&](const TreeEntry& e) { entries.push_back(e); });
  const std::string what = s.target().host + ":" + remote;
  if (!r) return fail(what + ": " + r.message());
  if (const int st = report(what, *r); st != 0) return st;
  int status = 0;
  std::vector<std::pair<std::string, TreeEntry>> folders;
  for (const auto& e : entries) {
    const bool self = e.path == ".";
    const std::string path = self ? local : join(local, e.path);
    if (e.kind == TreeEntry::Kind::kSkipped) {
      skipped(s.target().host + ":" + join(remote, e.path), e.note);
      status = std::max(status, 1);
    } else if (e.kind == TreeEntry::Kind::kFolder) {
      if (!make_local(path)) return std::max(status, 1);
      folders.emplace_back(path, e);
    } else {
      const int st = get_one(s, args, join(remote, e.path), path, progress);
      status = std::max(status, st);
      if (st == kOwnFailure) break;
    }
  }
  settle_folders(folders, args.preserve);
  return status;
}

}  // namespace trex::trex_cli
