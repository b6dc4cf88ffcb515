// The server's core in process: the command loop (run_command) and whole
// sessions (serve_session) over a socketpair, the Stream seam the session
// fuzzer uses, with real commands (/bin/sh) and a real audit trail, but
// neither trexd nor TLS. The test plays the client byte by byte.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <spdlog/sinks/null_sink.h>
#include <chrono>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <iterator>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "server/command.hpp"
#include "server/state.hpp"
#include "trex/recording.hpp"
#include "trex/stream.hpp"
#include "util/unique_fd.hpp"

namespace trex::server {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using proto::FrameType;

// Only bounds a wait that would otherwise hang a broken build; never a
// measure of speed.
constexpr int kPatienceMs = 60'000;

struct Ignore {
  Ignore() { std::signal(SIGPIPE, SIG_IGN); }  // as trexd: EPIPE, not death
} ignore_sigpipe;

// What the client got until the server stopped sending.
struct Reply {
  std::string out, err;
  std::vector<FrameType> types;
  std::optional<proto::ExitInfo> exit;
  std::optional<proto::ErrorInfo> error;
};

// The client's end of the socketpair: plain blocking frame I/O.
class Peer {
 public:
  explicit Peer(int fd) : fd_(fd) {}

  void send(FrameType type, std::string_view payload) {
    send_raw(proto::encode_frame(type, payload));
  }
  void send_raw(std::string_view bytes) {
    while (!bytes.empty()) {
      const ssize_t n = ::send(fd_.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL);
      ASSERT_GT(n, 0) << std::strerror(errno);
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
  }
  void exec(std::vector<std::string> argv) {
    proto::ExecRequest req;
    req.argv = std::move(argv);
    auto payload = proto::encode(req);
    ASSERT_TRUE(payload.ok());
    send(FrameType::kExec, *payload);
  }
  // The next frame; nothing at EOF.
  std::optional<proto::Frame> next() {
    proto::Frame f;
    for (;;) {
      const auto st = dec_.next(f);
      if (st == proto::Decoder::State::kFrame) return f;
      if (st == proto::Decoder::State::kError) {
        ADD_FAILURE() << "server sent a bad frame: " << dec_.error();
        return std::nullopt;
      }
      pollfd p{fd_.get(), POLLIN, 0};
      if (::poll(&p, 1, kPatienceMs) <= 0) {
        ADD_FAILURE() << "no frame from the server";
        return std::nullopt;
      }
      char buf[65536];
      const ssize_t n = ::read(fd_.get(), buf, sizeof buf);
      if (n <= 0) return std::nullopt;
      dec_.feed({buf, static_cast<std::size_t>(n)});
    }
  }
  // Frames until an exit or error frame (or EOF).
  Reply until_end() {
    Reply r;
    while (auto f = next()) {
      r.types.push_back(f->type);
      if (f->type == FrameType::kStdout || f->type == FrameType::kTty) r.out += f->payload;
      if (f->type == FrameType::kStderr) r.err += f->payload;
      if (f->type == FrameType::kExit) {
        auto e = proto::decode_exit(f->payload);
        EXPECT_TRUE(e.ok());
        if (e) r.exit = *e;
        break;
      }
      if (f->type == FrameType::kError) {
        auto e = proto::decode_error(f->payload);
        EXPECT_TRUE(e.ok());
        if (e) r.error = *e;
        break;
      }
    }
    return r;
  }
  void close() { fd_.reset(); }

 private:
  util::UniqueFd fd_;
  proto::Decoder dec_;
};

struct Pair {
  Channel server;
  Peer client;
};

Pair socket_pair() {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) std::abort();
  return {Channel(std::make_unique<PlainStream>(sv[0])), Peer(sv[1])};
}

exec::Process spawn_sh(const std::string& script,
                       std::optional<exec::Terminal> terminal = std::nullopt) {
  exec::Spec spec;
  spec.terminal = terminal;
  spec.program = "/bin/sh";
  spec.argv = {"sh", "-c", script};
  spec.env = {"PATH=/usr/bin:/bin", "HOME=/", "LANG=C"};
  auto p = exec::Process::spawn(spec);
  if (!p) {
    ADD_FAILURE() << p.message();
    std::abort();
  }
  return std::move(*p);
}

// One command run by the loop on its own thread, as a session thread runs
// it, while the test plays the client.
class LoopTest : public ::testing::Test {
 protected:
  void start(const std::string& script) {
    limits_.stop_fd = stop_.get();
    limits_.hard_stop_fd = hard_stop_.get();
    process_.emplace(spawn_sh(
        script, limits_.terminal ? std::optional<exec::Terminal>(exec::Terminal{}) : std::nullopt));
    outcome_ = std::async(std::launch::async,
                          [this] { return run_command(pair_.server, *process_, limits_); });
  }
  CommandOutcome finish() {
    if (outcome_.wait_for(std::chrono::milliseconds(kPatienceMs)) != std::future_status::ready) {
      ADD_FAILURE() << "the command loop did not end";
      process_->kill_group_now();
    }
    CommandOutcome o = outcome_.get();
    // As the session does after the loop: what is still queued goes out,
    // then the client reads to EOF.
    EXPECT_TRUE(pair_.server.flush_all(std::chrono::milliseconds(kPatienceMs)));
    pair_.server.shutdown();
    return o;
  }
  static void poke(const util::UniqueFd& eventfd) {
    const std::uint64_t one = 1;
    ASSERT_EQ(::write(eventfd.get(), &one, sizeof one), 8);
  }

  Pair pair_ = socket_pair();
  CommandLimits limits_;
  util::UniqueFd stop_{::eventfd(0, EFD_CLOEXEC)};
  util::UniqueFd hard_stop_{::eventfd(0, EFD_CLOEXEC)};
  std::optional<exec::Process> process_;
  std::future<CommandOutcome> outcome_;
  fs::path dir_ = [] {
    char tmpl[] = "/tmp/trex-loop-test-XXXXXX";
    return fs::path(::mkdtemp(tmpl));
  }();
  ~LoopTest() override { fs::remove_all(dir_); }
};

TEST_F(LoopTest, ForwardsOutputAndStdinAndLearnsTheStatus) {
  start("cat; printf err >&2; exit 3");
  pair_.client.send(FrameType::kStdin, "hello ");
  pair_.client.send(FrameType::kStdin, "world");
  pair_.client.send(FrameType::kStdin, "");  // EOF
  const CommandOutcome o = finish();
  const Reply r = pair_.client.until_end();
  EXPECT_EQ(r.out, "hello world");
  EXPECT_EQ(r.err, "err");
  EXPECT_EQ(o.exit.kind, proto::ExitKind::kExited);
  EXPECT_EQ(o.exit.code, 3);
  EXPECT_EQ(o.stdout_bytes, 11u);
  EXPECT_EQ(o.stderr_bytes, 3u);
  EXPECT_EQ(o.stdin_bytes, 11u);
  // sha256("hello world")
  EXPECT_EQ(o.stdout_sha256, "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9");
  EXPECT_FALSE(o.session_end);
}

// A client that does not read must stop the command (a full pipe), not make
// trexd buffer its output: 8 MiB are far above what the loop, the pipe and
// the socket hold together.
TEST_F(LoopTest, AClientThatDoesNotReadHoldsTheCommandBack) {
  const fs::path done = dir_ / "done";
  start("head -c 8388608 /dev/zero; touch " + done.string());
  std::this_thread::sleep_for(1s);  // the command has long filled every buffer
  EXPECT_FALSE(fs::exists(done)) << "the whole output was taken without a reader";
  EXPECT_EQ(outcome_.wait_for(0s), std::future_status::timeout);
  std::thread reader([&] {
    const Reply r = pair_.client.until_end();  // to EOF: the loop has no exit frame
    EXPECT_EQ(r.out.size(), 8u << 20);
  });
  const CommandOutcome o = finish();
  reader.join();
  EXPECT_TRUE(fs::exists(done));
  EXPECT_EQ(o.stdout_bytes, 8u << 20);
  EXPECT_EQ(o.exit.code, 0);
}

TEST_F(LoopTest, TimeoutSendsTermThenKillsWhatIgnoresIt) {
  limits_.timeout = 1s;
  limits_.kill_grace = 1s;
  start("trap '' TERM; sleep 60; exit 0");
  const CommandOutcome o = finish();
  EXPECT_TRUE(o.timed_out);
  EXPECT_EQ(o.exit.kind, proto::ExitKind::kTimedOut);
  EXPECT_EQ(o.exit.signal, SIGKILL);  // TERM was ignored: KILL after the grace
  EXPECT_EQ(o.exit.message, "timed out after 1 s");
  EXPECT_GE(o.duration, 2s);
}

TEST_F(LoopTest, TimeoutEndsACommandThatObeysTerm) {
  limits_.timeout = 1s;
  limits_.kill_grace = 30s;
  start("sleep 60");
  const CommandOutcome o = finish();
  EXPECT_EQ(o.exit.kind, proto::ExitKind::kTimedOut);
  EXPECT_EQ(o.exit.signal, SIGTERM);
  EXPECT_LT(o.duration, 30s);  // it never needed the grace
}

TEST_F(LoopTest, OutputPastTheLimitIsCut) {
  limits_.max_output = 1000;
  start("head -c 100000 /dev/zero");
  std::thread reader([&] { EXPECT_EQ(pair_.client.until_end().out.size(), 1000u); });
  const CommandOutcome o = finish();
  reader.join();
  EXPECT_EQ(o.stdout_bytes, 1000u);
  EXPECT_TRUE(o.exit.truncated);
  EXPECT_EQ(o.exit.message, "output cut at 1000 bytes");
}

TEST_F(LoopTest, AnotherExecWhileOneRunsIsAnErrorFrameAndEndsTheCommand) {
  limits_.kill_grace = 30s;
  start("sleep 60");
  pair_.client.exec({"true"});
  const Reply r = pair_.client.until_end();
  ASSERT_TRUE(r.error);
  EXPECT_EQ(r.error->code, proto::ErrorCode::kProtocol);
  EXPECT_EQ(r.error->message, "a command is already running");
  const CommandOutcome o = finish();
  ASSERT_TRUE(o.session_end);
  EXPECT_EQ(o.session_end->kind, EndKind::kProtocolError);
  EXPECT_TRUE(o.error_sent());
  EXPECT_EQ(o.exit.signal, SIGTERM);
}

TEST_F(LoopTest, AnUndecodableFrameIsAnErrorFrame) {
  start("sleep 60");
  pair_.client.send_raw(std::string("\x7f\0\0\0\0", 5));  // no such type
  const Reply r = pair_.client.until_end();
  ASSERT_TRUE(r.error);
  EXPECT_EQ(r.error->code, proto::ErrorCode::kProtocol);
  const CommandOutcome o = finish();
  ASSERT_TRUE(o.session_end);
  EXPECT_EQ(o.session_end->kind, EndKind::kProtocolError);
  EXPECT_EQ(r.error->message, o.session_end->detail);
}

TEST_F(LoopTest, ALostClientEndsTheCommand) {
  start("sleep 60");
  pair_.client.close();
  const CommandOutcome o = finish();
  ASSERT_TRUE(o.session_end);
  EXPECT_EQ(o.session_end->kind, EndKind::kClientDisconnected);
  EXPECT_EQ(o.exit.kind, proto::ExitKind::kSignaled);
  EXPECT_EQ(o.exit.signal, SIGTERM);
}

TEST_F(LoopTest, StoppingGivesTheGraceThenTerm) {
  limits_.kill_grace = 1s;
  start("sleep 60");
  poke(stop_);
  const CommandOutcome o = finish();
  EXPECT_EQ(o.exit.kind, proto::ExitKind::kSignaled);
  EXPECT_EQ(o.exit.signal, SIGTERM);
  EXPECT_GE(o.duration, 1s);
}

TEST_F(LoopTest, ASecondStopKillsAtOnce) {
  limits_.kill_grace = 60s;
  start("trap '' TERM; sleep 60; exit 0");
  poke(stop_);
  poke(hard_stop_);
  const CommandOutcome o = finish();
  EXPECT_EQ(o.exit.signal, SIGKILL);
  EXPECT_LT(o.duration, 60s);
}

// ---- terminals and their recording ---------------------------------------

class TerminalLoopTest : public LoopTest {
 protected:
  // A recording in the test's folder for the loop to write (limits_).
  void record(const audit::RecordingLimits& limits, bool input) {
    auto rec = audit::Recording::create(dir_, "tty-1.1.cast", {80, 24, 1, "dumb"}, limits);
    ASSERT_TRUE(rec.ok()) << rec.message();
    recording_.emplace(std::move(*rec));
    limits_.terminal = true;
    limits_.record_input = input;
    limits_.recording = &*recording_;
  }
  // The screen the finished recording holds: its "o" events joined.
  std::string recorded_screen() {
    EXPECT_TRUE(recording_->finish().ok());
    std::ifstream in(dir_ / "tty-1.1.cast");
    std::string line, screen;
    std::getline(in, line);  // the header
    while (std::getline(in, line)) {
      const auto e = audit::parse_cast_event(line);
      EXPECT_TRUE(e.ok()) << line;
      if (e && e->kind == "o") screen += e->data;
    }
    return screen;
  }
  std::optional<audit::Recording> recording_;
};

TEST_F(TerminalLoopTest, KeysAndScreenGoToTheRecordingAndTheClient) {
  record({}, true);
  start("read x; echo \"got $x\"");
  pair_.client.send(FrameType::kTty, "typed\n");
  const CommandOutcome o = finish();
  const Reply r = pair_.client.until_end();
  EXPECT_FALSE(o.recording_error);
  EXPECT_EQ(o.exit.code, 0);
  EXPECT_NE(r.out.find("got typed"), std::string::npos) << r.out;
  EXPECT_EQ(recorded_screen(), r.out);
  std::ifstream in(dir_ / "tty-1.1.cast");
  const std::string text{std::istreambuf_iterator<char>(in), {}};
  EXPECT_NE(text.find(", \"i\", \"typed\\n\"]"), std::string::npos) << text;
}

// Fails closed: once the recording refuses a write (here its size limit),
// the terminal is hung up and the command ended, and the client got exactly
// what the recording holds.
TEST_F(TerminalLoopTest, ARecordingThatFailsEndsTheCommandAndShowsNothingUnrecorded) {
  // Room for a few reads of the pty (each up to 4 KiB, a little more as
  // JSON), so that the first is recorded and shown whatever their sizes.
  record({.max_bytes = 16384}, false);
  start("yes 0123456789 | head -n 5000; sleep 60");
  const CommandOutcome o = finish();
  const Reply r = pair_.client.until_end();
  ASSERT_TRUE(o.recording_error);
  EXPECT_NE(o.recording_error->find("size limit of 16384 bytes (max_recording)"), std::string::npos)
      << *o.recording_error;
  EXPECT_EQ(o.exit.kind, proto::ExitKind::kFailed);
  EXPECT_NE(o.exit.message.find("(max_recording)"), std::string::npos) << o.exit.message;
  EXPECT_LT(o.duration, 60s);
  EXPECT_EQ(o.stdout_bytes, r.out.size());
  EXPECT_GT(r.out.size(), 1000U);
  EXPECT_TRUE(recorded_screen() == r.out) << r.out.size() << " bytes shown";
}

// ---- whole sessions -----------------------------------------------------

constexpr const char* kPolicy = R"(
[[rule]]
name = "lab"
cn = ["alice"]
allow = ["echo", "sleep"]
)";

class SessionTest : public ::testing::Test {
 protected:
  SessionTest() {
    char tmpl[] = "/tmp/trex-session-test-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    audit::Writer::Options options;
    options.path = (dir_ / "audit.jsonl").string();
    auto writer = audit::Writer::open(options);
    if (!writer) std::abort();
    audit_ = std::move(*writer);
  }
  ~SessionTest() override {
    client_.reset();  // a session still open sees its client go
    if (session_.joinable()) session_.join();
    fs::remove_all(dir_);
  }
  void start(unsigned idle_timeout = 60) {
    config::ServerConfig c;
    c.idle_timeout = idle_timeout;
    c.command_timeout = 60;
    c.kill_grace = 1;
    auto log =
        std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::null_sink_mt>());
    state_ = std::make_unique<State>(c, *audit_, log);
    auto policy = policy::Policy::parse(kPolicy, "policy.toml");
    ASSERT_TRUE(policy.ok()) << policy.message();
    state_->set_policy(std::make_shared<const policy::Policy>(std::move(*policy)));
    state_->stop_fd.reset(::eventfd(0, EFD_CLOEXEC));
    state_->hard_stop_fd.reset(::eventfd(0, EFD_CLOEXEC));
    int sv[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    client_.emplace(sv[1]);
    tls::PeerIdentity id;
    id.cn = "alice";
    id.ou = {"lab"};
    id.verified = true;
    session_ = std::thread([this, fd = sv[0], id] {
      serve_session(*state_, Channel(std::make_unique<PlainStream>(fd)), id, "test:1", 7, nullptr);
    });
  }
  // The session's audit records, once it has ended: "event" or "event: reason".
  std::vector<std::string> ended_trail() {
    session_.join();
    std::vector<std::string> events;
    std::ifstream in(dir_ / "audit.jsonl");
    for (std::string line; std::getline(in, line);) {
      const auto j = nlohmann::json::parse(line);
      std::string e = j.at("event");
      if (j.contains("reason")) e += ": " + j.at("reason").get<std::string>();
      events.push_back(e);
    }
    return events;
  }

  fs::path dir_;
  std::unique_ptr<audit::Writer> audit_;
  std::unique_ptr<State> state_;
  std::optional<Peer> client_;
  std::thread session_;
};

TEST_F(SessionTest, AnAllowedCommandRunsAndIsAudited) {
  start();
  client_->exec({"echo", "hi"});
  const Reply r = client_->until_end();
  EXPECT_EQ(r.types.front(), FrameType::kStarted);
  EXPECT_EQ(r.out, "hi\n");
  ASSERT_TRUE(r.exit);
  EXPECT_EQ(r.exit->kind, proto::ExitKind::kExited);
  EXPECT_EQ(r.exit->code, 0);
  client_->close();
  EXPECT_EQ(ended_trail(), (std::vector<std::string>{"session_open", "exec_start", "exec_end",
                                                     "session_close: client closed"}));
}

TEST_F(SessionTest, ADeniedCommandGetsADeniedExitAndTheSessionGoesOn) {
  start();
  client_->exec({"rm", "-rf", "/"});
  const Reply denied = client_->until_end();
  ASSERT_TRUE(denied.exit);
  EXPECT_EQ(denied.exit->kind, proto::ExitKind::kDenied);
  EXPECT_FALSE(denied.exit->message.empty());
  client_->exec({"echo", "still here"});
  EXPECT_EQ(client_->until_end().out, "still here\n");
  client_->close();
  EXPECT_EQ(ended_trail(),
            (std::vector<std::string>{"session_open",
                                      "exec_denied: rule 'lab' does not allow program 'rm'",
                                      "exec_start", "exec_end", "session_close: client closed"}));
}

TEST_F(SessionTest, GarbageGetsAProtocolErrorFrame) {
  start();
  client_->send_raw(std::string("\x7f\0\0\0\0", 5));
  const Reply r = client_->until_end();
  ASSERT_TRUE(r.error);
  EXPECT_EQ(r.error->code, proto::ErrorCode::kProtocol);
  const auto trail = ended_trail();
  ASSERT_EQ(trail.size(), 2u);
  EXPECT_EQ(trail[1].rfind("session_close: protocol error: ", 0), 0u) << trail[1];
}

TEST_F(SessionTest, StdinBeforeAnyCommandIsAProtocolError) {
  start();
  client_->send(FrameType::kStdin, "early");
  const Reply r = client_->until_end();
  ASSERT_TRUE(r.error);
  EXPECT_EQ(r.error->message, "unexpected stdin frame before any command");
}

TEST_F(SessionTest, AnIdleSessionIsToldAndClosed) {
  start(1);
  const Reply r = client_->until_end();
  ASSERT_TRUE(r.error);
  EXPECT_EQ(r.error->code, proto::ErrorCode::kIdle);
  EXPECT_EQ(r.error->message, "idle for 1 s");
  EXPECT_EQ(ended_trail().back(), "session_close: idle timeout");
}

TEST_F(SessionTest, AStoppingServerEndsAnIdleSession) {
  start();
  const std::uint64_t one = 1;
  ASSERT_EQ(::write(state_->stop_fd.get(), &one, sizeof one), 8);
  const Reply r = client_->until_end();
  ASSERT_TRUE(r.error);
  EXPECT_EQ(r.error->code, proto::ErrorCode::kShutdown);
  EXPECT_EQ(ended_trail().back(), "session_close: server stopping");
}

TEST_F(SessionTest, ACommandRunningAtAStopFinishesWithinTheGrace) {
  start();
  client_->exec({"sleep", "60"});
  const auto started = client_->next();
  ASSERT_TRUE(started);
  ASSERT_EQ(started->type, FrameType::kStarted);
  state_->stopping = true;
  const std::uint64_t one = 1;
  ASSERT_EQ(::write(state_->stop_fd.get(), &one, sizeof one), 8);
  const Reply r = client_->until_end();  // TERM after kill_grace (1 s)
  ASSERT_TRUE(r.exit);
  EXPECT_EQ(r.exit->kind, proto::ExitKind::kSignaled);
  EXPECT_EQ(r.exit->signal, SIGTERM);
  const Reply bye = client_->until_end();
  ASSERT_TRUE(bye.error);
  EXPECT_EQ(bye.error->code, proto::ErrorCode::kShutdown);
}

}  // namespace
}  // namespace trex::server
