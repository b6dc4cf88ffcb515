#include "server/listing.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

namespace trex::server {
namespace {

using Kind = proto::TreeEntry::Kind;

proto::TreeEntry entry_of(Kind kind, const std::string& rel, const struct stat& st,
                          std::string note = {}) {
  proto::TreeEntry e;
  e.kind = kind;
  e.path = rel;
  e.size = kind == Kind::kFile ? static_cast<std::uint64_t>(st.st_size) : 0;
  e.mode = st.st_mode & 07777;
  e.mtime_s = st.st_mtim.tv_sec;
  e.mtime_ns = static_cast<std::uint32_t>(st.st_mtim.tv_nsec);
  e.note = std::move(note);
  return e;
}

class Walk {
 public:
  Walk(const fileio::FsUser& user, const ListingHooks& hooks) : user_(user), hooks_(hooks) {}

  // False: emit stopped the walk.
  bool folder(int dir, const std::vector<fileio::Child>& children, const std::string& prefix,
              int depth) {
    for (const auto& c : children) {
      const std::string rel = prefix.empty() ? c.name : prefix + "/" + c.name;
      if (!child(dir, c, rel, depth)) return false;
    }
    return true;
  }

 private:
  bool child(int dir, const fileio::Child& c, const std::string& rel, int depth) {
    if (S_ISREG(c.st.st_mode)) return hooks_.emit(entry_of(Kind::kFile, rel, c.st));
    if (S_ISLNK(c.st.st_mode)) {
      return hooks_.emit(
          entry_of(Kind::kSkipped, rel, c.st, "a symbolic link (links are never followed)"));
    }
    if (!S_ISDIR(c.st.st_mode)) {
      return hooks_.emit(entry_of(Kind::kSkipped, rel, c.st, "not a regular file or folder"));
    }
    if (auto why = hooks_.refuse_folder(rel)) {
      return hooks_.emit(entry_of(Kind::kSkipped, rel, c.st, *why));
    }
    if (depth >= kMaxListingDepth) {
      return hooks_.emit(entry_of(Kind::kSkipped, rel, c.st,
                                  "deeper than " + std::to_string(kMaxListingDepth) + " folders"));
    }
    auto sub = fileio::open_child(user_, dir, c.name);
    if (!sub) return hooks_.emit(entry_of(Kind::kSkipped, rel, c.st, sub.message()));
    auto children = fileio::read_folder(user_, sub->get());
    if (!children) return hooks_.emit(entry_of(Kind::kSkipped, rel, c.st, children.message()));
    if (!hooks_.emit(entry_of(Kind::kFolder, rel, c.st))) return false;
    return folder(sub->get(), *children, rel, depth + 1);
  }

  const fileio::FsUser& user_;
  const ListingHooks& hooks_;
};

}  // namespace

Status list_tree(const fileio::FsUser& user, int dir, const ListingHooks& hooks) {
  auto children = fileio::read_folder(user, dir);
  if (!children) return children.error();
  struct stat st {};
  if (::fstat(dir, &st) != 0)
    return make_error(std::string("cannot stat the folder: ") + std::strerror(errno));
  if (!hooks.emit(entry_of(Kind::kFolder, ".", st))) return make_error("the listing stopped");
  Walk walk(user, hooks);
  if (!walk.folder(dir, *children, "", 0)) return make_error("the listing stopped");
  return Status::success();
}

}  // namespace trex::server
