#include "trex/audit_follow.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "audit/files.hpp"

namespace trex::audit {
namespace {

constexpr std::size_t kReadSize = 256 * 1024;
constexpr std::size_t kMaxPartial = 16ULL << 20;  // a longer "line" is not a record

}  // namespace

// True when path_ now names another file than the one open (rotated away).
bool Follower::replaced() const {
  struct stat st {};
  if (::stat(path_.c_str(), &st) != 0) return false;  // mid-rotation: keep reading the old one
  return st.st_dev != dev_ || st.st_ino != ino_;
}

void Follower::open_file(const std::string& file) {
  fd_.reset(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  offset_ = 0;
  partial_.clear();  // trexd writes whole lines: a torn end stays in the old file
  struct stat st {};
  if (fd_ && ::fstat(fd_.get(), &st) == 0) {
    dev_ = st.st_dev;
    ino_ = st.st_ino;
  }
}

// N of the rotated file path_.N that is the open file; nothing when it is
// gone (removed by retention, or moved away).
std::optional<std::uint64_t> Follower::number_of_open_file() const {
  for (auto n : rotated_numbers(path_)) {
    struct stat st {};
    const std::string f = path_ + "." + std::to_string(n);
    if (::stat(f.c_str(), &st) == 0 && st.st_dev == dev_ && st.st_ino == ino_) return n;
  }
  return std::nullopt;
}

std::optional<std::uint64_t> Follower::rotated_after(std::uint64_t last) const {
  for (auto n : rotated_numbers(path_)) {
    if (n > last) return n;  // ascending
  }
  return std::nullopt;
}

Status Follower::drain(const LineFn& fn) {
  struct stat st {};
  if (::fstat(fd_.get(), &st) == 0 && static_cast<std::uint64_t>(st.st_size) < offset_) {
    offset_ = 0;  // truncated in place: start over
    partial_.clear();
  }
  std::string buf(kReadSize, '\0');
  for (;;) {
    const ssize_t n = ::pread(fd_.get(), buf.data(), buf.size(), static_cast<off_t>(offset_));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return make_error(path_ + ": " + std::strerror(errno));
    if (n == 0) return Status::success();
    offset_ += static_cast<std::uint64_t>(n);
    std::string_view chunk(buf.data(), static_cast<std::size_t>(n));
    for (std::size_t nl; (nl = chunk.find('\n')) != std::string_view::npos;) {
      if (partial_.empty()) {
        fn(chunk.substr(0, nl));
      } else {
        partial_.append(chunk.substr(0, nl));
        fn(partial_);
        partial_.clear();
      }
      chunk.remove_prefix(nl + 1);
    }
    if (partial_.size() + chunk.size() > kMaxPartial) partial_.clear();
    partial_.append(chunk);
  }
}

Status Follower::poll(const LineFn& fn) {
  if (!started_) {
    // Files rotated before the start are not read; every one after is.
    const auto numbers = rotated_numbers(path_);
    last_rotated_ = numbers.empty() ? 0 : numbers.back();
    started_ = true;
  } else if (fd_) {
    if (auto s = drain(fn); !s) return s;
    if (!replaced()) return Status::success();
    // Rotated: a renamed file is complete (trexd writes the new one only).
    if (auto s = drain(fn); !s) return s;
    if (const auto n = number_of_open_file()) last_rotated_ = *n;
    fd_.reset();
  }
  return catch_up(fn);
}

// Reads the files rotated after the last one read, oldest first (several
// rotations may have happened since the last poll), then the current file.
// Without a file open (the last poll came mid-rotation) this is still the
// way in: opening the current file directly would skip the files rotated
// meanwhile.
Status Follower::catch_up(const LineFn& fn) {
  for (;;) {
    if (const auto next = rotated_after(last_rotated_)) {
      last_rotated_ = *next;
      open_file(path_ + "." + std::to_string(*next));
      if (!fd_) continue;  // removed meanwhile
      if (auto s = drain(fn); !s) return s;
      continue;
    }
    open_file(path_);
    // A rotation between the look and the open: read that file first.
    if (!rotated_after(last_rotated_)) return !fd_ ? Status::success() : drain(fn);
  }
}

}  // namespace trex::audit
