#include "trex/client_text.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

namespace trex::client {
namespace {

TEST(EscapeControls, ForgedLineAndTerminalCodesAreShownNotObeyed) {
  EXPECT_EQ(escape_controls("boom\nlab2: trex: FORGED\r\x1b[2K"),
            "boom\\x0alab2: trex: FORGED\\x0d\\x1b[2K");
  EXPECT_EQ(escape_controls("a\tb\nc\x7f", true), "a\tb\nc\\x7f");
  EXPECT_EQ(escape_controls(std::string("nul\0x", 5)), "nul\\x00x");
}

TEST(EscapeControls, C1InUtf8AndAsBareBytesIsEscaped) {
  EXPECT_EQ(escape_controls("\xc2\x9b"
                            "31m"),
            "\\xc2\\x9b31m");  // CSI in UTF-8
  EXPECT_EQ(escape_controls("\x9b"
                            "31m"),
            "\\x9b31m");  // bare 8-bit CSI
}

TEST(EscapeControls, Utf8TextIsKept) {
  EXPECT_EQ(escape_controls("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"),
            "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
  EXPECT_EQ(escape_controls("\xc3"), "\\xc3");                    // truncated
  EXPECT_EQ(escape_controls("\xed\xa0\x80"), "\\xed\\xa0\\x80");  // surrogate
  EXPECT_EQ(escape_controls("\xc0\xaf"), "\\xc0\\xaf");           // overlong
}

std::vector<LineSplitter::Piece> split(LineSplitter& s, const std::vector<std::string>& chunks) {
  std::vector<LineSplitter::Piece> out;
  for (const auto& c : chunks) s.feed(c, out);
  return out;
}

TEST(LineSplitter, LinesAcrossChunks) {
  LineSplitter s(100);
  const auto out = split(s, {"ab", "c\nde", "f\n\ng"});
  ASSERT_EQ(out.size(), 3U);
  EXPECT_EQ(out[0].text, "abc");
  EXPECT_EQ(out[1].text, "def");
  EXPECT_EQ(out[2].text, "");
  EXPECT_FALSE(out[0].continued);
  LineSplitter::Piece last;
  ASSERT_TRUE(s.finish(last));
  EXPECT_EQ(last.text, "g");
  EXPECT_FALSE(s.finish(last));
}

TEST(LineSplitter, LongLineComesOutInBoundedPieces) {
  LineSplitter s(4);
  std::vector<LineSplitter::Piece> out;
  for (char c : std::string("abcdefghij\nabcd\n")) s.feed(std::string_view(&c, 1), out);
  ASSERT_EQ(out.size(), 4U);
  EXPECT_EQ(out[0].text, "abcd");
  EXPECT_TRUE(out[0].continued);
  EXPECT_EQ(out[1].text, "efgh");
  EXPECT_TRUE(out[1].continued);
  EXPECT_EQ(out[2].text, "ij");
  EXPECT_FALSE(out[2].continued);
  EXPECT_EQ(out[3].text, "abcd");  // exactly full, then its newline: one line
  EXPECT_FALSE(out[3].continued);
  EXPECT_LE(s.buffered(), 4U);
}

// One-byte chunks of a 16 MiB line: linear, so this is quick; the old
// rescan-from-the-start would take hours.
TEST(LineSplitter, OneByteChunksOfAHugeLineStayBounded) {
  LineSplitter s(64 * 1024);
  std::vector<LineSplitter::Piece> out;
  std::size_t bytes = 0, pieces = 0;
  for (std::size_t i = 0; i < (16U << 20); ++i) {
    s.feed("x", out);
    for (const auto& p : out) bytes += p.text.size(), ++pieces;
    out.clear();
    ASSERT_LE(s.buffered(), 64U * 1024U);
  }
  EXPECT_EQ(pieces, 255U);
  EXPECT_EQ(bytes + s.buffered(), 16U << 20);
}

}  // namespace
}  // namespace trex::client
