// ssh-style escapes of trex -t: only at the start of a line.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "trex/client_terminal.hpp"

namespace trex::client {
namespace {

using Actions = std::vector<EscapeAction>;

TEST(EscapeParser, TildeDotAtTheStartDisconnects) {
  EscapeParser p;
  Actions a;
  EXPECT_EQ(p.feed("~.", a), "");
  EXPECT_EQ(a, (Actions{EscapeAction::kDisconnect}));
}

TEST(EscapeParser, OnlyAfterEnter) {
  EscapeParser p;
  Actions a;
  EXPECT_EQ(p.feed("ls ~.", a), "ls ~.");
  EXPECT_TRUE(a.empty());
  EXPECT_EQ(p.feed("\r", a), "\r");
  // Split across reads, as typed.
  EXPECT_EQ(p.feed("~", a), "");
  EXPECT_EQ(p.feed(".", a), "");
  EXPECT_EQ(a, (Actions{EscapeAction::kDisconnect}));
  EscapeParser q;
  a.clear();
  EXPECT_EQ(q.feed("x\n~.", a), "x\n");
  EXPECT_EQ(a, (Actions{EscapeAction::kDisconnect}));
}

TEST(EscapeParser, TildeTildeSendsOneAndOtherKeysPassWithIt) {
  EscapeParser p;
  Actions a;
  EXPECT_EQ(p.feed("~~.", a), "~.");
  EXPECT_TRUE(a.empty());
  EXPECT_EQ(p.feed("\r~x", a), "\r~x");
  EXPECT_EQ(p.feed("\r~\r~.", a), "\r~\r");  // ~ then Enter: both sent, a new line starts
  EXPECT_EQ(a, (Actions{EscapeAction::kDisconnect}));
}

TEST(EscapeParser, HelpAndItsText) {
  EscapeParser p;
  Actions a;
  EXPECT_EQ(p.feed("~?~.", a), "");
  EXPECT_EQ(a, (Actions{EscapeAction::kHelp, EscapeAction::kDisconnect}));
  const std::string help = EscapeParser::help();
  EXPECT_NE(help.find("~.   disconnect"), std::string::npos) << help;
  EXPECT_NE(help.find("\r\n"), std::string::npos) << "raw mode needs CR LF";
}

TEST(EscapeParser, ControlKeysAreOrdinaryBytes) {
  EscapeParser p;
  Actions a;
  EXPECT_EQ(p.feed(std::string("\x03\x1a\x04", 3), a), std::string("\x03\x1a\x04", 3));
  EXPECT_TRUE(a.empty());
}

}  // namespace
}  // namespace trex::client
