// Makes write(2) fail part way, as a full disk does, without root: a lower
// RLIMIT_FSIZE (writes past it fail with EFBIG, after a short write up to
// it) and SIGXFSZ ignored. Both are inherited across fork and exec, so a
// trexd started while one is in scope has them for good. Header-only, for
// unit and integration tests; restores the process's own on destruction.
#pragma once

#include <sys/resource.h>

#include <csignal>

namespace trex::testing {

class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t bytes) {
    ::getrlimit(RLIMIT_FSIZE, &old_);
    old_handler_ = std::signal(SIGXFSZ, SIG_IGN);
    rlimit lower = old_;
    lower.rlim_cur = bytes;
    ok_ = ::setrlimit(RLIMIT_FSIZE, &lower) == 0;
  }
  ~FileSizeLimit() {
    ::setrlimit(RLIMIT_FSIZE, &old_);
    std::signal(SIGXFSZ, old_handler_);
  }
  FileSizeLimit(const FileSizeLimit&) = delete;
  FileSizeLimit& operator=(const FileSizeLimit&) = delete;
  bool ok() const { return ok_; }

 private:
  rlimit old_{};
  void (*old_handler_)(int) = SIG_DFL;
  bool ok_ = false;
};

}  // namespace trex::testing
