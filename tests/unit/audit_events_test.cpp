// The audit events' records: the fields and their order are the trail's
// format (README "Audit trail"), read by trex-audit and by operators' tools.
#include <gtest/gtest.h>

#include "trex/audit_events.hpp"

namespace trex::audit {
namespace {

std::string dump(const Json& j) { return j.dump(); }

TEST(AuditEvents, ExecStartNamesTheCommandByMode) {
  ExecStart e{3, "3.1", "ops", {false, {"ls", "-l"}, ""}, "/", "root", "", nullptr};
  EXPECT_EQ(dump(e.to_json()),
            R"({"conn":3,"id":"3.1","cn":"ops","argv":["ls","-l"],"cwd":"/","run_as":"root"})");
  e.command = {true, {}, "echo hi"};
  EXPECT_EQ(dump(e.to_json()),
            R"({"conn":3,"id":"3.1","cn":"ops","shell":"echo hi","cwd":"/","run_as":"root"})");
  e.rule = "ops-readonly";  // the rule that allowed it, when a policy decided
  EXPECT_EQ(dump(e.to_json()), R"({"conn":3,"id":"3.1","cn":"ops","shell":"echo hi","cwd":"/",)"
                               R"("run_as":"root","rule":"ops-readonly"})");
  EXPECT_EQ(ExecStart::kName, "exec_start");
}

TEST(AuditEvents, ExecEndOfACommandThatNeverStarted) {
  const auto e = ExecEnd::not_started(1, "1.2", "ops", "command not found: nope");
  const std::string empty = sha256_hex("");
  EXPECT_EQ(
      dump(e.to_json()),
      R"({"conn":1,"id":"1.2","cn":"ops","exit_code":127,"signal":null,"timed_out":false,)"
      R"("duration_ms":0,"stdout_bytes":0,"stderr_bytes":0,"stdin_bytes":0,"stdout_sha256":")" +
          empty + R"(","stderr_sha256":")" + empty +
          R"(","truncated":false,"lingered":0,"error":"command not found: nope"})");
}

TEST(AuditEvents, ExecEndOfASignaledCommandSaysWhoEndedTheSession) {
  ExecEnd e;
  e.conn = 2;
  e.id = "2.1";
  e.cn = "ops";
  e.signal = 9;
  e.timed_out = true;
  e.duration_ms = 1500;
  e.stdout_bytes = 4;
  e.stdout_sha256 = "a";
  e.stderr_sha256 = "b";
  e.ended_by = "client gone";
  const Json j = e.to_json();
  EXPECT_TRUE(j["exit_code"].is_null());
  EXPECT_EQ(j["signal"], 9);
  EXPECT_EQ(j["ended_by"], "client gone");
  EXPECT_FALSE(j.contains("error"));
  EXPECT_EQ(j.back(), "client gone");  // ended_by comes last
}

TEST(AuditEvents, FilePutAndGetCarryPathSizeModeDigestAndResult) {
  FilePut put;
  put.conn = 4;
  put.id = "4.2";
  put.cn = "alice";
  put.path = "/srv/in/a.txt";
  put.rule = "inbox";
  put.run_as = "lab";
  put.size = 5;
  put.mode = 0640;
  put.sha256 = sha256_hex("hello");
  put.duration_ms = 7;
  EXPECT_EQ(dump(put.to_json()),
            R"({"conn":4,"id":"4.2","cn":"alice","path":"/srv/in/a.txt","rule":"inbox",)"
            R"("run_as":"lab","size":5,"mode":"0640","sha256":")" +
                sha256_hex("hello") + R"(","duration_ms":7,"result":"ok"})");
  EXPECT_EQ(FilePut::kName, "file_put");
  FileGet get;
  get.conn = 1;
  get.cn = "bob";
  get.path = std::string("/x\xff");
  get.result = FileTransfer::Result::kDenied;
  get.error = "rule 'r' grants no get";
  EXPECT_EQ(dump(get.to_json()),
            R"({"conn":1,"cn":"bob","path":{"hex":"2f78ff"},"rule":"","run_as":"","size":0,)"
            R"("mode":"0000","sha256":"","duration_ms":0,"result":"denied",)"
            R"("error":"rule 'r' grants no get"})");
  EXPECT_EQ(FileGet::kName, "file_get");
}

TEST(AuditEvents, SessionAndServerRecords) {
  EXPECT_EQ(
      dump(SessionOpen{4, "127.0.0.1:5", "ops", {"a", "b"}, "0A", "ff", "2027", "CN=ca"}.to_json()),
      R"({"conn":4,"peer":"127.0.0.1:5","cn":"ops","ou":["a","b"],"serial":"0A",)"
      R"("issuer":"CN=ca","fingerprint":"ff","not_after":"2027"})");
  EXPECT_EQ(dump(SessionClose{4, "ops", "client closed", 2}.to_json()),
            R"({"conn":4,"cn":"ops","reason":"client closed","commands":2})");
  EXPECT_EQ(dump(ExecDenied{4, "ops", {false, {"rm"}, ""}, "r1", "no"}.to_json()),
            R"({"conn":4,"cn":"ops","argv":["rm"],"rule":"r1","reason":"no"})");
  EXPECT_EQ(dump(AuthFail{5, "p", "timeout", std::nullopt, std::nullopt, std::nullopt}.to_json()),
            R"({"conn":5,"peer":"p","reason":"timeout"})");
  EXPECT_EQ(dump(AuthFail{5, "p", "wrong key usage", "eve", "0B", std::nullopt}.to_json()),
            R"({"conn":5,"peer":"p","reason":"wrong key usage","cn":"eve","serial":"0B"})");
  // A certificate that did not verify: a claim, never cn or serial.
  const AuthFail::Claim claim{"alice", "/CN=Rogue CA", "ab12"};
  EXPECT_EQ(dump(AuthFail{5, "p", "unknown CA", std::nullopt, std::nullopt, claim}.to_json()),
            R"({"conn":5,"peer":"p","reason":"unknown CA","claimed_cn":"alice",)"
            R"("issuer":"/CN=Rogue CA","fingerprint":"ab12"})");
  EXPECT_EQ(dump(Reload{"tls", false, "bad"}.to_json()),
            R"({"what":"tls","ok":false,"reason":"bad"})");
  Json recovered = Json::object();
  recovered["recovered"] = {{"torn_bytes", 3}};
  EXPECT_EQ(dump(ServerLife{"0.1.0", "h:1", 42, recovered}.to_json()),
            R"({"version":"0.1.0","listen":"h:1","pid":42,"recovered":{"torn_bytes":3}})");
  EXPECT_EQ(dump(ServerLife{"0.1.0", "h:1", 42, {}}.to_json()),
            R"({"version":"0.1.0","listen":"h:1","pid":42})");
}

}  // namespace
}  // namespace trex::audit
