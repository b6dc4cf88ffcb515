// Reading a whole small file (configuration, policy) with a bound, so that a
// huge or endless file (/dev/zero) is refused without being read. Pure I/O;
// thread-compatible.
#pragma once

#include <cstddef>
#include <string>

namespace trex::util {

struct FileText {
  std::string text;
  // 0, or the errno of the failure: ENOENT, EACCES, EISDIR, ...; EFBIG when
  // the file holds more than the limit.
  int error = 0;
  std::size_t limit = 0;  // the bound it was read with
  bool ok() const { return error == 0; }
  // strerror's text for the error; "larger than N MiB" (or "N bytes") for EFBIG.
  std::string message() const;
};

// Reads at most `limit` + 1 bytes of `path`: one more is how an oversized
// file is told apart from one of exactly `limit` bytes.
FileText read_file(const std::string& path, std::size_t limit);

}  // namespace trex::util
