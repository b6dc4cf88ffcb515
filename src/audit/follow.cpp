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

// N of the rotated file path_.N that is the open file; else the highest N
// (the open file is gone: read no rotated file again).
std::uint64_t Follower::rotated_number() const {
  const auto numbers = rotated_numbers(path_);
  for (auto n : numbers) {
    struct stat st {};
    const std::string f = path_ + "." + std::to_string(n);
    if (::stat(f.c_str(), &st) == 0 && st.st_dev == dev_ && st.st_ino == ino_) return n;
  }
  return numbers.empty() ? 0 : numbers.back();
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
  if (!fd_) {
    open_file(path_);
    if (!fd_) return Status::success();  // not there yet
  }
  if (auto s = drain(fn); !s) return s;
  if (!replaced()) return Status::success();
  // Rotated: a renamed file is complete (trexd writes the new one only).
  // Finish it, then read the files rotated after it, oldest first (several
  // rotations may have happened since the last poll), then the new file.
  if (auto s = drain(fn); !s) return s;
  std::uint64_t last = rotated_number();
  for (;;) {
    if (const auto next = rotated_after(last)) {
      last = *next;
      open_file(path_ + "." + std::to_string(last));
      if (!fd_) continue;  // removed meanwhile
      if (auto s = drain(fn); !s) return s;
      continue;
    }
    open_file(path_);
    // A rotation between the look and the open: read that file first.
    if (!rotated_after(last)) return !fd_ ? Status::success() : drain(fn);
  }
}

}  // namespace trex::audit
