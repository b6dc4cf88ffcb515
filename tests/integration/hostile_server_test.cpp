// A compromised lab machine against the admin's trex: a server in the test
// process (support/evil_server) with a valid certificate that speaks the
// documented frames with hostile intent. trex must keep its own clock, obey
// a second Ctrl-C, stay linear and bounded on floods, never print the
// server's control characters in its own words (nor, on a terminal, in
// fan-out output), refuse frames out of order, and count a successful but
// cut command as a success.
#include <signal.h>
#include <sys/resource.h>

#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "support/evil_server.hpp"
#include "support/harness.hpp"
#include "support/pty.hpp"

namespace trex::testing {
namespace {

using Clock = std::chrono::steady_clock;
using proto::FrameType;

class HostileServer : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    pki_tmp_ = new TempDir();
    pki_ = new Pki(pki_tmp_->path());
    dir_ = new TempDir();
    good_ = new Trexd(*pki_, dir_->path());
  }
  static void TearDownTestSuite() {
    delete good_;
    delete dir_;
    delete pki_;
    delete pki_tmp_;
  }
  static std::vector<std::string> trex_argv(const std::vector<std::string>& args) {
    std::vector<std::string> argv{
        TREX_BIN, "--ca", pki_->ca(), "--cert", pki_->cert("client"), "--key", pki_->key("client")};
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  }
  static RunResult trex(const std::vector<std::string>& args,
                        std::chrono::milliseconds timeout = 60s) {
    RunOptions o;
    o.timeout = timeout;
    return run(trex_argv(args), o);
  }

  static TempDir *pki_tmp_, *dir_;
  static Pki* pki_;
  static Trexd* good_;
};

TempDir* HostileServer::pki_tmp_ = nullptr;
TempDir* HostileServer::dir_ = nullptr;
Pki* HostileServer::pki_ = nullptr;
Trexd* HostileServer::good_ = nullptr;

// Takes the command, says it started, then never says anything again.
void silent(EvilServer& s, Channel& ch) {
  if (s.wait_for(ch, FrameType::kExec) && s.send(ch, FrameType::kStarted, "1.1")) s.hold(ch);
}

TEST_F(HostileServer, SilentServerMeetsTrexsOwnClock) {
  EvilServer evil(*pki_, silent);
  ASSERT_TRUE(evil.ok()) << evil.error();
  const auto r = trex({"--timeout", "1", evil.address(), "true"}, 120s);
  EXPECT_FALSE(r.timed_out) << "trex waited for ever on a silent server";
  EXPECT_EQ(r.status, 255) << r.err;
  EXPECT_NE(r.err.find("no result from 127.0.0.1 within --timeout 1 s + 15 s"), std::string::npos)
      << r.err;
}

TEST_F(HostileServer, SecondCtrlCEndsTrexAtOnce) {
  EvilServer evil(*pki_, silent);
  ASSERT_TRUE(evil.ok()) << evil.error();
  Child c(trex_argv({"-n", evil.address(), "sleep", "300"}));
  auto waited = [](const std::function<bool()>& cond) {
    const auto deadline = Clock::now() + scaled(20s);
    while (!cond() && Clock::now() < deadline) std::this_thread::sleep_for(10ms);
    return cond();
  };
  ASSERT_TRUE(waited([&] { return evil.execs.load() == 1; }));
  c.kill(SIGINT);  // forwarded; this server ignores it
  ASSERT_TRUE(waited([&] { return evil.signals.load() == 1; }));
  c.kill(SIGINT);
  const auto r = c.wait(30s);
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.status, 130) << r.err;
  EXPECT_NE(r.err.find("interrupted again"), std::string::npos) << r.err;
}

TEST_F(HostileServer, FanOutGivesUpOnASilentHostAndPrintsTheOthersAsTheyFinish) {
  EvilServer evil(*pki_, silent);
  ASSERT_TRUE(evil.ok()) << evil.error();
  Child c(trex_argv({"--json", "--host-timeout", "5", "-H", evil.address() + "," + good_->address(),
                     "echo", "fine"}));
  // The good host's object comes while the silent one still holds trex.
  ASSERT_TRUE(c.wait_for_output("\"host\":\"" + good_->address() + "\""));
  const auto r = c.wait(120s);
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.status, 255) << r.err;
  const auto lines = r.out;
  EXPECT_NE(lines.find("--host-timeout 5 s"), std::string::npos) << r.out;
  EXPECT_NE(lines.find("\"stdout\":\"fine\\n\""), std::string::npos) << r.out;
}

// Output whose one line is `bytes` long, sent one byte per frame.
EvilServer::Script flood(std::size_t bytes) {
  return [bytes](EvilServer& s, Channel& ch) {
    if (!s.wait_for(ch, FrameType::kExec) || !s.send(ch, FrameType::kStarted, "1.1")) return;
    for (std::size_t sent = 0; sent < bytes;) {
      for (int i = 0; i < 65536 && sent < bytes; ++i, ++sent) ch.send(FrameType::kStdout, "x");
      if (!ch.flush_all(scaled(30s))) return;
    }
    s.send(ch, FrameType::kStdout, "\n");
    s.send(ch, FrameType::kExit, exit_payload(0));
  };
}

TEST_F(HostileServer, HugeLineInOneByteFramesStaysLinearAndBounded) {
  const std::size_t bytes = (under_asan() || under_tsan()) ? (8U << 20) : (100U << 20);
  EvilServer evil(*pki_, flood(bytes));
  ASSERT_TRUE(evil.ok()) << evil.error();
  RunOptions o;
  o.timeout = 600s;
  Child c(trex_argv({"-H", evil.address(), "cat"}), o);
  long peak_kib = 0;
  std::thread watch([&] {
    for (;;) {
      std::ifstream st("/proc/" + std::to_string(c.pid()) + "/status");
      std::string line;
      bool seen = false;
      while (std::getline(st, line)) {
        if (line.rfind("VmHWM:", 0) == 0) peak_kib = std::stol(line.substr(6)), seen = true;
      }
      if (!seen) return;
      std::this_thread::sleep_for(100ms);
    }
  });
  const auto r = c.wait(600s);
  watch.join();
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.status, 0) << r.err;
  // Pieces of 64 KiB, each with the host's prefix, all but the last marked.
  const std::string prefix = evil.address() + ": ";
  std::size_t pieces = 0, data = 0;
  for (std::size_t at = 0; at < r.out.size();) {
    const auto nl = r.out.find('\n', at);
    ASSERT_NE(nl, std::string::npos);
    ASSERT_EQ(r.out.compare(at, prefix.size(), prefix), 0);
    std::size_t len = nl - at - prefix.size();
    if (r.out[nl - 1] == '\\') --len;
    EXPECT_LE(len, 64U * 1024U);
    data += len;
    ++pieces;
    at = nl + 1;
  }
  EXPECT_EQ(data, bytes);
  EXPECT_EQ(pieces, (bytes + 65535) / 65536);
  if (!under_asan() && !under_tsan()) {
    EXPECT_LT(peak_kib, 64 * 1024) << "trex's peak RSS in KiB";
  }
}

const std::string kForged =
    "boom\nlab2: trex: FORGED\r\x1b[2K\x9b"
    "31m\x7f";

TEST_F(HostileServer, ErrorTextIsEscapedInTrexsOwnMessages) {
  EvilServer evil(*pki_, [](EvilServer& s, Channel& ch) {
    if (!s.wait_for(ch, FrameType::kExec)) return;
    s.send(ch, FrameType::kError,
           proto::encode(proto::ErrorInfo{proto::ErrorCode::kInternal, kForged}));
  });
  ASSERT_TRUE(evil.ok()) << evil.error();
  for (const auto& args :
       {std::vector<std::string>{evil.address(), "true"},
        std::vector<std::string>{"-H", evil.address() + "," + good_->address(), "true"}}) {
    const auto r = trex(args);
    EXPECT_EQ(r.status, 255) << r.err;
    EXPECT_EQ(r.err.find("\nlab2:"), std::string::npos) << r.err;
    for (const char c : std::string("\r\x1b\x9b\x7f")) {
      EXPECT_EQ(r.err.find(c), std::string::npos) << r.err;
    }
    EXPECT_NE(r.err.find("boom\\x0alab2: trex: FORGED\\x0d\\x1b[2K\\x9b31m\\x7f"),
              std::string::npos)
        << r.err;
  }
}

TEST_F(HostileServer, FanOutOnATerminalShowsRemoteControlsEscapedUnlessRaw) {
  EvilServer evil(*pki_, [](EvilServer& s, Channel& ch) {
    if (!s.wait_for(ch, FrameType::kExec) || !s.send(ch, FrameType::kStarted, "1.1")) return;
    s.send(ch, FrameType::kStdout, "ok\x1b[2K\r" + std::string("other: fake\ttab\n"));
    s.send(ch, FrameType::kExit, exit_payload(0));
  });
  ASSERT_TRUE(evil.ok()) << evil.error();
  Pty t(trex_argv({"-H", evil.address(), "true"}));
  ASSERT_TRUE(t.expect("\\x1b[2K\\x0dother: fake\ttab", 0)) << t.out();
  EXPECT_EQ(t.out().find('\x1b'), std::string::npos) << t.out();
  EXPECT_EQ(t.wait(), 0) << t.out();
  Pty raw(trex_argv({"--raw", "-H", evil.address(), "true"}));
  ASSERT_TRUE(raw.expect("ok\x1b[2K", 0)) << raw.out();
  EXPECT_EQ(raw.wait(), 0) << raw.out();
}

TEST_F(HostileServer, FramesAfterAnExitEndTheInteractiveSession) {
  EvilServer evil(*pki_, [](EvilServer& s, Channel& ch) {
    if (!s.wait_for(ch, FrameType::kExec) || !s.send(ch, FrameType::kStarted, "1.1")) return;
    s.send(ch, FrameType::kStdout, "one\n");
    s.send(ch, FrameType::kExit, exit_payload(0));
    s.send(ch, FrameType::kStdout, "late\n");
    s.send(ch, FrameType::kExit, exit_payload(7));
    if (!s.wait_for(ch, FrameType::kExec) || !s.send(ch, FrameType::kStarted, "1.2")) return;
    s.send(ch, FrameType::kExit, exit_payload(0));
  });
  ASSERT_TRUE(evil.ok()) << evil.error();
  RunOptions o;
  o.stdin_data = "first\nsecond\n";
  const auto r = run(trex_argv({evil.address()}), o);
  EXPECT_EQ(r.status, 255) << r.err;
  EXPECT_EQ(r.out.find("late"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("protocol error from 127.0.0.1"), std::string::npos) << r.err;
  // Seen before the next command is sent, or as that command's first frame.
  EXPECT_TRUE(r.err.find("after the command's exit") != std::string::npos ||
              r.err.find("output before the command started") != std::string::npos)
      << r.err;
  EXPECT_EQ(r.err.find("[exit 7]"), std::string::npos) << r.err;
}

// A server that stops right after a command's exit sends its goodbye (an
// error frame) in the same write: the command's status stands, and an
// interactive session ends with the server's reason, not a protocol error.
TEST_F(HostileServer, ServerStoppingRightAfterAnExitIsNoProtocolError) {
  EvilServer evil(*pki_, [](EvilServer& s, Channel& ch) {
    if (!s.wait_for(ch, FrameType::kExec) || !s.send(ch, FrameType::kStarted, "1.1")) return;
    ch.send(FrameType::kStdout, "one\n");
    ch.send(FrameType::kExit, exit_payload(3));
    ch.send(FrameType::kError,
            proto::encode(proto::ErrorInfo{proto::ErrorCode::kShutdown, "server stopping"}));
    (void)ch.flush_all(scaled(30s));
  });
  ASSERT_TRUE(evil.ok()) << evil.error();
  const auto r = trex({evil.address(), "true"});
  EXPECT_EQ(r.status, 3) << r.err;
  EXPECT_EQ(r.out, "one\n");
  EXPECT_EQ(r.err.find("protocol error"), std::string::npos) << r.err;

  RunOptions o;
  o.stdin_data = "first\nsecond\n";
  const auto i = run(trex_argv({evil.address()}), o);
  EXPECT_EQ(i.err.find("protocol error"), std::string::npos) << i.err;
  EXPECT_NE(i.err.find("server stopping"), std::string::npos) << i.err;
}

TEST_F(HostileServer, TruncatedButSuccessfulHostCountsAsASuccess) {
  EvilServer evil(*pki_, [](EvilServer& s, Channel& ch) {
    if (!s.wait_for(ch, FrameType::kExec) || !s.send(ch, FrameType::kStarted, "1.1")) return;
    s.send(ch, FrameType::kStdout, "0123456789");
    s.send(ch, FrameType::kExit, exit_payload(0, true, "output cut at 10 bytes"));
  });
  ASSERT_TRUE(evil.ok()) << evil.error();
  const auto r = trex({"-H", evil.address() + "," + good_->address(), "true"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find(evil.address() + ": trex: note: output cut at 10 bytes"), std::string::npos)
      << r.err;
  EXPECT_EQ(r.err.find("failed"), std::string::npos) << r.err;
  const auto j = trex({"--json", "-H", evil.address(), "true"});
  EXPECT_EQ(j.status, 0) << j.err;
  EXPECT_NE(j.out.find("\"truncated\":true"), std::string::npos) << j.out;
}

TEST_F(HostileServer, ParallelAboveTheDescriptorLimitIsCapped) {
  // Distinct hosts (the same one named twice runs once): the good server and
  // 39 ports where nothing listens, refused at once.
  std::string hosts = good_->address();
  for (int port = 1; port < 40; ++port) hosts += ",127.0.0.1:" + std::to_string(port);
  std::vector<std::string> argv{"sh", "-c", "ulimit -n 48 && exec \"$@\"", "sh"};
  for (const auto& a : trex_argv({"--parallel", "200", "-H", hosts, "echo", "up"})) {
    argv.push_back(a);
  }
  const auto r = run(argv);
  EXPECT_EQ(r.status, 255) << r.err;
  EXPECT_EQ(r.out, good_->address() + ": up\n");
  EXPECT_NE(r.err.find("--parallel 200 is more than the open-file limit (48) allows"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(r.err.find("Too many open files"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace trex::testing
