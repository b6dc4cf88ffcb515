#include "trex/client_terminal.hpp"

namespace trex::client {

std::string EscapeParser::feed(std::string_view keys, std::vector<EscapeAction>& actions) {
  std::string out;
  out.reserve(keys.size());
  for (const char c : keys) {
    if (pending_) {
      pending_ = false;
      if (c == '.') {
        actions.push_back(EscapeAction::kDisconnect);
        continue;
      }
      if (c == '?') {
        actions.push_back(EscapeAction::kHelp);
        line_start_ = true;  // as ssh: another escape may follow
        continue;
      }
      out.push_back(escape_);
      if (c == escape_) {
        line_start_ = false;
        continue;
      }
    } else if (line_start_ && c == escape_) {
      pending_ = true;
      continue;
    }
    out.push_back(c);
    line_start_ = c == '\r' || c == '\n';
  }
  return out;
}

std::string EscapeParser::help(char escape) {
  const std::string e(1, escape);
  return "Supported escape sequences (at the start of a line):\r\n " + e +
         ".   disconnect (the remote command is ended)\r\n " + e + "?   this help\r\n " + e + e +
         "   send the escape character itself\r\n";
}

}  // namespace trex::client
