// The client's side of a terminal session (trex -t): ssh-style escapes typed
// at the start of a line, and what Session::run_terminal needs from the
// local terminal. EscapeParser is pure (unit-tested) and owned by one thread.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "trex/proto.hpp"

namespace trex::client {

enum class EscapeAction {
  kDisconnect,  // ~.  end the session at once
  kHelp,        // ~?  list the escapes
};

// Keystrokes in, the bytes to send and the escapes typed out. The escape
// character counts only as the first character of a line (after Enter, or
// the first typed): "~." there disconnects, "~?" shows help, "~~" sends one
// "~"; "~" followed by anything else sends both.
class EscapeParser {
 public:
  explicit EscapeParser(char escape = '~') : escape_(escape) {}
  // Returns the bytes to forward; appends the escapes typed, in order.
  std::string feed(std::string_view keys, std::vector<EscapeAction>& actions);
  static std::string help(char escape = '~');

 private:
  char escape_;
  bool line_start_ = true;
  bool pending_ = false;  // the escape character came at a line start
};

// The local terminal, for Session::run_terminal.
struct TerminalIo {
  int input_fd = -1;                          // keystrokes (raw mode); -1: none
  int window_fd = -1;                         // readable when the window changed (SIGWINCH pipe)
  std::function<proto::WindowSize()> window;  // its current size
  bool escapes = true;                        // interpret ~. ~? ~~
  int message_fd = -1;                        // where ~? prints its help (the terminal)
};

}  // namespace trex::client
