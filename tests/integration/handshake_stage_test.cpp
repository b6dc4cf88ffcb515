// The handshake stage: TCP connections that never finish a handshake hold no
// session slot; a session slot is taken only by an authenticated client (and
// "server busy" is said to it, on its own connection); pending handshakes
// are bounded per address; a flood of refused handshakes writes a bounded
// number of auth_fail records plus auth_fail_summary records that count
// every one of the others. Real trexd on 127.0.0.1; silent sockets bound to
// other loopback addresses (127.0.0.2, ...) stand for other hosts.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <csignal>
#include <memory>
#include <thread>

#include "support/harness.hpp"

namespace trex::testing {
namespace {

// trexd's bounds (src/server/handshakes.hpp), as a user meets them.
constexpr std::size_t kPerAddress = 32;
constexpr std::size_t kBurst = 10;

// A TCP connection to `server` from `source` (a loopback address), or -1.
int tcp_from(const Trexd& server, const std::string& source) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in from{};
  from.sin_family = AF_INET;
  ::inet_pton(AF_INET, source.c_str(), &from.sin_addr);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<std::uint16_t>(std::stoi(server.port())));
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&from), sizeof(from)) != 0 ||
      ::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof(to)) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Has the server closed this socket (EOF or reset), without waiting?
bool closed_by_server(int fd) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, 0) <= 0) return false;
  char buf[256];
  return ::recv(fd, buf, sizeof(buf), MSG_DONTWAIT) <= 0;
}

struct Sockets {
  std::vector<int> fds;
  ~Sockets() {
    for (int fd : fds) ::close(fd);
  }
};

// What the trail says about refusals: auth_fail records one by one, and
// the counts of auth_fail_summary records, per address.
struct Refusals {
  std::map<std::string, std::size_t> recorded, summarized;
  std::map<std::string, std::size_t> reasons;  // over both
  std::size_t total() const {
    std::size_t n = 0;
    for (const auto& [a, c] : recorded) n += c;
    for (const auto& [a, c] : summarized) n += c;
    return n;
  }
};

std::string address_of(const std::string& peer) { return peer.substr(0, peer.rfind(':')); }

Refusals refusals_in(const std::string& audit_path) {
  Refusals r;
  for (const auto& j : audit_records(audit_path, "auth_fail")) {
    ++r.recorded[address_of(j.value("peer", ""))];
    ++r.reasons[j.value("reason", "")];
  }
  for (const auto& j : audit_records(audit_path, "auth_fail_summary")) {
    std::size_t by_reason = 0;
    for (const auto& [reason, n] : j.at("reasons").items()) {
      r.reasons[reason] += n.get<std::size_t>();
      by_reason += n.get<std::size_t>();
    }
    EXPECT_EQ(by_reason, j.value("count", 0u)) << j.dump();
    EXPECT_FALSE(j.value("window_start", "").empty()) << j.dump();
    EXPECT_FALSE(j.value("window_end", "").empty()) << j.dump();
    r.summarized[j.value("peer", "")] += j.value("count", 0u);
  }
  return r;
}

const Pki& template_pki() {
  static TempDir dir;
  static Pki pki(dir.path());
  return pki;
}

class HandshakeStage : public ::testing::Test {
 protected:
  void start(std::vector<std::string> extra) {
    server_ = std::make_unique<Trexd>(pki_, tmp_.path(), std::move(extra));
  }
  // SIGTERM; trexd records what is still pending and writes its summaries.
  void stop() {
    server_->signal(SIGTERM);
    ASSERT_EQ(server_->wait(30s), 0);
    EXPECT_EQ(verify_trail(server_->audit_path()), 0) << read_file(server_->audit_path());
  }
  RunResult run_echo(const std::string& word) const {
    RunOptions o;
    o.timeout = 30s;
    return server_->trex("client", {"echo", word}, o);
  }

  TempDir tmp_;
  Pki pki_{tmp_.path(), template_pki()};
  std::unique_ptr<Trexd> server_;
};

// The reproduction: silent connections used to fill the session
// slots (4 of them locked out every client). Here 64 from other hosts and
// 64 from the client's own address, against 4 slots.
TEST_F(HandshakeStage, SilentSocketsHoldNoSessionSlot) {
  start({"--max-sessions", "4", "--handshake-timeout", "60"});
  Sockets others, same;
  for (int i = 0; i < 64; ++i) {
    const int fd = tcp_from(*server_, "127.0.0." + std::to_string(2 + i));
    ASSERT_GE(fd, 0) << "cannot connect from 127.0.0." << 2 + i;
    others.fds.push_back(fd);
  }
  for (int i = 0; i < 64; ++i) {
    const int fd = tcp_from(*server_, "127.0.0.1");
    ASSERT_GE(fd, 0);
    same.fds.push_back(fd);
  }
  // Past the per-address bound the oldest of that address make way.
  auto closed = [](const Sockets& s) {
    std::size_t n = 0;
    for (int fd : s.fds) n += closed_by_server(fd);
    return n;
  };
  std::size_t same_closed = 0;
  ASSERT_TRUE(eventually([&] { return (same_closed = closed(same)) >= 64 - kPerAddress; }))
      << same_closed << " closed\n"
      << server_->server_log();

  for (const char* word : {"one", "two", "three", "four", "five"}) {
    auto r = run_echo(word);
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, std::string(word) + "\n");
  }
  // The other hosts' silent connections are still waiting: nothing of
  // theirs was dropped to make room on another address's account.
  EXPECT_EQ(closed(others), 0u);

  stop();
  // Every silent connection is accounted for: dropped, or abandoned at stop.
  auto refusals = refusals_in(server_->audit_path());
  EXPECT_EQ(refusals.total(), 128u) << read_file(server_->audit_path());
  const std::size_t dropped = refusals.reasons["too many pending handshakes from this address"];
  EXPECT_GE(dropped, 64u - kPerAddress);
  EXPECT_EQ(refusals.reasons["server stopping"] + dropped, 128u);
  EXPECT_EQ(audit_records(server_->audit_path(), "session_open").size(), 5u);
}

// A flood of refused handshakes from one address while a real client works:
// the trail gets kBurst auth_fail records for that address, and summaries
// that count the rest, written at the latest when trexd stops.
TEST_F(HandshakeStage, AFloodOfBadHandshakesIsCappedAndSummarized) {
  constexpr int kFlood = 120;
  start({"--handshake-timeout", "30"});
  std::atomic<bool> flooding{true};
  std::atomic<int> sent{0};
  std::thread flood([&] {
    for (int i = 0; i < kFlood; ++i) {
      const int fd = tcp_from(*server_, "127.0.0.7");
      if (fd < 0) continue;
      const std::string junk = "GET / HTTP/1.0\r\n\r\n";
      [[maybe_unused]] auto n = ::send(fd, junk.data(), junk.size(), MSG_NOSIGNAL);
      ::close(fd);
      ++sent;
    }
    flooding = false;
  });
  int served = 0;
  while (flooding) {
    auto r = run_echo("meanwhile");
    EXPECT_EQ(r.status, 0) << r.err;
    served += r.status == 0;
  }
  flood.join();
  auto r = run_echo("after");
  EXPECT_EQ(r.status, 0) << r.err;
  ASSERT_EQ(sent.load(), kFlood);
  ASSERT_TRUE(eventually(
      [&] { return refusals_in(server_->audit_path()).recorded["127.0.0.7"] == kBurst; }));
  stop();

  auto refusals = refusals_in(server_->audit_path());
  EXPECT_EQ(refusals.recorded["127.0.0.7"], kBurst);
  EXPECT_EQ(refusals.summarized["127.0.0.7"], kFlood - kBurst);
  EXPECT_EQ(refusals.total(), static_cast<std::size_t>(kFlood)) << read_file(server_->audit_path());
  // The summary comes before server_stop, and the server's log did not
  // get a line per refusal either.
  const auto all = audit_records(server_->audit_path());
  ASSERT_FALSE(all.empty());
  EXPECT_EQ(all.back().value("event", ""), "server_stop");
  const auto log = server_->server_log();
  std::size_t lines = 0;
  for (auto at = log.find("from 127.0.0.7:"); at != std::string::npos;
       at = log.find("from 127.0.0.7:", at + 1)) {
    ++lines;
  }
  EXPECT_EQ(lines, kBurst);
  EXPECT_NE(log.find("more refusals from 127.0.0.7"), std::string::npos) << log;
  EXPECT_EQ(audit_records(server_->audit_path(), "session_open").size(),
            static_cast<std::size_t>(served) + 1);
}

// A slot is taken only after authentication, so "busy" is said to a client
// whose identity is known: the auth_fail record names it.
TEST_F(HandshakeStage, BusyIsToldToTheAuthenticatedClient) {
  start({"--max-sessions", "1"});
  RunOptions hold;
  hold.close_stdin = false;
  Child first(server_->trex_argv("client", {}), hold);
  ASSERT_TRUE(
      eventually([&] { return audit_records(server_->audit_path(), "session_open").size() == 1; }));
  auto r = run_echo("second");
  EXPECT_EQ(r.status, 255) << r.err;
  EXPECT_EQ(r.err.rfind("trex: server busy", 0), 0u) << r.err;
  const auto fails = audit_records(server_->audit_path(), "auth_fail");
  ASSERT_EQ(fails.size(), 1u) << read_file(server_->audit_path());
  EXPECT_EQ(fails[0].value("reason", ""), "server busy");
  EXPECT_EQ(fails[0].value("cn", ""), "client");
  first.close_stdin();
  first.wait(20s);
  stop();
}

}  // namespace
}  // namespace trex::testing
