// Refused certificates and TLS configuration errors: each refusal gives the
// client one clear "trex: " line and exit 255, the server logs and audits it
// with the peer address and the reason, and keeps serving good clients.
// Everything connects to 127.0.0.0/8 only.
#include <netinet/in.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <thread>

#include "support/harness.hpp"
#include "trex/channel.hpp"
#include "trex/client.hpp"
#include "trex/proto.hpp"
#include "trex/tls.hpp"

namespace trex::testing {
namespace {

using Clock = std::chrono::steady_clock;

const tls::Library kTlsLibrary;

// Polls `pred` until it holds or `timeout` passes.
RunOptions with_timeout(std::chrono::milliseconds timeout) {
  RunOptions o;
  o.timeout = timeout;
  return o;
}

std::vector<std::string> lines_of(const std::string& s) {
  std::vector<std::string> out;
  std::size_t at = 0;
  while (at < s.size()) {
    const auto nl = s.find('\n', at);
    out.push_back(s.substr(at, nl == std::string::npos ? std::string::npos : nl - at));
    if (nl == std::string::npos) break;
    at = nl + 1;
  }
  return out;
}

// trex's own failure: status 255 and exactly one stderr line "trex: ...".
void expect_one_failure_line(const RunResult& r, const std::string& needle) {
  EXPECT_EQ(r.status, 255) << r.err;
  const auto lines = lines_of(r.err);
  ASSERT_EQ(lines.size(), 1u) << r.err;
  EXPECT_EQ(lines[0].rfind("trex: ", 0), 0u) << r.err;
  EXPECT_NE(lines[0].find(needle), std::string::npos)
      << "expected '" << needle << "' in: " << r.err;
}

std::vector<std::string> trexd_argv(const Pki& pki, const std::string& dir,
                                    const std::vector<std::string>& extra = {}) {
  // trexd refuses a repeated option: a flag in `extra` replaces the default.
  const std::vector<std::pair<std::string, std::string>> defaults{
      {"--listen", "127.0.0.1:0"},  {"--ca", pki.ca()},   {"--cert", pki.cert("server")},
      {"--key", pki.key("server")}, {"--crl", pki.crl()}, {"--log-dir", dir + "/log"}};
  std::vector<std::string> argv{TREXD_BIN, "--allow-all"};
  for (const auto& [flag, value] : defaults) {
    if (std::find(extra.begin(), extra.end(), flag) != extra.end()) continue;
    argv.push_back(flag);
    argv.push_back(value);
  }
  argv.insert(argv.end(), extra.begin(), extra.end());
  return argv;
}

// tools/pki revoke moves the certificate away: keep a copy to present.
struct Kept {
  std::string cert, key;
};
Kept keep_copy(const Pki& pki, const std::string& name, const TempDir& tmp) {
  Kept k{tmp.file(name + ".crt"), tmp.file(name + ".key")};
  write_file(k.cert, read_file(pki.cert(name)));
  write_file(k.key, read_file(pki.key(name)));
  return k;
}

// trex with explicit certificate files against `server`.
RunResult trex_with(const Trexd& server, const std::string& ca, const std::string& cert,
                    const std::string& key, const std::string& host_port = "") {
  return run({TREX_BIN, "--ca", ca, "--cert", cert, "--key", key,
              host_port.empty() ? server.address() : host_port, "echo", "hi"},
             with_timeout(30s));
}

void expect_good_client(const Trexd& server) {
  auto r = server.trex("client", {"echo", "still", "serving"}, with_timeout(30s));
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "still serving\n");
}

// Waits for the auth_fail record with `reason` and returns it (null if none).
nlohmann::json wait_auth_fail(const Trexd& server, const std::string& reason) {
  nlohmann::json found;
  eventually([&] {
    for (auto& j : audit_records(server.audit_path(), "auth_fail")) {
      if (j.value("reason", "") == reason) {
        found = j;
        return true;
      }
    }
    return false;
  });
  EXPECT_FALSE(found.is_null()) << "no auth_fail with reason '" << reason << "' in "
                                << read_file(server.audit_path());
  return found;
}

// The serial tools/pki gave NAME, as the audit trail writes it (hex).
std::string serial_of(const std::string& cert) {
  auto r = run({"openssl", "x509", "-in", cert, "-noout", "-serial"});
  EXPECT_EQ(r.status, 0) << r.err;
  auto s = r.out.substr(r.out.find('=') + 1);
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

// SHA-256 of a certificate's DER as the audit trail writes it (lower-case hex).
std::string fingerprint_of(const std::string& cert) {
  auto r = run({"openssl", "x509", "-in", cert, "-noout", "-fingerprint", "-sha256"});
  EXPECT_EQ(r.status, 0) << r.err;
  std::string hex;
  for (char c : r.out.substr(r.out.find('=') + 1)) {
    if (std::isxdigit(static_cast<unsigned char>(c))) hex += static_cast<char>(std::tolower(c));
  }
  return hex;
}

// The handshake failure is audited with the peer and logged. A certificate
// that verified (refused for its key usage) names its cn and serial; one that
// did not is only a claim: claimed_cn, issuer and fingerprint, never cn.
struct Seen {
  std::string cn, cert;
  bool verified = false;
};
void expect_audited(const Trexd& server, const std::string& reason, const Seen& seen) {
  const auto rec = wait_auth_fail(server, reason);
  if (rec.is_null()) return;
  EXPECT_EQ(rec.value("peer", "").rfind("127.0.0.1:", 0), 0u) << rec.dump();
  EXPECT_TRUE(rec.contains("conn")) << rec.dump();
  if (seen.cert.empty()) {
    EXPECT_FALSE(rec.contains("cn")) << rec.dump();
    EXPECT_FALSE(rec.contains("claimed_cn")) << rec.dump();
  } else if (seen.verified) {
    EXPECT_EQ(rec.value("cn", ""), seen.cn) << rec.dump();
    EXPECT_EQ(rec.value("serial", ""), serial_of(seen.cert)) << rec.dump();
    EXPECT_FALSE(rec.contains("claimed_cn")) << rec.dump();
  } else {
    EXPECT_FALSE(rec.contains("cn")) << rec.dump();
    EXPECT_FALSE(rec.contains("serial")) << rec.dump();
    EXPECT_EQ(rec.value("claimed_cn", ""), seen.cn) << rec.dump();
    EXPECT_EQ(rec.value("fingerprint", ""), fingerprint_of(seen.cert)) << rec.dump();
    EXPECT_NE(rec.value("issuer", "").find("CN="), std::string::npos) << rec.dump();
  }
  EXPECT_TRUE(eventually([&] {
    const auto log = server.server_log();
    return log.find("handshake failed: " + reason) != std::string::npos &&
           log.find("from " + rec.value("peer", "?")) != std::string::npos;
  })) << server.server_log();
}

// A client made with the project's own TLS classes, for certificates trex
// itself refuses to present (expired, not yet valid). Returns how the server
// answered: the handshake error, or the error of the first read.
std::string raw_attempt(const Trexd& server, const tls::ClientFiles& files) {
  auto ctx = tls::Context::client(files);
  if (!ctx) return "context: " + ctx.message();
  const auto port = static_cast<std::uint16_t>(std::stoi(server.port()));
  auto fd = client::tcp_connect("127.0.0.1", port, scaled(5s));
  if (!fd) return "connect: " + fd.message();
  auto hs = tls::Connection::connect(*ctx, fd->release(), "127.0.0.1", scaled(5s));
  if (auto* e = std::get_if<tls::HandshakeError>(&hs)) return "handshake: " + e->reason();
  Channel ch(std::move(std::get<tls::Connection>(hs)));
  proto::ExecRequest req;
  req.argv = {"true"};
  ch.send(proto::FrameType::kExec, *proto::encode(req));
  ch.flush_all(5s);
  const auto deadline = Clock::now() + scaled(10s);
  while (Clock::now() < deadline) {
    auto r = ch.receive(1 << 20);
    if (r.status == tls::IoStatus::kError) return r.error;
    if (r.status == tls::IoStatus::kClosed) return "closed";
    proto::Frame f;
    if (ch.next(f) == proto::Decoder::State::kFrame) return "frame " + std::to_string(int(f.type));
    pollfd p{ch.fd(), POLLIN, 0};
    ::poll(&p, 1, 100);
  }
  return "no answer";
}

// One PKI per test program, copied into each test's own folder.
const Pki& template_pki() {
  static TempDir dir;
  static Pki pki(dir.path());
  return pki;
}

class Tls : public ::testing::Test {
 protected:
  TempDir tmp_;
  Pki pki_{tmp_.path(), template_pki()};
};

TEST_F(Tls, NoClientCertificateIsRefused) {
  Trexd server(pki_, tmp_.path());
  auto r = run({"openssl", "s_client", "-connect", server.address(), "-tls1_3", "-alpn", "trex/1",
                "-CAfile", pki_.ca(), "-ign_eof"},
               with_timeout(20s));
  EXPECT_FALSE(r.timed_out);
  expect_audited(server, "no certificate", {});
  expect_good_client(server);
}

TEST_F(Tls, CertificateFromAnotherCaIsRefused) {
  TempDir other_dir;
  Pki other(other_dir.path());
  Trexd server(pki_, tmp_.path());
  auto r = trex_with(server, pki_.ca(), other.cert("client"), other.key("client"));
  expect_one_failure_line(r, "the server refused this certificate (unknown CA");
  expect_audited(server, "unknown CA", {"client", other.cert("client")});
  expect_good_client(server);
}

TEST_F(Tls, ExpiredCertificateIsCaughtByTrexAndRefusedByServer) {
  pki_.client("old", {"--start", "20200101000000Z", "--end", "20210101000000Z"});
  Trexd server(pki_, tmp_.path());
  // trex checks its own certificate before connecting.
  auto r = trex_with(server, pki_.ca(), pki_.cert("old"), pki_.key("old"));
  expect_one_failure_line(r, "your certificate " + pki_.cert("old") + " expired on 2021-01-01");
  EXPECT_TRUE(audit_records(server.audit_path(), "auth_fail").empty());
  // A client that presents it anyway is refused by the server.
  const auto got = raw_attempt(server, {pki_.ca(), pki_.cert("old"), pki_.key("old")});
  EXPECT_NE(got.find("the server refused this certificate (expired or not yet valid"),
            std::string::npos)
      << got;
  expect_audited(server, "expired", {"old", pki_.cert("old")});
  expect_good_client(server);
}

TEST_F(Tls, NotYetValidCertificateIsCaughtByTrexAndRefusedByServer) {
  pki_.client("early", {"--start", "20400101000000Z", "--end", "20410101000000Z"});
  Trexd server(pki_, tmp_.path());
  auto r = trex_with(server, pki_.ca(), pki_.cert("early"), pki_.key("early"));
  expect_one_failure_line(r, "your certificate " + pki_.cert("early") + " is not valid before");
  const auto got = raw_attempt(server, {pki_.ca(), pki_.cert("early"), pki_.key("early")});
  EXPECT_NE(got.find("the server refused this certificate (expired or not yet valid"),
            std::string::npos)
      << got;
  expect_audited(server, "not yet valid", {"early", pki_.cert("early")});
  expect_good_client(server);
}

// Dates past 2262, where a nanosecond time point ends: RFC 5280's "no
// expiry" (9999-12-31) and a CRL of tools/pki crl --days 99999 (2300) are
// current, not wrapped round into the past. trex said "your certificate ...
// expired on 1716-02-28" and would not start. The trail gives the date the
// certificate carries.
TEST_F(Tls, ACertificateAndACrlValidPast2262AreCurrent) {
  pki_.client("lasting", {"--end", "99991231235959Z"});
  pki_.pki({"crl", "--days", "99999"});
  Trexd server(pki_, tmp_.path());
  auto r = trex_with(server, pki_.ca(), pki_.cert("lasting"), pki_.key("lasting"));
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "hi\n");
  const auto opens = audit_records(server.audit_path(), "session_open");
  ASSERT_EQ(opens.size(), 1u);
  EXPECT_EQ(opens[0].value("not_after", ""), "9999-12-31T23:59:59.000000Z");
  const auto check =
      run({TREXD_BIN, "--check-config", "--listen", "127.0.0.1:0", "--ca", pki_.ca(), "--cert",
           pki_.cert("server"), "--key", pki_.key("server"), "--crl", pki_.crl(), "--allow-all"});
  EXPECT_EQ(check.status, 0) << check.out << check.err;
  EXPECT_EQ((check.out + check.err).find("expired"), std::string::npos) << check.out << check.err;
}

TEST_F(Tls, RevokedCertificateIsRefusedAfterSighup) {
  pki_.client("bob");
  const auto bob = keep_copy(pki_, "bob", tmp_);
  Trexd server(pki_, tmp_.path());
  auto before = trex_with(server, pki_.ca(), bob.cert, bob.key);
  EXPECT_EQ(before.status, 0) << before.err;
  pki_.pki({"revoke", "bob"});
  server.signal(SIGHUP);
  ASSERT_TRUE(eventually([&] { return server.server_log().find("reloaded") != std::string::npos; }))
      << server.server_log();
  auto r = trex_with(server, pki_.ca(), bob.cert, bob.key);
  expect_one_failure_line(r, "the server refused this certificate (revoked");
  expect_audited(server, "revoked", {"bob", bob.cert});
  const auto reloads = audit_records(server.audit_path(), "reload");
  ASSERT_FALSE(reloads.empty());
  EXPECT_TRUE(reloads.front().value("ok", false)) << reloads.front().dump();
  expect_good_client(server);
}

TEST_F(Tls, RevokedCertificateIsRefusedWhenRevokedBeforeStart) {
  pki_.client("bob");
  const auto bob = keep_copy(pki_, "bob", tmp_);
  pki_.pki({"revoke", "bob"});
  Trexd server(pki_, tmp_.path());
  auto r = trex_with(server, pki_.ca(), bob.cert, bob.key);
  expect_one_failure_line(r, "the server refused this certificate (revoked");
  expect_audited(server, "revoked", {"bob", bob.cert});
  expect_good_client(server);
}

TEST_F(Tls, ServerCertificateUsedAsClientCertificateIsRefused) {
  Trexd server(pki_, tmp_.path());
  auto r = trex_with(server, pki_.ca(), pki_.cert("server"), pki_.key("server"));
  expect_one_failure_line(r,
                          "the server refused this certificate (wrong key usage: it is not made "
                          "for client authentication");
  // wolfSSL refuses the EKU while verifying: the certificate did not verify.
  expect_audited(server, "wrong key usage", {"server", pki_.cert("server")});
  expect_good_client(server);
}

TEST_F(Tls, StaleCrlStopsTheServerFromStarting) {
  pki_.pki({"crl", "--lastupdate", "20200101000000Z", "--nextupdate", "20200201000000Z"});
  auto r = run(trexd_argv(pki_, tmp_.path()), with_timeout(20s));
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_NE(r.err.find(pki_.crl()), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("expired"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.rfind("trexd: ", 0), 0u) << r.err;
}

TEST_F(Tls, StaleCrlOnSighupKeepsTheOldOne) {
  pki_.client("bob");
  const auto bob = keep_copy(pki_, "bob", tmp_);
  pki_.pki({"revoke", "bob"});
  Trexd server(pki_, tmp_.path());
  pki_.pki({"crl", "--lastupdate", "20200101000000Z", "--nextupdate", "20200201000000Z"});
  server.signal(SIGHUP);
  nlohmann::json rec;
  ASSERT_TRUE(eventually([&] {
    auto recs = audit_records(server.audit_path(), "reload");
    if (recs.empty()) return false;
    rec = recs.front();
    return true;
  })) << read_file(server.audit_path());
  EXPECT_EQ(rec.value("what", ""), "tls") << rec.dump();
  EXPECT_FALSE(rec.value("ok", true)) << rec.dump();
  EXPECT_NE(rec.value("reason", "").find(pki_.crl()), std::string::npos) << rec.dump();
  EXPECT_NE(rec.value("reason", "").find("expired"), std::string::npos) << rec.dump();
  EXPECT_TRUE(eventually([&] {
    return server.server_log().find("keeping the old TLS settings") != std::string::npos;
  })) << server.server_log();
  EXPECT_TRUE(server.alive());
  expect_good_client(server);
  // The old list still applies: bob stays revoked.
  auto r = trex_with(server, pki_.ca(), bob.cert, bob.key);
  expect_one_failure_line(r, "(revoked");
}

TEST_F(Tls, MissingCrlStopsTheServerFromStarting) {
  const std::string missing = tmp_.file("no-such-crl.pem");
  auto r = run(trexd_argv(pki_, tmp_.path(), {"--crl", missing}), with_timeout(20s));
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_NE(r.err.find(missing), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("CRL"), std::string::npos) << r.err;
}

TEST_F(Tls, UnreadableServerKeyStopsTheServerFromStarting) {
  // Missing, not a key, and (when not root) not readable.
  const std::string missing = tmp_.file("missing.key");
  auto r = run(trexd_argv(pki_, tmp_.path(), {"--key", missing}), with_timeout(20s));
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_NE(r.err.find("cannot read server key " + missing + ": No such file or directory"),
            std::string::npos)
      << r.err;

  const std::string garbage = tmp_.file("garbage.key");
  write_file(garbage, "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n");
  r = run(trexd_argv(pki_, tmp_.path(), {"--key", garbage}), with_timeout(20s));
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_NE(r.err.find("server key " + garbage + " is not a valid PEM private key"),
            std::string::npos)
      << r.err;

  if (geteuid() != 0) {
    ASSERT_EQ(chmod(pki_.key("server").c_str(), 0), 0);
    r = run(trexd_argv(pki_, tmp_.path()), with_timeout(20s));
    EXPECT_EQ(r.status, 2) << r.err;
    EXPECT_NE(r.err.find("server key " + pki_.key("server")), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("Permission denied"), std::string::npos) << r.err;
  }
}

TEST_F(Tls, ClientChecksTheServerName) {
  {
    Trexd server(pki_, tmp_.path(), {"--listen", "127.0.0.2:0"});
    ASSERT_EQ(server.address().rfind("127.0.0.2:", 0), 0u) << server.address();
    auto r = server.trex("client", {"echo", "hi"});
    expect_one_failure_line(r, "server certificate does not match 127.0.0.2");
    EXPECT_TRUE(server.alive());
  }
  TempDir other;
  Trexd server(pki_, other.path());
  auto r = trex_with(server, pki_.ca(), pki_.cert("client"), pki_.key("client"),
                     "localhost:" + server.port());
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "hi\n");
}

// Each of the client's three files, missing or not what it should be, is
// named with the reason, before any connection is made.
TEST_F(Tls, ClientNamesTheFileItCannotLoad) {
  pki_.client("alice");
  Trexd server(pki_, tmp_.path());
  const std::string missing = tmp_.file("missing.pem");
  const std::string garbage = tmp_.file("garbage.pem");
  write_file(garbage, "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n");
  const std::string ca = pki_.ca(), cert = pki_.cert("alice"), key = pki_.key("alice");
  struct Case {
    std::string ca, cert, key, says;
  };
  for (const Case& c : {
           Case{missing, cert, key, "cannot read CA certificate " + missing + ": No such file"},
           Case{ca, missing, key, "cannot read client certificate " + missing + ": No such file"},
           Case{ca, cert, missing, "cannot read client key " + missing + ": No such file"},
           Case{garbage, cert, key,
                "CA certificate " + garbage + " is not a valid PEM certificate"},
           Case{ca, cert, garbage, "client key " + garbage + " is not a valid PEM private key"},
       }) {
    auto r = trex_with(server, c.ca, c.cert, c.key);
    EXPECT_EQ(r.status, 255) << r.err;
    EXPECT_NE(r.err.find(c.says), std::string::npos) << "want: " << c.says << "\ngot: " << r.err;
  }
  expect_good_client(server);
}

TEST_F(Tls, ClientWithAnotherCertificatesKeyIsToldSo) {
  pki_.client("alice");
  pki_.client("bob");
  Trexd server(pki_, tmp_.path());
  auto r = trex_with(server, pki_.ca(), pki_.cert("alice"), pki_.key("bob"));
  EXPECT_EQ(r.status, 255) << r.out << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("key " + pki_.key("bob") + " does not belong to certificate " +
                       pki_.cert("alice")),
            std::string::npos)
      << r.err;
  expect_good_client(server);
}

// Where trex finds its files (flags, environment, config, ~/.config/trex/):
// client_config_test.cpp.

// Both ends of one of trex's TLS connections, handshaken over loopback in
// this process. Empty (with a test failure) when that did not work.
struct TlsPair {
  std::optional<tls::Connection> server, client;
};
TlsPair tls_pair(const Pki& pki, const std::string& client_name) {
  TlsPair pair;
  auto server_ctx =
      tls::Context::server({pki.ca(), pki.cert("server"), pki.key("server"), pki.crl()});
  pki.client(client_name);
  auto client_ctx = tls::Context::client({pki.ca(), pki.cert(client_name), pki.key(client_name)});
  if (!server_ctx || !client_ctx) {
    ADD_FAILURE() << "contexts: " << server_ctx.message() << client_ctx.message();
    return pair;
  }
  const int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (listener < 0 || ::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listener, 1) != 0 ||
      ::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ADD_FAILURE() << "listen: " << std::strerror(errno);
    return pair;
  }
  std::thread acceptor([&] {
    const int fd = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    auto hs = tls::Connection::accept(*server_ctx, fd, scaled(10s));
    if (auto* conn = std::get_if<tls::Connection>(&hs)) pair.server.emplace(std::move(*conn));
  });
  auto fd = client::tcp_connect("127.0.0.1", ntohs(addr.sin_port), scaled(5s));
  if (fd) {
    auto hs = tls::Connection::connect(*client_ctx, fd->release(), "127.0.0.1", scaled(10s));
    if (auto* conn = std::get_if<tls::Connection>(&hs)) pair.client.emplace(std::move(*conn));
  }
  acceptor.join();
  ::close(listener);
  if (!pair.server || !pair.client) ADD_FAILURE() << "the handshake failed";
  return pair;
}

// trex's TLS connection reads the socket ahead of wolfSSL (64 KiB at a time).
// Records it has read but not yet handed over are invisible to poll(): the
// sessions' loops rely on has_pending() to report them, or they would sleep
// on a socket that has nothing more to say while a frame waits in memory.
TEST_F(Tls, RecordsReadAheadOfWolfsslCountAsPending) {
  auto pair = tls_pair(pki_, "reader");
  ASSERT_TRUE(pair.server && pair.client);
  auto& conn = *pair.client;
  const std::string record(100, 'r');
  for (int i = 0; i < 3; ++i) pair.server->write(record.data(), record.size());  // 3 records

  // Wait until all three records are in the socket, then take one record.
  const auto deadline = Clock::now() + scaled(10s);
  do {
    int queued = 0;
    ::ioctl(conn.fd(), FIONREAD, &queued);
    if (queued >= 3 * static_cast<int>(record.size())) break;
    std::this_thread::sleep_for(10ms);
  } while (Clock::now() < deadline);
  std::string got(record.size(), '\0');
  auto r = conn.read(got.data(), got.size());
  ASSERT_EQ(r.status, tls::IoStatus::kOk) << r.error;
  ASSERT_EQ(r.bytes, record.size());

  // The other two records left the socket with the first one.
  pollfd p{conn.fd(), POLLIN, 0};
  EXPECT_EQ(::poll(&p, 1, 0), 0) << "the socket still had data: read-ahead did not happen";
  EXPECT_TRUE(conn.has_pending());
  for (int i = 0; i < 2; ++i) {
    r = conn.read(got.data(), got.size());
    ASSERT_EQ(r.status, tls::IoStatus::kOk) << r.error;
    EXPECT_EQ(got.substr(0, r.bytes), record);
  }
  EXPECT_FALSE(conn.has_pending());
}

// One write's records go to the kernel together, after wolfSSL has made
// them all. What the kernel cannot take yet (a client reading slowly) stays
// with the connection and counts in the channel's queue, so the sessions'
// loops keep waiting for POLLOUT and flushing: the last frames (the exit
// status) must not be stranded once the frame buffer itself is empty.
TEST_F(Tls, RecordsTheKernelCouldNotTakeStayQueuedUntilSent) {
  auto pair = tls_pair(pki_, "writer");
  ASSERT_TRUE(pair.server && pair.client);
  // Small socket buffers: most of every write's records must wait.
  const int small = 64 * 1024;
  ::setsockopt(pair.server->fd(), SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
  ::setsockopt(pair.client->fd(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  Channel server(std::move(*pair.server));
  Channel client(std::move(*pair.client));
  const std::string payload(60000, 'w');
  constexpr int kFrames = 100;
  for (int i = 0; i < kFrames; ++i) server.send(proto::FrameType::kStdout, payload);

  auto r = server.flush();
  for (int i = 0; i < 100 && r.status == tls::IoStatus::kOk; ++i) r = server.flush();
  ASSERT_EQ(r.status, tls::IoStatus::kWouldBlock) << "the client's socket never filled";
  EXPECT_TRUE(r.wants_write);
  EXPECT_GT(server.stream().unsent(), 0u) << "records were not collected into one send";
  EXPECT_GE(server.queued(), server.stream().unsent());

  // The client reads; the server flushes whenever its queue says so.
  int frames = 0;
  std::size_t bytes = 0;
  const auto deadline = Clock::now() + scaled(30s);
  while (frames < kFrames && Clock::now() < deadline) {
    if (server.queued() > 0) {
      r = server.flush();
      ASSERT_TRUE(r.status == tls::IoStatus::kOk || r.status == tls::IoStatus::kWouldBlock)
          << r.error;
    }
    pollfd p[2] = {{client.fd(), POLLIN, 0},
                   {server.fd(), static_cast<short>(server.queued() > 0 ? POLLOUT : 0), 0}};
    if (!client.has_pending()) ::poll(p, 2, 100);
    auto got = client.receive(1 << 20);
    ASSERT_NE(got.status, tls::IoStatus::kError) << got.error;
    ASSERT_NE(got.status, tls::IoStatus::kClosed) << got.error;
    proto::Frame f;
    while (client.next(f) == proto::Decoder::State::kFrame) {
      ++frames;
      bytes += f.payload.size();
    }
  }
  EXPECT_EQ(frames, kFrames);
  EXPECT_EQ(bytes, kFrames * payload.size());
  EXPECT_EQ(server.queued(), 0u);
}

class TlsAlgo : public ::testing::TestWithParam<std::string> {};

TEST_P(TlsAlgo, EndToEnd) {
  TempDir tmp;
  Pki pki(tmp.path(), GetParam());
  Trexd server(pki, tmp.path());
  auto r = server.trex("client", {"-c", "echo $TREX_CLIENT"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "client\n");
  const auto opens = audit_records(server.audit_path(), "session_open");
  ASSERT_EQ(opens.size(), 1u);
  EXPECT_EQ(opens[0].value("ou", nlohmann::json::array()), nlohmann::json::array({"ops"}));
  EXPECT_EQ(verify_trail(server.audit_path()), 0);
}

INSTANTIATE_TEST_SUITE_P(Algorithms, TlsAlgo, ::testing::Values("ec", "rsa"));

}  // namespace
}  // namespace trex::testing
