#include "util/file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "util/unique_fd.hpp"

namespace trex::util {

std::string FileText::message() const {
  if (error != EFBIG) return std::strerror(error);
  if (limit >= (1U << 20) && limit % (1U << 20) == 0) {
    return "larger than " + std::to_string(limit >> 20) + " MiB";
  }
  return "larger than " + std::to_string(limit) + " bytes";
}

FileText read_file(const std::string& path, std::size_t limit) {
  FileText out;
  out.limit = limit;
  const UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  struct stat st {};
  if (!fd || ::fstat(fd.get(), &st) != 0) {
    out.error = errno;
    return out;
  }
  if (S_ISDIR(st.st_mode)) {
    out.error = EISDIR;
    return out;
  }
  if (st.st_size > 0 && static_cast<std::size_t>(st.st_size) <= limit) {
    out.text.reserve(static_cast<std::size_t>(st.st_size) + 1);
  }
  char buf[16384];
  while (out.text.size() <= limit) {
    const ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      out.error = errno;
      out.text.clear();
      return out;
    }
    if (n == 0) return out;
    out.text.append(buf, static_cast<std::size_t>(n));
  }
  out.error = EFBIG;
  out.text.clear();
  return out;
}

}  // namespace trex::util
