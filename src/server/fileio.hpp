// Private: the file system side of `trex put` and `trex get`. Every path is
// opened beneath the rule's granted tree with openat2(RESOLVE_BENEATH |
// RESOLVE_NO_SYMLINKS) (a walk with O_NOFOLLOW where the kernel lacks
// openat2), and every call that checks permissions runs with this thread's
// file system identity set to the rule's run_as user (setfsuid, setfsgid and
// the thread's own group list), never as root on that user's behalf.
// Used by one session thread at a time.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "trex/result.hpp"
#include "util/unique_fd.hpp"

namespace trex::server::fileio {

// Who the file system calls of a transfer act as.
struct FsUser {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;
  bool switch_ids = false;  // trexd is root and the user is not
};
// `run_as` (or trexd's own user). A user other than trexd's own needs root.
Result<FsUser> fs_user(const std::optional<std::string>& run_as);

// A put in progress: a temporary file beside the target, renamed over it
// when complete, removed when not.
struct PutTarget {
  util::UniqueFd dir;   // the target's folder
  std::string name;     // the target's name in it
  std::string temp;     // the temporary file's name in it
  util::UniqueFd file;  // the temporary file, open for writing
  // After the rename: the file it replaced (O_PATH). Freeing a large file's
  // cached pages takes time (0.2 s for 1 GiB here); the last close does it,
  // so closing this after the client has its answer keeps that off its wait.
  util::UniqueFd replaced;
};
Result<PutTarget> create_temp(const FsUser& user, const std::string& tree,
                              const std::string& beneath);
// Sets the mode (and, with times, atime = mtime = times), flushes the file to
// disk, renames it over the target and flushes the folder.
Status commit(const FsUser& user, PutTarget& target, unsigned mode,
              const std::optional<timespec>& times);
// Removes the temporary file (an interrupted or refused put).
void abandon(const FsUser& user, PutTarget& target);

// Opens a regular file for reading; `st` is what fstat said.
Result<util::UniqueFd> open_for_get(const FsUser& user, const std::string& tree,
                                    const std::string& beneath, struct stat& st);

// ---- folders (-r) ----

// Opens the folder `beneath` (the granted folder itself when empty) to list it.
Result<util::UniqueFd> open_folder(const FsUser& user, const std::string& tree,
                                   const std::string& beneath);
// One name in a folder as lstat sees it (a symlink is a symlink).
struct Child {
  std::string name;
  struct stat st {};
};
// The names of the open folder `dir` in byte order, without "." and "..".
Result<std::vector<Child>> read_folder(const FsUser& user, int dir);
// Opens the subfolder `name` of `dir`; a symlink there fails.
Result<util::UniqueFd> open_child(const FsUser& user, int dir, const std::string& name);

// Makes the folder `beneath` with `mode` (an existing folder is kept as it
// is); with `times`, sets the mode exactly and the times too. `st` gets the
// folder's state after.
Status make_folder(const FsUser& user, const std::string& tree, const std::string& beneath,
                   unsigned mode, const std::optional<timespec>& times, struct stat& st);

}  // namespace trex::server::fileio
