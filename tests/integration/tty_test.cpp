// trex -t through a real terminal on the client's side (a pty driven by the
// test) against the real trexd: the remote pty, its size and resizes, full
// screen programs, Ctrl-C, the ~. escape with the local terminal restored,
// the policy's refusal, and the recording (replayed by trex-audit play and
// checked by trex-audit verify).
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "support/evil_server.hpp"
#include "support/harness.hpp"
#include "support/pty.hpp"

namespace trex::testing {
namespace {

constexpr const char* kPolicy = R"(
[[rule]]
name = "screens"
cn = ["client"]
allow = ["*"]
shell = true
tty = true
record_input = true

[[rule]]
name = "lines-only"
cn = ["plain"]
allow = ["*"]
shell = true
)";

class Tty : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    pki_tmp_ = new TempDir();
    pki_ = new Pki(pki_tmp_->path());
    pki_->client("plain");
    dir_ = new TempDir();
    write_file(dir_->file("policy.toml"), kPolicy);
    server_ = new Trexd(*pki_, dir_->path(), {"--policy", dir_->file("policy.toml")});
  }
  static void TearDownTestSuite() {
    delete server_;
    delete dir_;
    delete pki_;
    delete pki_tmp_;
  }
  // A shell on the test's terminal that prints the terminal's mode, runs
  // trex with `args`, then prints its status and the mode again.
  static std::vector<std::string> session(const std::vector<std::string>& args,
                                          const std::string& name = "client",
                                          const std::string& redirect = "") {
    const std::string trex = shell_words(server_->trex_argv(name, args));
    return {"/bin/sh", "-c",
            "echo \"mode<$(stty -g)>\"; " + trex + redirect +
                "; echo \"rc=$?\"; "
                "echo \"mode<$(stty -g)>\""};
  }
  // Both "mode<...>" lines printed by session(): equal when trex restored it.
  static void expect_mode_restored(Pty& t) {
    const auto rc = t.out().find("rc=");
    ASSERT_NE(rc, std::string::npos) << t.out();
    ASSERT_TRUE(t.expect("mode<", rc)) << t.out();
    ASSERT_TRUE(t.expect(">", t.out().find("mode<", rc))) << t.out();
    const std::string& screen = t.out();
    const auto first = screen.find("mode<");
    const auto second = screen.rfind("mode<");
    ASSERT_NE(first, second) << screen;
    const auto line = [&](std::size_t at) { return screen.substr(at, screen.find('>', at) - at); };
    EXPECT_EQ(line(first), line(second)) << screen;
  }
  static nlohmann::json last_end() {
    const auto ends = audit_records(server_->audit_path(), "exec_end");
    return ends.empty() ? nlohmann::json() : ends.back();
  }

  static TempDir *pki_tmp_, *dir_;
  static Pki* pki_;
  static Trexd* server_;
};

TempDir* Tty::pki_tmp_ = nullptr;
TempDir* Tty::dir_ = nullptr;
Pki* Tty::pki_ = nullptr;
Trexd* Tty::server_ = nullptr;

TEST_F(Tty, ARemotePtyOfTheLocalSizeFollowsResizes) {
  Pty t(session({"-t", "-c", "tty; stty size; echo ready; read x; stty size; echo \"[$TERM]\""}),
        "xterm", 30, 100);
  ASSERT_TRUE(t.expect("ready", 0)) << t.out();
  EXPECT_NE(t.out().find("/dev/pts/"), std::string::npos) << t.out();
  EXPECT_NE(t.out().find("30 100"), std::string::npos) << t.out();
  const auto mark = t.out().size();
  t.resize(41, 123);
  t.send("\r");
  ASSERT_TRUE(t.expect("41 123", mark)) << t.out();
  ASSERT_TRUE(t.expect("[xterm]", mark)) << t.out();
  ASSERT_TRUE(t.expect("rc=0", mark)) << t.out();
  expect_mode_restored(t);
  EXPECT_EQ(t.wait(), 0);
}

TEST_F(Tty, FullScreenProgramsOpenAndQuit) {
  {
    Pty t(session({"-t", "less", "/etc/passwd"}), "xterm");
    ASSERT_TRUE(t.expect("root:", 0)) << t.out();
    t.send("q");
    ASSERT_TRUE(t.expect("rc=0", 0)) << t.out();
    EXPECT_EQ(t.wait(), 0);
  }
  Pty t(session({"-t", "vim", "-u", "NONE", "-N", "/tmp/trex-tty-test-unsaved"}), "xterm");
  ASSERT_TRUE(t.expect("trex-tty-test-unsaved", 0)) << t.out();
  // The alternate screen: vim believes it has a real terminal.
  EXPECT_NE(t.out().find("\x1b[?1049h"), std::string::npos) << t.out();
  t.send("ihello\x1b:q!\r");
  ASSERT_TRUE(t.expect("rc=0", 0)) << t.out();
  expect_mode_restored(t);
}

TEST_F(Tty, CtrlCInterruptsTheRemoteForegroundJob) {
  // dash catches SIGINT and defers it until its child ends: a Ctrl-C typed
  // before sleep is forked waits for the sleep. As a person would, press it
  // again until the command ends.
  Pty t(session({"-t", "-c", "echo ready; sleep 300; echo survived"}));
  ASSERT_TRUE(t.expect("ready", 0)) << t.out();
  for (int i = 0; i < 20 && t.out().find("rc=") == std::string::npos; ++i) {
    t.send("\x03");
    t.expect("rc=", 0, 1s);
  }
  ASSERT_TRUE(t.expect("rc=130", 0)) << t.out();
  EXPECT_EQ(t.out().find("survived"), std::string::npos) << t.out();
  expect_mode_restored(t);
  EXPECT_EQ(last_end()["signal"], 2) << last_end().dump();
}

TEST_F(Tty, TildeDotDisconnectsAndRestoresTheTerminal) {
  Pty t(session({"-t", "-c", "echo ready; sleep 300"}));
  ASSERT_TRUE(t.expect("ready", 0)) << t.out();
  t.send("\r~.");
  ASSERT_TRUE(t.expect("rc=255", 0, 30s)) << t.out();
  EXPECT_NE(t.out().find("disconnected from 127.0.0.1 (~.)"), std::string::npos) << t.out();
  expect_mode_restored(t);
  // The server ended the command as for any client that went away.
  ASSERT_TRUE(eventually([] { return last_end().contains("ended_by"); }, 30s));
}

TEST_F(Tty, ATerminalTheRuleDoesNotGrantIs126) {
  Pty t(session({"-t", "true"}, "plain"));
  ASSERT_TRUE(t.expect("rc=126", 0)) << t.out();
  EXPECT_NE(t.out().find("rule 'lines-only' does not allow terminals (tty = true)"),
            std::string::npos)
      << t.out();
  expect_mode_restored(t);
  // trex HOST alone: line mode for plain, a login shell for client.
  Pty lines(session({}, "plain"));
  ASSERT_TRUE(lines.expect("trex 127.0.0.1$ ", 0)) << lines.out();
  lines.send("exit\r");
  ASSERT_TRUE(lines.expect("rc=0", 0)) << lines.out();
  Pty login(session({}));
  login.send("echo \"zero=$0\"; exit\r");
  ASSERT_TRUE(login.expect("zero=-", 0)) << login.out();
  ASSERT_TRUE(login.expect("rc=0", 0)) << login.out();
}

TEST_F(Tty, TheRecordingReplaysTheScreenAndVerifyCatchesAChange) {
  // trex's stdout goes to a file: exactly the bytes the screen got.
  const std::string screen = dir_->file("screen.out");
  Pty t(session(
      {"-t", "-c", "printf 'caf\\303\\251 \\033[1mbold\\033[0m\\n'; read x; echo \"got [$x]\""},
      "client", " > " + screen));
  t.send("typed\r");
  ASSERT_TRUE(t.expect("rc=0", 0)) << t.out();
  const auto end = last_end();
  ASSERT_TRUE(end.contains("recording")) << end.dump();
  const std::string cast = server_->log_dir() + "/" + end["recording"].get<std::string>();
  struct stat st {};
  ASSERT_EQ(::stat(cast.c_str(), &st), 0) << cast;
  EXPECT_EQ(st.st_mode & 07777, 0640U);
  EXPECT_EQ(end["recording_bytes"], static_cast<std::uint64_t>(st.st_size));
  const std::string original = read_file(cast);
  EXPECT_NE(original.find(", \"i\", \"typed"), std::string::npos) << original;  // record_input

  const std::string audit = TREX_AUDIT_BIN;
  const auto play = run({audit, "play", end["id"].get<std::string>(), "--speed", "10000",
                         "--log-dir", server_->log_dir()});
  EXPECT_EQ(play.status, 0) << play.err;
  EXPECT_EQ(play.out, read_file(screen));
  EXPECT_NE(play.out.find("caf\xC3\xA9 \x1b[1mbold"), std::string::npos) << play.out;
  EXPECT_NE(play.out.find("got [typed]"), std::string::npos) << play.out;

  const auto verify = [&] { return run({audit, "verify", "--log-dir", server_->log_dir()}); };
  auto ok = verify();
  EXPECT_EQ(ok.status, 0) << ok.out << ok.err;
  EXPECT_NE(ok.out.find("recordings match their digests"), std::string::npos) << ok.out;
  std::string changed = original;
  changed[changed.find("bold")] = 'B';
  write_file(cast, changed);
  auto bad = verify();
  EXPECT_EQ(bad.status, 1) << bad.out;
  EXPECT_NE(bad.err.find(cast + ": recording of command " + end["id"].get<std::string>() +
                         " was changed"),
            std::string::npos)
      << bad.err;
  ::unlink(cast.c_str());
  bad = verify();
  EXPECT_EQ(bad.status, 1);
  EXPECT_NE(bad.err.find(cast + ": recording of command"), std::string::npos) << bad.err;
  EXPECT_NE(bad.err.find("is missing"), std::string::npos) << bad.err;
  write_file(cast, original);
  ::chmod(cast.c_str(), 0640);
  EXPECT_EQ(verify().status, 0);
}

TEST_F(Tty, AnOldServerIsNamedAsSuch) {
  // What a trexd from before terminals answers once the request arrives: its
  // decoder knows no 0x07. (Answering before it raced the client's start.)
  EvilServer old(*pki_, [](EvilServer& s, Channel& ch) {
    if (!s.wait_for(ch, proto::FrameType::kTerminal)) return;
    s.send(ch, proto::FrameType::kError,
           proto::encode(proto::ErrorInfo{proto::ErrorCode::kProtocol, "unknown frame type 7"}));
    s.hold(ch);
  });
  ASSERT_TRUE(old.ok()) << old.error();
  auto argv = server_->trex_argv("client", {"-t", "true"});
  argv[argv.size() - 3] = old.address();
  Pty t({"/bin/sh", "-c", shell_words(argv) + "; echo \"rc=$?\""});
  ASSERT_TRUE(t.expect("rc=255", 0)) << t.out();
  EXPECT_NE(t.out().find("refused the terminal request as a protocol error; its trexd may "
                         "predate trex -t (it said: unknown frame type 7)"),
            std::string::npos)
      << t.out();
}

}  // namespace
}  // namespace trex::testing
