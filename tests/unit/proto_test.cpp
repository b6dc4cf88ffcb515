#include "trex/proto.hpp"

#include <gtest/gtest.h>

#include <csignal>

namespace trex::proto {
namespace {

std::vector<Frame> decode_all(Decoder& d) {
  std::vector<Frame> out;
  Frame f;
  while (d.next(f) == Decoder::State::kFrame) out.push_back(f);
  return out;
}

TEST(FrameCodec, RoundTripsEveryType) {
  std::string wire;
  const FrameType types[] = {FrameType::kExec,   FrameType::kStdin,   FrameType::kSignal,
                             FrameType::kPut,    FrameType::kGet,     FrameType::kData,
                             FrameType::kFile,   FrameType::kStarted, FrameType::kStdout,
                             FrameType::kStderr, FrameType::kExit,    FrameType::kError,
                             FrameType::kEntry};
  for (auto t : types) append_frame(wire, t, std::string(type_name(t)));
  Decoder d;
  d.feed(wire);
  auto frames = decode_all(d);
  ASSERT_EQ(frames.size(), std::size(types));
  for (std::size_t i = 0; i < frames.size(); ++i) {
    EXPECT_EQ(frames[i].type, types[i]);
    EXPECT_EQ(frames[i].payload, type_name(types[i]));
  }
  EXPECT_EQ(d.buffered(), 0u);
}

TEST(FrameCodec, HeaderIsTypeThenBigEndianLength) {
  auto wire = encode_frame(FrameType::kStdout, std::string(258, 'x'));
  ASSERT_EQ(wire.size(), kHeaderSize + 258);
  EXPECT_EQ(static_cast<unsigned char>(wire[0]), 0x11);
  EXPECT_EQ(wire.substr(1, 4), std::string("\x00\x00\x01\x02", 4));
}

TEST(FrameCodec, DecodesByteByByte) {
  auto wire = encode_frame(FrameType::kStdin, "hello") + encode_frame(FrameType::kStdin, "");
  Decoder d;
  std::vector<Frame> frames;
  for (char c : wire) {
    d.feed(std::string_view(&c, 1));
    for (auto& f : decode_all(d)) frames.push_back(f);
  }
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[0].payload, "hello");
  EXPECT_TRUE(frames[1].payload.empty());
}

TEST(FrameCodec, AcceptsMaximumPayload) {
  Decoder d;
  d.feed(encode_frame(FrameType::kStdout, std::string(kMaxPayload, 'a')));
  Frame f;
  ASSERT_EQ(d.next(f), Decoder::State::kFrame);
  EXPECT_EQ(f.payload.size(), kMaxPayload);
}

TEST(FrameCodec, RejectsOversizedLengthBeforeReadingPayload) {
  Decoder d;
  d.feed(std::string("\x11\x00\x01\x00\x01", 5));  // 65537 bytes declared
  Frame f;
  EXPECT_EQ(d.next(f), Decoder::State::kError);
  EXPECT_NE(d.error().find("exceeds"), std::string::npos);
  d.feed("more");
  EXPECT_EQ(d.next(f), Decoder::State::kError) << "errors are sticky";
}

TEST(FrameCodec, RejectsUnknownType) {
  Decoder d;
  d.feed(std::string("\x7f\x00\x00\x00\x00", 5));
  Frame f;
  EXPECT_EQ(d.next(f), Decoder::State::kError);
  EXPECT_NE(d.error().find("unknown frame type 127"), std::string::npos);
}

TEST(FrameCodec, TruncatedFrameWaitsForMore) {
  auto wire = encode_frame(FrameType::kStdout, "abcdef");
  Decoder d;
  d.feed(wire.substr(0, wire.size() - 1));
  Frame f;
  EXPECT_EQ(d.next(f), Decoder::State::kNeedMore);
  d.feed(wire.substr(wire.size() - 1));
  EXPECT_EQ(d.next(f), Decoder::State::kFrame);
}

TEST(ExecRequest, RoundTripsArgv) {
  ExecRequest r;
  r.argv = {"printf", "%s\n", "with space", "new\nline", "ünïcødé", ""};
  r.timeout_s = 30;
  r.stdin_open = false;
  auto enc = encode(r);
  ASSERT_TRUE(enc.ok());
  auto dec = decode_exec(*enc);
  ASSERT_TRUE(dec.ok()) << dec.message();
  EXPECT_EQ(*dec, r);
}

TEST(ExecRequest, RoundTripsShell) {
  ExecRequest r;
  r.shell = true;
  r.command = "echo hi >&2; exit 3";
  auto dec = decode_exec(*encode(r));
  ASSERT_TRUE(dec.ok());
  EXPECT_EQ(*dec, r);
}

TEST(ExecRequest, RejectsTooLongForOneFrame) {
  ExecRequest r;
  r.argv = {"echo", std::string(kMaxPayload, 'x')};
  EXPECT_FALSE(encode(r).ok());
  // One argument alone over the limit must fail too, not encode a short list.
  r.argv = {"echo", std::string(kMaxPayload + 1, 'x')};
  auto enc = encode(r);
  ASSERT_FALSE(enc.ok());
  EXPECT_NE(enc.message().find("longer than"), std::string::npos);
}

TEST(ExecRequest, RejectsMalformedPayloads) {
  ExecRequest r;
  r.argv = {"ls", "-l"};
  const std::string good = *encode(r);
  for (std::size_t cut = 0; cut < good.size(); ++cut) {
    EXPECT_FALSE(decode_exec(good.substr(0, cut)).ok()) << "cut at " << cut;
  }
  EXPECT_FALSE(decode_exec(good + "x").ok()) << "trailing bytes";
  std::string flags = good;
  flags[0] = '\x80';
  EXPECT_FALSE(decode_exec(flags).ok()) << "unknown flags";
  ExecRequest nul;
  nul.argv = {"ls", std::string("a\0b", 3)};
  EXPECT_FALSE(decode_exec(*encode(nul)).ok()) << "NUL in argument";
  ExecRequest empty0;
  empty0.argv = {""};
  EXPECT_FALSE(decode_exec(*encode(empty0)).ok()) << "empty program";
  // Declared argument count far beyond the payload.
  std::string huge("\x02\x00\x00\x00\x00\xff\xff\xff\xff", 9);
  EXPECT_FALSE(decode_exec(huge).ok());
}

TEST(ExitInfo, RoundTripsAndMapsToClientStatus) {
  struct Case {
    ExitInfo info;
    int status;
  } cases[] = {
      {{ExitKind::kExited, 0, 0, false, ""}, 0},
      {{ExitKind::kExited, 3, 0, true, "output cut"}, 3},
      {{ExitKind::kSignaled, 0, 9, false, ""}, 137},
      {{ExitKind::kTimedOut, 0, 15, false, "timeout"}, 124},
      {{ExitKind::kDenied, 0, 0, false, "no rule"}, 126},
      {{ExitKind::kNotFound, 0, 0, false, "nope"}, 127},
      {{ExitKind::kFailed, 0, 0, false, "audit"}, 255},
  };
  for (const auto& c : cases) {
    auto dec = decode_exit(encode(c.info));
    ASSERT_TRUE(dec.ok()) << dec.message();
    EXPECT_EQ(*dec, c.info);
    EXPECT_EQ(client_exit_status(*dec), c.status);
  }
  EXPECT_FALSE(decode_exit(std::string("\x09\0\0\0\0\0\0", 7)).ok()) << "unknown kind";
  EXPECT_FALSE(decode_exit(std::string("\x00\0\0\x01\x00\0\0", 7)).ok()) << "code > 255";
  EXPECT_FALSE(decode_exit("\x00").ok());
}

TEST(ErrorInfo, RoundTripsAndRejectsUnknownCodes) {
  ErrorInfo e{ErrorCode::kBusy, "server busy"};
  auto dec = decode_error(encode(e));
  ASSERT_TRUE(dec.ok());
  EXPECT_EQ(*dec, e);
  EXPECT_FALSE(decode_error("").ok());
  EXPECT_FALSE(decode_error("\x63oops").ok());
}

TEST(Signal, OnlyForwardableSignalsDecode) {
  EXPECT_EQ(*decode_signal(encode_signal(SIGINT)), SIGINT);
  EXPECT_FALSE(decode_signal(encode_signal(SIGSTOP)).ok());
  EXPECT_FALSE(decode_signal("").ok());
  EXPECT_FALSE(decode_signal("ab").ok());
}

TEST(FileFrames, TypeNumbersAreTheDocumentedOnes) {
  EXPECT_EQ(static_cast<int>(FrameType::kPut), 0x04);
  EXPECT_EQ(static_cast<int>(FrameType::kGet), 0x05);
  EXPECT_EQ(static_cast<int>(FrameType::kData), 0x06);
  EXPECT_EQ(static_cast<int>(FrameType::kFile), 0x14);
  EXPECT_EQ(static_cast<int>(FrameType::kEntry), 0x15);
}

TEST(PutRequest, RoundTripsWithExactLayout) {
  PutRequest p{"/srv/in/a.txt", (1ULL << 33) + 5, 0755, true, 1700000000, 123};
  const std::string wire = encode(p);
  // flags, mode, size (u64), mtime s (u64), ns (u32), then the path.
  ASSERT_EQ(wire.size(), 1 + 4 + 8 + 8 + 4 + p.path.size());
  EXPECT_EQ(wire[0], '\x01');
  EXPECT_EQ(wire.substr(1, 4), std::string("\0\0\x01\xed", 4));
  EXPECT_EQ(wire.substr(5, 8), std::string("\0\0\0\x02\0\0\0\x05", 8));
  auto back = decode_put(wire);
  ASSERT_TRUE(back.ok()) << back.message();
  EXPECT_EQ(*back, p);
}

TEST(PutRequest, RejectsMalformedPayloads) {
  const std::string good = encode(PutRequest{"/a", 1, 0644, false, 0, 0});
  EXPECT_FALSE(decode_put(good.substr(0, 10)).ok()) << "truncated";
  std::string flags = good;
  flags[0] = 4;
  EXPECT_FALSE(decode_put(flags).ok()) << "unknown flag";
  EXPECT_FALSE(decode_put(encode(PutRequest{"", 1, 0644, false, 0, 0})).ok()) << "empty path";
  EXPECT_FALSE(decode_put(encode(PutRequest{"rel/a", 1, 0644, false, 0, 0})).ok());
  EXPECT_FALSE(decode_put(encode(PutRequest{std::string("/a\0b", 4), 1, 0644, false, 0, 0})).ok());
  EXPECT_FALSE(decode_put(encode(PutRequest{"/a", 1, 010000, false, 0, 0})).ok()) << "mode";
  EXPECT_FALSE(decode_put(encode(PutRequest{"/a", 1, 0644, false, 0, 1000000000})).ok());
  auto too_long = encode(PutRequest{"/a", 1, 0644, false, 0, 0}) + std::string(kMaxPath, 'x');
  EXPECT_FALSE(decode_put(too_long).ok()) << "path over kMaxPath";
}

TEST(GetRequest, RoundTripsAndRejectsBadPaths) {
  auto back = decode_get(encode(GetRequest{"/var/log/x"}));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->path, "/var/log/x");
  EXPECT_FALSE(decode_get("").ok());
  EXPECT_FALSE(decode_get(std::string("\x02/a", 3)).ok()) << "unknown flag";
  auto list = decode_get(encode(GetRequest{"/srv", true}));
  ASSERT_TRUE(list.ok());
  EXPECT_TRUE(list->list);
  EXPECT_FALSE(decode_get(encode(GetRequest{"x"})).ok());
}

TEST(PutRequest, FolderRoundTripsAndCarriesNoSize) {
  PutRequest p{"/srv/in/tree", 0, 0750, true, 1000, 7};
  p.folder = true;
  auto back = decode_put(encode(p));
  ASSERT_TRUE(back.ok()) << back.message();
  EXPECT_EQ(*back, p);
  p.size = 1;
  EXPECT_FALSE(decode_put(encode(p)).ok()) << "a folder with bytes";
}

TEST(TreeEntry, RoundTripsEveryKind) {
  for (auto kind : {TreeEntry::Kind::kFile, TreeEntry::Kind::kFolder, TreeEntry::Kind::kSkipped}) {
    TreeEntry e{kind, "sub/deeper/c.bin", 1ULL << 33, 0640, -5, 999999999, "why"};
    auto back = decode_entry(encode(e));
    ASSERT_TRUE(back.ok()) << back.message();
    EXPECT_EQ(*back, e);
  }
  TreeEntry self{TreeEntry::Kind::kFolder, ".", 0, 0755, 1, 0, ""};
  EXPECT_TRUE(decode_entry(encode(self)).ok()) << "the listed folder itself";
}

TEST(TreeEntry, RejectsPathsThatLeaveTheFolder) {
  for (const std::string& bad :
       std::vector<std::string>{"", ".", "..", "../x", "a/../b", "a/..", "/etc/passwd", "a//b",
                                "a/", "./a", std::string("a\0b", 3)}) {
    TreeEntry e{TreeEntry::Kind::kFile, bad, 1, 0644, 0, 0, ""};
    EXPECT_FALSE(decode_entry(encode(e)).ok()) << "'" << bad << "'";
  }
  const std::string good = encode(TreeEntry{TreeEntry::Kind::kFile, "a", 1, 0644, 0, 0, ""});
  std::string kind = good;
  kind[0] = 3;
  EXPECT_FALSE(decode_entry(kind).ok()) << "unknown kind";
  EXPECT_FALSE(decode_entry(good.substr(0, 20)).ok()) << "truncated";
  std::string len = good;
  len[25] = 9;  // the path's length (bytes 25-28) past the payload
  EXPECT_FALSE(decode_entry(len).ok());
}

TEST(FileInfo, RoundTripsAndRejectsTrailingBytes) {
  FileInfo f{0, 0600, -1, 5};
  auto back = decode_file(encode(f));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, f);
  EXPECT_FALSE(decode_file(encode(f) + "x").ok());
  EXPECT_FALSE(decode_file(encode(f).substr(1)).ok());
}

TEST(TerminalFrames, TypeNumbersAreTheDocumentedOnes) {
  EXPECT_EQ(static_cast<int>(FrameType::kTerminal), 0x07);
  EXPECT_EQ(static_cast<int>(FrameType::kWindow), 0x08);
  EXPECT_EQ(static_cast<int>(FrameType::kTty), 0x09);
  EXPECT_EQ(type_name(FrameType::kTty), "tty");
}

TEST(TerminalRequest, LoginShellHasExactLayout) {
  const TerminalRequest t{"xterm", {24, 80}, std::nullopt};
  auto wire = encode(t);
  ASSERT_TRUE(wire.ok());
  // flags (no command), u32 length + TERM, rows, cols.
  EXPECT_EQ(*wire, std::string("\0\0\0\0\x05xterm\0\0\0\x18\0\0\0\x50", 18));
  auto back = decode_terminal(*wire);
  ASSERT_TRUE(back.ok()) << back.message();
  EXPECT_EQ(*back, t);
}

TEST(TerminalRequest, CarriesACommand) {
  ExecRequest exec;
  exec.argv = {"vim", "notes.txt"};
  const TerminalRequest t{"screen-256color", {50, 200}, exec};
  auto back = decode_terminal(*encode(t));
  ASSERT_TRUE(back.ok()) << back.message();
  EXPECT_EQ(*back, t);
  ASSERT_TRUE(back->command.has_value());
  EXPECT_EQ(back->command->argv[1], "notes.txt");
}

TEST(TerminalRequest, RejectsMalformedPayloads) {
  const std::string good = *encode(TerminalRequest{"xterm", {24, 80}, std::nullopt});
  EXPECT_FALSE(decode_terminal(good.substr(0, 12)).ok()) << "truncated";
  EXPECT_FALSE(decode_terminal(good + "x").ok()) << "trailing bytes";
  std::string flags = good;
  flags[0] = 2;
  EXPECT_FALSE(decode_terminal(flags).ok()) << "unknown flag";
  std::string with_cmd = good;
  with_cmd[0] = 1;
  EXPECT_FALSE(decode_terminal(with_cmd).ok()) << "command flag without a command";
  EXPECT_FALSE(encode(TerminalRequest{"x\x1b]0;", {1, 1}, std::nullopt}).ok());
  std::string bad_term = good;
  bad_term[5] = '\n';
  EXPECT_FALSE(decode_terminal(bad_term).ok()) << "control character in TERM";
  auto unknown = decode_terminal(*encode(TerminalRequest{"", {0, 0}, std::nullopt}));
  ASSERT_TRUE(unknown.ok()) << "no TERM and no size are allowed: " << unknown.message();
  EXPECT_TRUE(unknown->term.empty());
}

TEST(WindowSize, RoundTripsAndRejectsOutOfRange) {
  auto back = decode_window(encode(WindowSize{40, 132}));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, (WindowSize{40, 132}));
  EXPECT_FALSE(decode_window(encode(WindowSize{kMaxWindow + 1, 1})).ok());
  EXPECT_FALSE(decode_window(encode(WindowSize{1, 1}) + "x").ok());
  EXPECT_FALSE(decode_window("abc").ok());
}

}  // namespace
}  // namespace trex::proto
