// File helpers shared by the verifier and the writer: the rotated files of a
// trail and reading a file's tail backwards. Thread-compatible.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "trex/result.hpp"

namespace trex::audit {

// N of each existing rotated file `path`.N, ascending.
std::vector<std::uint64_t> rotated_numbers(const std::string& path);

// Offset of the last '\n' before `end`, reading backwards in chunks; nothing
// when there is none. Reads at most `limit` bytes.
Result<std::optional<std::uint64_t>> rfind_newline(int fd, std::uint64_t end, std::uint64_t limit);

// Exactly `len` bytes at `offset`.
Result<std::string> pread_exact(int fd, std::uint64_t offset, std::uint64_t len);

// Longest line (and torn tail) the writer will read back on open.
inline constexpr std::uint64_t kMaxTailBytes = 16ULL << 20;

// The last complete line of the file ending at `end` (the byte at end-1 must
// be '\n'), without its newline, and the offset where it starts.
struct TailLine {
  std::uint64_t start = 0;
  std::string text;
};
Result<TailLine> line_ending_at(int fd, std::uint64_t end);

}  // namespace trex::audit
