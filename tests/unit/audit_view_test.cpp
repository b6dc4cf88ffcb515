// The reviewer's view (issue 17): one entry per command, filters, the table
// that fits the terminal, CSV and JSON, stats per command/rule/peer, and the
// trex-audit flags around them (run as a program on a trail made by Writer).
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <sstream>

#include "audit/fields.hpp"
#include "trex/audit.hpp"
#include "trex/audit_review.hpp"
#include "trex/audit_view.hpp"
#include "unit/audit_cli_run.hpp"

namespace trex::audit {
namespace {

namespace fs = std::filesystem;

Json rec(const std::string& event, Json fields, const std::string& ts = "2026-11-23T17:49:07Z") {
  Json r{{"ts", ts}, {"seq", 1}, {"event", event}};
  r.update(fields);
  return r;
}

Json end_of(int conn, const std::string& id, Json more) {
  Json r{{"conn", conn},       {"id", id},          {"cn", "alice"},
         {"timed_out", false}, {"signal", nullptr}, {"stdout_bytes", 2000},
         {"stderr_bytes", 48}};
  r.update(more);
  return rec("exec_end", r, "2026-11-23T17:49:09Z");
}

std::vector<Entry> view_of(const std::vector<Json>& records) {
  CommandView view;
  std::vector<Entry> out;
  for (const auto& r : records) view.add(r, out);
  return out;
}

TEST(CommandView, OneEntryPerCommand) {
  const auto entries = view_of({
      rec("session_open",
          {{"conn", 1}, {"peer", "10.0.0.5:4000"}, {"cn", "alice"}, {"ou", {"ops"}}}),
      rec("exec_start", {{"conn", 1},
                         {"id", "1.1"},
                         {"cn", "alice"},
                         {"argv", {"ls", "my dir"}},
                         {"run_as", "lab"},
                         {"rule", "ops"}}),
      rec("exec_start", {{"conn", 2}, {"id", "2.1"}, {"cn", "bob"}, {"shell", "df -h | sort"}}),
      end_of(1, "1.1", {{"exit_code", 0}, {"duration_ms", 1500}}),
      rec("session_close", {{"conn", 1}, {"cn", "alice"}, {"reason", "client closed"}}),
      rec("session_close", {{"conn", 3}, {"cn", "carol"}, {"reason", "idle timeout"}}),
  });
  ASSERT_EQ(entries.size(), 3u);  // the session, the command, the idle timeout
  EXPECT_EQ(entries[0].kind, Kind::kSession);
  EXPECT_EQ(entries[0].command, "from 10.0.0.5:4000, ou ops");
  const Entry& c = entries[1];
  EXPECT_EQ(c.kind, Kind::kCommand);
  EXPECT_EQ(c.ts, "2026-11-23T17:49:07Z");  // the start's time
  EXPECT_EQ(c.command, "ls 'my dir'");
  EXPECT_EQ(c.run_as, "lab");
  EXPECT_EQ(c.rule, "ops");
  EXPECT_EQ(c.status, "exit 0");
  EXPECT_EQ(c.bytes_out, 2048);
  EXPECT_EQ(c.duration_ms, 1500);
  EXPECT_FALSE(c.failed);
  EXPECT_EQ(entries[2].status, "session end: idle timeout");
}

TEST(CommandView, OpenCommandsAndRestarts) {
  CommandView view;
  std::vector<Entry> out;
  view.add(rec("exec_start", {{"conn", 2}, {"id", "2.1"}, {"cn", "bob"}, {"shell", "sleep 9"}}),
           out);
  ASSERT_EQ(view.open_commands().size(), 1u);
  EXPECT_TRUE(view.open_commands()[0].running);
  EXPECT_EQ(view.open_commands()[0].command, "sh -c 'sleep 9'");
  // A shell string that is not UTF-8 is recorded as {"hex": ...}: shown escaped.
  const Entry hex = entry_of(rec("exec_start", {{"shell", {{"hex", "6563686f20ff"}}}}));
  EXPECT_TRUE(hex.shell);
  EXPECT_EQ(hex.command, "sh -c $'echo \\xff'");
  view.add(rec("server_start", {{"pid", 1}}), out);  // conn numbers start again
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].status, "no end record");
  EXPECT_TRUE(out[0].failed);
  EXPECT_EQ(out[1].kind, Kind::kServer);
  EXPECT_TRUE(view.open_commands().empty());
}

TEST(CommandView, RefusalsNameNoClient) {
  const Entry e = entry_of(rec("auth_fail", {{"peer", "[::1]:5000"},
                                             {"reason", "unknown CA"},
                                             {"claimed_cn", "alice"},
                                             {"cn", "alice"}}));
  EXPECT_EQ(e.kind, Kind::kRefused);
  EXPECT_EQ(e.client, "");
  EXPECT_EQ(e.command, "from [::1]:5000, claims CN alice");
  Query q;
  q.clients = {"alice"};
  EXPECT_FALSE(matches(e, q));
  EXPECT_EQ(peer_host(e.peer), "::1");
  EXPECT_EQ(peer_host("10.1.2.3:77"), "10.1.2.3");
}

// Records are untrusted: fields of the wrong type never crash the view, and
// no terminal control in them reaches the table.
TEST(CommandView, ToleratesOddRecordsAndEscapesControls) {
  std::vector<Json> records;
  for (const char* line :
       {R"({"event":"exec_start","argv":[1,null,{"a":1}],"conn":[],"id":"1"})",
        R"({"event":"exec_end","exit_code":"x","signal":[1],"cn":{},"conn":[],"id":"1"})",
        R"({"event":"session_open","cn":"e\u001b[31m","ou":[7],"peer":"p\u009b2J"})",
        R"({"event":"exec_start","cn":"a","conn":1,"id":"2","argv":["x\u001b]0;t\u0007"]})",
        R"({"event":"exec_end","cn":"a","conn":1,"id":"2","exit_code":0,"duration_ms":-5})",
        R"({"event":"auth_fail","claimed_cn":"\u202eevil","reason":"r\r\nforged"})"}) {
    auto record = parse_record(line);
    ASSERT_TRUE(record.ok()) << line;
    records.push_back(*record);
  }
  const auto entries = view_of(records);
  ASSERT_GE(entries.size(), 3u);
  for (const Format format : {Format::kTable, Format::kCsv}) {
    std::ostringstream out;
    {
      EntryWriter writer(out, format, TableOptions{.wide = true, .events = true});
      for (const auto& e : entries) writer.add(e);
    }
    std::string text = out.str();
    for (std::size_t at; (at = text.find("\r\n")) != std::string::npos;) {
      text.erase(at, 1);  // CSV's own line ends (RFC 4180)
    }
    for (const char bad : {'\x1b', '\x07', '\r'})
      EXPECT_EQ(text.find(bad), std::string::npos) << text;
    EXPECT_EQ(text.find("\xc2\x9b"), std::string::npos) << text;      // C1 CSI
    EXPECT_EQ(text.find("\xe2\x80\xae"), std::string::npos) << text;  // RLO
  }
}

TEST(Query, StatusRuleEventAndTime) {
  const auto entries = view_of({
      rec("exec_start", {{"conn", 1}, {"id", "1.1"}, {"argv", {"a"}}, {"rule", "r1"}}),
      end_of(1, "1.1", {{"exit_code", 3}}),
      rec("exec_start", {{"conn", 1}, {"id", "1.2"}, {"argv", {"b"}}, {"rule", "r2"}}),
      end_of(1, "1.2", {{"exit_code", nullptr}, {"signal", 9}, {"timed_out", true}}),
      rec("exec_denied", {{"conn", 1}, {"argv", {"c"}}, {"rule", "r1"}, {"reason", "no"}},
          "2026-11-23T17:49:10Z"),
  });
  ASSERT_EQ(entries.size(), 3u);
  const auto count = [&](const Query& q) {
    return std::count_if(entries.begin(), entries.end(), [&](auto& e) { return matches(e, q); });
  };
  Query q;
  q.statuses = {"3"};
  EXPECT_EQ(count(q), 1);
  q.statuses = {"timeout", "denied"};
  EXPECT_EQ(count(q), 2);
  q.statuses = {"ok"};
  EXPECT_EQ(count(q), 0);
  q.statuses = {"failed"};
  EXPECT_EQ(count(q), 3);
  q = {};
  q.rules = {"r1"};
  EXPECT_EQ(count(q), 2);
  q = {};
  q.events = {"exec_start"};  // a command line stands for its start and its end
  EXPECT_EQ(count(q), 2);
  q.events = {"exec_denied"};
  EXPECT_EQ(count(q), 1);
  q = {};
  q.since = *parse_time("2026-11-23T17:49:08Z", {});
  EXPECT_EQ(count(q), 1);  // the denial: commands count from their start (17:49:07)
  EXPECT_TRUE(check_status_words({"ok", "12", "running"}).ok());
  EXPECT_FALSE(check_status_words({"fine"}).ok());
  EXPECT_TRUE(check_event_names({"exec_end", "auth_fail"}).ok());
  const Status bad = check_event_names({"exec_fail"});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.message().find("unknown event 'exec_fail'"), std::string::npos);
}

TEST(EntryWriter, FitsTheWidthAndCutsOnlyTheCommand) {
  Entry e = entry_of(rec("exec_denied", {{"cn", "alice"},
                                         {"argv", {"rm", std::string(300, 'x')}},
                                         {"reason", std::string(250, 'r')}}));
  std::ostringstream narrow, wide, piped;
  {
    EntryWriter w(narrow, Format::kTable, {80, false, false, false});
    w.add(e);
  }
  {
    EntryWriter w(wide, Format::kTable, {80, true, false, false});
    w.add(e);
  }
  {
    EntryWriter w(piped, Format::kTable, {0, false, false, false});
    w.add(e);
  }
  std::istringstream in(narrow.str());
  for (std::string line; std::getline(in, line);) EXPECT_LE(display_width(line), 80u) << line;
  EXPECT_NE(narrow.str().find("\xe2\x80\xa6"), std::string::npos);       // an ellipsis
  EXPECT_NE(wide.str().find(std::string(300, 'x')), std::string::npos);  // --wide: all of it
  EXPECT_NE(wide.str().find(std::string(250, 'r')), std::string::npos);
  EXPECT_NE(piped.str().find(std::string(300, 'x')), std::string::npos);  // no terminal: no cut
  EXPECT_EQ(piped.str().find(std::string(250, 'r')), std::string::npos);  // STATUS keeps its cap
}

TEST(EntryWriter, CsvAndJson) {
  Entry e = entry_of(
      rec("exec_denied",
          {{"cn", "=cmd|calc"}, {"argv", {"echo", "a,b", "say \"hi\"\nbye"}}, {"reason", "no"}}));
  std::ostringstream csv, json;
  {
    EntryWriter w(csv, Format::kCsv, {});
    w.add(e);
  }
  {
    EntryWriter w(json, Format::kJson, {});
    w.add(e);
  }
  const std::string text = csv.str();
  EXPECT_EQ(text.rfind("time,kind,client,", 0), 0u) << text;
  EXPECT_NE(text.find(",denied,'=cmd|calc,"), std::string::npos) << text;  // no formula
  EXPECT_NE(text.find("\"echo a,b $'say \"\"hi\"\"\\nbye'\""), std::string::npos) << text;
  const Json j = Json::parse(json.str());
  EXPECT_EQ(j["kind"], "denied");
  EXPECT_EQ(j["argv"][2], "say \"hi\"\nbye");  // JSON keeps the bytes
  EXPECT_EQ(j["failed"], true);
  EXPECT_EQ(csv_field("plain"), "plain");
  EXPECT_EQ(csv_field("-1"), "'-1");
}

TEST(Display, BytesFitAndTimes) {
  EXPECT_EQ(human_bytes(0), "0");
  EXPECT_EQ(human_bytes(1023), "1023");
  EXPECT_EQ(human_bytes(1536), "1.5K");
  EXPECT_EQ(human_bytes(40 * 1024), "40K");
  EXPECT_EQ(human_bytes(5LL << 30), "5.0G");
  EXPECT_EQ(fit("abcdef", 4), "abc\xe2\x80\xa6");
  EXPECT_EQ(fit("abc", 4), "abc");
  EXPECT_EQ(fit("\xc3\xa9\xc3\xa9\xc3\xa9", 2), "\xc3\xa9\xe2\x80\xa6");  // whole code points
  EXPECT_EQ(display_time("2026-11-23T17:49:07.123456Z", false), "2026-11-23 17:49:07");
  EXPECT_EQ(time_header(false), "TIME (UTC)");
}

TEST(Breakdown, PerCommandRuleAndPeer) {
  Breakdown b;
  for (const auto& e : view_of({
           rec("exec_start", {{"conn", 1}, {"id", "1.1"}, {"argv", {"uptime"}}, {"rule", "ops"}}),
           end_of(1, "1.1", {{"exit_code", 0}, {"duration_ms", 10}}),
           rec("exec_start", {{"conn", 1}, {"id", "1.2"}, {"argv", {"uptime"}}, {"rule", "ops"}}),
           end_of(1, "1.2", {{"exit_code", 1}, {"duration_ms", 5}}),
           rec("exec_denied", {{"argv", {"rm"}}, {"rule", ""}, {"reason", "no"}}),
           rec("auth_fail", {{"peer", "10.0.0.9:1"}, {"reason", "revoked"}}),
           rec("auth_fail", {{"peer", "10.0.0.9:2"}, {"reason", "expired"}}),
           rec("auth_fail", {{"peer", "10.0.0.7:2"}, {"reason", "expired"}}),
       })) {
    b.add(e);
  }
  ASSERT_EQ(b.commands().count("uptime"), 1u);
  EXPECT_EQ(b.commands().at("uptime").runs, 2u);
  EXPECT_EQ(b.commands().at("uptime").failures, 1u);
  EXPECT_EQ(b.commands().at("uptime").run_ms, 15u);
  EXPECT_EQ(b.commands().at("rm").denials, 1u);
  EXPECT_EQ(b.rules().at("ops").runs, 2u);
  EXPECT_EQ(b.rules().at("(no rule)").denials, 1u);
  const auto peers = b.top_peers(1);
  ASSERT_EQ(peers.size(), 1u);
  EXPECT_EQ(peers[0].first, "10.0.0.9");
  EXPECT_EQ(peers[0].second.refused, 2u);
  EXPECT_EQ(peers[0].second.last_reason, "expired");
}

// --- trex-audit, the program ---------------------------------------------

class ReviewCli : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::string(TREX_AUDIT_BIN).empty()) GTEST_SKIP() << "trex-audit not built";
    std::string tmpl = (fs::temp_directory_path() / "trex-review-XXXXXX").string();
    dir_ = ::mkdtemp(tmpl.data());
    fs::create_directory(dir_ + "/log");
    Writer::Options options;
    options.path = dir_ + "/log/audit.jsonl";
    auto w = std::move(*Writer::open(options));
    const auto put = [&](const char* event, Json fields) {
      ASSERT_TRUE(w->write(event, fields).ok());
    };
    put("server_start", {{"version", "0.1.0"}, {"listen", "127.0.0.1:7443"}, {"pid", 42}});
    put("session_open", {{"conn", 1}, {"peer", "10.0.0.5:4000"}, {"cn", "alice"}, {"ou", {"ops"}}});
    put("exec_start", {{"conn", 1},
                       {"id", "1.1"},
                       {"cn", "alice"},
                       {"argv", {"uptime"}},
                       {"run_as", "lab"},
                       {"rule", "ops"}});
    put("exec_end", {{"conn", 1},
                     {"id", "1.1"},
                     {"cn", "alice"},
                     {"exit_code", 0},
                     {"signal", nullptr},
                     {"timed_out", false},
                     {"duration_ms", 12},
                     {"stdout_bytes", 60},
                     {"stderr_bytes", 0}});
    put("exec_denied", {{"conn", 1},
                        {"cn", "alice"},
                        {"argv", {"rm", "-rf", "/"}},
                        {"rule", ""},
                        {"reason", std::string(200, 'r')}});
    put("exec_start", {{"conn", 1},
                       {"id", "1.2"},
                       {"cn", "alice"},
                       {"shell", "make test"},
                       {"run_as", "lab"},
                       {"rule", "build"}});
    put("exec_end", {{"conn", 1},
                     {"id", "1.2"},
                     {"cn", "alice"},
                     {"exit_code", 2},
                     {"signal", nullptr},
                     {"timed_out", false},
                     {"duration_ms", 4000},
                     {"stdout_bytes", 3 << 20},
                     {"stderr_bytes", 100}});
    put("session_close", {{"conn", 1}, {"cn", "alice"}, {"reason", "client closed"}});
    put("auth_fail", {{"conn", 2},
                      {"peer", "10.0.0.66:999"},
                      {"reason", "unknown CA"},
                      {"claimed_cn", "alice"}});
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }
  std::string dir_;
};

TEST_F(ReviewCli, OneLinePerCommand) {
  const CliRun run = trex_audit("show", dir_);
  ASSERT_EQ(run.code, 0) << run.out;
  const auto lines = lines_of(run.out);
  ASSERT_EQ(lines.size(), 7u) << run.out;  // header, server, session, 2 commands, denial, refusal
  EXPECT_EQ(lines[0].rfind("TIME (UTC)  ", 0), 0u) << lines[0];
  EXPECT_NE(lines[3].find("  alice   lab     exit 0  "), std::string::npos) << run.out;
  EXPECT_NE(lines[3].find("uptime"), std::string::npos) << run.out;
  EXPECT_NE(lines[4].find("denied: rrrr"), std::string::npos) << run.out;
  EXPECT_NE(lines[5].find("exit 2"), std::string::npos) << run.out;
  EXPECT_NE(lines[5].find("4.0s  3.0M"), std::string::npos) << run.out;
  EXPECT_NE(lines[5].find("sh -c 'make test'"), std::string::npos) << run.out;
  EXPECT_EQ(lines[6].find("alice"), lines[6].find("claims CN alice") + 10) << run.out;
  for (const auto& l : lines) EXPECT_LT(l.size(), 150u) << l;  // STATUS is capped
  // A terminal of 80 columns: every line fits, the command is cut.
  const CliRun narrow = trex_audit("show", dir_, "COLUMNS=80");
  for (const auto& l : lines_of(narrow.out)) EXPECT_LE(display_width(l), 80u) << l;
  EXPECT_NE(narrow.out.find("\xe2\x80\xa6\n"), std::string::npos) << narrow.out;
  const CliRun wide = trex_audit("show --wide", dir_, "COLUMNS=80");
  EXPECT_NE(wide.out.find(std::string(200, 'r')), std::string::npos) << wide.out;
  // --events: the record view, one line per record.
  EXPECT_EQ(lines_of(trex_audit("show --events", dir_).out).size(), 10u);
}

TEST_F(ReviewCli, FiltersAndTheirErrors) {
  const auto rows = [&](const std::string& args) {
    const CliRun run = trex_audit("show " + args, dir_);
    EXPECT_EQ(run.code, 0) << args << ": " << run.out;
    return lines_of(run.out).size() - 1;
  };
  EXPECT_EQ(rows("--status failed"), 3u);
  EXPECT_EQ(rows("--status 2,ok"), 2u);
  EXPECT_EQ(rows("--rule ops,build"), 2u);
  EXPECT_EQ(rows("--client alice"), 4u);  // never the refused certificate that claims alice
  EXPECT_EQ(rows("--client bob,alice"), 4u);
  EXPECT_EQ(rows("--event auth_fail,exec_denied"), 2u);
  EXPECT_EQ(rows("--since 1h --until 2999-01-01"), 6u);
  EXPECT_EQ(rows("--until 1h"), 0u);
  // A list flag takes one value: FILE after it is a FILE, not a status.
  EXPECT_EQ(rows("--client alice --status failed log/audit.jsonl"), 2u);
  CliRun run = trex_audit("show --event exec_fail", dir_);
  EXPECT_EQ(run.code, 2);
  EXPECT_NE(run.out.find("unknown event 'exec_fail' (known: server_start"), std::string::npos)
      << run.out;
  run = trex_audit("show --status fine", dir_);
  EXPECT_EQ(run.code, 2);
  EXPECT_NE(run.out.find("unknown status 'fine'"), std::string::npos) << run.out;
  run = trex_audit("show --format xml", dir_);
  EXPECT_EQ(run.code, 2) << run.out;
  run = trex_audit("stats --since yesterday", dir_);
  EXPECT_EQ(run.code, 2) << run.out;
}

TEST_F(ReviewCli, FindsTheTrailFromAnywhere) {
  const std::string elsewhere = fs::temp_directory_path().string();
  CliRun run = trex_audit("show --log-dir '" + dir_ + "/log'", elsewhere);
  EXPECT_EQ(run.code, 0) << run.out;
  EXPECT_EQ(lines_of(run.out).size(), 7u) << run.out;
  run = trex_audit("verify", elsewhere, "TREX_LOG_DIR='" + dir_ + "/log'");
  EXPECT_EQ(run.code, 0) << run.out;
  EXPECT_EQ(run.out.rfind("ok: 9 records in 1 file, chain intact\nhead: 9:", 0), 0u) << run.out;
  run = trex_audit("verify --since 1h", dir_);
  EXPECT_EQ(run.out.rfind("ok: 9 records in 1 file, chain intact; 9 in the time window\n", 0), 0u)
      << run.out;
  run = trex_audit("verify --log-dir '" + dir_ + "/nothing'", dir_);
  EXPECT_EQ(run.code, 2);
  EXPECT_EQ(run.out, "trex-audit: no trail at " + dir_ + "/nothing/audit.jsonl\n");
  run = trex_audit("stats", dir_ + "/log", "TREX_LOG_DIR=");
  EXPECT_EQ(run.code, 2);
  EXPECT_NE(run.out.find("no trail at log/audit.jsonl or /var/log/trex/audit.jsonl (give "
                         "--log-dir DIR or set TREX_LOG_DIR)"),
            std::string::npos)
      << run.out;
}

TEST_F(ReviewCli, Formats) {
  CliRun run = trex_audit("show --format csv --status failed", dir_);
  ASSERT_EQ(run.code, 0) << run.out;
  auto lines = lines_of(run.out);
  ASSERT_EQ(lines.size(), 4u) << run.out;
  EXPECT_EQ(lines[0],
            "time,kind,client,run_as,status,exit_code,signal,duration_ms,bytes_out,id,"
            "command,shell,peer,rule,event\r");
  EXPECT_NE(lines[2].find(",command,alice,lab,exit 2,2,,4000,3145828,1.2,sh -c 'make test',true,"),
            std::string::npos)
      << lines[2];
  run = trex_audit("show --format json --rule ops", dir_);
  lines = lines_of(run.out);
  ASSERT_EQ(lines.size(), 1u) << run.out;
  const Json j = Json::parse(lines[0]);
  EXPECT_EQ(j["argv"], Json::array({"uptime"}));
  EXPECT_EQ(j["bytes_out"], 60);
  EXPECT_EQ(j["run_as"], "lab");
  run = trex_audit("show --events --format json --event auth_fail", dir_);
  EXPECT_EQ(Json::parse(run.out)["claimed_cn"], "alice");  // the raw record
}

TEST_F(ReviewCli, Stats) {
  CliRun run = trex_audit("stats", dir_);
  ASSERT_EQ(run.code, 0) << run.out;
  EXPECT_NE(run.out.find("\nCOMMAND "), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("\nRULE "), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("\nREFUSED PEER "), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("\n10.0.0.66 "), std::string::npos) << run.out;
  run = trex_audit("stats --format json", dir_);
  ASSERT_EQ(run.code, 0) << run.out;
  const Json j = Json::parse(run.out);
  EXPECT_EQ(j["commands"]["uptime"]["runs"], 1);
  EXPECT_EQ(j["commands"]["sh -c"]["failures"], 1);
  EXPECT_EQ(j["commands"]["rm"]["denials"], 1);
  EXPECT_EQ(j["rules"]["build"]["run_ms"], 4000);
  EXPECT_EQ(j["refused_peers"][0]["peer"], "10.0.0.66");
  EXPECT_EQ(j["clients"]["alice"]["commands"], 2);
  run = trex_audit("stats --format csv --rule ops", dir_);
  EXPECT_NE(run.out.find("\ncommand,uptime,,1,0,0,,12,,\r\n"), std::string::npos) << run.out;
  EXPECT_EQ(run.out.find("make"), std::string::npos) << run.out;
}

// Two hosts' trails, one rotated, verified in one call: a line per host.
TEST_F(ReviewCli, VerifyManyHosts) {
  for (const char* host : {"lab1", "lab2"}) {
    fs::create_directories(dir_ + "/" + host);
    Writer::Options options;
    options.path = dir_ + "/" + host + "/audit.jsonl";
    options.max_bytes = std::string(host) == "lab1" ? 300 : 1 << 20;
    auto w = std::move(*Writer::open(options));
    for (int i = 0; i < 6; ++i) ASSERT_TRUE(w->write("reload", {{"what", "policy"}}).ok());
  }
  ASSERT_TRUE(fs::exists(dir_ + "/lab1/audit.jsonl.2"));
  // The shell lists lab1's files in name order (audit.jsonl before .1): the
  // grouping puts each trail's files oldest first.
  CliRun run = trex_audit("verify lab1/audit.jsonl* lab2/audit.jsonl* log/audit.jsonl", dir_);
  EXPECT_EQ(run.code, 0) << run.out;
  auto lines = lines_of(run.out);
  ASSERT_EQ(lines.size(), 4u) << run.out;
  EXPECT_EQ(lines[0].rfind("HOST ", 0), 0u) << run.out;
  EXPECT_EQ(lines[1].rfind("lab1 ", 0), 0u) << run.out;
  EXPECT_NE(lines[1].find(" 6  "), std::string::npos) << run.out;
  EXPECT_NE(lines[1].find("ok, chain intact"), std::string::npos) << run.out;
  EXPECT_NE(lines[2].find("ok, chain intact"), std::string::npos) << run.out;
  EXPECT_EQ(lines[3].rfind(fs::path(dir_).filename().string() + "/log ", 0), 0u) << run.out;
  fs::remove(dir_ + "/lab1/audit.jsonl.1");  // a host whose oldest file went missing
  run = trex_audit("verify lab1/audit.jsonl* lab2/audit.jsonl*", dir_);
  EXPECT_EQ(run.code, 1) << run.out;
  lines = lines_of(run.out);
  ASSERT_EQ(lines.size(), 3u) << run.out;
  EXPECT_NE(lines[1].find("BROKEN: lab1/audit.jsonl.2:1: seq is"), std::string::npos) << run.out;
  EXPECT_NE(lines[2].find("ok, chain intact"), std::string::npos) << run.out;
}

}  // namespace
}  // namespace trex::audit
