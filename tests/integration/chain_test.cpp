// Chains through an intermediate CA, the way real private CAs issue: an
// offline root (the trust anchor), an intermediate that signs the server and
// the people, one CRL per CA (tools/pki init --intermediate). Each refusal
// names the CA at fault to the operator, and the client hears the truth.
#include <gtest/gtest.h>

#include <csignal>
#include <functional>
#include <thread>

#include "support/harness.hpp"

namespace trex::testing {
namespace {

using Clock = std::chrono::steady_clock;

constexpr const char* kIssuing = "CN=trex lab issuing CA";
constexpr const char* kRoot = "CN=trex lab root CA";

// The auth_fail record whose reason starts with `reason` (null if none came).
nlohmann::json auth_fail(const Trexd& server, const std::string& reason) {
  nlohmann::json found;
  eventually([&] {
    for (auto& j : audit_records(server.audit_path(), "auth_fail")) {
      if (j.value("reason", "").rfind(reason, 0) == 0) found = j;
    }
    return !found.is_null();
  });
  EXPECT_FALSE(found.is_null()) << "no auth_fail '" << reason << "' in "
                                << read_file(server.audit_path());
  return found;
}

// trex's one failure line, status 255.
void expect_refusal(const RunResult& r, const std::string& needle) {
  EXPECT_EQ(r.status, 255) << r.err;
  EXPECT_EQ(r.err.rfind("trex: ", 0), 0u) << r.err;
  EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "one line expected: " << r.err;
  EXPECT_NE(r.err.find(needle), std::string::npos) << "expected '" << needle << "' in " << r.err;
}

RunResult trex_as(const Trexd& server, const Pki& pki, const std::string& cert,
                  const std::string& key) {
  return run(
      {TREX_BIN, "--ca", pki.ca(), "--cert", cert, "--key", key, server.address(), "echo", "hi"});
}

const Pki& template_pki() {
  static TempDir dir;
  static Pki pki(dir.path(), Pki::TwoLevel{});
  return pki;
}

class Chain : public ::testing::Test {
 protected:
  TempDir tmp_;
  Pki pki_{tmp_.path(), template_pki()};

  // A client certificate kept aside (revoke moves the files away).
  std::pair<std::string, std::string> issue_kept(const std::string& name) {
    pki_.client(name);
    const auto cert = tmp_.file(name + ".crt"), key = tmp_.file(name + ".key");
    write_file(cert, read_file(pki_.cert(name)));
    write_file(key, read_file(pki_.key(name)));
    return {cert, key};
  }
};

TEST_F(Chain, ClientPresentingLeafAndIntermediateGetsInAndIsAuditedWithItsIssuer) {
  Trexd server(pki_, tmp_.path());
  // trex trusts only the root too: the server's chain is verified the same way.
  auto r = server.trex("client", {"echo", "chained"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "chained\n");
  const auto opens = audit_records(server.audit_path(), "session_open");
  ASSERT_EQ(opens.size(), 1u);
  EXPECT_EQ(opens[0].value("cn", ""), "client");
  EXPECT_EQ(opens[0].value("issuer", ""), kIssuing) << opens[0].dump();
  // The same text as openssl's RFC 2253 view of the leaf's issuer.
  auto o = run(
      {"openssl", "x509", "-in", pki_.cert("client"), "-noout", "-issuer", "-nameopt", "RFC2253"});
  EXPECT_EQ(o.out, "issuer=" + opens[0].value("issuer", "") + "\n");
}

TEST_F(Chain, RevokedClientIsRefusedAsRevoked) {
  const auto [cert, key] = issue_kept("bob");
  pki_.pki({"revoke", "bob"});
  Trexd server(pki_, tmp_.path());
  expect_refusal(trex_as(server, pki_, cert, key), "refused this certificate (revoked");
  const auto rec = auth_fail(server, "revoked");
  EXPECT_EQ(rec.value("reason", ""), "revoked") << rec.dump();
  EXPECT_EQ(server.trex("client", {"true"}).status, 0);
}

TEST_F(Chain, RevokedIntermediateRefusesEveryoneItSignedAndIsNamed) {
  pki_.pki({"revoke", "--intermediate"});
  Trexd server(pki_, tmp_.path());
  expect_refusal(server.trex("client", {"true"}), "refused this certificate (revoked");
  const auto rec = auth_fail(server, "revoked");
  EXPECT_EQ(rec.value("reason", ""), std::string("revoked: CA certificate '") + kIssuing + "'");
}

TEST_F(Chain, MissingIntermediateCrlIsTheServersProblemAndNamesTheCa) {
  Trexd server(pki_, tmp_.path(), {"--crl", pki_.crl_dir() + "/root.pem"});
  auto r = server.trex("client", {"true"});
  expect_refusal(r, std::string("cannot check this certificate's revocation: it has no current "
                                "CRL for CA '") +
                        kIssuing + "'");
  EXPECT_EQ(r.err.find("key usage"), std::string::npos) << r.err;
  const auto rec = auth_fail(server, "no current CRL");
  EXPECT_EQ(rec.value("reason", ""), std::string("no current CRL for CA '") + kIssuing + "'");
  EXPECT_TRUE(server.alive());
}

TEST_F(Chain, ARootWithoutCrlStopsTheServerFromStarting) {
  auto r =
      run({TREXD_BIN, "--listen", "127.0.0.1:0", "--ca", pki_.ca(), "--cert", pki_.cert("server"),
           "--key", pki_.key("server"), "--crl", pki_.crl_dir() + "/intermediate.pem", "--log-dir",
           tmp_.file("log"), "--allow-all"});
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_NE(r.err.find(std::string("no CRL for CA '") + kRoot + "'"), std::string::npos) << r.err;
}

TEST_F(Chain, LeafWithoutItsIntermediateIsToldWhatIsMissing) {
  const std::string leaf = tmp_.file("leaf.crt");
  auto o = run({"openssl", "x509", "-in", pki_.cert("client"), "-out", leaf});
  ASSERT_EQ(o.status, 0) << o.err;
  Trexd server(pki_, tmp_.path());
  auto r = trex_as(server, pki_, leaf, pki_.key("client"));
  expect_refusal(r, "(unknown CA");
  EXPECT_NE(r.err.find("put that CA's certificate after it"), std::string::npos) << r.err;
}

TEST_F(Chain, CrlDirectoryIsReadAndReloadedKeepingTheOldOnError) {
  const auto [cert, key] = issue_kept("bob");
  Trexd server(pki_, tmp_.path(), {"--crl", "", "--crl-dir", pki_.crl_dir()});
  ASSERT_EQ(trex_as(server, pki_, cert, key).status, 0);
  pki_.pki({"revoke", "bob"});
  server.signal(SIGHUP);
  ASSERT_TRUE(eventually([&] { return !audit_records(server.audit_path(), "reload").empty(); }));
  expect_refusal(trex_as(server, pki_, cert, key), "(revoked");
  // A broken file in the directory: the old lists stay.
  write_file(pki_.crl_dir() + "/broken.pem",
             "-----BEGIN X509 CRL-----\nnot base64\n"
             "-----END X509 CRL-----\n");
  server.signal(SIGHUP);
  ASSERT_TRUE(eventually([&] { return audit_records(server.audit_path(), "reload").size() >= 2; }))
      << read_file(server.audit_path());
  bool failed_named = false;
  for (const auto& rec : audit_records(server.audit_path(), "reload")) {
    if (!rec.value("ok", true) && rec.value("reason", "").find("broken.pem") != std::string::npos) {
      failed_named = true;
    }
  }
  EXPECT_TRUE(failed_named) << read_file(server.audit_path());
  EXPECT_EQ(server.trex("client", {"true"}).status, 0);
  expect_refusal(trex_as(server, pki_, cert, key), "(revoked");
}

TEST_F(Chain, PathLengthOfTheIntermediateIsEnforced) {
  // A CA under the intermediate (path length 0) signs a client: refused.
  const auto d = tmp_.path();
  const std::string ext = d + "/ext.cnf";
  write_file(ext,
             "[sub]\nbasicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n"
             "[leaf]\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n"
             "extendedKeyUsage=clientAuth\n");
  auto sh = [](const std::string& cmd) {
    auto r = run({"sh", "-c", cmd});
    EXPECT_EQ(r.status, 0) << cmd << ": " << r.err;
  };
  const std::string p = pki_.dir();
  sh("cd " + d +
     " && openssl genpkey -algorithm ED25519 -out sub.key && openssl req -new -key "
     "sub.key -subj /CN=sub -out sub.csr && openssl x509 -req -in sub.csr -CA " +
     p + "/intermediate.crt -CAkey " + p +
     "/private/ca.key -set_serial 77 -days 30 -extfile ext.cnf "
     "-extensions sub -out sub.crt && openssl genpkey -algorithm ED25519 -out deep.key && openssl "
     "req -new -key deep.key -subj /CN=deep -out deep.csr && openssl x509 -req -in deep.csr -CA "
     "sub.crt -CAkey sub.key -set_serial 78 -days 30 -extfile ext.cnf -extensions leaf -out "
     "deep.leaf && cat deep.leaf sub.crt " +
     p + "/intermediate.crt > deep.crt");
  Trexd server(pki_, tmp_.path());
  expect_refusal(trex_as(server, pki_, d + "/deep.crt", d + "/deep.key"), "(bad certificate");
  const auto rec = auth_fail(server, "CA constraints violated");
  EXPECT_EQ(rec.value("reason", ""),
            "CA constraints violated (path length): CA certificate 'CN=sub'");
}

TEST_F(Chain, CheckConfigReportsEveryCrlWithItsCa) {
  auto r = run({TREXD_BIN, "--check-config", "--allow-all", "--ca", pki_.ca(), "--cert",
                pki_.cert("server"), "--key", pki_.key("server"), "--crl-dir", pki_.crl_dir(),
                "--log-dir", tmp_.file("log")});
  for (const char* ca : {kIssuing, kRoot}) {
    EXPECT_NE(r.out.find(std::string("of CA '") + ca + "' (nextUpdate) valid for"),
              std::string::npos)
        << r.out;
  }
}

}  // namespace
}  // namespace trex::testing
