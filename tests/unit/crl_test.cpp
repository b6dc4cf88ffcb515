// CRLs as trexd reads them (several per PEM file, a directory, the newest of
// one CA) and names as it prints them, checked against the openssl CLI.
#include "tls/crl.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "tls/x509_name.hpp"

namespace trex::tls {
namespace {

namespace fs = std::filesystem;

std::string sh(const std::string& cmd) {
  std::string out;
  FILE* pipe = ::popen(("(" + cmd + ") 2>&1").c_str(), "r");
  if (pipe == nullptr) return out;
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, pipe)) > 0;) out.append(buf, n);
  EXPECT_EQ(::pclose(pipe), 0) << cmd << ": " << out;
  return out;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class Crl : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(fs::temp_directory_path() / ("trex-crl-" + std::to_string(::getpid())));
    fs::create_directories(*dir_);
    // A two-level PKI, and a CA whose name needs RFC 4514 escaping.
    sh("bash " TREX_PKI_SCRIPT " init --intermediate --dir " + *dir_ + "/pki >/dev/null");
    sh("cd " + *dir_ +
       " && openssl req -x509 -newkey ed25519 -nodes -keyout odd.key -subj "
       "'/C=DE/O=Lab, Inc./OU=a;b/CN=#odd CA' -days 3 -out odd.crt 2>/dev/null && "
       "printf '[ca]\\ndefault_ca=c\\n[c]\\ndatabase=idx\\ncrlnumber=num\\ndefault_md=default\\n' "
       "> odd.cnf && : > idx && echo 01 > num && openssl ca -config odd.cnf -cert odd.crt "
       "-keyfile odd.key -gencrl -crldays 2 -out odd.crl 2>/dev/null");
  }
  static void TearDownTestSuite() {
    fs::remove_all(*dir_);
    delete dir_;
  }
  static std::string path(const std::string& p) { return *dir_ + "/" + p; }
  static std::string* dir_;
};
std::string* Crl::dir_ = nullptr;

TEST_F(Crl, EveryCrlOfAPemFileIsReadWithItsIssuerAsOpensslNamesIt) {
  auto crls = read_crls(path("pki/crl.pem"), "");
  ASSERT_TRUE(crls.ok()) << crls.message();
  ASSERT_EQ(crls->size(), 2u);
  EXPECT_EQ((*crls)[0].issuer, "CN=trex lab issuing CA");
  EXPECT_EQ((*crls)[1].issuer, "CN=trex lab root CA");
  for (const char* f : {"intermediate", "root"}) {
    const auto want =
        sh("openssl crl -in " + path("pki/crls/") + f + ".pem -noout -issuer -nameopt RFC2253");
    const auto& got = std::string(f) == "root" ? (*crls)[1] : (*crls)[0];
    EXPECT_EQ("issuer=" + got.issuer + "\n", want);
    EXPECT_FALSE(got.superseded);
  }
}

TEST_F(Crl, NamesAreEscapedLikeRfc4514) {
  auto crls = read_crls(path("odd.crl"), "");
  ASSERT_TRUE(crls.ok()) << crls.message();
  ASSERT_EQ(crls->size(), 1u);
  EXPECT_EQ("issuer=" + (*crls)[0].issuer + "\n",
            sh("openssl crl -in " + path("odd.crl") + " -noout -issuer -nameopt RFC2253"));
  EXPECT_EQ((*crls)[0].issuer, "CN=\\#odd CA,OU=a\\;b,O=Lab\\, Inc.,C=DE");
  const auto next = sh("date -u -d \"$(openssl crl -in " + path("odd.crl") +
                       " -noout -nextupdate | cut -d= -f2)\" +%s");
  EXPECT_EQ(std::chrono::system_clock::to_time_t((*crls)[0].next_update), std::stoll(next));
}

TEST_F(Crl, ADirectoryIsReadAndTheNewestCrlOfACaWins) {
  const auto d = path("dir");
  fs::create_directories(d);
  fs::copy_file(path("pki/crls/root.pem"), d + "/a-root.pem", fs::copy_options::overwrite_existing);
  fs::copy_file(path("pki/crls/intermediate.pem"), d + "/b-old.crl",
                fs::copy_options::overwrite_existing);
  sh("sleep 1; bash " TREX_PKI_SCRIPT " crl --dir " + path("pki") + " >/dev/null");
  fs::copy_file(path("pki/crls/intermediate.pem"), d + "/c-new.pem",
                fs::copy_options::overwrite_existing);
  std::ofstream(d + "/notes.txt") << "not a CRL, not read\n";
  auto crls = read_crls("", d);
  ASSERT_TRUE(crls.ok()) << crls.message();
  ASSERT_EQ(crls->size(), 3u);
  EXPECT_EQ((*crls)[1].source, d + "/b-old.crl");
  EXPECT_TRUE((*crls)[1].superseded);
  EXPECT_FALSE((*crls)[2].superseded);
  EXPECT_FALSE((*crls)[0].superseded);
}

TEST_F(Crl, BrokenInputIsNamed) {
  std::ofstream(path("garbage.pem")) << "-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n";
  auto r = read_crls(path("pki/crl.pem"), "");
  ASSERT_TRUE(r.ok());
  for (const auto& [file, dir, needle] :
       {std::tuple<std::string, std::string, std::string>{path("garbage.pem"), "", "garbage.pem"},
        {path("pki/ca.crt"), "", "not a PEM CRL"},
        {path("missing.pem"), "", "missing.pem"},
        {"", path("nodir"), "nodir"},
        {"", "", "no CRL"}}) {
    auto bad = read_crls(file, dir);
    ASSERT_FALSE(bad.ok()) << file << dir;
    EXPECT_NE(bad.message().find(needle), std::string::npos) << bad.message();
  }
}

TEST_F(Crl, CaNamesOfAFileWithSeveralCertificates) {
  const auto both = path("both.crt");
  std::ofstream(both) << slurp(path("pki/ca.crt")) << slurp(path("pki/intermediate.crt"));
  auto names = read_ca_names(both);
  ASSERT_TRUE(names.ok()) << names.message();
  ASSERT_EQ(names->size(), 2u);
  EXPECT_EQ((*names)[0].subject, "CN=trex lab root CA");
  EXPECT_EQ((*names)[1].subject, "CN=trex lab issuing CA");
}

TEST(X509Name, MalformedNamesDoNotCrash) {
  const unsigned char junk[] = {0x30, 0x05, 0x31, 0x10, 0x30, 0x01, 0x06};
  EXPECT_EQ(name_text(junk, sizeof junk), "(unreadable name)");
  EXPECT_EQ(name_text(nullptr, 0), "(unreadable name)");
  EXPECT_EQ(name_key(junk, 1), "");
}

}  // namespace
}  // namespace trex::tls
