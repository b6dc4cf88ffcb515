#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "audit/files.hpp"

namespace trex::audit {
namespace {

constexpr std::uint64_t kChunk = 64ULL * 1024;

}  // namespace

Result<std::string> pread_exact(int fd, std::uint64_t offset, std::uint64_t len) {
  std::string out(len, '\0');
  std::uint64_t done = 0;
  while (done < len) {
    const ssize_t n = ::pread(fd, out.data() + done, len - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return make_error(std::strerror(errno));
    if (n == 0) return make_error("file shrank while reading");
    done += static_cast<std::uint64_t>(n);
  }
  return out;
}

Result<std::optional<std::uint64_t>> rfind_newline(int fd, std::uint64_t end, std::uint64_t limit) {
  std::uint64_t pos = end;
  while (pos > 0 && end - pos < limit) {
    const std::uint64_t len = pos < kChunk ? pos : kChunk;
    auto chunk = pread_exact(fd, pos - len, len);
    if (!chunk) return chunk.error();
    const auto i = chunk->rfind('\n');
    if (i != std::string::npos) return std::optional<std::uint64_t>(pos - len + i);
    pos -= len;
  }
  if (pos > 0) return make_error("no newline in the last " + std::to_string(limit) + " bytes");
  return std::optional<std::uint64_t>();
}

Result<TailLine> line_ending_at(int fd, std::uint64_t end) {
  auto nl = rfind_newline(fd, end - 1, kMaxTailBytes);
  if (!nl) return nl.error();
  TailLine line;
  line.start = *nl ? **nl + 1 : 0;
  auto text = pread_exact(fd, line.start, end - 1 - line.start);
  if (!text) return text.error();
  line.text = std::move(*text);
  return line;
}

}  // namespace trex::audit
