// What a hostile terminal user can make of the session recording, against
// the real trexd with max_recording = "16K" in its configuration file: a
// flood of window-size frames is coalesced (the recording barely grows, the
// last size still counts), and a recording that would pass the limit ends
// the session down the fail-closed path of a recording that cannot be
// written, as one on a file system that refuses a write mid-session does
// (a file-size rlimit on a second trexd stands in for a full disk): the
// client gets the reason and exit 255, nothing unrecorded reached it,
// exec_end says why and still covers the file, verify passes, and others
// keep working.
#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "support/file_size_limit.hpp"
#include "support/harness.hpp"
#include "support/pty.hpp"
#include "support/raw_client.hpp"

namespace trex::testing {
namespace {

using proto::FrameType;

constexpr std::uint64_t kLimit = 16 * 1024;
constexpr const char* kLimitError = "reached its size limit of 16384 bytes (max_recording)";

constexpr const char* kPolicy = R"(
[[rule]]
name = "screens"
cn = ["client"]
allow = ["*"]
shell = true
tty = true
record_input = true
)";

// The "r" events of an asciicast file, "COLSxROWS" each.
std::vector<std::string> resizes(const std::string& text) {
  std::vector<std::string> out;
  std::size_t at = 0;
  while ((at = text.find(", \"r\", \"", at)) != std::string::npos) {
    at += 8;
    out.push_back(text.substr(at, text.find('"', at) - at));
  }
  return out;
}

// One PKI and one trexd for the suite, with max_recording = "16K".
struct Limited {
  TempDir pki_dir;
  Pki pki{pki_dir.path()};
  TempDir dir;
  std::unique_ptr<Trexd> server;
  Limited() {
    write_file(dir.file("policy.toml"), kPolicy);
    write_file(dir.file("trexd.toml"), "max_recording = \"16K\"\n");
    server = std::make_unique<Trexd>(pki, dir.path(),
                                     std::vector<std::string>{"--config", dir.file("trexd.toml"),
                                                              "--policy", dir.file("policy.toml")});
  }
};

class TtyLimits : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { world_ = std::make_unique<Limited>(); }
  static void TearDownTestSuite() { world_.reset(); }
  static Trexd& server() { return *world_->server; }

  // The exec_end of command `id` on `s`, once written.
  static nlohmann::json end_of(const Trexd& s, const std::string& id) {
    nlohmann::json end;
    eventually([&] {
      for (auto& j : audit_records(s.audit_path(), "exec_end")) {
        if (j.value("id", "") == id) end = j;
      }
      return !end.is_null();
    });
    return end;
  }
  // The session recording `end` names, checked against `max` and the
  // record; its text.
  static std::string recording_of(const Trexd& s, const nlohmann::json& end, std::uint64_t max) {
    EXPECT_TRUE(end.contains("recording")) << end.dump();
    if (!end.contains("recording")) return "";
    const std::string text = read_file(s.log_dir() + "/" + end["recording"].get<std::string>());
    EXPECT_LE(text.size(), max);
    EXPECT_EQ(end["recording_bytes"], text.size()) << end.dump();
    return text;
  }
  // What each test ends with: the trail (recordings included) verifies and
  // another command runs.
  static void expect_healthy(const Trexd& s) {
    EXPECT_EQ(verify_trail(s.audit_path()), 0) << read_file(s.audit_path());
    auto r = s.trex("client", {"echo", "still", "serving"});
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, "still serving\n");
  }
  // trex -t on `s` runs a command that prints `lines` lines and waits; the
  // server must end it because of its recording: trex says `message`, exits
  // 255, and showed exactly what the recording (at most `max` bytes) holds.
  // The command's exec_end.
  static nlohmann::json ended_by_its_recording(const Trexd& s, int lines,
                                               const std::string& message, std::uint64_t max) {
    TempDir tmp;
    // trex's stdout goes to a file: exactly the bytes the screen got.
    const std::string shown = tmp.file("shown.out");
    const auto argv = s.trex_argv("client", {"-t", "-c",
                                             "echo ready; yes 0123456789 | head -n " +
                                                 std::to_string(lines) + "; sleep 300"});
    Pty t({"/bin/sh", "-c", shell_words(argv) + " > " + shown + "; echo \"rc=$?\""});
    EXPECT_TRUE(t.expect("rc=", 0, 60s)) << t.out();
    EXPECT_NE(t.out().find("rc=255"), std::string::npos) << t.out();
    EXPECT_NE(t.out().find("trex: " + message), std::string::npos) << t.out();
    const auto ends = audit_records(s.audit_path(), "exec_end");
    if (ends.empty()) {
      ADD_FAILURE() << "no exec_end in " << read_file(s.audit_path());
      return nlohmann::json::object();  // the caller's value() must not throw
    }
    const auto end = end_of(s, ends.back()["id"].get<std::string>());
    EXPECT_TRUE(end["exit_code"].is_null()) << end.dump();
    EXPECT_TRUE(end["signal"].is_number() && end["signal"] > 0) << end.dump();  // HUP or TERM
    EXPECT_FALSE(end.contains("ended_by")) << end.dump();  // the server ended it, not the client
    recording_of(s, end, max);
    const std::string seen = read_file(shown);
    EXPECT_EQ(end["stdout_bytes"], seen.size()) << end.dump();
    // Fail closed: the screen got what the recording holds, nothing more.
    const auto play = run({TREX_AUDIT_BIN, "play", end["id"].get<std::string>(), "--speed", "10000",
                           "--log-dir", s.log_dir()});
    EXPECT_EQ(play.status, 0) << play.err;
    EXPECT_EQ(play.out.size(), seen.size());
    EXPECT_TRUE(play.out == seen) << "the replay differs from what trex showed";
    EXPECT_GT(play.out.size(), max / 4);
    return end;
  }

  static inline std::unique_ptr<Limited> world_;
};

// The screen bytes (tty frames) in `out`.
std::string screen(const RawClient::Outcome& out) {
  std::string s;
  for (const auto& f : out.frames) {
    if (f.type == FrameType::kTty) s += f.payload;
  }
  return s;
}

// A read() stop: once the screen read so far shows `needle` (or at the end
// of the command).
std::function<bool(const proto::Frame&)> until_screen(const std::string& needle) {
  auto seen = std::make_shared<std::string>();
  return [seen, needle](const proto::Frame& f) {
    if (f.type == FrameType::kTty) *seen += f.payload;
    return seen->find(needle) != std::string::npos || f.type == FrameType::kExit;
  };
}

std::string window_frame(std::uint32_t rows, std::uint32_t cols) {
  std::string out;
  proto::append_frame(out, FrameType::kWindow, proto::encode(proto::WindowSize{rows, cols}));
  return out;
}

// Starts `argv` on a terminal through `c` and waits for "ready" on its
// screen; the command's id, or "" when it did not start.
std::string start_terminal(RawClient& c, const std::vector<std::string>& argv) {
  proto::TerminalRequest req{"dumb", {24, 80}, proto::ExecRequest{}};
  req.command->argv = argv;
  if (!c.send(FrameType::kTerminal, *proto::encode(req))) return "";
  std::string id;
  const auto ready = until_screen("ready");
  c.read(30s, [&](const proto::Frame& f) {
    if (f.type == FrameType::kStarted) id = f.payload;
    return ready(f);
  });
  return id;
}

// The recording file of command `id` in `log`, found while it is written.
std::string recording_file(const std::string& log, const std::string& id) {
  for (const auto& e : std::filesystem::directory_iterator(log)) {
    const std::string name = e.path().filename();
    if (name.ends_with("-" + id + ".cast")) return e.path();
  }
  return "";
}

// The exit frame at the end of `out`, when there is one.
std::optional<proto::ExitInfo> exit_of(const RawClient::Outcome& out) {
  if (out.frames.empty() || out.frames.back().type != FrameType::kExit) return std::nullopt;
  auto e = proto::decode_exit(out.frames.back().payload);
  return e ? std::optional<proto::ExitInfo>(*e) : std::nullopt;
}

TEST_F(TtyLimits, AFloodOfResizesIsCoalescedAndKeystrokesPastTheLimitEndTheSession) {
  RawClient c(server(), world_->pki);
  ASSERT_TRUE(c.ok()) << c.error();
  const std::string id =
      start_terminal(c, {"sh", "-c", "echo ready; while read l; do stty size; done"});
  ASSERT_FALSE(id.empty());

  // 50,000 window frames, each a new size, then 33x111.
  constexpr int kFrames = 50000;
  std::string flood;
  for (int i = 0; i < kFrames; ++i) flood += window_frame(10 + i % 2, 40 + i % 3);
  flood += window_frame(33, 111);
  ASSERT_TRUE(c.send_raw(flood));
  ASSERT_TRUE(c.send(FrameType::kTty, "\n"));
  auto out = c.read(60s, until_screen("33 111"));
  ASSERT_NE(screen(out).find("33 111"), std::string::npos) << screen(out);
  // The file is written as the session goes: the flood left a few lines.
  const std::string cast = recording_file(server().log_dir(), id);
  ASSERT_FALSE(cast.empty()) << "no recording of " << id;
  const auto during = resizes(read_file(cast));
  EXPECT_LT(during.size(), 1000U) << "of " << kFrames << " window frames";
  ASSERT_FALSE(during.empty());
  EXPECT_EQ(during.back(), "111x33");  // held back, written before the keystroke
  EXPECT_LT(read_file(cast).size(), kLimit / 2);

  // Keystrokes (recorded, record_input) and their echo fill the rest.
  std::string lines;
  for (int i = 0; i < 40; ++i) {
    proto::append_frame(lines, FrameType::kTty, std::string(1000, 'k') + "\n");
  }
  ASSERT_TRUE(c.send_raw(lines));
  const auto is_exit = [](const proto::Frame& f) { return f.type == FrameType::kExit; };
  const auto exit = exit_of(c.read(60s, is_exit));
  ASSERT_TRUE(exit.has_value());
  EXPECT_EQ(exit->kind, proto::ExitKind::kFailed);
  EXPECT_EQ(exit->message,
            "the session recording reached the server's size limit (max_recording), so it "
            "ended the command");

  const auto end = end_of(server(), id);
  EXPECT_NE(end.value("error", "").find(kLimitError), std::string::npos) << end.dump();
  EXPECT_EQ(end.value("error", "").rfind("recording: " + cast, 0), 0U) << end.dump();
  const std::string text = recording_of(server(), end, kLimit);
  EXPECT_GT(text.size(), kLimit - 2048);  // it was filled, not cut early
  // The session itself goes on: another command on it.
  proto::ExecRequest again;
  again.argv = {"echo", "same session"};
  ASSERT_TRUE(c.send(FrameType::kExec, *proto::encode(again)));
  const auto second = exit_of(c.read(30s, is_exit));
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->kind, proto::ExitKind::kExited);
  expect_healthy(server());
}

TEST_F(TtyLimits, TrexIsToldWhyAndShownNothingTheRecordingLacks) {
  const auto end = ended_by_its_recording(
      server(), 5000,
      "the session recording reached the server's size limit (max_recording), so it ended "
      "the command",
      kLimit);
  EXPECT_NE(end.value("error", "").find(kLimitError), std::string::npos) << end.dump();
  expect_healthy(server());
}

// A write the file system refuses mid-session (here a file-size limit, as a
// full disk would) takes the same path as the size limit: Recording's write
// fails, the command loop hangs up and ends the command.
TEST_F(TtyLimits, AFileSystemThatRefusesTheRecordingEndsTheSessionTheSameWay) {
  constexpr std::uint64_t kDisk = 256 * 1024;
  TempDir dir;
  std::unique_ptr<Trexd> refusing;
  {
    const FileSizeLimit limit(kDisk);  // trexd's files (and its commands') stop there
    ASSERT_TRUE(limit.ok());
    refusing = std::make_unique<Trexd>(
        world_->pki, dir.path(),
        std::vector<std::string>{"--policy", world_->dir.file("policy.toml")});
  }
  const auto end = ended_by_its_recording(
      *refusing, 40000, "the server cannot write the session recording, so it ended the command",
      kDisk);
  const std::string error = end.value("error", "");
  EXPECT_EQ(error.rfind("recording: cannot write " + refusing->log_dir() + "/tty-", 0), 0U)
      << end.dump();
  EXPECT_NE(error.find(": File too large"), std::string::npos) << end.dump();
  EXPECT_GT(end.value("recording_bytes", 0), kDisk / 2) << end.dump();  // filled, then refused
  expect_healthy(*refusing);
}

}  // namespace
}  // namespace trex::testing
