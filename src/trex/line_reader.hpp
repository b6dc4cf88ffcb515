// Reads interactive-mode lines: with line editing and history (libedit)
// when stdin is a terminal, plain reads otherwise. Interrupts (the SIGINT
// self-pipe of common.hpp) typed while a line is read stay at the prompt: on
// a terminal they cancel the line being edited; without one they end the
// reading. One typed after a line was accepted is left for the command.
#pragma once

#include <optional>
#include <string>

namespace trex::trex_cli {

class LineReader {
 public:
  explicit LineReader(std::string prompt);
  ~LineReader();
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;
  // The next line without its newline; nullopt at EOF or, without a
  // terminal, on an interrupt (then interrupted() is true).
  std::optional<std::string> next();
  bool interactive() const { return tty_; }
  bool interrupted() const { return interrupted_; }

 private:
  std::optional<std::string> edit();   // libedit
  std::optional<std::string> plain();  // read(2) from stdin, polling the interrupt pipe
  std::string prompt_;
  bool tty_;
  bool interrupted_ = false;
  bool eof_ = false;
  std::string buf_;  // plain(): bytes read past the last line
};

}  // namespace trex::trex_cli
