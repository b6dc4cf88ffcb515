#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "trex/audit.hpp"
#include "trex/audit_review.hpp"
#include "trex/recording.hpp"
#include "unit/audit_cli_run.hpp"

namespace trex::audit {
namespace {

namespace fs = std::filesystem;
using std::chrono::system_clock;

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "trex-audit-cli-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() { fs::remove_all(path_); }
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return (fs::path(path_) / name).string(); }

 private:
  std::string path_;
};

// A small day at the lab: alice runs two commands (one fails) and is denied
// one; bob's command times out; two handshakes are refused.
void write_trail(const std::string& path, std::uint64_t max_bytes = 1 << 20) {
  Writer::Options options;
  options.path = path;
  options.max_bytes = max_bytes;
  auto w = std::move(*Writer::open(options));
  const auto put = [&](const char* event, const Json& fields) {
    ASSERT_TRUE(w->write(event, fields).ok());
  };
  put("server_start", {{"version", "0.1.0"}, {"listen", "127.0.0.1:7443"}, {"pid", 42}});
  put("session_open", {{"conn", 1}, {"peer", "127.0.0.1:5000"}, {"cn", "alice"}, {"ou", "ops"}});
  put("exec_start", {{"conn", 1}, {"id", 1}, {"cn", "alice"}, {"argv", {"ls", "-l", "my file"}}});
  put("exec_end", {{"conn", 1},
                   {"id", 1},
                   {"cn", "alice"},
                   {"exit_code", 0},
                   {"signal", nullptr},
                   {"timed_out", false},
                   {"duration_ms", 1500}});
  put("exec_start", {{"conn", 1}, {"id", 2}, {"cn", "alice"}, {"argv", {"false"}}});
  put("exec_end", {{"conn", 1},
                   {"id", 2},
                   {"cn", "alice"},
                   {"exit_code", 1},
                   {"signal", nullptr},
                   {"timed_out", false},
                   {"duration_ms", 20}});
  put("exec_denied", {{"conn", 1},
                      {"cn", "alice"},
                      {"argv", {"rm", "-rf", "/"}},
                      {"rule", "default"},
                      {"reason", "not allowed"}});
  put("session_close",
      {{"conn", 1}, {"cn", "alice"}, {"reason", "client closed"}, {"commands", 2}});
  put("auth_fail", {{"conn", 2}, {"peer", "10.0.0.9:4000"}, {"reason", "no certificate"}});
  put("auth_fail",
      {{"conn", 3}, {"peer", "10.0.0.9:4001"}, {"reason", "revoked"}, {"cn", "mallory"}});
  put("session_open", {{"conn", 4}, {"peer", "127.0.0.1:5001"}, {"cn", "bob"}});
  put("exec_start", {{"conn", 4}, {"id", 1}, {"cn", "bob"}, {"shell", "sleep 100"}});
  put("exec_end", {{"conn", 4},
                   {"id", 1},
                   {"cn", "bob"},
                   {"exit_code", nullptr},
                   {"signal", 9},
                   {"timed_out", true},
                   {"duration_ms", 5000}});
  put("future_event", {{"cn", "bob"}, {"whatever", {1, 2}}});
}

class AuditCli : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::string(TREX_AUDIT_BIN).empty()) GTEST_SKIP() << "trex-audit not built";
    fs::create_directory(dir_ / "log");
    write_trail(trail_);
  }
  TempDir dir_;
  std::string trail_ = dir_ / "log/audit.jsonl";
};

TEST_F(AuditCli, VerifyDefaultTrail) {
  const CliRun run = trex_audit("verify", dir_.path());
  EXPECT_EQ(run.code, 0) << run.out;
  EXPECT_EQ(run.out.substr(0, run.out.find('\n') + 1), "ok: 14 records in 1 file, chain intact\n");
  EXPECT_NE(run.out.find("\nhead: 14:"), std::string::npos) << run.out;
}

TEST_F(AuditCli, VerifyRotatedTrail) {
  fs::remove(trail_);
  write_trail(trail_, 600);
  ASSERT_GT(trail_files(trail_).size(), 2u);
  const CliRun run = trex_audit("verify", dir_.path());
  EXPECT_EQ(run.code, 0) << run.out;
  EXPECT_NE(run.out.find("ok: 14 records in "), std::string::npos) << run.out;
  fs::remove(trail_ + ".2");
  const CliRun broken = trex_audit("verify", dir_.path());
  EXPECT_EQ(broken.code, 1);
  EXPECT_NE(broken.out.find("log/audit.jsonl.2: missing file"), std::string::npos) << broken.out;
}

TEST_F(AuditCli, VerifyNamesTheTamperedLine) {
  std::ifstream in(trail_);
  std::stringstream text;
  text << in.rdbuf();
  in.close();
  std::string s = text.str();
  s.replace(s.find("\"false\""), 7, "\"true\"");  // line 5
  std::ofstream(trail_, std::ios::trunc) << s;
  const CliRun run = trex_audit("verify '" + trail_ + "'");
  EXPECT_EQ(run.code, 1);
  EXPECT_NE(run.out.find(trail_ + ":6: prev does not match the previous line (expected "),
            std::string::npos)
      << run.out;
  const CliRun missing = trex_audit("verify '" + (dir_ / "nope.jsonl") + "'");
  EXPECT_EQ(missing.code, 2);  // no trail at all is not a broken chain
  EXPECT_EQ(missing.out, "trex-audit: no trail at " + (dir_ / "nope.jsonl") + "\n");
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Two terminal sessions' exec_end records (lines 2 and 4) and their
// recordings in the trail's folder.
void write_recorded_trail(const std::string& dir) {
  Writer::Options options;
  options.path = dir + "/audit.jsonl";
  auto w = std::move(*Writer::open(options));
  for (int id = 1; id <= 2; ++id) {
    auto rec = Recording::create(dir, "tty-" + std::to_string(id) + ".cast", {80, 24, 1, ""});
    ASSERT_TRUE(rec.ok()) << rec.message();
    ASSERT_TRUE(rec->output("screen " + std::to_string(id) + "\r\n").ok());
    const auto info = rec->finish();
    ASSERT_TRUE(info.ok()) << info.message();
    const std::string cmd = "1." + std::to_string(id);  // trexd's CONN.N
    ASSERT_TRUE(w->write("exec_start", {{"id", cmd}, {"cn", "alice"}, {"tty", true}}).ok());
    ASSERT_TRUE(w->write("exec_end", {{"id", cmd},
                                      {"cn", "alice"},
                                      {"exit_code", 0},
                                      {"recording", info->file},
                                      {"recording_sha256", info->sha256},
                                      {"recording_bytes", info->bytes}})
                    .ok());
  }
}

TEST_F(AuditCli, VerifyChecksEveryRecordingAlsoPastABrokenChain) {
  const std::string log = dir_ / "rec";
  fs::create_directory(log);
  write_recorded_trail(log);
  const CliRun ok = trex_audit("verify --log-dir '" + log + "'");
  EXPECT_EQ(ok.code, 0) << ok.out;
  EXPECT_NE(ok.out.find("ok: 2 recordings match their digests"), std::string::npos) << ok.out;

  // Both recordings changed, and line 3 (between their records) too: the
  // first is checked in the chain's pass, the second after the break.
  for (const char* name : {"/tty-1.cast", "/tty-2.cast"}) {
    std::ofstream(log + name, std::ios::app) << "[9.0, \"o\", \"forged\"]\n";
  }
  auto lines = lines_of(read_text(log + "/audit.jsonl"));
  ASSERT_EQ(lines.size(), 4U);
  lines[2].replace(lines[2].find("\"id\":\"1.2\""), 10, "\"id\":\"1.7\"");
  std::ofstream(log + "/audit.jsonl", std::ios::trunc) << lines[0] << '\n'
                                                       << lines[1] << '\n'
                                                       << lines[2] << '\n'
                                                       << lines[3] << '\n';
  const CliRun bad = trex_audit("verify --log-dir '" + log + "'");
  EXPECT_EQ(bad.code, 1);
  EXPECT_NE(bad.out.find("audit.jsonl:4: prev does not match"), std::string::npos) << bad.out;
  for (const char* name : {"/tty-1.cast", "/tty-2.cast"}) {
    EXPECT_NE(bad.out.find(log + name + ": recording of command"), std::string::npos) << bad.out;
  }
  EXPECT_EQ(bad.out.find("recordings match"), std::string::npos) << bad.out;
}

// A trail whose exec_end names a file trexd would not (a corrupted or forged
// line): play must not read a file outside the trail's folder, nor throw.
TEST_F(AuditCli, PlayRefusesARecordingNameTrexdNeverGives) {
  const std::string log = dir_ / "named";
  fs::create_directory(log);
  {
    auto rec = Recording::create(dir_.path(), "tty-9.cast", {80, 24, 1, ""});
    ASSERT_TRUE(rec.ok()) << rec.message();
    ASSERT_TRUE(rec->output("LEAKED\r\n").ok());
    ASSERT_TRUE(rec->finish().ok());
  }
  Writer::Options options;
  options.path = log + "/audit.jsonl";
  auto w = std::move(*Writer::open(options));
  ASSERT_TRUE(w->write("exec_end", {{"id", "1.1"}, {"recording", "../tty-9.cast"}}).ok());
  ASSERT_TRUE(w->write("exec_end", {{"id", "1.2"}, {"recording", 7}}).ok());
  for (const char* id : {"1.1", "1.2"}) {
    const CliRun run =
        trex_audit(std::string("play ") + id + " --speed 10000 --log-dir '" + log + "'");
    EXPECT_EQ(run.code, 1) << run.out;
    EXPECT_NE(run.out.find(std::string("trex-audit: command ") + id +
                           ": the recording's name is not one trexd gives"),
              std::string::npos)
        << run.out;
    EXPECT_EQ(run.out.find("LEAKED"), std::string::npos) << run.out;
  }
  // A FIFO under a valid name: refused, not a replay that waits forever.
  ASSERT_EQ(::mkfifo((log + "/tty-1.3.cast").c_str(), 0600), 0);
  ASSERT_TRUE(w->write("exec_end", {{"id", "1.3"}, {"recording", "tty-1.3.cast"}}).ok());
  const CliRun fifo = trex_audit("play 1.3 --speed 10000 --log-dir '" + log + "'");
  EXPECT_EQ(fifo.code, 1) << fifo.out;
  EXPECT_NE(fifo.out.find(log + "/tty-1.3.cast is not a regular file"), std::string::npos)
      << fifo.out;
}

TEST_F(AuditCli, ShowEventsTable) {
  const CliRun run = trex_audit("show --events", dir_.path());
  ASSERT_EQ(run.code, 0) << run.out;
  const auto lines = lines_of(run.out);
  ASSERT_EQ(lines.size(), 15u) << run.out;
  EXPECT_EQ(lines[0].rfind("TIME", 0), 0u);
  EXPECT_NE(lines[4].find("ls -l 'my file'"), std::string::npos) << lines[4];  // exec_end joined
  EXPECT_NE(lines[4].find("exit 0"), std::string::npos);
  EXPECT_NE(lines[4].find("1.5s"), std::string::npos);
  EXPECT_NE(lines[7].find("denied: not allowed"), std::string::npos);
  EXPECT_NE(lines[13].find("timeout"), std::string::npos);
  EXPECT_NE(lines[13].find("sleep 100"), std::string::npos);
  EXPECT_NE(lines[14].find("future_event"), std::string::npos);
  // Aligned: the EVENT column starts at the same offset on every line.
  for (const auto& l : lines) EXPECT_EQ(l.find_first_not_of(' ', 21), lines[0].find("EVENT")) << l;
}

TEST_F(AuditCli, ShowFilters) {
  auto rows = [&](const std::string& args) {
    const CliRun run = trex_audit("show --events " + args, dir_.path());
    EXPECT_EQ(run.code, 0) << run.out;
    return lines_of(run.out).size() - 1;  // minus the header
  };
  EXPECT_EQ(rows("--client alice"), 7u);
  EXPECT_EQ(rows("--client alice --client mallory"), 8u);
  EXPECT_EQ(rows("--event exec_end"), 3u);
  EXPECT_EQ(rows("--event exec_end,exec_denied --event auth_fail"), 6u);
  EXPECT_EQ(rows("--failed"), 5u);
  EXPECT_EQ(rows("--failed --client alice"), 2u);
  EXPECT_EQ(rows("--since 1h"), 14u);
  EXPECT_EQ(rows("--until 1h"), 0u);
  EXPECT_EQ(rows("--since 2000-01-01 --until 2999-01-01T00:00:00Z"), 14u);
}

TEST_F(AuditCli, ShowJson) {
  const CliRun run = trex_audit("show --json --event exec_end", dir_.path());
  ASSERT_EQ(run.code, 0) << run.out;
  const auto lines = lines_of(run.out);
  ASSERT_EQ(lines.size(), 3u);
  for (const auto& l : lines) EXPECT_EQ(Json::parse(l)["event"], "exec_end");
}

TEST_F(AuditCli, ShowReportsMalformedLinesAndGoesOn) {
  std::ofstream(trail_, std::ios::app) << "not json\n";
  const CliRun run = trex_audit("show --events --event exec_denied", dir_.path());
  EXPECT_EQ(run.code, 1);
  EXPECT_NE(run.out.find("log/audit.jsonl:15: skipped: not valid JSON"), std::string::npos)
      << run.out;
  EXPECT_NE(run.out.find("denied: not allowed"), std::string::npos);
}

TEST_F(AuditCli, Stats) {
  const CliRun run = trex_audit("stats", dir_.path());
  ASSERT_EQ(run.code, 0) << run.out;
  const auto lines = lines_of(run.out);
  const auto row = [&](const std::string& cn) {
    for (const auto& l : lines) {
      if (l.rfind(cn + " ", 0) == 0) {
        std::istringstream in(l.substr(cn.size()));
        std::vector<std::string> cells;
        for (std::string c; in >> c;) cells.push_back(c);
        return cells;
      }
    }
    return std::vector<std::string>{};
  };
  EXPECT_EQ(row("alice"), (std::vector<std::string>{"1", "2", "1", "1", "0", "1.5s", "0"}))
      << run.out;
  EXPECT_EQ(row("bob"), (std::vector<std::string>{"1", "1", "1", "0", "0", "5.0s", "0"}))
      << run.out;
  EXPECT_EQ(row("mallory"), (std::vector<std::string>{"0", "0", "0", "0", "1", "0ms", "0"}))
      << run.out;
  EXPECT_EQ(row("(no certificate)"),
            (std::vector<std::string>{"0", "0", "0", "0", "1", "0ms", "0"}));
  EXPECT_EQ(row("total"), (std::vector<std::string>{"2", "3", "2", "1", "2", "6.5s", "0"}));
}

TEST_F(AuditCli, BadTimeExits2) {
  const CliRun run = trex_audit("show --since yesterday", dir_.path());
  EXPECT_EQ(run.code, 2);
  EXPECT_EQ(lines_of(run.out).size(), 1u) << run.out;
  EXPECT_NE(run.out.find("bad time 'yesterday'"), std::string::npos) << run.out;
  EXPECT_EQ(trex_audit("frobnicate").code, 2);
}

TEST_F(AuditCli, HelpAndVersion) {
  EXPECT_EQ(trex_audit("--version").out, std::string("trex-audit ") + TREX_VERSION + "\n");
  const CliRun help = trex_audit("show --help");
  EXPECT_EQ(help.code, 0);
  for (const char* opt : {"--client", "--event", "--since", "--until", "--failed", "--json"}) {
    EXPECT_NE(help.out.find(opt), std::string::npos) << opt;
  }
}

TEST(Review, ParseTime) {
  const auto now = system_clock::time_point(std::chrono::seconds(1795456147));
  const auto at = [&](const char* s) { return rfc3339_utc(*parse_time(s, now)); };
  EXPECT_EQ(at("2026-11-23T17:00:00Z"), "2026-11-23T17:00:00.000000Z");
  EXPECT_EQ(at("2026-11-23T19:00:00.5+02:00"), "2026-11-23T17:00:00.500000Z");
  EXPECT_EQ(at("2026-11-23 17:00"), "2026-11-23T17:00:00.000000Z");
  EXPECT_EQ(at("2026-11-23"), "2026-11-23T00:00:00.000000Z");
  EXPECT_EQ(at("30m"), "2026-11-23T17:19:07.000000Z");
  EXPECT_EQ(at("1h"), "2026-11-23T16:49:07.000000Z");
  EXPECT_EQ(at("7d"), "2026-11-16T17:49:07.000000Z");
  EXPECT_EQ(at("2w"), "2026-11-09T17:49:07.000000Z");
  for (const char* bad :
       {"", "yesterday", "2026-02-30", "2026-11-23T25:00Z", "5y", "-1h", "2026-11-23T17:00:00+2"}) {
    EXPECT_FALSE(parse_time(bad, now).ok()) << bad;
  }
}

TEST(Review, ShellJoinAndDurations) {
  EXPECT_EQ(shell_join(Json{"ls", "-l", "my file", "it's", "", "a\nb"}),
            R"(ls -l 'my file' 'it'\''s' '' $'a\nb')");
  EXPECT_EQ(human_duration(850), "850ms");
  EXPECT_EQ(human_duration(4250), "4.2s");
  EXPECT_EQ(human_duration(187000), "3m07s");
  EXPECT_EQ(human_duration(7500000), "2h05m");
  EXPECT_EQ(human_duration(3ULL * 86400000 + 4ULL * 3600000), "3d04h");
}

// --host-local: a time without a zone is this host's wall clock (TZ), one
// with a zone is what it says; the offset is the one in force on that day.
TEST(Review, ParseTimeInTheHostZone) {
  const char* old = std::getenv("TZ");
  const std::string saved = old ? old : "";
  ::setenv("TZ", "CET-1CEST,M3.5.0,M10.5.0/3", 1);  // POSIX rule: no tzdata needed
  ::tzset();
  const auto now = system_clock::now();
  const auto local = [&](const char* s) { return rfc3339_utc(*parse_time(s, now, Zone::kLocal)); };
  EXPECT_EQ(local("2026-11-23T17:00:00"), "2026-11-23T16:00:00.000000Z");  // CET, +01:00
  EXPECT_EQ(local("2026-07-01 17:00"), "2026-07-01T15:00:00.000000Z");     // CEST, +02:00
  EXPECT_EQ(local("2026-11-23"), "2026-11-22T23:00:00.000000Z");
  EXPECT_EQ(local("2026-11-23T17:00:00Z"), "2026-11-23T17:00:00.000000Z");
  EXPECT_EQ(local("2026-11-23T17:00:00-05:00"), "2026-11-23T22:00:00.000000Z");
  EXPECT_EQ(rfc3339_utc(*parse_time("2026-11-23T17:00:00", now)), "2026-11-23T17:00:00.000000Z");
  if (old) {
    ::setenv("TZ", saved.c_str(), 1);
  } else {
    ::unsetenv("TZ");
  }
  ::tzset();
}

TEST(Review, ParseRecordRefusesWhatIsNoRecord) {
  EXPECT_EQ(parse_record(" []").message(), "not a JSON object");
  EXPECT_EQ(parse_record("[").message(), "not valid JSON");
  EXPECT_EQ(parse_record("not json").message(), "not valid JSON");
  EXPECT_FALSE(parse_record(R"({"event":1})").ok());
}

// parse_record skips the fields no view reads; what it keeps must be what
// nlohmann makes of the line, and it must refuse what nlohmann refuses.
TEST(Review, ParseRecordKeepsWhatNlohmannReads) {
  Chain chain;
  Json fields{
      {"conn", 7}, {"id", "7.1"}, {"exit_code", -1}, {"stdout_sha256", std::string(64, 'a')}};
  const std::string sealed = chain.seal("exec_end", fields, system_clock::now());
  const std::string odd =
      R"({"event":"x","u":18446744073709551615,"i":-9223372036854775808,"big":18446744073709551616,)"
      R"("f":1.5e3,"z":-0,"t":true,"n":null,"a":[1,{"x":"y"}],"o":{},"e":[],)"
      R"("s":"\u00e9\ud83d\ude00\n","prev":"p","cwd":{"deep":[[]]}})";
  for (const std::string& line : {sealed, odd}) {
    auto record = parse_record(line);
    ASSERT_TRUE(record.ok()) << record.message();
    Json expected = Json::parse(line);
    for (const char* unread : {"seq", "prev", "stdout_sha256", "cwd"}) {
      EXPECT_FALSE(record->contains(unread)) << unread;
      expected.erase(unread);
    }
    EXPECT_EQ(*record, expected) << line;
  }
  auto twice = parse_record(R"({"event":"a","cn":"x","event":"b"})");
  ASSERT_TRUE(twice.ok());
  EXPECT_EQ((*twice)["event"], "b");  // as nlohmann: the last wins
  for (const std::string& bad : std::vector<std::string>{
           R"({"event":"x"} x)", R"({"event":"x","a":[1,]})", "{\"event\":\"\xff\"}",
           R"({"event":"\udc00"})", std::string("{\"event\":\"x\"}\0", 14),
           R"({"event":"x","cwd":[})"}) {
    EXPECT_FALSE(parse_record(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace trex::audit
