// Hostile input at the protocol level: garbage instead of TLS, wrong TLS
// versions and ALPN, broken frames from an authenticated client, random frame
// sequences, data after a command's exit, slow and numerous connections
// (slowloris), a full server, idle sessions, a client that stops reading
// while a command writes gigabytes, a corrupted or removed CRL at reload, and
// a descriptor limit of 64.
// After each: the server still serves a good client, the audit trail
// verifies, and trexd has no leftover child processes. 127.0.0.1 only.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <thread>

#include "support/harness.hpp"
#include "support/raw_client.hpp"
#include "trex/channel.hpp"
#include "trex/client.hpp"
#include "trex/proto.hpp"
#include "trex/tls.hpp"

namespace trex::testing {
namespace {

using Clock = std::chrono::steady_clock;
using proto::FrameType;

const tls::Library kTlsLibrary;

RunOptions with_timeout(std::chrono::milliseconds timeout) {
  RunOptions o;
  o.timeout = timeout;
  return o;
}

// A plain TCP connection to the server (blocking), or -1; from `source`
// (another loopback address: another host to trexd) when given.
int tcp_socket(const Trexd& server, const char* source = nullptr) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in from{};
  from.sin_family = AF_INET;
  if (source != nullptr && (::inet_pton(AF_INET, source, &from.sin_addr) != 1 ||
                            ::bind(fd, reinterpret_cast<sockaddr*>(&from), sizeof(from)) != 0)) {
    ::close(fd);
    return -1;
  }
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port_of(server));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Reads from a plain socket until the peer closes it; false on timeout.
bool wait_closed(int fd, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + scaled(timeout);
  char buf[4096];
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    const ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n <= 0) return true;
  }
}

std::string exec_payload(std::vector<std::string> argv, bool stdin_open = false) {
  proto::ExecRequest req;
  req.argv = std::move(argv);
  req.stdin_open = stdin_open;
  return *proto::encode(req);
}

// Waits for the session_close record of the newest session and returns it.
nlohmann::json wait_session_close(const Trexd& server, std::size_t count = 1) {
  nlohmann::json rec;
  eventually([&] {
    auto recs = audit_records(server.audit_path(), "session_close");
    if (recs.size() < count) return false;
    rec = recs.back();
    return true;
  });
  EXPECT_FALSE(rec.is_null()) << read_file(server.audit_path());
  return rec;
}

nlohmann::json wait_auth_fail(const Trexd& server,
                              const std::function<bool(const std::string&)>& reason_ok) {
  nlohmann::json rec;
  eventually([&] {
    for (auto& j : audit_records(server.audit_path(), "auth_fail")) {
      if (reason_ok(j.value("reason", ""))) {
        rec = j;
        return true;
      }
    }
    return false;
  });
  EXPECT_FALSE(rec.is_null()) << read_file(server.audit_path());
  return rec;
}

// One PKI per test program, copied into each test's own folder.
const Pki& template_pki() {
  static TempDir dir;
  static Pki pki(dir.path());
  return pki;
}

class Hostile : public ::testing::Test {
 protected:
  void start(std::vector<std::string> extra = {}) {
    server_ = std::make_unique<Trexd>(pki_, tmp_.path(), std::move(extra));
  }

  // What every test ends with.
  void expect_healthy() {
    ASSERT_TRUE(server_->alive());
    auto r = server_->trex("client", {"echo", "still", "serving"}, with_timeout(30s));
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, "still serving\n");
    EXPECT_TRUE(eventually([&] { return server_->children().empty(); }, 15s))
        << "trexd still has " << server_->children().size() << " children";
    EXPECT_EQ(verify_trail(server_->audit_path()), 0) << read_file(server_->audit_path());
  }

  // A protocol violation from an authenticated client: an error frame with
  // code kProtocol, then the server closes; audited as "protocol error...".
  void expect_protocol_error(RawClient& c, const std::string& reason_part) {
    auto out = c.read(10s);
    ASSERT_TRUE(out.error.has_value()) << "no error frame; " << out.frames.size() << " frames";
    EXPECT_EQ(out.error->code, proto::ErrorCode::kProtocol) << out.error->message;
    // The server then closes the session.
    auto after = c.read(10s);
    EXPECT_TRUE(after.ended);
    const auto rec = wait_session_close(*server_);
    const std::string reason = rec.value("reason", "");
    EXPECT_EQ(reason.rfind("protocol error", 0), 0u) << rec.dump();
    EXPECT_NE(reason.find(reason_part), std::string::npos) << rec.dump();
  }

  TempDir tmp_;
  Pki pki_{tmp_.path(), template_pki()};
  std::unique_ptr<Trexd> server_;
};

// ---- before TLS -------------------------------------------------------------

TEST_F(Hostile, RandomBytesInsteadOfTlsHello) {
  start();
  std::mt19937 rng(1234);
  std::string junk(600, '\0');
  for (auto& ch : junk) ch = static_cast<char>(rng());
  const int fd = tcp_socket(*server_);
  ASSERT_GE(fd, 0);
  [[maybe_unused]] auto n = ::write(fd, junk.data(), junk.size());
  EXPECT_TRUE(wait_closed(fd, 10s));
  ::close(fd);
  const auto rec = wait_auth_fail(*server_, [](const std::string&) { return true; });
  EXPECT_EQ(rec.value("peer", "").rfind("127.0.0.1:", 0), 0u) << rec.dump();
  expect_healthy();
}

TEST_F(Hostile, PlaintextHttpRequest) {
  start();
  const int fd = tcp_socket(*server_);
  ASSERT_GE(fd, 0);
  const std::string req = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  [[maybe_unused]] auto n = ::write(fd, req.data(), req.size());
  EXPECT_TRUE(wait_closed(fd, 10s));
  ::close(fd);
  wait_auth_fail(*server_, [](const std::string&) { return true; });
  expect_healthy();
}

TEST_F(Hostile, Tls12ClientIsRefused) {
  start();
  auto r = run({"openssl", "s_client", "-connect", server_->address(), "-tls1_2", "-CAfile",
                pki_.ca(), "-cert", pki_.cert("client"), "-key", pki_.key("client"), "-ign_eof"},
               with_timeout(20s));
  EXPECT_FALSE(r.timed_out);
  EXPECT_NE(r.status, 0);
  const auto rec = wait_auth_fail(*server_, [](const std::string& reason) {
    return reason.find("protocol version") != std::string::npos;
  });
  EXPECT_TRUE(eventually([&] {
    const auto log = server_->server_log();
    return log.find("from " + rec.value("peer", "?") + ": handshake failed: protocol version") !=
           std::string::npos;
  })) << server_->server_log();
  expect_healthy();
}

TEST_F(Hostile, WrongAlpnIsRefused) {
  start();
  auto r =
      run({"openssl", "s_client", "-connect", server_->address(), "-tls1_3", "-CAfile", pki_.ca(),
           "-cert", pki_.cert("client"), "-key", pki_.key("client"), "-alpn", "other", "-ign_eof"},
          with_timeout(20s));
  EXPECT_FALSE(r.timed_out);
  wait_auth_fail(
      *server_, [](const std::string& reason) { return reason.find("ALPN") != std::string::npos; });
  EXPECT_TRUE(audit_records(server_->audit_path(), "session_open").empty());
  expect_healthy();
}

TEST_F(Hostile, MissingAlpnIsRefused) {
  start();
  auto r = run({"openssl", "s_client", "-connect", server_->address(), "-tls1_3", "-CAfile",
                pki_.ca(), "-cert", pki_.cert("client"), "-key", pki_.key("client"), "-ign_eof"},
               with_timeout(20s));
  EXPECT_FALSE(r.timed_out);
  const auto rec = wait_auth_fail(
      *server_, [](const std::string& reason) { return reason.find("ALPN") != std::string::npos; });
  EXPECT_EQ(rec.value("cn", ""), "client") << rec.dump();
  EXPECT_TRUE(audit_records(server_->audit_path(), "session_open").empty());
  expect_healthy();
}

// ---- broken frames from an authenticated client -------------------------------

TEST_F(Hostile, OversizedFrame) {
  start();
  RawClient c(*server_, pki_);
  ASSERT_TRUE(c.ok()) << c.error();
  c.send_raw(raw_frame(static_cast<std::uint8_t>(FrameType::kExec), 1U << 20, "xxxx"));
  expect_protocol_error(c, "exceeds the limit");
  expect_healthy();
}

TEST_F(Hostile, UnknownFrameType) {
  start();
  RawClient c(*server_, pki_);
  ASSERT_TRUE(c.ok()) << c.error();
  c.send_raw(raw_frame(0x7f, 3, "abc"));
  expect_protocol_error(c, "unknown frame type 127");
  expect_healthy();
}

TEST_F(Hostile, TruncatedExecRequest) {
  start();
  RawClient c(*server_, pki_);
  ASSERT_TRUE(c.ok()) << c.error();
  const auto full = exec_payload({"echo", "hello"});
  c.send(FrameType::kExec, full.substr(0, full.size() - 3));
  expect_protocol_error(c, "truncated");
  EXPECT_TRUE(audit_records(server_->audit_path(), "exec_start").empty());
  expect_healthy();
}

TEST_F(Hostile, ConnectionClosedMidFrame) {
  start();
  RawClient c(*server_, pki_);
  ASSERT_TRUE(c.ok()) << c.error();
  // A header that promises 100 bytes, 10 of them, then close_notify.
  c.send_raw(raw_frame(static_cast<std::uint8_t>(FrameType::kExec), 100, "0123456789"));
  c.close_notify();
  c.read(10s);
  const auto rec = wait_session_close(*server_);
  EXPECT_FALSE(rec.value("reason", "").empty()) << rec.dump();
  EXPECT_TRUE(audit_records(server_->audit_path(), "exec_start").empty());
  expect_healthy();
}

TEST_F(Hostile, StdinBeforeAnyCommand) {
  start();
  RawClient c(*server_, pki_);
  ASSERT_TRUE(c.ok()) << c.error();
  c.send(FrameType::kStdin, "data");
  expect_protocol_error(c, "stdin");
  expect_healthy();
}

TEST_F(Hostile, SignalBeforeAnyCommand) {
  start();
  RawClient c(*server_, pki_);
  ASSERT_TRUE(c.ok()) << c.error();
  c.send(FrameType::kSignal, proto::encode_signal(SIGINT));
  expect_protocol_error(c, "signal");
  expect_healthy();
}

TEST_F(Hostile, ServerFrameTypeFromClient) {
  start();
  RawClient c(*server_, pki_);
  ASSERT_TRUE(c.ok()) << c.error();
  c.send(FrameType::kStdout, "pretending to be the server");
  expect_protocol_error(c, "unexpected stdout frame");
  expect_healthy();
}

TEST_F(Hostile, SecondExecWhileOneRuns) {
  start();
  RawClient c(*server_, pki_);
  ASSERT_TRUE(c.ok()) << c.error();
  c.send(FrameType::kExec, exec_payload({"sleep", "30"}));
  auto started = c.read(10s, [](const proto::Frame& f) { return f.type == FrameType::kStarted; });
  ASSERT_FALSE(started.frames.empty());
  ASSERT_EQ(started.frames.back().type, FrameType::kStarted);
  c.send(FrameType::kExec, exec_payload({"echo", "second"}));
  expect_protocol_error(c, "already running");
  // The running command was ended and audited.
  EXPECT_TRUE(
      eventually([&] { return audit_records(server_->audit_path(), "exec_end").size() == 1; }));
  EXPECT_EQ(audit_records(server_->audit_path(), "exec_start").size(), 1u);
  expect_healthy();
}

TEST_F(Hostile, ForbiddenSignalWhileCommandRuns) {
  start();
  RawClient c(*server_, pki_);
  ASSERT_TRUE(c.ok()) << c.error();
  c.send(FrameType::kExec, exec_payload({"sleep", "30"}));
  auto started = c.read(10s, [](const proto::Frame& f) { return f.type == FrameType::kStarted; });
  ASSERT_FALSE(started.frames.empty());
  c.send(FrameType::kSignal, proto::encode_signal(SIGSTOP));
  expect_protocol_error(c, "may not be forwarded");
  expect_healthy();
}

// ---- random frame sequences -------------------------------------------------

std::string random_sequence(std::mt19937& rng) {
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
  auto bytes = [&](int n) {
    std::string s(static_cast<std::size_t>(n), '\0');
    for (auto& ch : s) ch = static_cast<char>(rng());
    return s;
  };
  const std::vector<std::vector<std::string>> commands = {
      {"true"}, {"echo", "x"}, {"echo", "a", "b"}, {"false"}};
  std::string out;
  const int count = 1 + pick(6);
  for (int i = 0; i < count; ++i) {
    switch (pick(10)) {
      case 0:
      case 1:
        out += proto::encode_frame(
            FrameType::kExec, exec_payload(commands[static_cast<std::size_t>(pick(4))], pick(2)));
        break;
      case 2: {
        proto::ExecRequest req;
        req.shell = true;
        req.command = pick(2) ? "echo hi" : "true";
        out += proto::encode_frame(FrameType::kExec, *proto::encode(req));
        break;
      }
      case 3:
        out += proto::encode_frame(FrameType::kStdin, bytes(pick(40)));
        break;
      case 4:
        out += proto::encode_frame(FrameType::kSignal, bytes(pick(3)));
        break;
      case 5: {
        const auto full = exec_payload({"echo", "cut"});
        out += proto::encode_frame(
            FrameType::kExec,
            full.substr(0, static_cast<std::size_t>(pick(static_cast<int>(full.size())))));
        break;
      }
      case 6:
        out += raw_frame(static_cast<std::uint8_t>(0x21 + pick(200)), 2, "zz");
        break;
      case 7:
        out += raw_frame(0x02, 0x10000 + 1 + static_cast<std::uint32_t>(pick(1000)), "");
        break;
      case 8:
        out += bytes(1 + pick(30));
        break;
      default:
        out += proto::encode_frame(static_cast<FrameType>(0x10 + pick(4)), bytes(pick(10)));
    }
  }
  return out;
}

TEST_F(Hostile, RandomFrameSequences) {
  start();
  std::mt19937 rng(20240501);
  const int baseline_fds = server_->open_fds();
  for (int i = 0; i < 200; ++i) {
    SCOPED_TRACE("sequence " + std::to_string(i));
    RawClient c(*server_, pki_);
    ASSERT_TRUE(c.ok()) << c.error();
    c.send_raw(random_sequence(rng));
    c.close_notify();
    auto out = c.read(10s);
    if (out.error) {
      EXPECT_TRUE(out.error->code == proto::ErrorCode::kProtocol) << out.error->message;
    }
    ASSERT_TRUE(server_->alive());
  }
  // Every session ends and is audited; nothing is left behind.
  EXPECT_TRUE(eventually(
      [&] { return audit_records(server_->audit_path(), "session_close").size() == 200; }, 30s))
      << audit_records(server_->audit_path(), "session_close").size();
  EXPECT_EQ(audit_records(server_->audit_path(), "session_open").size(), 200u);
  EXPECT_EQ(audit_records(server_->audit_path(), "exec_start").size(),
            audit_records(server_->audit_path(), "exec_end").size());
  EXPECT_TRUE(eventually([&] { return server_->open_fds() <= baseline_fds; }))
      << server_->open_fds() << " fds, baseline " << baseline_fds;
  expect_healthy();
}

// ---- slow, many, busy, idle -------------------------------------------------

TEST_F(Hostile, SlowHandshakeTimesOut) {
  start({"--handshake-timeout", "1"});
  const int fd = tcp_socket(*server_);
  ASSERT_GE(fd, 0);
  // Others are served while it waits.
  auto r = server_->trex("client", {"echo", "meanwhile"});
  EXPECT_EQ(r.status, 0) << r.err;
  const auto rec =
      wait_auth_fail(*server_, [](const std::string& reason) { return reason == "timeout"; });
  EXPECT_EQ(rec.value("peer", "").rfind("127.0.0.1:", 0), 0u) << rec.dump();
  EXPECT_TRUE(wait_closed(fd, 10s));
  ::close(fd);
  EXPECT_NE(server_->server_log().find("handshake failed: timeout"), std::string::npos);
  expect_healthy();
}

TEST_F(Hostile, ThreeHundredConnectionsAtOnce) {
  start({"--handshake-timeout", "2"});
  std::vector<int> fds;
  for (int i = 0; i < 300; ++i) {
    const int fd = tcp_socket(*server_);
    if (fd >= 0) fds.push_back(fd);
  }
  EXPECT_EQ(fds.size(), 300u);
  // Served, or told the server is busy / the connection was dropped.
  auto r =
      server_->trex("client", {"echo", "crowded"}, with_timeout(30s), {"--connect-timeout", "5"});
  if (r.status != 0) {
    EXPECT_EQ(r.status, 255) << r.err;
    EXPECT_EQ(r.err.rfind("trex: ", 0), 0u) << r.err;
  } else {
    EXPECT_EQ(r.out, "crowded\n");
  }
  EXPECT_TRUE(server_->alive());
  for (int fd : fds) ::close(fd);
  // Once they are gone, clients are served again.
  EXPECT_TRUE(eventually(
      [&] { return server_->trex("client", {"true"}, with_timeout(10s)).status == 0; }, 30s));
  expect_healthy();
}

TEST_F(Hostile, BusyServerRefusesThenRecovers) {
  start({"--max-sessions", "2"});
  RunOptions hold;
  hold.close_stdin = false;
  auto first = std::make_unique<Child>(server_->trex_argv("client", {}), hold);
  auto second = std::make_unique<Child>(server_->trex_argv("client", {}), hold);
  ASSERT_TRUE(eventually([&] {
    return audit_records(server_->audit_path(), "session_open").size() == 2;
  })) << read_file(server_->audit_path());
  auto r = server_->trex("client", {"echo", "third"});
  EXPECT_EQ(r.status, 255) << r.err;
  EXPECT_EQ(r.err.rfind("trex: server busy", 0), 0u) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  // One session ends: the next client gets its slot.
  first->kill(SIGTERM);
  first->wait(10s);
  ASSERT_TRUE(eventually(
      [&] { return audit_records(server_->audit_path(), "session_close").size() == 1; }));
  EXPECT_TRUE(eventually([&] {
    auto again = server_->trex("client", {"echo", "next"});
    return again.status == 0 && again.out == "next\n";
  }));
  second->kill(SIGTERM);
  second->wait(10s);
  expect_healthy();
}

TEST_F(Hostile, IdleSessionIsClosed) {
  start({"--idle-timeout", "1"});
  RawClient c(*server_, pki_);
  ASSERT_TRUE(c.ok()) << c.error();
  c.send(FrameType::kExec, exec_payload({"true"}));
  auto done = c.read(10s, [](const proto::Frame& f) { return f.type == FrameType::kExit; });
  ASSERT_FALSE(done.frames.empty());
  EXPECT_EQ(done.frames.back().type, FrameType::kExit);
  const auto t0 = Clock::now();
  auto out = c.read(10s);
  ASSERT_TRUE(out.error.has_value());
  EXPECT_EQ(out.error->code, proto::ErrorCode::kIdle) << out.error->message;
  EXPECT_GE(Clock::now() - t0, 900ms);
  const auto rec = wait_session_close(*server_);
  EXPECT_EQ(rec.value("reason", ""), "idle timeout") << rec.dump();
  EXPECT_EQ(rec.value("commands", -1), 1) << rec.dump();
  expect_healthy();
}

// A trickle of empty stdin frames after the command ended must not hold the
// idle clock off (issue 13): it counts from the end of the last command.
TEST_F(Hostile, TrickleOfEmptyStdinDoesNotHoldOffIdle) {
  start({"--idle-timeout", "1"});
  RawClient c(*server_, pki_);
  ASSERT_TRUE(c.ok()) << c.error();
  c.send(FrameType::kExec, exec_payload({"true"}));
  auto done = c.read(10s, [](const proto::Frame& f) { return f.type == FrameType::kExit; });
  ASSERT_FALSE(done.frames.empty());
  std::optional<proto::ErrorInfo> error;
  for (int i = 0; i < 40 && !error; ++i) {  // 8 s of frames every 200 ms
    c.send(FrameType::kStdin, "");
    error = c.read(200ms).error;
  }
  ASSERT_TRUE(error.has_value()) << "the trickle kept the session open";
  EXPECT_EQ(error->code, proto::ErrorCode::kIdle) << error->message;
  const auto rec = wait_session_close(*server_);
  EXPECT_EQ(rec.value("reason", ""), "idle timeout") << rec.dump();
  expect_healthy();
}

// ---- data after exit ----------------------------------------------------------

std::string stdout_of(const std::vector<proto::Frame>& frames) {
  std::string out;
  for (const auto& f : frames) {
    if (f.type == FrameType::kStdout) out += f.payload;
  }
  return out;
}

// The exit frame that ends `out`, or nothing.
std::optional<proto::ExitInfo> exit_of(const RawClient::Outcome& out) {
  if (out.frames.empty() || out.frames.back().type != FrameType::kExit) return std::nullopt;
  auto e = proto::decode_exit(out.frames.back().payload);
  if (!e) return std::nullopt;
  return *e;
}

bool is_exit(const proto::Frame& f) { return f.type == FrameType::kExit; }

TEST_F(Hostile, StdinAndSignalsAfterExitAreIgnored) {
  start();
  RawClient c(*server_, pki_);
  ASSERT_TRUE(c.ok()) << c.error();

  // A command ends; then stdin, its EOF and signals arrive for it.
  c.send(FrameType::kExec, exec_payload({"true"}, true));
  auto first = c.read(10s, is_exit);
  ASSERT_FALSE(first.ended) << (first.error ? first.error->message : "closed");
  ASSERT_TRUE(exit_of(first).has_value());
  ASSERT_TRUE(c.send(FrameType::kStdin, "late stdin\n"));
  ASSERT_TRUE(c.send(FrameType::kStdin, ""));
  ASSERT_TRUE(c.send(FrameType::kSignal, proto::encode_signal(SIGINT)));
  ASSERT_TRUE(c.send(FrameType::kSignal, proto::encode_signal(SIGTERM)));

  // The next command gets only its own stdin and none of those signals.
  c.send(FrameType::kExec, exec_payload({"sh", "-c", "sleep 0.3; cat; echo done"}, true));
  c.send(FrameType::kStdin, "own stdin\n");
  c.send(FrameType::kStdin, "");
  auto second = c.read(20s, is_exit);
  ASSERT_FALSE(second.ended) << (second.error ? second.error->message : "closed");
  auto e2 = exit_of(second);
  ASSERT_TRUE(e2.has_value());
  EXPECT_EQ(e2->kind, proto::ExitKind::kExited) << "signal " << e2->signal;
  EXPECT_EQ(e2->code, 0);
  EXPECT_EQ(stdout_of(second.frames), "own stdin\ndone\n");

  // Frames racing the end of a quick command, pipelined behind its request,
  // and more after its exit frame.
  std::string burst = proto::encode_frame(FrameType::kExec, exec_payload({"echo", "quick"}));
  burst += proto::encode_frame(FrameType::kStdin, "racing");
  burst += proto::encode_frame(FrameType::kStdin, "");
  burst += proto::encode_frame(FrameType::kSignal, proto::encode_signal(SIGINT));
  ASSERT_TRUE(c.send_raw(burst));
  auto third = c.read(10s, is_exit);
  ASSERT_FALSE(third.ended) << (third.error ? third.error->message : "closed");
  auto e3 = exit_of(third);
  ASSERT_TRUE(e3.has_value());
  // The SIGINT may or may not have caught echo alive; either is an answer.
  EXPECT_TRUE(e3->kind == proto::ExitKind::kExited || e3->kind == proto::ExitKind::kSignaled);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(c.send(FrameType::kSignal, proto::encode_signal(i % 2 == 0 ? SIGINT : SIGTERM)));
    ASSERT_TRUE(c.send(FrameType::kStdin, std::string(1000, 'x')));
  }

  // The session is still usable, then closes cleanly.
  c.send(FrameType::kExec, exec_payload({"echo", "still", "usable"}));
  auto fourth = c.read(10s, is_exit);
  ASSERT_FALSE(fourth.ended) << (fourth.error ? fourth.error->message : "closed");
  auto e4 = exit_of(fourth);
  ASSERT_TRUE(e4.has_value());
  EXPECT_EQ(e4->kind, proto::ExitKind::kExited);
  EXPECT_EQ(stdout_of(fourth.frames), "still usable\n");
  c.close_notify();
  auto last = c.read(10s);
  EXPECT_TRUE(last.ended);
  EXPECT_FALSE(last.error.has_value()) << last.error->message;
  const auto rec = wait_session_close(*server_);
  EXPECT_EQ(rec.value("reason", ""), "client closed") << rec.dump();
  EXPECT_EQ(rec.value("commands", -1), 4) << rec.dump();
  EXPECT_EQ(audit_records(server_->audit_path(), "exec_start").size(), 4u);
  EXPECT_EQ(audit_records(server_->audit_path(), "exec_end").size(), 4u);
  expect_healthy();
}

// ---- a client that stops reading --------------------------------------------

// What the process has written so far (/proc/PID/io wchar); -1 once it is gone.
long long written_bytes(pid_t pid) {
  std::istringstream in(read_file("/proc/" + std::to_string(pid) + "/io"));
  std::string key;
  long long value = 0;
  while (in >> key >> value) {
    if (key == "wchar:") return value;
  }
  return -1;
}

TEST_F(Hostile, ClientThatStopsReadingGetsBackPressure) {
  start();
  constexpr long long kMaxOutputRead = 64LL << 20;  // what trexd may take from the pipe
  // Growth allowed to trexd's RSS; ASan also keeps up to 256 MiB of freed
  // memory in quarantine.
  const long bound_kib = 64 * 1024 + (under_asan() ? 256 * 1024 : 0);
  auto c = std::make_unique<RawClient>(*server_, pki_);
  ASSERT_TRUE(c->ok()) << c->error();
  const long before = server_->rss_kib();
  ASSERT_GT(before, 0);
  c->send(FrameType::kExec, exec_payload({"head", "-c", "4G", "/dev/zero"}));
  auto first = c->read(10s, [](const proto::Frame& f) { return f.type == FrameType::kStdout; });
  ASSERT_FALSE(first.frames.empty());
  ASSERT_EQ(first.frames.back().type, FrameType::kStdout);
  // From here on the client reads nothing.
  std::vector<pid_t> kids;
  ASSERT_TRUE(eventually([&] { return (kids = server_->children()).size() == 1; }));
  const pid_t cmd = kids[0];

  // The command must end up blocked on its full pipe (no progress for
  // 500 ms) after little output, while trexd's memory stays flat.
  long peak = before;
  long long written = written_bytes(cmd);
  bool blocked = false;
  const auto t0 = Clock::now();
  for (int tick = 1; Clock::now() < t0 + scaled(30s); ++tick) {
    std::this_thread::sleep_for(50ms);
    peak = std::max(peak, server_->rss_kib());
    if (tick % 10 != 0) continue;
    const long long now = written_bytes(cmd);
    if (now < 0) break;  // it finished: nothing held it back
    if (now == written && Clock::now() - t0 >= 2s) {
      blocked = true;
      break;
    }
    written = now;
  }
  EXPECT_TRUE(blocked) << "the command was never held back; it wrote " << written << " bytes";
  EXPECT_LT(written, kMaxOutputRead) << "trexd kept reading output nobody took";
  EXPECT_LT(peak - before, bound_kib)
      << "trexd's RSS grew from " << before << " KiB to " << peak << " KiB";
  EXPECT_TRUE(audit_records(server_->audit_path(), "exec_end").empty());
  std::printf("[ figures  ] command held back after %lld bytes; trexd RSS %ld -> %ld KiB\n",
              written, before, peak);

  // The client vanishes: the command is killed and its end recorded.
  c.reset();
  std::vector<nlohmann::json> ends;
  ASSERT_TRUE(eventually(
      [&] { return !(ends = audit_records(server_->audit_path(), "exec_end")).empty(); }, 15s))
      << read_file(server_->audit_path());
  const auto& end = ends.front();
  EXPECT_FALSE(end.value("ended_by", "").empty()) << end.dump();
  EXPECT_TRUE(end["signal"].is_number()) << "the command was not killed: " << end.dump();
  EXPECT_LT(end.value("stdout_bytes", kMaxOutputRead), kMaxOutputRead) << end.dump();
  EXPECT_TRUE(eventually([&] { return written_bytes(cmd) < 0; })) << "command " << cmd;
  const auto rec = wait_session_close(*server_);
  EXPECT_EQ(rec.value("commands", -1), 1) << rec.dump();
  expect_healthy();
}

// ---- CRL broken at reload -----------------------------------------------------

TEST_F(Hostile, CorruptOrRemovedCrlAtReloadKeepsTheOldList) {
  // "bad" is revoked before the server starts; keep its files to present.
  pki_.client("bad");
  const std::string bad_cert = tmp_.file("bad.crt"), bad_key = tmp_.file("bad.key");
  write_file(bad_cert, read_file(pki_.cert("bad")));
  write_file(bad_key, read_file(pki_.key("bad")));
  pki_.pki({"revoke", "bad"});
  start();
  auto expect_old_list_in_force = [&] {
    auto bad = run({TREX_BIN, "--ca", pki_.ca(), "--cert", bad_cert, "--key", bad_key,
                    server_->address(), "echo", "hi"},
                   with_timeout(30s));
    EXPECT_EQ(bad.status, 255) << bad.err;
    EXPECT_NE(bad.err.find("revoked"), std::string::npos) << bad.err;
    EXPECT_EQ(bad.out, "");
    auto good = server_->trex("client", {"echo", "good"}, with_timeout(30s));
    EXPECT_EQ(good.status, 0) << good.err;
    EXPECT_EQ(good.out, "good\n");
  };
  expect_old_list_in_force();

  const std::string crl = read_file(pki_.crl());
  ASSERT_FALSE(crl.empty());
  std::mt19937 rng(99);
  std::string garbage(4096, '\0');
  for (auto& ch : garbage) ch = static_cast<char>(rng());
  const std::vector<std::pair<std::string, std::function<void()>>> damages = {
      {"random bytes", [&] { write_file(pki_.crl(), garbage); }},
      {"PEM armour around garbage",
       [&] {
         write_file(pki_.crl(),
                    "-----BEGIN X509 CRL-----\nMIIBnotbase64!!garbage\n-----END X509 CRL-----\n");
       }},
      {"truncated", [&] { write_file(pki_.crl(), crl.substr(0, crl.size() / 2)); }},
      {"removed", [&] { ASSERT_EQ(std::remove(pki_.crl().c_str()), 0); }},
  };
  for (const auto& [what, damage] : damages) {
    SCOPED_TRACE("CRL " + what);
    damage();
    const auto before = audit_records(server_->audit_path(), "reload").size();
    server_->signal(SIGHUP);
    nlohmann::json rec;
    ASSERT_TRUE(eventually([&] {
      auto recs = audit_records(server_->audit_path(), "reload");
      if (recs.size() <= before) return false;
      rec = recs[before];
      return true;
    })) << read_file(server_->audit_path());
    EXPECT_EQ(rec.value("what", ""), "tls") << rec.dump();
    EXPECT_EQ(rec.value("ok", true), false) << rec.dump();
    const std::string reason = rec.value("reason", "");
    EXPECT_NE(reason.find("CRL"), std::string::npos) << rec.dump();
    EXPECT_NE(reason.find(pki_.crl()), std::string::npos) << rec.dump();
    ASSERT_TRUE(server_->alive());
    expect_old_list_in_force();
  }
  EXPECT_EQ(audit_records(server_->audit_path(), "reload").size(), damages.size());
  EXPECT_TRUE(eventually([&] {
    return audit_records(server_->audit_path(), "auth_fail").size() == damages.size() + 1;
  })) << read_file(server_->audit_path());
  expect_healthy();
}

// ---- a descriptor limit of 64 -------------------------------------------------

// The soft and hard RLIMIT_NOFILE of `pid` from /proc/PID/limits.
std::pair<long, long> nofile_limits(pid_t pid) {
  std::istringstream in(read_file("/proc/" + std::to_string(pid) + "/limits"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("Max open files", 0) != 0) continue;
    std::istringstream fields(line.substr(14));
    long soft = -1, hard = -1;
    fields >> soft >> hard;
    return {soft, hard};
  }
  return {-1, -1};
}

TEST_F(Hostile, DescriptorLimitOf64) {
  // trexd starts with the soft limit at 64 (inherited from here), then both
  // of its limits are set to 64 (prlimit(2) on the running server).
  rlimit saved{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &saved), 0);
  {
    rlimit low{std::min<rlim_t>(64, saved.rlim_cur), saved.rlim_max};
    ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &low), 0);
    start({"--handshake-timeout", "30"});
    ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &saved), 0);
  }
  ASSERT_FALSE(server_->address().empty());
  const rlimit both{64, 64};
  ASSERT_EQ(::prlimit(server_->pid(), RLIMIT_NOFILE, &both, nullptr), 0);
  ASSERT_EQ(nofile_limits(server_->pid()), std::make_pair(64L, 64L));

  // A session opened before the descriptors run out.
  RawClient held(*server_, pki_);
  ASSERT_TRUE(held.ok()) << held.error();
  ASSERT_TRUE(
      eventually([&] { return audit_records(server_->audit_path(), "session_open").size() == 1; }));
  const int baseline_fds = server_->open_fds();

  // More connections than descriptors, from as many hosts (one host's
  // pending handshakes are bounded below 64): the table fills. accept()
  // then fails with EMFILE, or wolfSSL_new cannot open /dev/urandom for a
  // connection that took the last descriptor.
  std::vector<int> fds;
  for (int i = 0; i < 100; ++i) {
    const int fd = tcp_socket(*server_, ("127.0.1." + std::to_string(i + 1)).c_str());
    if (fd >= 0) fds.push_back(fd);
  }
  EXPECT_EQ(fds.size(), 100u);
  ASSERT_TRUE(eventually([&] {
    const auto log = server_->server_log();
    return server_->open_fds() >= 64 || log.find("Too many open files") != std::string::npos ||
           log.find("wolfSSL_new failed") != std::string::npos;
  })) << "trexd never ran out of descriptors: "
      << server_->open_fds() << " open\n"
      << server_->server_log();
  EXPECT_TRUE(server_->alive());

  // A command while the table is full: a clear answer, never a crash.
  held.send(FrameType::kExec, exec_payload({"echo", "starved"}));
  auto starved = held.read(20s, is_exit);
  ASSERT_FALSE(starved.ended) << (starved.error ? starved.error->message : "closed");
  auto e = exit_of(starved);
  ASSERT_TRUE(e.has_value());
  if (e->kind == proto::ExitKind::kExited) {
    EXPECT_EQ(stdout_of(starved.frames), "starved\n");
  } else {
    EXPECT_FALSE(e->message.empty()) << static_cast<int>(e->kind);
  }
  ASSERT_TRUE(server_->alive());

  // The crowd leaves: descriptors come back, the held session works again.
  for (int fd : fds) ::close(fd);
  EXPECT_TRUE(eventually([&] { return server_->open_fds() <= baseline_fds; }, 30s))
      << server_->open_fds() << " fds, baseline " << baseline_fds;
  held.send(FrameType::kExec, exec_payload({"echo", "after"}));
  auto after = held.read(20s, is_exit);
  ASSERT_FALSE(after.ended) << (after.error ? after.error->message : "closed");
  auto e2 = exit_of(after);
  ASSERT_TRUE(e2.has_value());
  EXPECT_EQ(e2->kind, proto::ExitKind::kExited) << e2->message;
  EXPECT_EQ(stdout_of(after.frames), "after\n");
  held.close_notify();
  held.read(10s);
  EXPECT_TRUE(eventually([&] {
    return audit_records(server_->audit_path(), "exec_start").size() ==
           audit_records(server_->audit_path(), "exec_end").size();
  }));
  expect_healthy();
  EXPECT_EQ(nofile_limits(server_->pid()), std::make_pair(64L, 64L));
}

// ---- slowloris ----------------------------------------------------------------

TEST_F(Hostile, SlowlorisIsCutAtTheHandshakeTimeout) {
  constexpr int kSlots = 8, kConns = 20;
  constexpr auto kHandshakeTimeout = 2s;
  start({"--max-sessions", std::to_string(kSlots), "--handshake-timeout", "2"});
  // The start of a ClientHello: a record header promising 512 bytes, the
  // handshake header, then filler; it is never finished.
  std::string hello("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11);
  hello.append(506, 'r');
  struct Slow {
    int fd;
    std::size_t sent = 0;
    std::optional<Clock::duration> cut_after;
  };
  std::vector<Slow> conns;
  for (int i = 0; i < kConns; ++i) {
    const int fd = tcp_socket(*server_);
    ASSERT_GE(fd, 0);
    conns.push_back(Slow{fd, 0, std::nullopt});
  }
  const auto t0 = Clock::now();
  // Two more bytes each every 250 ms; note when the server closes one.
  auto dribble = [&] {
    for (auto& s : conns) {
      if (s.cut_after) continue;
      bool closed = false;
      char buf[256];
      for (;;) {
        const ssize_t n = ::recv(s.fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (n > 0) continue;  // an alert
        closed = n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK);
        break;
      }
      if (!closed && s.sent + 2 <= hello.size()) {
        if (::send(s.fd, hello.data() + s.sent, 2, MSG_NOSIGNAL | MSG_DONTWAIT) == 2) {
          s.sent += 2;
        } else if (errno != EAGAIN && errno != EWOULDBLOCK) {
          closed = true;
        }
      }
      if (closed) s.cut_after = Clock::now() - t0;
    }
  };
  auto dribble_until = [&](const std::function<bool()>& done, std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + scaled(timeout);
    while (!done()) {
      if (Clock::now() >= deadline) return false;
      dribble();
      std::this_thread::sleep_for(250ms);
    }
    return true;
  };
  // The slow ones wait in the handshake stage, not in session slots: a
  // normal client is served while all of them still dribble.
  dribble();
  auto r = server_->trex("client", {"echo", "served"}, with_timeout(30s));
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "served\n");

  // Every slow connection is cut, none before the handshake timeout.
  auto all_cut = [&] {
    return std::all_of(conns.begin(), conns.end(), [](const Slow& s) { return s.cut_after; });
  };
  EXPECT_TRUE(dribble_until(all_cut, 120s))
      << std::count_if(conns.begin(), conns.end(), [](const Slow& s) { return !s.cut_after; })
      << " connections still open";
  for (const auto& s : conns) {
    if (s.cut_after) {
      EXPECT_GE(*s.cut_after, kHandshakeTimeout - 200ms)
          << "cut after "
          << std::chrono::duration_cast<std::chrono::milliseconds>(*s.cut_after).count() << " ms";
    }
    ::close(s.fd);
  }
  expect_healthy();
  // Every cut is audited as a timeout: one by one up to the per-address
  // rate, the rest counted in a summary (written at stop at the latest).
  server_->signal(SIGTERM);
  ASSERT_EQ(server_->wait(30s), 0);
  std::size_t timeouts = 0;
  for (const auto& j : audit_records(server_->audit_path(), "auth_fail")) {
    timeouts += j.value("reason", "") == "timeout";
  }
  for (const auto& j : audit_records(server_->audit_path(), "auth_fail_summary")) {
    timeouts += j.at("reasons").value("timeout", 0u);
  }
  EXPECT_EQ(timeouts, static_cast<std::size_t>(kConns)) << read_file(server_->audit_path());
  EXPECT_EQ(audit_records(server_->audit_path(), "session_open").size(), 2u);
  EXPECT_EQ(verify_trail(server_->audit_path()), 0);
}

}  // namespace
}  // namespace trex::testing
