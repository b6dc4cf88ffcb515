// Following a trail file as `tail -F` does: the lines appended to it, across
// rotation (trexd renames audit.jsonl to audit.jsonl.N and starts a new
// file) and truncation. Owns one file descriptor; thread-compatible.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "trex/result.hpp"
#include "util/unique_fd.hpp"

namespace trex::audit {

class Follower {
 public:
  explicit Follower(std::string path) : path_(std::move(path)) {}

  // Calls fn(line) for each complete line (without '\n') appended since the
  // last call, the first call reading the file from its start. After a
  // rotation it finishes the old file, then reads every file rotated after
  // it and the new one from their start. A file that does not exist (yet,
  // or mid-rotation) yields nothing until it does. Fails only on a read
  // error, naming the file.
  using LineFn = std::function<void(std::string_view)>;
  Status poll(const LineFn& fn);

 private:
  Status drain(const LineFn& fn);
  Status catch_up(const LineFn& fn);
  bool replaced() const;
  void open_file(const std::string& file);
  std::optional<std::uint64_t> number_of_open_file() const;
  std::optional<std::uint64_t> rotated_after(std::uint64_t last) const;

  std::string path_;
  bool started_ = false;
  // The newest path_.N read (or older than the start): files rotated later
  // are unread, even when a poll ended without a file open (mid-rotation).
  std::uint64_t last_rotated_ = 0;
  util::UniqueFd fd_;
  dev_t dev_ = 0;
  ino_t ino_ = 0;
  std::uint64_t offset_ = 0;
  std::string partial_;  // a line whose '\n' has not arrived yet
};

}  // namespace trex::audit
