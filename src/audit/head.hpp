// Private: the chain's head kept outside the trail (Writer's state file
// `audit.jsonl.head`, "SEQ:HASH\n"), and the check at start-up that the
// trail still reaches the head recorded there (it was not cut or replaced).
#pragma once

#include <optional>
#include <string>

#include "trex/audit.hpp"
#include "util/unique_fd.hpp"

namespace trex::audit {

// Does the trail `path` (with its rotated files) hold record `a.seq` with
// hash `a.hash`? Reads lines backwards from the newest file's end and stops
// at the first record older than `a`.
Result<bool> trail_holds(const std::string& path, const Anchor& a);

class HeadFile {
 public:
  // Opens (creating 0640, tightening an older file) and reads it: nothing
  // when it is empty (new).
  static Result<HeadFile> open(const std::string& path);
  const std::optional<std::string>& stored() const { return stored_; }
  // Overwrites the file with `a`; fdatasync when `sync`.
  Status store(const Anchor& a, bool sync);

 private:
  HeadFile(util::UniqueFd fd, std::string path) : fd_(std::move(fd)), path_(std::move(path)) {}
  util::UniqueFd fd_;
  std::string path_;
  std::optional<std::string> stored_;
  std::size_t size_ = 0;
};

}  // namespace trex::audit
