// IPv6 wherever a host goes: trexd on [::1] and on [::] (dual stack), trex
// with [v6]:PORT and with a bare address and --port, fan-out to 127.0.0.1
// and ::1 together (-H and --hosts-file), the server's IP SANs compared by
// value, and the v6 peer in the audit trail, the log and trex-audit show.
// Where this machine has no IPv6 loopback every case is skipped and says why
// (ctest reports the binary as skipped, not passed).
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "support/harness.hpp"

namespace trex::testing {
namespace {

// Empty when ::1 takes a listener and a connection; otherwise why not.
std::string ipv6_loopback_problem() {
  const int l = ::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (l < 0) return std::string("no IPv6 sockets: ") + std::strerror(errno);
  sockaddr_in6 a{};
  a.sin6_family = AF_INET6;
  a.sin6_addr = in6addr_loopback;
  socklen_t len = sizeof(a);
  std::string problem;
  if (::bind(l, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 || ::listen(l, 1) != 0 ||
      ::getsockname(l, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    problem = std::string("cannot listen on [::1]: ") + std::strerror(errno);
  } else {
    const int c = ::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c < 0 || ::connect(c, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
      problem = std::string("cannot connect to [::1]: ") + std::strerror(errno);
    }
    if (c >= 0) ::close(c);
  }
  ::close(l);
  return problem;
}

// A link-local address of an interface that is up, as "fe80::...%NAME",
// and the address alone; empty when there is none.
std::pair<std::string, std::string> link_local_address() {
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return {};
  std::pair<std::string, std::string> found;
  for (const ifaddrs* i = list; i != nullptr && found.first.empty(); i = i->ifa_next) {
    if (i->ifa_addr == nullptr || i->ifa_addr->sa_family != AF_INET6 ||
        (i->ifa_flags & IFF_UP) == 0 || (i->ifa_flags & IFF_LOOPBACK) != 0) {
      continue;
    }
    const auto* a = reinterpret_cast<const sockaddr_in6*>(i->ifa_addr);
    if (!IN6_IS_ADDR_LINKLOCAL(&a->sin6_addr)) continue;
    char text[INET6_ADDRSTRLEN] = {};
    inet_ntop(AF_INET6, &a->sin6_addr, text, sizeof(text));
    found = {std::string(text) + "%" + i->ifa_name, text};
  }
  freeifaddrs(list);
  return found;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

bool contains(const std::string& hay, const std::string& needle) {
  return hay.find(needle) != std::string::npos;
}

class Ipv6 : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    problem_ = new std::string(ipv6_loopback_problem());
    if (!problem_->empty()) return;
    pki_tmp_ = new TempDir();
    pki_ = new Pki(pki_tmp_->path());
    // SANs given explicitly: tools/pki's defaults are not this test's business.
    pki_->pki({"server", "both", "--san", "DNS:both,IP:::1,IP:127.0.0.1"});
    pki_->pki({"server", "v4only", "--san", "DNS:v4only,IP:127.0.0.1"});
    pki_->pki({"server", "dnsnumeric", "--san", "DNS:127.0.0.1,DNS:localhost"});
  }
  static void TearDownTestSuite() {
    delete pki_;
    delete pki_tmp_;
    delete problem_;
  }
  void SetUp() override {
    if (!problem_->empty())
      GTEST_SKIP() << "IPv6 loopback unavailable on this machine: " << *problem_;
  }

  // trexd listening on `listen` with server certificate `cert`.
  std::unique_ptr<Trexd> start(const std::string& listen, const std::string& cert = "both") {
    dirs_.push_back(std::make_unique<TempDir>());  // each server its own log
    return std::make_unique<Trexd>(
        *pki_, dirs_.back()->path(),
        std::vector<std::string>{"--listen", listen, "--cert", pki_->cert(cert), "--key",
                                 pki_->key(cert)});
  }
  static RunResult trex(const std::vector<std::string>& args) {
    std::vector<std::string> argv{
        TREX_BIN, "--ca", pki_->ca(), "--cert", pki_->cert("client"), "--key", pki_->key("client")};
    argv.insert(argv.end(), args.begin(), args.end());
    RunOptions o;
    o.timeout = 30s;
    return run(argv, o);
  }

  static std::string* problem_;
  static TempDir* pki_tmp_;
  static Pki* pki_;
  TempDir tmp_;
  std::vector<std::unique_ptr<TempDir>> dirs_;
};

std::string* Ipv6::problem_ = nullptr;
TempDir* Ipv6::pki_tmp_ = nullptr;
Pki* Ipv6::pki_ = nullptr;

TEST_F(Ipv6, SingleCommandOverLoopbackInEverySpelling) {
  auto server = start("[::1]:0");
  ASSERT_EQ(server->address().rfind("[::1]:", 0), 0u) << server->address();
  const std::string port = server->port();
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"[::1]:" + port, "echo", "hi"},
           {"--port", port, "::1", "echo", "hi"},
           {"[0:0:0:0:0:0:0:1]:" + port, "echo", "hi"},
           {"--port", port, "0000:0000:0000:0000:0000:0000:0000:0001", "echo", "hi"},
           {"[::0.0.0.1]:" + port, "echo", "hi"},
           {"[::1%lo]:" + port, "echo", "hi"},
           {"--port", port, "::1%1", "echo", "hi"}}) {
    auto r = trex(args);
    EXPECT_EQ(r.status, 0) << args[0] << " " << args[1] << ": " << r.err;
    EXPECT_EQ(r.out, "hi\n") << args[0];
  }
  const auto opens = audit_records(server->audit_path(), "session_open");
  ASSERT_EQ(opens.size(), 7u);
  for (const auto& o : opens) {
    EXPECT_EQ(o["peer"].get<std::string>().rfind("[::1]:", 0), 0u) << o.dump();
  }
  EXPECT_TRUE(contains(server->server_log(), "[::1]:")) << server->server_log();
}

TEST_F(Ipv6, UnknownZoneIsNamed) {
  auto server = start("[::1]:0");
  auto r = trex({"[fe80::1%nosuchif0]:" + server->port(), "echo", "hi"});
  EXPECT_EQ(r.status, 255) << r.err;
  EXPECT_EQ(r.err, "trex: cannot connect to [fe80::1%nosuchif0]:" + server->port() +
                       ": no network interface 'nosuchif0' (the zone after '%')\n");
}

TEST_F(Ipv6, CertificateWithoutTheAddressIsRefused) {
  auto server = start("[::1]:0", "v4only");
  auto r = trex({"[::1]:" + server->port(), "echo", "hi"});
  EXPECT_EQ(r.status, 255) << r.err;
  const auto lines = lines_of(r.err);
  ASSERT_EQ(lines.size(), 1u) << r.err;
  EXPECT_EQ(lines[0],
            "trex: server certificate does not match ::1 (its certificate names DNS:v4only, "
            "IP:127.0.0.1)");
  EXPECT_EQ(r.out, "");
  EXPECT_TRUE(server->alive());
  // Refused during the handshake: the server never saw a client
  // certificate, so it opened no session and audits a failed handshake.
  // The record is written after the client has its answer: wait for it.
  ASSERT_TRUE(
      eventually([&] { return !audit_records(server->audit_path(), "auth_fail").empty(); }));
  EXPECT_TRUE(audit_records(server->audit_path(), "session_open").empty());
  const auto fails = audit_records(server->audit_path(), "auth_fail");
  ASSERT_EQ(fails.size(), 1u);
  EXPECT_FALSE(fails[0].contains("cn")) << fails[0].dump();
  EXPECT_EQ(fails[0]["reason"], "peer sent alert: bad certificate") << fails[0].dump();
}

TEST_F(Ipv6, DnsSansNameHostsOnly) {
  auto server = start("127.0.0.1:0", "dnsnumeric");
  auto r = trex({"127.0.0.1:" + server->port(), "echo", "hi"});
  EXPECT_EQ(r.status, 255) << r.err;
  EXPECT_TRUE(contains(r.err, "server certificate does not match 127.0.0.1")) << r.err;
  EXPECT_TRUE(audit_records(server->audit_path(), "exec_start").empty());
  // The same certificate serves its DNS name, in any case.
  r = trex({"LocalHost:" + server->port(), "echo", "hi"});
  EXPECT_EQ(r.status, 0) << r.err;
  // A name the certificate lacks is refused, its IP SAN notwithstanding.
  auto other = start("127.0.0.1:0", "v4only");
  r = trex({"localhost:" + other->port(), "echo", "hi"});
  EXPECT_EQ(r.status, 255) << r.err;
  EXPECT_EQ(r.err,
            "trex: server certificate does not match localhost (its certificate names "
            "DNS:v4only, IP:127.0.0.1)\n");
}

TEST_F(Ipv6, FanOutToIpv4AndIpv6TogetherOnADualStackListener) {
  auto server = start("[::]:0");
  ASSERT_EQ(server->address().rfind("[::]:", 0), 0u) << server->address();
  const std::string port = server->port();
  const std::string v4 = "127.0.0.1:" + port, v6 = "[::1]:" + port;
  auto r = trex({"-H", v4 + "," + v6, "echo", "hi"});
  EXPECT_EQ(r.status, 0) << r.err;
  auto lines = lines_of(r.out);
  std::sort(lines.begin(), lines.end());
  EXPECT_EQ(lines, (std::vector<std::string>{v4 + ": hi", v6 + ": hi"})) << r.out;

  // A hosts file, and bare addresses taking --port; [::1]:PORT after ::1
  // with --port PORT is the same server, and runs once.
  const std::string hosts = tmp_.file("hosts");
  write_file(hosts, "# lab\n::1   # bare\n" + v6 + "\n127.0.0.1\n");
  r = trex({"--port", port, "--hosts-file", hosts, "--json", "echo", "hi"});
  EXPECT_EQ(r.status, 0) << r.err;
  std::vector<std::string> seen;
  for (const auto& l : lines_of(r.out)) {
    const auto j = nlohmann::json::parse(l);
    EXPECT_EQ(j["stdout"], "hi\n") << l;
    seen.push_back(j["host"]);
  }
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(seen, (std::vector<std::string>{"127.0.0.1", "::1"}));

  // IPv4 clients of the dual-stack listener are audited as IPv4, not ::ffff:.
  std::vector<std::string> peers;
  for (const auto& o : audit_records(server->audit_path(), "session_open")) {
    const std::string p = o["peer"];
    peers.push_back(p.substr(0, p.rfind(':')));
  }
  std::sort(peers.begin(), peers.end());
  EXPECT_EQ(peers, (std::vector<std::string>{"127.0.0.1", "127.0.0.1", "[::1]", "[::1]"}));
}

TEST_F(Ipv6, AuditShowNamesTheIpv6Peer) {
  auto server = start("[::1]:0");
  ASSERT_EQ(trex({"[::1]:" + server->port(), "true"}).status, 0);
  const auto opens = audit_records(server->audit_path(), "session_open");
  ASSERT_EQ(opens.size(), 1u);
  const std::string peer = opens[0]["peer"];
  ASSERT_EQ(peer.rfind("[::1]:", 0), 0u) << peer;
  RunOptions o;
  o.timeout = 30s;
  auto r = run({TREX_AUDIT_BIN, "show", server->audit_path(), "--client", "client"}, o);
  EXPECT_EQ(r.status, 0) << r.err;
  const auto rows = lines_of(r.out);
  ASSERT_GE(rows.size(), 2u) << r.out;
  int with_peer = 0;
  for (std::size_t i = 1; i < rows.size(); ++i) with_peer += contains(rows[i], peer) ? 1 : 0;
  // Written whole, as the trail has it (the table's layout is not this
  // test's business: at least the session's row names it).
  EXPECT_GE(with_peer, 1) << r.out;
}

// A zone says where to connect (and to listen): it reaches the socket, plays
// no part in the certificate check, and the peer is written with it.
TEST_F(Ipv6, ScopedLinkLocalAddress) {
  const auto [scoped, bare] = link_local_address();
  if (scoped.empty()) GTEST_SKIP() << "no link-local IPv6 address on an interface that is up";
  pki_->pki({"server", "linklocal", "--san", "IP:" + bare});
  auto server = start("[" + scoped + "]:0", "linklocal");
  ASSERT_EQ(server->address().rfind("[" + scoped + "]:", 0), 0u) << server->address();
  auto r = trex({"[" + scoped + "]:" + server->port(), "echo", "hi"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "hi\n");
  const auto opens = audit_records(server->audit_path(), "session_open");
  ASSERT_EQ(opens.size(), 1u);
  EXPECT_EQ(opens[0]["peer"].get<std::string>().rfind("[" + scoped + "]:", 0), 0u)
      << opens[0].dump();
}

TEST_F(Ipv6, ListenAddressesThatAreNoAddressAreRefused) {
  for (const std::string listen : {"[lab1]:0", "::1:99999", "[::1::]:0"}) {
    RunOptions o;
    o.timeout = 30s;
    auto r = run(
        {TREXD_BIN, "--listen", listen, "--ca", pki_->ca(), "--cert", pki_->cert("both"), "--key",
         pki_->key("both"), "--crl", pki_->crl(), "--log-dir", tmp_.file("log"), "--allow-all"},
        o);
    EXPECT_EQ(r.status, 2) << listen << ": " << r.err;
    EXPECT_TRUE(contains(r.err, "listen")) << listen << ": " << r.err;
  }
}

}  // namespace
}  // namespace trex::testing
