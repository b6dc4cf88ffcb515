// Revocation reaches open sessions (issue 14, point 3): on SIGHUP, every
// live session whose certificate the reloaded CA and CRL no longer accept
// (revoked, expired) ends with an error frame that says so and a
// session_close whose reason says why; a command it runs is killed as on
// client loss, and its exec_end says why. Other sessions go on.
#include <gtest/gtest.h>

#include <csignal>
#include <string>
#include <thread>
#include <vector>

#include "support/harness.hpp"

namespace trex::testing {
namespace {

bool contains(const std::string& text, const std::string& needle) {
  return text.find(needle) != std::string::npos;
}

class Revoke : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // A client that ended early must fail the test, not kill it.
    std::signal(SIGPIPE, SIG_IGN);
    pki_tmp_ = new TempDir;
    pki_ = new Pki(pki_tmp_->path());
  }
  static void TearDownTestSuite() {
    delete pki_;
    pki_ = nullptr;
    delete pki_tmp_;
    pki_tmp_ = nullptr;
  }

  // A client certificate kept outside the PKI (tools/pki revoke moves the
  // issued files away), and trex's argv presenting it.
  struct Kept {
    std::string crt, key;
  };
  Kept keep(const Pki& pki, const std::string& name) {
    Kept k{tmp_.file(name + ".crt"), tmp_.file(name + ".key")};
    write_file(k.crt, read_file(pki.cert(name)));
    write_file(k.key, read_file(pki.key(name)));
    return k;
  }
  static std::vector<std::string> argv_as(const Pki& pki, const Trexd& d, const Kept& k,
                                          const std::vector<std::string>& command) {
    std::vector<std::string> argv{TREX_BIN, "--ca",  pki.ca(), "--cert",
                                  k.crt,    "--key", k.key,    d.address()};
    argv.insert(argv.end(), command.begin(), command.end());
    return argv;
  }
  static RunOptions held() {
    RunOptions o;
    o.close_stdin = false;
    return o;
  }
  // The record of `event` for connection `conn`, once it is written.
  static nlohmann::json record_of(const Trexd& d, const std::string& event,
                                  const nlohmann::json& conn) {
    nlohmann::json found;
    wait_until([&] {
      for (auto& r : audit_records(d.audit_path(), event)) {
        if (r["conn"] == conn) {
          found = std::move(r);
          return true;
        }
      }
      return false;
    });
    return found;
  }
  static nlohmann::json conn_of(const Trexd& d, const std::string& cn, std::size_t nth) {
    std::vector<nlohmann::json> opens;
    wait_until([&] {
      opens.clear();
      for (auto& r : audit_records(d.audit_path(), "session_open")) {
        if (r.value("cn", "") == cn) opens.push_back(std::move(r));
      }
      return opens.size() > nth;
    });
    return opens.size() > nth ? opens[nth]["conn"] : nlohmann::json();
  }
  static void reload(const Trexd& d, std::size_t tls_reloads) {
    d.signal(SIGHUP);
    ASSERT_TRUE(wait_until([&] {
      std::size_t n = 0;
      for (const auto& r : audit_records(d.audit_path(), "reload")) n += r["what"] == "tls";
      return n >= tls_reloads;
    })) << d.server_log();
  }

  static TempDir* pki_tmp_;
  static Pki* pki_;
  TempDir tmp_;
};

TempDir* Revoke::pki_tmp_ = nullptr;
Pki* Revoke::pki_ = nullptr;

TEST_F(Revoke, RevokedIdentitysSessionsEndAndItsCommandIsKilledOthersGoOn) {
  Pki pki(tmp_.path(), *pki_);
  pki.client("bob");
  const Kept bob = keep(pki, "bob");
  Trexd d(pki, tmp_.path());
  ASSERT_FALSE(d.address().empty());

  // bob: an interactive session between commands, and a running command.
  Child idle(argv_as(pki, d, bob, {}), held());
  ASSERT_TRUE(idle.write_stdin("echo one\n"));
  ASSERT_TRUE(idle.wait_for_output("one\n")) << idle.out();
  Child busy(argv_as(pki, d, bob, {"sh", "-c", "echo started; exec sleep 300"}));
  ASSERT_TRUE(busy.wait_for_output("started\n")) << busy.out();
  // Another identity's session, open across the reload.
  Child other(d.trex_argv("client", {}), held());
  ASSERT_TRUE(other.write_stdin("echo before\n"));
  ASSERT_TRUE(other.wait_for_output("before\n")) << other.out();
  const auto idle_conn = conn_of(d, "bob", 0), busy_conn = conn_of(d, "bob", 1);
  ASSERT_FALSE(busy_conn.is_null()) << read_file(d.audit_path());

  pki.pki({"revoke", "bob"});
  reload(d, 1);

  // The running command is killed (SIGTERM, the kill path of a lost client)
  // and trex says why.
  const auto busy_end = busy.wait(scaled(30s));
  EXPECT_NE(busy_end.status, 0);
  EXPECT_TRUE(contains(busy_end.err, "the server ended this session: certificate revoked"))
      << busy_end.err;
  const auto exec_end = record_of(d, "exec_end", busy_conn);
  EXPECT_EQ(exec_end.value("ended_by", ""), "certificate revoked") << exec_end.dump();
  EXPECT_EQ(exec_end.value("signal", 0), SIGTERM) << exec_end.dump();
  EXPECT_EQ(record_of(d, "session_close", busy_conn).value("reason", ""), "certificate revoked");

  // The idle session was closed by the server at once: its record is there
  // before bob types anything, and the next line meets the server's words.
  EXPECT_EQ(record_of(d, "session_close", idle_conn).value("reason", ""), "certificate revoked")
      << read_file(d.audit_path());
  idle.write_stdin("echo two\n");
  const auto idle_end = idle.wait(scaled(20s));
  EXPECT_NE(idle_end.status, 0);
  EXPECT_EQ(idle_end.out, "one\n");
  EXPECT_TRUE(contains(idle_end.err, "certificate revoked")) << idle_end.err;
  EXPECT_EQ(audit_records(d.audit_path(), "exec_start").size(), 3u)  // one, sleep, before
      << read_file(d.audit_path());

  // client's session is untouched.
  ASSERT_TRUE(other.write_stdin("echo after\n"));
  ASSERT_TRUE(other.wait_for_output("after\n")) << other.out();
  ASSERT_TRUE(other.write_stdin("exit\n"));
  const auto other_end = other.wait(scaled(20s));
  EXPECT_EQ(other_end.status, 0) << other_end.err;
  EXPECT_EQ(other_end.out, "before\nafter\n");
  const auto other_close = record_of(d, "session_close", conn_of(d, "client", 0));
  EXPECT_EQ(other_close.value("reason", ""), "client closed") << other_close.dump();
  EXPECT_TRUE(contains(d.server_log(), "certificate revoked: ending the session"))
      << d.server_log();
  EXPECT_EQ(verify_trail(d.audit_path()), 0);
}

TEST_F(Revoke, ASessionWhoseCertificateExpiredEndsAtTheNextReload) {
  Pki pki(tmp_.path(), *pki_);
  // Valid for a short while: long enough to connect on a loaded machine.
  const auto life = std::chrono::duration_cast<std::chrono::seconds>(scaled(8s));
  pki.pki({"client", "brief", "--end", pki_time(life)});
  const Kept brief = keep(pki, "brief");
  Trexd d(pki, tmp_.path());
  ASSERT_FALSE(d.address().empty());
  Child s(argv_as(pki, d, brief, {}), held());
  ASSERT_TRUE(s.write_stdin("echo one\n"));
  ASSERT_TRUE(s.wait_for_output("one\n")) << s.out();
  const auto conn = conn_of(d, "brief", 0);
  // Past notAfter (whole seconds in the certificate) the session still
  // runs: nothing checks it until a reload.
  std::this_thread::sleep_for(life + 2s);
  if (!s.write_stdin("echo two\n") || !s.wait_for_output("one\ntwo\n")) {
    const auto r = s.wait(scaled(5s));
    FAIL() << "the session did not outlive its certificate: " << r.status << " " << r.out << r.err;
  }

  reload(d, 1);
  EXPECT_EQ(record_of(d, "session_close", conn).value("reason", ""), "certificate expired")
      << read_file(d.audit_path());
  s.write_stdin("echo three\n");
  const auto end = s.wait(scaled(20s));
  EXPECT_NE(end.status, 0);
  EXPECT_TRUE(contains(end.err, "certificate expired")) << end.err;
  EXPECT_EQ(end.out, "one\ntwo\n");
  EXPECT_EQ(verify_trail(d.audit_path()), 0);
}

// Through an intermediate: the leaf's CRL is the intermediate's, and a
// revoked intermediate ends every session under it, naming it.
TEST_F(Revoke, InAChainALeafThenTheIntermediateIsRevokedMidSession) {
  TempDir pki_dir;
  Pki pki(pki_dir.path(), Pki::TwoLevel{});
  pki.client("bob");
  const Kept bob = keep(pki, "bob");
  Trexd d(pki, tmp_.path());
  ASSERT_FALSE(d.address().empty());
  Child b(argv_as(pki, d, bob, {}), held());
  ASSERT_TRUE(b.write_stdin("echo one\n"));
  ASSERT_TRUE(b.wait_for_output("one\n")) << b.out();
  Child c(d.trex_argv("client", {}), held());
  ASSERT_TRUE(c.write_stdin("echo one\n"));
  ASSERT_TRUE(c.wait_for_output("one\n")) << c.out();
  const auto bob_conn = conn_of(d, "bob", 0), client_conn = conn_of(d, "client", 0);

  pki.pki({"revoke", "bob"});
  reload(d, 1);
  EXPECT_EQ(record_of(d, "session_close", bob_conn).value("reason", ""), "certificate revoked")
      << read_file(d.audit_path());
  ASSERT_TRUE(c.write_stdin("echo two\n"));
  ASSERT_TRUE(c.wait_for_output("one\ntwo\n")) << c.out();

  pki.pki({"revoke", "--intermediate"});
  reload(d, 2);
  const std::string why = "certificate revoked: CA certificate 'CN=trex lab issuing CA'";
  EXPECT_EQ(record_of(d, "session_close", client_conn).value("reason", ""), why)
      << read_file(d.audit_path());
  c.write_stdin("echo three\n");
  const auto end = c.wait(scaled(20s));
  EXPECT_NE(end.status, 0);
  EXPECT_TRUE(contains(end.err, why)) << end.err;
  b.write_stdin("exit\n");
  b.wait(scaled(20s));
  EXPECT_EQ(verify_trail(d.audit_path()), 0);
}

}  // namespace
}  // namespace trex::testing
