// UniqueFile and UniqueDir: what util::UniqueFd is for a descriptor, for a
// stdio FILE* (for a C library that reads one, as wolfSSL's PEM reader does)
// and an opendir(3) DIR*. Move-only; close on destruction.
#pragma once

#include <dirent.h>

#include <cstdio>
#include <memory>

namespace trex::util {

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};
using UniqueFile = std::unique_ptr<std::FILE, FileCloser>;

struct DirCloser {
  void operator()(DIR* d) const { ::closedir(d); }
};
using UniqueDir = std::unique_ptr<DIR, DirCloser>;

}  // namespace trex::util
