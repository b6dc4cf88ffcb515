// Fail closed and name only who proved it (issue 14): no start without a
// policy unless --allow-all (1), auth_fail names only verified certificates
// (2), argv bytes recorded losslessly and shown escaped (4), args patterns
// that tell arguments apart (5), log folder and files closed to others (6).
#include <sys/stat.h>

#include <gtest/gtest.h>

#include <cctype>
#include <sstream>
#include <string>
#include <thread>
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

// ---- 2. names that were never proved ---------------------------------------

// SHA-256 of a certificate's DER, lower-case hex, as openssl computes it.
std::string fingerprint_of(const std::string& cert) {
  auto r = run({"openssl", "x509", "-in", cert, "-noout", "-fingerprint", "-sha256"});
  std::string hex;
  for (char c : r.out.substr(r.out.find('=') + 1)) {
    if (std::isxdigit(static_cast<unsigned char>(c))) hex += static_cast<char>(std::tolower(c));
  }
  return hex;
}

// The numbers after `label` on the stats line that starts with it.
std::vector<std::string> stats_row(const std::string& stats, const std::string& label) {
  std::istringstream lines(stats);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(label + " ", 0) != 0) continue;
    std::istringstream cells(line.substr(label.size()));
    std::vector<std::string> out;
    for (std::string c; cells >> c;) out.push_back(c);
    return out;
  }
  return {};
}

TEST_F(Trust, AnotherCasCertificateWithARealClientsNameIsNeverThatClient) {
  // A second CA, and a certificate from it that says CN=client, like the real one.
  TempDir rogue_dir;
  const Pki rogue(rogue_dir.path());
  Trexd d(*pki_, tmp_.path());
  ASSERT_FALSE(d.address().empty());
  EXPECT_EQ(d.trex("client", {"true"}).status, 0);
  const auto r = run({TREX_BIN, "--ca", pki_->ca(), "--cert", rogue.cert("client"), "--key",
                      rogue.key("client"), d.address(), "true"},
                     opts());
  EXPECT_EQ(r.status, 255) << r.err;
  nlohmann::json fail;
  for (int i = 0; i < 500 && fail.is_null(); ++i) {
    for (auto& f : audit_records(d.audit_path(), "auth_fail")) fail = f;
    if (fail.is_null()) std::this_thread::sleep_for(scaled(20ms));
  }
  ASSERT_FALSE(fail.is_null()) << read_file(d.audit_path());
  EXPECT_FALSE(fail.contains("cn")) << fail.dump();
  EXPECT_FALSE(fail.contains("serial")) << fail.dump();
  EXPECT_EQ(fail.value("claimed_cn", ""), "client") << fail.dump();
  EXPECT_EQ(fail.value("fingerprint", ""), fingerprint_of(rogue.cert("client"))) << fail.dump();
  EXPECT_NE(fail.value("issuer", "").find("CN="), std::string::npos) << fail.dump();

  // stats: the refusal is nobody's; the real client has none.
  const auto stats = run({TREX_AUDIT_BIN, "stats", d.audit_path()});
  EXPECT_EQ(stats.status, 0) << stats.err;
  const auto mine = stats_row(stats.out, "client");
  ASSERT_GE(mine.size(), 5u) << stats.out;
  EXPECT_EQ(mine[4], "0") << "REFUSED counted under the real client:\n" << stats.out;
  const auto unverified = stats_row(stats.out, "(unverified certificate)");
  ASSERT_GE(unverified.size(), 5u) << stats.out;
  EXPECT_EQ(unverified[4], "1") << stats.out;
  // show --client client lists the real client's records only.
  const auto show = run({TREX_AUDIT_BIN, "show", d.audit_path(), "--client", "client"});
  EXPECT_EQ(show.out.find("auth_fail"), std::string::npos) << show.out;
  EXPECT_NE(show.out.find("session open"), std::string::npos) << show.out;
  EXPECT_EQ(show.out.find("refused"), std::string::npos) << show.out;
  // show names the claim as a claim, outside the CLIENT column (which stays "-").
  const auto all = run({TREX_AUDIT_BIN, "show", d.audit_path(), "--event", "auth_fail"});
  EXPECT_NE(all.out.find("refused: unknown CA"), std::string::npos) << all.out;
  EXPECT_NE(all.out.find("claims CN client, issuer CN="), std::string::npos) << all.out;
  std::istringstream rows(all.out);
  std::string header, row, time_date, time_clock, client;
  std::getline(rows, header);
  ASSERT_TRUE(std::getline(rows, row)) << all.out;
  std::istringstream(row) >> time_date >> time_clock >> client;
  EXPECT_EQ(client, "-") << all.out;
}

// ---- 4. records faithful to the bytes ---------------------------------------

TEST_F(Trust, ArgvBytesAreRecordedLosslesslyAndShownEscaped) {
  Trexd d(*pki_, tmp_.path());
  ASSERT_FALSE(d.address().empty());
  const std::string ff = "a\xff"
                         "b",
                    fe = "a\xfe"
                         "b";
  const std::string bidi =
      "evil\xe2\x80\xae"
      "txt.sh";  // U+202E RIGHT-TO-LEFT OVERRIDE
  const std::string csi =
      "x\xc2\x9b"
      "2Jy";  // U+009B, a C1 CSI
  EXPECT_EQ(d.trex("client", {"echo", ff}).out, ff + "\n");
  EXPECT_EQ(d.trex("client", {"echo", fe}).out, fe + "\n");
  EXPECT_EQ(d.trex("client", {"echo", bidi, csi}).status, 0);
  EXPECT_EQ(d.trex("client", {"-c", "echo \xff"}).status, 0);
  const auto starts = audit_records(d.audit_path(), "exec_start");
  ASSERT_EQ(starts.size(), 4u);
  // Not UTF-8: every byte, as hex; two different arguments, two records.
  EXPECT_EQ(starts[0]["argv"][1], nlohmann::json({{"hex", "61ff62"}})) << starts[0].dump();
  EXPECT_EQ(starts[1]["argv"][1], nlohmann::json({{"hex", "61fe62"}})) << starts[1].dump();
  EXPECT_EQ(starts[0]["argv"][0], "echo");
  // Valid UTF-8 stays text, byte for byte.
  EXPECT_EQ(starts[2]["argv"][1], bidi);
  EXPECT_EQ(starts[2]["argv"][2], csi);
  EXPECT_EQ(starts[3]["shell"], nlohmann::json({{"hex", "6563686f20ff"}})) << starts[3].dump();
  EXPECT_EQ(verify_trail(d.audit_path()), 0);

  const auto show = run({TREX_AUDIT_BIN, "show", d.audit_path(), "--event", "exec_start"});
  EXPECT_EQ(show.status, 0) << show.err;
  EXPECT_NE(show.out.find("echo $'a\\xffb'"), std::string::npos) << show.out;
  EXPECT_NE(show.out.find("echo $'a\\xfeb'"), std::string::npos) << show.out;
  EXPECT_NE(show.out.find("echo $'evil\\u202etxt.sh' $'x\\u009b2Jy'"), std::string::npos)
      << show.out;
  EXPECT_NE(show.out.find("$'echo \\xff'"), std::string::npos) << show.out;
  // Nothing that acts on a terminal reaches it.
  for (const std::string raw : {"\xe2\x80\xae", "\xc2\x9b", "\xff"}) {
    EXPECT_EQ(show.out.find(raw), std::string::npos) << show.out;
  }
}

// ---- 5. argument patterns that tell arguments apart ------------------------

constexpr const char* kArgsPolicy = R"([[rule]]
name = "no-args"
cn = ["client"]
allow = ["true"]
args = [""]

[[rule]]
name = "two-words"
cn = ["client"]
allow = ["echo"]
args = ["^a b$"]

[[rule]]
name = "exact"
cn = ["client"]
allow = ["printf"]
arg_lists = [["%s:", "a b"], []]

[[rule]]
name = "loose"
cn = ["client"]
allow = ["ls"]
args = ["^-l .*$"]
)";

TEST_F(Trust, ArgsPatternsCannotBeFooledByJoinedArguments) {
  const std::string policy = tmp_.file("args.toml");
  write_file(policy, kArgsPolicy);
  Trexd d(*pki_, tmp_.path(), {"--policy", policy});
  ASSERT_FALSE(d.address().empty());
  // args = [""]: no arguments, and not one empty argument.
  EXPECT_EQ(d.trex("client", {"true"}).status, 0);
  const auto empty = d.trex("client", {"true", ""});
  EXPECT_EQ(empty.status, 126) << empty.err;
  EXPECT_TRUE(contains(empty.err, "argument 1 is empty or holds a space")) << empty.err;
  // "^a b$" means two arguments: "a b" as one is refused.
  EXPECT_EQ(d.trex("client", {"echo", "a", "b"}).out, "a b\n");
  EXPECT_EQ(d.trex("client", {"echo", "a b"}).status, 126);
  // arg_lists admit exactly the lists they spell.
  EXPECT_EQ(d.trex("client", {"printf", "%s:", "a b"}).out, "a b:");
  EXPECT_EQ(d.trex("client", {"printf", "%s:", "a", "b"}).status, 126);
  EXPECT_EQ(d.trex("client", {"printf", "%s:"}).status, 126);
  const auto denied = audit_records(d.audit_path(), "exec_denied");
  ASSERT_EQ(denied.size(), 4u);
  EXPECT_EQ(denied[0]["rule"], "no-args");
}

TEST_F(Trust, ExplainShowsWhatEachPatternWasMatchedAgainst) {
  const std::string policy = tmp_.file("args.toml");
  write_file(policy, kArgsPolicy);
  const auto explain = [&](std::vector<std::string> cmd) {
    std::vector<std::string> argv{TREXD_BIN, "--policy", policy, "--explain", "client", "--"};
    argv.insert(argv.end(), cmd.begin(), cmd.end());
    return run(argv, opts());
  };
  auto r = explain({"echo", "a", "b"});
  EXPECT_EQ(r.status, 0) << r.out << r.err;
  EXPECT_TRUE(contains(r.out,
                       "  args pattern '^a b$' against 'a b' (arguments joined with "
                       "spaces): match"))
      << r.out;
  r = explain({"echo", "a b"});
  EXPECT_EQ(r.status, 1) << r.out << r.err;
  EXPECT_TRUE(contains(r.out,
                       "  args patterns not tried: joined with spaces, arguments ['a b'] "
                       "could be another list"))
      << r.out;
  r = explain({"printf", "%s:", "a b"});
  EXPECT_EQ(r.status, 0) << r.out << r.err;
  EXPECT_TRUE(contains(r.out,
                       "  arg_lists entry ['%s:', 'a b'] against arguments ['%s:', 'a b']: "
                       "match"))
      << r.out;
  r = explain({"printf", "%s:", "a", "b"});
  EXPECT_TRUE(contains(r.out, "  arg_lists entry [] against arguments ['%s:', 'a', 'b']: no match"))
      << r.out;
}

TEST_F(Trust, CheckConfigWarnsWhereAnArgsPatternChangedMeaning) {
  const std::string policy = tmp_.file("args.toml");
  write_file(policy, kArgsPolicy);
  const auto r = run(bare_argv({"--policy", policy, "--check-config"}), opts());
  EXPECT_EQ(r.status, 0) << r.out << r.err;
  EXPECT_TRUE(contains(r.out,
                       "warning: rule 'no-args' (line 1): args pattern '' now admits only "
                       "no arguments, not one empty argument (meaning changed)"))
      << r.out;
  EXPECT_TRUE(contains(r.out,
                       "warning: rule 'loose' (line 19): args pattern '^-l .*$' may match "
                       "a space inside one argument"))
      << r.out;
  EXPECT_FALSE(contains(r.out, "rule 'two-words' (line 7): args")) << r.out;
}

// ---- 7. a cut-off end does not go unnoticed ---------------------------------

TEST_F(Trust, VerifyPrintsTheHeadAndACutTrailFailsAgainstIt) {
  {
    Trexd d(*pki_, tmp_.path());
    ASSERT_FALSE(d.address().empty());
    for (int i = 0; i < 3; ++i) EXPECT_EQ(d.trex("client", {"true"}).status, 0);
  }
  const std::string trail = tmp_.file("log/audit.jsonl");
  const auto lines = audit_records(trail);
  ASSERT_GE(lines.size(), 8u);
  auto r = run({TREX_AUDIT_BIN, "verify", trail});
  EXPECT_EQ(r.status, 0) << r.err;
  // The head is the last record's seq and the SHA-256 of its line.
  std::string all = read_file(trail);
  all.pop_back();
  const std::string last_line = all.substr(all.rfind('\n') + 1);
  const auto sha = run({"sh", "-c", "printf '%s' \"$1\" | sha256sum", "sh", last_line});
  const std::string head = lines.back()["seq"].dump() + ":" + sha.out.substr(0, 64);
  EXPECT_TRUE(contains(r.out, "head: " + head + "\n")) << r.out << "\nexpected " << head;

  // head -n 4: the chain alone is intact; against the head it is cut off.
  const std::string cut = tmp_.file("cut.jsonl");
  std::size_t at = 0;
  for (int i = 0; i < 4; ++i) at = read_file(trail).find('\n', at) + 1;
  write_file(cut, read_file(trail).substr(0, at));
  EXPECT_EQ(run({TREX_AUDIT_BIN, "verify", cut}).status, 0);
  r = run({TREX_AUDIT_BIN, "verify", cut, "--expect", head});
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_TRUE(contains(r.err, "the trail ends at record 4, before the expected record " +
                                  lines.back()["seq"].dump() + ": records at its end are missing"))
      << r.err;
  // The whole trail reaches it; so does a checkpoint file holding it.
  r = run({TREX_AUDIT_BIN, "verify", trail, "--expect", head});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "reaches the expected record " + head)) << r.out;
  write_file(tmp_.file("checkpoint"), head + "\n");
  EXPECT_EQ(run({TREX_AUDIT_BIN, "verify", trail, "--checkpoint", tmp_.file("checkpoint")}).status,
            0);
  // A different hash at that seq: not the trail the head came from.
  std::string other = head;
  other.back() = other.back() == '0' ? '1' : '0';
  r = run({TREX_AUDIT_BIN, "verify", trail, "--expect", other});
  EXPECT_EQ(r.status, 1);
  EXPECT_TRUE(contains(r.err, "is not the expected one")) << r.err;
  r = run({TREX_AUDIT_BIN, "verify", trail, "--expect", "12:zz"});
  EXPECT_EQ(r.status, 2);
  EXPECT_TRUE(contains(r.err, "expected SEQ:HASH")) << r.err;
}

}  // namespace
}  // namespace trex::testing
