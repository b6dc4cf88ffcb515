// Identity extraction checked against the openssl CLI: certificates and CRLs
// come from tools/pki (plus a few made with openssl directly for shapes the
// script cannot produce), and every field must read as openssl reads it.
#include "tls/identity.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <vector>

#include "trex/audit.hpp"
#include "trex/tls.hpp"

namespace trex::tls {
namespace {

namespace fs = std::filesystem;
using std::chrono::system_clock;
using Bytes = std::vector<unsigned char>;

struct Run {
  int code = -1;
  std::string out;  // stdout and stderr
};

Run sh(const std::string& cmd) {
  Run run;
  FILE* pipe = ::popen(("(" + cmd + ") 2>&1").c_str(), "r");
  if (pipe == nullptr) return run;
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, pipe)) > 0;) run.out.append(buf, n);
  const int status = ::pclose(pipe);
  run.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
}

// The output of `cmd`, last newline removed; fails the test when it fails.
std::string out_of(const std::string& cmd) {
  Run r = sh(cmd);
  EXPECT_EQ(r.code, 0) << cmd << "\n" << r.out;
  while (!r.out.empty() && (r.out.back() == '\n' || r.out.back() == '\r')) r.out.pop_back();
  return r.out;
}

std::string q(const std::string& s) { return "'" + s + "'"; }  // paths hold no quotes

std::string after_equals(const std::string& line) { return line.substr(line.find('=') + 1); }

// Owns the temporary PKIs of this process.
class Pkis {
 public:
  ~Pkis() {
    if (!root_.empty()) fs::remove_all(root_);
  }
  // A PKI made by tools/pki with `algo`: CA, server "server", clients
  // "alice" (OU ops) and "bob" (no OU), and a CRL; made once per process.
  const std::string& get(const std::string& algo) {
    auto it = dirs_.find(algo);
    if (it != dirs_.end()) return it->second;
    const std::string dir = root() + "/" + algo;
    const std::string pki = "bash " + q(TREX_PKI_SCRIPT) + " --dir " + q(dir) + " ";
    for (const std::string& args :
         {"init --algo " + algo, std::string("server server --loopback"),
          std::string("client alice --ou ops"), std::string("client bob")}) {
      Run r = sh(pki + args);
      if (r.code != 0) ADD_FAILURE() << "tools/pki " << args << " failed:\n" << r.out;
    }
    return dirs_.emplace(algo, dir).first->second;
  }
  const std::string& root() {
    if (root_.empty()) {
      std::string tmpl = (fs::temp_directory_path() / "trex-identity-XXXXXX").string();
      if (::mkdtemp(tmpl.data()) != nullptr) root_ = tmpl;
    }
    return root_;
  }

 private:
  std::string root_;
  std::map<std::string, std::string> dirs_;
};

Pkis& pkis() {
  static Pkis p;
  return p;
}

Bytes read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

Bytes der_of(const std::string& pem) {
  const std::string der = pem + ".der";
  out_of("openssl x509 -in " + q(pem) + " -outform DER -out " + q(der));
  return read_bytes(der);
}

// What openssl says about a certificate, in the project's notation.
struct Expected {
  std::string serial, fingerprint, not_after;
  long long not_before_epoch = 0, not_after_epoch = 0;
};

Expected openssl_view(const std::string& pem) {
  const std::string x509 = "openssl x509 -in " + q(pem) + " -noout ";
  Expected e;
  e.serial = after_equals(out_of(x509 + "-serial"));
  std::string fp = after_equals(out_of(x509 + "-fingerprint -sha256"));
  fp.erase(std::remove(fp.begin(), fp.end(), ':'), fp.end());
  std::transform(fp.begin(), fp.end(), fp.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  e.fingerprint = fp;
  const std::string end = after_equals(out_of(x509 + "-enddate"));
  const std::string start = after_equals(out_of(x509 + "-startdate"));
  e.not_after = out_of("date -u -d " + q(end) + " +%Y-%m-%dT%H:%M:%S.000000Z");
  e.not_after_epoch = std::stoll(out_of("date -u -d " + q(end) + " +%s"));
  e.not_before_epoch = std::stoll(out_of("date -u -d " + q(start) + " +%s"));
  return e;
}

long long epoch_of(system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

long long crl_epoch_by_openssl(const std::string& crl) {
  const std::string next =
      after_equals(out_of("openssl crl -in " + q(crl) + " -noout -nextupdate"));
  return std::stoll(out_of("date -u -d " + q(next) + " +%s"));
}

// Signs a certificate with `dir`'s CA directly through openssl, for subjects
// and extensions tools/pki does not make. `ext` is the [leaf] section body.
std::string sign_custom(const std::string& dir, const std::string& name, const std::string& subj,
                        const std::string& serial, const std::string& ext) {
  const std::string base = dir + "/custom-" + name;
  { std::ofstream(base + ".ext") << "[ leaf ]\n" << ext; }
  out_of("openssl genpkey -algorithm ED25519 -out " + q(base + ".key"));
  out_of("openssl req -new -key " + q(base + ".key") + " -subj " + q(subj) + " -out " +
         q(base + ".csr"));
  out_of("openssl x509 -req -in " + q(base + ".csr") + " -CA " + q(dir + "/ca.crt") + " -CAkey " +
         q(dir + "/private/ca.key") + " -set_serial " + serial + " -days 30 -extfile " +
         q(base + ".ext") + " -extensions leaf -out " + q(base + ".crt"));
  return base + ".crt";
}

class LibraryEnvironment : public ::testing::Environment {
 public:
  void SetUp() override { lib_ = std::make_unique<Library>(); }
  void TearDown() override { lib_.reset(); }

 private:
  std::unique_ptr<Library> lib_;
};
const auto* const kEnv = ::testing::AddGlobalTestEnvironment(new LibraryEnvironment);

// ------------------------------------------------- per algorithm (tools/pki) --

class IdentityByAlgo : public ::testing::TestWithParam<std::string> {
 protected:
  const std::string& dir() { return pkis().get(GetParam()); }
  std::string cert(const std::string& name) { return dir() + "/issued/" + name + ".crt"; }

  // The named certificate as trex reads it, beside openssl's view of it.
  // `client_auth` starts at the value the test expects trex to change.
  struct Read {
    Bytes der;
    Expected want;
    bool client_auth;
    std::optional<PeerIdentity> id;
  };
  Read read(const std::string& name, bool client_auth_before) {
    const std::string pem = cert(name);
    Read r{der_of(pem), openssl_view(pem), client_auth_before, std::nullopt};
    r.id = identity_from_der(r.der.data(), r.der.size(), &r.client_auth);
    return r;
  }
  static void expect_openssl_agrees(const Read& r) {
    EXPECT_EQ(r.id->serial, r.want.serial);
    EXPECT_EQ(r.id->fingerprint, r.want.fingerprint);
    EXPECT_EQ(r.id->fingerprint.size(), 64u);
    EXPECT_EQ(r.id->not_after, r.want.not_after);
  }
};

TEST_P(IdentityByAlgo, ClientWithOneOuMatchesOpenssl) {
  const auto r = read("alice", false);
  ASSERT_FALSE(r.der.empty());
  ASSERT_TRUE(r.id.has_value());
  EXPECT_EQ(r.id->cn, "alice");
  EXPECT_EQ(r.id->ou, std::vector<std::string>{"ops"});
  expect_openssl_agrees(r);
  EXPECT_TRUE(r.client_auth);
}

TEST_P(IdentityByAlgo, ClientWithoutOuHasAnEmptyOuList) {
  const auto r = read("bob", false);
  ASSERT_TRUE(r.id.has_value());
  EXPECT_EQ(r.id->cn, "bob");
  EXPECT_TRUE(r.id->ou.empty());
  expect_openssl_agrees(r);
  EXPECT_TRUE(r.client_auth);
}

TEST_P(IdentityByAlgo, ServerCertificateIsNotForClientAuth) {
  const auto r = read("server", true);
  ASSERT_TRUE(r.id.has_value());
  EXPECT_EQ(r.id->cn, "server");
  expect_openssl_agrees(r);
  EXPECT_FALSE(r.client_auth);
  // A null out-parameter is allowed.
  EXPECT_TRUE(identity_from_der(r.der.data(), r.der.size(), nullptr).has_value());
}

TEST_P(IdentityByAlgo, InspectCertificateReadsPemFiles) {
  auto server = inspect_certificate(cert("server"));
  ASSERT_TRUE(server.ok()) << server.message();
  const Expected s = openssl_view(cert("server"));
  EXPECT_EQ(server->subject_cn, "server");
  EXPECT_TRUE(server->server_auth);
  EXPECT_FALSE(server->client_auth);
  EXPECT_EQ(server->sans,
            (std::vector<std::string>{"DNS:server", "DNS:localhost", "IP:127.0.0.1", "IP:::1"}));
  EXPECT_EQ(epoch_of(server->not_before), s.not_before_epoch);
  EXPECT_EQ(epoch_of(server->not_after), s.not_after_epoch);

  auto alice = inspect_certificate(cert("alice"));
  ASSERT_TRUE(alice.ok()) << alice.message();
  const Expected a = openssl_view(cert("alice"));
  EXPECT_EQ(alice->subject_cn, "alice");
  EXPECT_EQ(alice->ou, std::vector<std::string>{"ops"});
  EXPECT_TRUE(alice->client_auth);
  EXPECT_FALSE(alice->server_auth);
  EXPECT_TRUE(alice->sans.empty());
  EXPECT_EQ(epoch_of(alice->not_before), a.not_before_epoch);
  EXPECT_EQ(epoch_of(alice->not_after), a.not_after_epoch);
}

TEST_P(IdentityByAlgo, CrlNextUpdateMatchesOpenssl) {
  const std::string crl = dir() + "/crl.pem";
  auto next = crl_next_update(crl);
  ASSERT_TRUE(next.ok()) << next.message();
  EXPECT_EQ(epoch_of(*next), crl_epoch_by_openssl(crl));
}

INSTANTIATE_TEST_SUITE_P(Pki, IdentityByAlgo, ::testing::Values("ed25519", "ec", "rsa"),
                         [](const auto& param_info) { return param_info.param; });

// ------------------------------------------------------ dates and shapes --

// Dates after 2049 are GeneralizedTime rather than UTCTime.
TEST(Identity, DatesAfter2049AndExplicitCrlTimes) {
  const std::string dir = pkis().root() + "/dates";
  const std::string pki = "bash " + q(TREX_PKI_SCRIPT) + " --dir " + q(dir) + " ";
  out_of(pki + "init");
  out_of(pki + "client late --start 20200101000000Z --end 20600102030405Z");
  const std::string pem = dir + "/issued/late.crt";
  const Bytes der = der_of(pem);
  auto id = identity_from_der(der.data(), der.size(), nullptr);
  ASSERT_TRUE(id.has_value());
  EXPECT_EQ(id->not_after, "2060-01-02T03:04:05.000000Z");
  EXPECT_EQ(id->not_after, openssl_view(pem).not_after);
  auto info = inspect_certificate(pem);
  ASSERT_TRUE(info.ok()) << info.message();
  EXPECT_EQ(epoch_of(info->not_before), 1577836800);  // 2020-01-01T00:00:00Z

  for (const char* when : {"20301231235959Z", "20600101000000Z"}) {
    const std::string next = when;
    out_of(pki + "crl --lastupdate 20240101000000Z --nextupdate " + next);
    auto t = crl_next_update(dir + "/crl.pem");
    ASSERT_TRUE(t.ok()) << t.message();
    EXPECT_EQ(epoch_of(*t), crl_epoch_by_openssl(dir + "/crl.pem")) << next;
    EXPECT_EQ(audit::rfc3339_utc(*t).substr(0, 19),
              next.substr(0, 4) + "-" + next.substr(4, 2) + "-" + next.substr(6, 2) + "T" +
                  next.substr(8, 2) + ":" + next.substr(10, 2) + ":" + next.substr(12, 2));
  }
}

// tools/pki takes one --ou; a certificate from another CA may carry several,
// and policy rules match any of them.
TEST(Identity, EveryOuIsReportedInOrder) {
  const std::string& dir = pkis().get("ed25519");
  const std::string pem =
      sign_custom(dir, "two-ou", "/OU=ops/OU=dev/CN=carol", "0x2001",
                  "basicConstraints = critical, CA:FALSE\nextendedKeyUsage = clientAuth\n");
  const Bytes der = der_of(pem);
  bool client_auth = false;
  auto id = identity_from_der(der.data(), der.size(), &client_auth);
  ASSERT_TRUE(id.has_value());
  EXPECT_EQ(id->cn, "carol");
  EXPECT_EQ(id->ou, (std::vector<std::string>{"ops", "dev"}));
  EXPECT_TRUE(client_auth);
  auto info = inspect_certificate(pem);
  ASSERT_TRUE(info.ok()) << info.message();
  EXPECT_EQ(info->ou, (std::vector<std::string>{"ops", "dev"}));
}

// A serial with its high bit set is DER-encoded with a leading zero byte,
// which openssl does not print.
TEST(Identity, SerialWithHighBitMatchesOpenssl) {
  const std::string& dir = pkis().get("ed25519");
  const std::string pem =
      sign_custom(dir, "high-serial", "/CN=dave", "0x80000000000000ff",
                  "basicConstraints = critical, CA:FALSE\nextendedKeyUsage = clientAuth\n");
  const Bytes der = der_of(pem);
  auto id = identity_from_der(der.data(), der.size(), nullptr);
  ASSERT_TRUE(id.has_value());
  EXPECT_EQ(id->serial, "80000000000000FF");
  EXPECT_EQ(id->serial, openssl_view(pem).serial);
}

TEST(Identity, ClientAuthFlagFollowsTheEku) {
  const std::string& dir = pkis().get("ed25519");
  struct Case {
    const char* name;
    const char* ext;
    bool client_auth;
  } cases[] = {
      {"no-eku", "basicConstraints = critical, CA:FALSE\n", false},
      {"both-eku", "extendedKeyUsage = serverAuth, clientAuth\n", true},
      {"code-signing", "extendedKeyUsage = codeSigning\n", false},
  };
  int serial = 0x3000;
  for (const auto& c : cases) {
    const std::string pem =
        sign_custom(dir, c.name, std::string("/CN=") + c.name, std::to_string(serial++), c.ext);
    const Bytes der = der_of(pem);
    bool client_auth = !c.client_auth;
    auto id = identity_from_der(der.data(), der.size(), &client_auth);
    ASSERT_TRUE(id.has_value()) << c.name;
    EXPECT_EQ(client_auth, c.client_auth) << c.name;
    EXPECT_EQ(id->cn, c.name);
  }
}

// --------------------------------------------------------- hostile input --

TEST(IdentityHostile, EmptyAndNullDerAreRejected) {
  bool client_auth = true;
  const unsigned char one = 0x30;
  EXPECT_FALSE(identity_from_der(nullptr, 0, &client_auth).has_value());
  EXPECT_FALSE(identity_from_der(nullptr, 100, &client_auth).has_value());
  EXPECT_FALSE(identity_from_der(&one, 0, &client_auth).has_value());
  EXPECT_FALSE(identity_from_der(&one, 1, &client_auth).has_value());
  EXPECT_TRUE(client_auth);  // untouched on failure
}

TEST(IdentityHostile, EveryTruncationIsRejected) {
  for (const char* algo : {"ed25519", "rsa"}) {
    const Bytes der = der_of(pkis().get(algo) + "/issued/alice.crt");
    ASSERT_GT(der.size(), 100u);
    for (std::size_t n = 1; n < der.size(); ++n) {
      // A copy of exactly n bytes, so that reading past it is caught by ASan.
      const Bytes cut(der.begin(), der.begin() + static_cast<std::ptrdiff_t>(n));
      EXPECT_FALSE(identity_from_der(cut.data(), cut.size(), nullptr).has_value())
          << algo << " cut to " << n << " of " << der.size() << " bytes";
    }
  }
}

TEST(IdentityHostile, RandomBytesAreRejected) {
  std::mt19937 rng(20240601);
  for (int i = 0; i < 3000; ++i) {
    Bytes junk(1 + rng() % 2048);
    for (auto& b : junk) b = static_cast<unsigned char>(rng());
    // Half of them look like the start of a certificate.
    if (i % 2 == 0 && junk.size() > 4) {
      junk[0] = 0x30;
      junk[1] = 0x82;
    }
    EXPECT_FALSE(identity_from_der(junk.data(), junk.size(), nullptr).has_value()) << "case " << i;
  }
}

// Corrupted certificates may or may not parse (signatures are not checked
// here), but must never crash or read out of bounds.
TEST(IdentityHostile, CorruptedCertificatesDoNotCrash) {
  const Bytes der = der_of(pkis().get("ed25519") + "/issued/alice.crt");
  std::mt19937 rng(7);
  for (int i = 0; i < 3000; ++i) {
    Bytes bad = der;
    for (int k = 0, n = 1 + static_cast<int>(rng() % 4); k < n; ++k) {
      bad[rng() % bad.size()] = static_cast<unsigned char>(rng());
    }
    bool client_auth = false;
    auto id = identity_from_der(bad.data(), bad.size(), &client_auth);
    if (id.has_value()) {
      EXPECT_EQ(id->fingerprint.size(), 64u);
    }
  }
}

TEST(IdentityHostile, UnreadableFilesGiveCleanErrors) {
  const std::string dir = pkis().root();
  const std::string& pki = pkis().get("ed25519");
  std::ofstream(dir + "/empty.pem").flush();
  std::ofstream(dir + "/junk.pem") << "-----BEGIN CERTIFICATE-----\nnot*base64!\n"
                                   << "-----END CERTIFICATE-----\n";
  std::ofstream(dir + "/junk-crl.pem")
      << "-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n";
  {
    std::ofstream out(dir + "/random.bin", std::ios::binary);
    std::mt19937 rng(3);
    for (int i = 0; i < 4096; ++i) out.put(static_cast<char>(rng()));
  }

  for (const std::string& path :
       {dir + "/missing.pem", dir + "/empty.pem", dir + "/junk.pem", dir + "/random.bin",
        pki + "/crl.pem", pki + "/private/alice.key", dir}) {
    auto r = inspect_certificate(path);
    EXPECT_FALSE(r.ok()) << path;
    if (!r.ok()) {
      EXPECT_NE(r.message().find(path), std::string::npos) << r.message();
    }
  }
  for (const std::string& path : {dir + "/missing.pem", dir + "/empty.pem", dir + "/junk-crl.pem",
                                  dir + "/random.bin", pki + "/issued/alice.crt", dir}) {
    auto r = crl_next_update(path);
    EXPECT_FALSE(r.ok()) << path;
    if (!r.ok()) {
      EXPECT_NE(r.message().find(path), std::string::npos) << r.message();
    }
  }
}

}  // namespace
}  // namespace trex::tls
