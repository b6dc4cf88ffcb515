// trex checks the server's certificate against the CA's CRL (--crl,
// TREX_CRL, the client config's `crl`): a lab machine whose certificate was
// revoked (its key stolen) is refused, and a CRL that trex was given but
// cannot use (missing, expired, another CA's) stops trex before it connects.
// Real trexd and trex, certificates from tools/pki in a temporary folder.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "support/harness.hpp"

namespace trex::testing {
namespace {

namespace fs = std::filesystem;

struct Kept {
  std::string cert, key;
};

// A copy of NAME's files: `tools/pki revoke` moves the originals away.
Kept keep_copy(const Pki& pki, const std::string& name, const TempDir& tmp) {
  Kept k{tmp.file(name + ".crt"), tmp.file(name + ".key")};
  write_file(k.cert, read_file(pki.cert(name)));
  write_file(k.key, read_file(pki.key(name)));
  return k;
}

RunOptions with_env(std::vector<std::string> env) {
  RunOptions o;
  o.env = std::move(env);
  o.timeout = 30s;
  return o;
}

// trex as "client" against `server`, `flags` before HOST.
RunResult trex_to(const Pki& pki, const Trexd& server, const std::vector<std::string>& flags,
                  const RunOptions& opts = with_env({})) {
  std::vector<std::string> argv{TREX_BIN,           "--ca",  pki.ca(),         "--cert",
                                pki.cert("client"), "--key", pki.key("client")};
  argv.insert(argv.end(), flags.begin(), flags.end());
  argv.insert(argv.end(), {server.address(), "echo", "hi"});
  return run(argv, opts);
}

// trex's own failure: 255 and one stderr line "trex: ..." holding `needle`.
void expect_failure(const RunResult& r, const std::string& needle) {
  EXPECT_EQ(r.status, 255) << r.err;
  EXPECT_EQ(r.err.rfind("trex: ", 0), 0u) << r.err;
  EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "one line expected: " << r.err;
  EXPECT_NE(r.err.find(needle), std::string::npos) << "expected '" << needle << "' in: " << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
}

class ServerCrl : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    base_dir_ = new TempDir();
    base_ = new Pki(base_dir_->path());
  }
  static void TearDownTestSuite() {
    delete base_;
    delete base_dir_;
  }
  // A private copy of the suite's PKI: tests revoke and rewrite CRLs.
  TempDir tmp_;
  Pki pki_{tmp_.path(), *base_};
  static TempDir* base_dir_;
  static Pki* base_;
};
TempDir* ServerCrl::base_dir_ = nullptr;
Pki* ServerCrl::base_ = nullptr;

// A lab machine "lab1" whose certificate is revoked while it still serves.
TEST_F(ServerCrl, RevokedServerIsRefusedByEveryWayOfGivingTheCrl) {
  pki_.pki({"server", "lab1", "--loopback"});
  const auto lab1 = keep_copy(pki_, "lab1", tmp_);
  Trexd server(pki_, tmp_.path(), {"--cert", lab1.cert, "--key", lab1.key});
  auto before = trex_to(pki_, server, {"--crl", pki_.crl()});
  EXPECT_EQ(before.status, 0) << before.err;
  EXPECT_EQ(before.out, "hi\n");

  pki_.pki({"revoke", "lab1"});
  // Without a CRL trex cannot know: the gap --crl closes.
  auto unchecked = trex_to(pki_, server, {});
  EXPECT_EQ(unchecked.status, 0) << unchecked.err;

  const std::string refused =
      "refused the server " + server.address() + " (revoked, on your CRL): its key may be";
  expect_failure(trex_to(pki_, server, {"--crl", pki_.crl()}), refused);
  expect_failure(trex_to(pki_, server, {}, with_env({"TREX_CRL=" + pki_.crl()})), refused);
  const std::string config = tmp_.file("config.toml");
  write_file(config, "crl = \"" + pki_.crl() + "\"\n");
  expect_failure(trex_to(pki_, server, {"--config", config}), refused);
  // Per host, in a fan-out too.
  write_file(config, "[hosts.lab1]\naddress = \"" + server.address() +
                         "\"\nserver_name = " + "\"127.0.0.1\"\ncrl = \"" + pki_.crl() + "\"\n");
  auto fan = run({TREX_BIN, "--config", config, "--ca", pki_.ca(), "--cert", pki_.cert("client"),
                  "--key", pki_.key("client"), "-H", "lab1", "echo", "hi"},
                 with_env({}));
  EXPECT_EQ(fan.status, 255) << fan.err;
  EXPECT_NE(fan.err.find("lab1: trex: refused the server"), std::string::npos) << fan.err;
  EXPECT_EQ(fan.out.find("hi"), std::string::npos) << fan.out;
  // Nothing ran on the revoked machine once trex had the CRL.
  EXPECT_EQ(audit_records(server.audit_path(), "exec_start").size(), 2u);
}

TEST_F(ServerCrl, TwoLevelPkiCrlChecksTheIntermediateToo) {
  TempDir dir;
  Pki two(dir.path(), Pki::TwoLevel{});
  Trexd server(two, dir.path());
  auto good = trex_to(two, server, {"--crl", two.crl()});
  EXPECT_EQ(good.status, 0) << good.err;
  // Only the root's CRL: the intermediate's is missing, so trex fails closed.
  auto partial = trex_to(two, server, {"--crl", two.crl_dir() + "/root.pem"});
  expect_failure(partial,
                 "your CRL file has no current CRL for CA 'CN=trex lab issuing CA' of "
                 "its certificate chain");
  two.pki({"revoke", "--intermediate"});
  expect_failure(trex_to(two, server, {"--crl", two.crl()}),
                 "(revoked: CA certificate 'CN=trex lab issuing CA', on your CRL)");
}

TEST_F(ServerCrl, StaleCrlGivenExplicitlyStopsTrexBeforeItConnects) {
  Trexd server(pki_, tmp_.path());
  pki_.pki({"crl", "--lastupdate", "20200101000000Z", "--nextupdate", "20200201000000Z"});
  auto r = trex_to(pki_, server, {"--crl", pki_.crl()});
  expect_failure(r, "CRL " + pki_.crl() + " of CA 'CN=trex lab CA' has expired (nextUpdate " +
                        "2020-02-01T00:00:00");
  for (const std::string what : {"trex cannot tell whether a server it signed was revoked",
                                 "get a current CRL from your CA", "(from --crl)"}) {
    EXPECT_NE(r.err.find(what), std::string::npos) << what << " in: " << r.err;
  }
  r = trex_to(pki_, server, {}, with_env({"TREX_CRL=" + pki_.crl()}));
  expect_failure(r, "has expired");
  EXPECT_NE(r.err.find("(from TREX_CRL)"), std::string::npos) << r.err;
  EXPECT_TRUE(audit_records(server.audit_path(), "session_open").empty())
      << read_file(server.audit_path());
}

TEST_F(ServerCrl, MissingOrForeignCrlGivenExplicitlyStopsTrex) {
  Trexd server(pki_, tmp_.path());
  const std::string missing = tmp_.file("no-such-crl.pem");
  expect_failure(trex_to(pki_, server, {"--crl", missing}),
                 "cannot read CRL " + missing + ": No such file or directory (from --crl)");
  const std::string config = tmp_.file("config.toml");
  write_file(config, "crl = \"" + missing + "\"\n");
  expect_failure(
      trex_to(pki_, server, {"--config", config}),
      "cannot read CRL " + missing + ": No such file or directory (from config " + config + ")");
  // Another lab's CRL says nothing about this CA's servers; a CA of the
  // same name signs with another key.
  TempDir other_dir;
  const std::string other = other_dir.file("pki");
  for (const std::string cn : {"other lab CA", "trex lab CA"}) {
    fs::remove_all(other);
    ASSERT_EQ(run({"bash", TREX_PKI_SCRIPT, "init", "--dir", other, "--cn", cn}).status, 0);
    auto r = trex_to(pki_, server, {"--crl", other + "/crl.pem"});
    if (cn == "other lab CA") {
      expect_failure(r, "no CRL for CA 'CN=trex lab CA' (in " + pki_.ca() + ") in " + other +
                            "/crl.pem: trex cannot tell whether a server it signed was revoked");
    } else {
      expect_failure(r, "CRL " + other + "/crl.pem of CA 'CN=trex lab CA' cannot be used");
    }
  }
  expect_failure(trex_to(pki_, server, {"--crl", pki_.ca()}), "is not a PEM CRL");
  EXPECT_TRUE(audit_records(server.audit_path(), "session_open").empty());
}

TEST_F(ServerCrl, VerboseSaysWhichCrlOrThatThereIsNone) {
  Trexd server(pki_, tmp_.path());
  auto r = trex_to(pki_, server, {"-v", "--crl", pki_.crl()});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("trex: CRL " + pki_.crl() + " (from --crl)"), std::string::npos) << r.err;
  r = trex_to(pki_, server, {"-v"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("trex: CRL not set: servers are not checked for revocation"),
            std::string::npos)
      << r.err;
}

// tools/pki no longer makes every server's key valid for localhost.
TEST_F(ServerCrl, ServerCertificateWithoutLoopbackNamesIsRefusedAsLocalhost) {
  pki_.pki({"server", "lab2"});
  Trexd server(pki_, tmp_.path(), {"--cert", pki_.cert("lab2"), "--key", pki_.key("lab2")});
  for (const std::string host : {"127.0.0.1", "localhost"}) {
    auto r = run({TREX_BIN, "--ca", pki_.ca(), "--cert", pki_.cert("client"), "--key",
                  pki_.key("client"), host + ":" + server.port(), "true"},
                 with_env({}));
    expect_failure(r, "server certificate does not match " + host);
  }
}

}  // namespace
}  // namespace trex::testing
