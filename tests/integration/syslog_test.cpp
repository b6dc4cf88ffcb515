// trexd --audit-syslog into a real rsyslogd (Debian's package, installed by
// tools/test.sh) listening on a private socket: every audit record arrives,
// as RFC 5424 with facility authpriv and the structured data, its message
// the very line of the audit file, so that the copy verifies as a chain.
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "support/harness.hpp"

namespace trex::testing {
namespace {

namespace fs = std::filesystem;

constexpr char kPolicy[] = R"toml(
[[rule]]
name = "lab-ops"
ou = ["ops"]
allow = ["true", "false", "echo"]
)toml";

std::vector<std::string> lines_of(const std::string& path) {
  std::vector<std::string> out;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// A private rsyslogd: one imuxsock socket, authpriv written to out.log as
// "FACILITY SEVERITY APP-NAME MSGID STRUCTURED-DATA MSG", auth (the audit
// head lines) to auth.log as "FACILITY SEVERITY PROGRAM MSG".
class Rsyslogd {
 public:
  explicit Rsyslogd(const TempDir& tmp) : dir_(tmp.file("rsyslog")) {
    fs::create_directories(dir_);
    write_file(dir_ + "/rsyslog.conf",
               "global(workDirectory=\"" + dir_ +
                   "\" maxMessageSize=\"256k\")\n"
                   "module(load=\"imuxsock\" SysSock.Use=\"off\")\n"
                   "input(type=\"imuxsock\" Socket=\"" +
                   socket() +
                   "\" UseSpecialParser=\"off\" ParseHostname=\"on\")\n"
                   "template(name=\"t\" type=\"string\" string=\"%syslogfacility-text% "
                   "%syslogseverity-text% %app-name% %msgid% %structured-data% %msg%\\n\")\n"
                   "if $syslogfacility-text == \"authpriv\" then action(type=\"omfile\" "
                   "file=\"" +
                   out() +
                   "\" template=\"t\" flushOnTXEnd=\"on\")\n"
                   "template(name=\"h\" type=\"string\" string=\"%syslogfacility-text% "
                   "%syslogseverity-text% %programname% %msg%\\n\")\n"
                   "if $syslogfacility-text == \"auth\" then action(type=\"omfile\" "
                   "file=\"" +
                   auth() + "\" template=\"h\" flushOnTXEnd=\"on\")\n");
    RunOptions opts;
    opts.timeout = 600s;
    child_.emplace(std::vector<std::string>{"rsyslogd", "-n", "-f", dir_ + "/rsyslog.conf", "-i",
                                            dir_ + "/rsyslogd.pid"},
                   opts);
    EXPECT_TRUE(eventually([&] { return fs::exists(socket()); }, scaled(20s)))
        << "rsyslogd made no socket";
  }
  ~Rsyslogd() {
    child_->kill(SIGTERM);
    child_->wait();
  }
  std::string socket() const { return dir_ + "/log.sock"; }
  std::string out() const { return dir_ + "/out.log"; }
  std::string auth() const { return dir_ + "/auth.log"; }

 private:
  std::string dir_;
  std::optional<Child> child_;
};

class AuditSyslog : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(run({"sh", "-c", "command -v rsyslogd"}).status, 0)
        << "rsyslogd not found: install Debian's rsyslog package (tools/test.sh does)";
    write_file(tmp_.file("policy.toml"), kPolicy);
  }
  TempDir tmp_;
  Pki pki_{tmp_.path()};
};

TEST_F(AuditSyslog, EveryRecordArrivesAndVerifies) {
  Rsyslogd rsyslog(tmp_);
  std::string audit_path;
  {
    Trexd server(pki_, tmp_.path(),
                 {"--policy", tmp_.file("policy.toml"), "--audit-syslog", "--audit-syslog-socket",
                  rsyslog.socket()});
    audit_path = server.audit_path();
    for (int i = 0; i < 5; ++i)
      ASSERT_EQ(server.trex("client", {"echo", "n" + std::to_string(i)}).status, 0);
    ASSERT_EQ(server.trex("client", {"false"}).status, 1);
    ASSERT_NE(server.trex("client", {"rm", "-rf", "/tmp/nothing"}).status, 0);  // denied
    // A string that needs escaping in the JSON and is a syslog SD delimiter.
    ASSERT_EQ(server.trex("client", {"echo", "a]\"b\\c"}).status, 0);
  }  // trexd stops: server_stop is the last record
  const auto file = lines_of(audit_path);
  ASSERT_GE(file.size(), 20u);
  ASSERT_TRUE(
      eventually([&] { return lines_of(rsyslog.out()).size() >= file.size(); }, scaled(20s)))
      << lines_of(rsyslog.out()).size() << " of " << file.size() << " records arrived";
  const auto got = lines_of(rsyslog.out());
  ASSERT_EQ(got.size(), file.size());
  std::ofstream copy(tmp_.file("copy.jsonl"));
  for (std::size_t i = 0; i < got.size(); ++i) {
    const auto record = nlohmann::json::parse(file[i]);
    const std::string event = record["event"];
    const std::string severity = event == "auth_fail" || event == "exec_denied" ? "notice" : "info";
    const std::string head = "authpriv " + severity + " trexd " + event + " [trex@32473 seq=\"" +
                             std::to_string(record["seq"].get<long>()) + "\" event=\"" + event +
                             "\"] ";
    ASSERT_EQ(got[i].rfind(head, 0), 0u) << got[i];
    EXPECT_EQ(got[i].substr(head.size()), file[i]);  // the very line of the file
    copy << got[i].substr(head.size()) << '\n';
  }
  copy.close();
  const RunResult v = run({TREX_AUDIT_BIN, "verify", tmp_.file("copy.jsonl")});
  EXPECT_EQ(v.status, 0) << v.out << v.err;
  EXPECT_EQ(v.out.rfind("ok: " + std::to_string(file.size()) + " records in 1 file", 0), 0u)
      << v.out;
}

// The audit head lines (--audit-head-syslog) as a real rsyslogd files them:
// facility auth, severity notice, program trexd, the head that `trex-audit
// verify` computes from the trail at start and at stop.
TEST_F(AuditSyslog, HeadLinesReachARealRsyslogd) {
  Rsyslogd rsyslog(tmp_);
  std::string audit_path;
  {
    Trexd server(pki_, tmp_.path(),
                 {"--policy", tmp_.file("policy.toml"), "--audit-head-syslog", rsyslog.socket()});
    audit_path = server.audit_path();
    ASSERT_TRUE(eventually([&] { return lines_of(rsyslog.auth()).size() >= 1; }, scaled(20s)))
        << "no start line arrived";
    ASSERT_EQ(server.trex("client", {"echo", "x"}).status, 0);
  }
  ASSERT_TRUE(eventually([&] { return lines_of(rsyslog.auth()).size() >= 2; }, scaled(20s)))
      << "no stop line arrived";
  const auto got = lines_of(rsyslog.auth());
  ASSERT_EQ(got.size(), 2u);
  const std::regex start("auth notice trexd  ?audit head 1:[0-9a-f]{64} \\(start\\) trail=(.*)");
  std::smatch m;
  ASSERT_TRUE(std::regex_match(got[0], m, start)) << got[0];
  EXPECT_EQ(m[1].str(), audit_path);
  const RunResult v = run({TREX_AUDIT_BIN, "verify", audit_path});
  ASSERT_EQ(v.status, 0) << v.out << v.err;
  std::smatch h;
  ASSERT_TRUE(std::regex_search(v.out, h, std::regex("head: ([0-9]+:[0-9a-f]{64})"))) << v.out;
  EXPECT_NE(got[1].find("audit head " + h[1].str() + " (stop) trail=" + audit_path),
            std::string::npos)
      << got[1] << " vs verify's " << h[1].str();
}

// No daemon at the socket: trexd refuses to start rather than drop every copy.
TEST_F(AuditSyslog, MissingSocketStopsTheStart) {
  const RunResult r = run({TREXD_BIN, "--ca", pki_.ca(), "--cert", pki_.cert("server"), "--key",
                           pki_.key("server"), "--crl", pki_.crl(), "--listen", "127.0.0.1:0",
                           "--log-dir", tmp_.file("log"), "--policy", tmp_.file("policy.toml"),
                           "--audit-syslog", "--audit-syslog-socket", tmp_.file("nothing.sock")});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("--audit-syslog: cannot connect to " + tmp_.file("nothing.sock")),
            std::string::npos)
      << r.err;
}

}  // namespace
}  // namespace trex::testing
