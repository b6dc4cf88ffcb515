// Text from a server, made safe to show. A compromised server must not be
// able to move the cursor, rewrite other hosts' lines or forge trex's own
// messages, nor make the client buffer without limit or rescan what it
// already scanned. Pure: no I/O, no global state.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace trex::client {

// Escapes control characters as \xNN: C0 (with `keep_lines`, all but tab and
// newline), DEL, C1 (U+0080..U+009F, in UTF-8 or as bare bytes) and every
// byte that is not part of valid UTF-8. Other UTF-8 text is kept as is.
std::string escape_controls(std::string_view text, bool keep_lines = false);

// Splits a byte stream into lines in time linear in its length: each byte
// is looked at once, and a line longer than `max_line` bytes comes out in
// pieces of that size, so memory stays bounded too.
class LineSplitter {
 public:
  struct Piece {
    std::string text;  // without its newline
    bool continued;    // the line goes on in the next piece
  };
  explicit LineSplitter(std::size_t max_line) : max_(max_line == 0 ? 1 : max_line) {}
  // Appends `data` and adds every complete line or full piece to `out`.
  void feed(std::string_view data, std::vector<Piece>& out);
  // The unfinished last line, if any (then the splitter is empty).
  bool finish(Piece& out);
  std::size_t buffered() const { return partial_.size(); }

 private:
  std::string partial_;
  std::size_t max_;
};

}  // namespace trex::client
