// Reads interactive-mode lines: with line editing and history (libedit)
// when stdin is a terminal, plain getline otherwise.
#pragma once

#include <optional>
#include <string>

namespace trexcli {

class LineReader {
 public:
  explicit LineReader(std::string prompt);
  ~LineReader();
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;
  // The next line without its newline; nullopt at EOF.
  std::optional<std::string> next();
  bool interactive() const { return tty_; }

 private:
  std::string prompt_;
  bool tty_;
};

}  // namespace trexcli
