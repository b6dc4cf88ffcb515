// Fail closed and name only who proved it (issue 14): trexd refuses to start
// without a policy unless --allow-all says so (1), and its log folder and
// files are closed to others whatever the umask (6).
#include <sys/stat.h>

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "support/harness.hpp"

namespace trex::testing {
namespace {

class Trust : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    pki_tmp_ = new TempDir;
    pki_ = new Pki(pki_tmp_->path());
  }
  static void TearDownTestSuite() {
    delete pki_;
    pki_ = nullptr;
    delete pki_tmp_;
    pki_tmp_ = nullptr;
  }

  // trexd with the suite's PKI and `extra`, and nothing else (no --allow-all).
  std::vector<std::string> bare_argv(const std::vector<std::string>& extra) const {
    std::vector<std::string> argv{
        TREXD_BIN,           "--listen", "127.0.0.1:0",        "--ca",
        pki_->ca(),          "--cert",   pki_->cert("server"), "--key",
        pki_->key("server"), "--crl",    pki_->crl(),          "--log-dir",
        tmp_.file("log")};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return argv;
  }
  static RunOptions opts(std::chrono::milliseconds timeout = 20s) {
    RunOptions o;
    o.timeout = timeout;
    return o;
  }
  static bool contains(const std::string& text, const std::string& needle) {
    return text.find(needle) != std::string::npos;
  }

  static TempDir* pki_tmp_;
  static Pki* pki_;
  TempDir tmp_;
};

TempDir* Trust::pki_tmp_ = nullptr;
Pki* Trust::pki_ = nullptr;

// ---- 1. no policy, no start ----------------------------------------------

TEST_F(Trust, WithoutAPolicyTrexdRefusesToStartAndSaysWhatToDo) {
  const auto r = run(bare_argv({}), opts());
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_TRUE(contains(r.err, "trexd: no policy")) << r.err;
  EXPECT_TRUE(contains(r.err, "--policy FILE")) << r.err;
  EXPECT_TRUE(contains(r.err, "--allow-all")) << r.err;
  EXPECT_FALSE(contains(read_file(tmp_.file("log/server.log")), "listening on"));
  // --explain gives no answer from a policy that is not there.
  const auto e = run({TREXD_BIN, "--explain", "alice", "--", "cat", "/etc/shadow"}, opts());
  EXPECT_EQ(e.status, 2) << e.out << e.err;
  EXPECT_TRUE(contains(e.err, "no policy")) << e.err;
}

TEST_F(Trust, CheckConfigReportsAMissingPolicyAsAnError) {
  auto r = run(bare_argv({"--check-config"}), opts());
  EXPECT_EQ(r.status, 1) << r.out << r.err;
  EXPECT_TRUE(contains(r.out, "error: no policy")) << r.out;
  EXPECT_TRUE(contains(r.out, "configuration has 1 error(s)")) << r.out;
  // With --allow-all it is a warning that names what it means.
  r = run(bare_argv({"--allow-all", "--check-config"}), opts());
  EXPECT_EQ(r.status, 0) << r.out << r.err;
  EXPECT_TRUE(contains(r.out, "warning: --allow-all: every certificate")) << r.out;
}

TEST_F(Trust, AllowAllAndPolicyExcludeEachOther) {
  const std::string policy = tmp_.file("p.toml");
  write_file(policy, "[[rule]]\nname = \"r\"\ncn = [\"client\"]\nallow = [\"echo\"]\n");
  const auto r = run(bare_argv({"--allow-all", "--policy", policy}), opts());
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_TRUE(contains(r.err, "--allow-all and --policy exclude each other")) << r.err;
}

TEST_F(Trust, AllowAllFromFlagOrFileStartsAndServes) {
  {
    Trexd d(*pki_, tmp_.path(), {"--allow-all"});
    ASSERT_FALSE(d.address().empty());
    EXPECT_TRUE(contains(d.server_log(), "--allow-all: no policy")) << d.server_log();
    EXPECT_EQ(d.trex("client", {"echo", "ran"}).out, "ran\n");
  }
  // A configuration file says it with allow_all = true.
  const std::string conf = tmp_.file("trexd.toml");
  write_file(conf, "allow_all = true\n");
  TempDir other;
  Trexd d(*pki_, other.path(), {"--config", conf});
  ASSERT_FALSE(d.address().empty());
  EXPECT_EQ(d.trex("client", {"echo", "ran"}).out, "ran\n");
}

// ---- 6. log files ----------------------------------------------------------

mode_t mode_of(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

TEST_F(Trust, LogFolderAndFilesAreClosedToOthersUnderUmask000) {
  // An older trexd's server.log, readable by all, in a folder the operator made.
  TempDir old;
  ::mkdir(old.file("log").c_str(), 0755);
  write_file(old.file("log/server.log"), "old line\n");
  ::chmod(old.file("log/server.log").c_str(), 0666);
  const mode_t saved = ::umask(0);
  {
    // The audit trail rotates every few records: audit.jsonl.1 and on.
    Trexd fresh(*pki_, tmp_.path(), {"--audit-max-bytes", "4096"});
    Trexd again(*pki_, old.path());
    ::umask(saved);
    ASSERT_FALSE(fresh.address().empty());
    ASSERT_FALSE(again.address().empty());
    for (int i = 0; i < 12; ++i) fresh.trex("client", {"echo", std::string(200, 'x')});
  }
  ::umask(saved);
  EXPECT_EQ(mode_of(tmp_.file("log")), 0750u);
  EXPECT_EQ(mode_of(tmp_.file("log/server.log")), 0640u);
  EXPECT_EQ(mode_of(tmp_.file("log/audit.jsonl")), 0640u);
  EXPECT_EQ(mode_of(tmp_.file("log/audit.jsonl.1")), 0640u);
  EXPECT_EQ(mode_of(old.file("log/server.log")), 0640u);
  EXPECT_EQ(mode_of(old.file("log/audit.jsonl")), 0640u);
  EXPECT_EQ(mode_of(old.file("log")), 0755u) << "an existing folder is the operator's";
}

}  // namespace
}  // namespace trex::testing
