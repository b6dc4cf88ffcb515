#include "util/file_sink.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

namespace trex::util {

bool FileSink::write(std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd_, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    data.remove_prefix(static_cast<std::size_t>(n));
    written_ += static_cast<std::size_t>(n);
  }
  if (written_ - started_ >= kStep) {
    // Asynchronous. Where it fails (EINVAL on some file systems, a pipe) the
    // final fsync does all the work, as it would without this.
    ::sync_file_range(fd_, static_cast<off_t>(started_), static_cast<off_t>(written_ - started_),
                      SYNC_FILE_RANGE_WRITE);
    started_ = written_;
  }
  return true;
}

}  // namespace trex::util
