// Audit trail end to end (issue 3): every event with the spec's fields, seq
// and the hash chain (checked by trex-audit), fail-closed writing (at
// start-up, on a full file system, after the file is removed), kill -9 of
// the server mid-command, rotation under concurrent clients, and
// trex-audit show/stats on a real trail.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/hash.h>
#include <wolfssl/wolfcrypt/sha256.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/harness.hpp"

namespace trex::testing {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using nlohmann::json;

std::string sha256_hex(const std::string& data) {
  unsigned char digest[WC_SHA256_DIGEST_SIZE];
  EXPECT_EQ(wc_Sha256Hash(reinterpret_cast<const unsigned char*>(data.data()),
                          static_cast<word32>(data.size()), digest),
            0);
  std::string hex;
  char buf[3];
  for (unsigned char b : digest) {
    std::snprintf(buf, sizeof(buf), "%02x", b);
    hex += buf;
  }
  return hex;
}

bool contains(const std::string& hay, const std::string& needle) {
  return hay.find(needle) != std::string::npos;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

bool is_hex64(const json& j) {
  static const std::regex hex("^[0-9a-f]{64}$");
  return j.is_string() && std::regex_match(j.get<std::string>(), hex);
}

// Checks the fields every record has plus `fields`, and no unknown absence.
void expect_fields(const json& rec, const std::vector<std::string>& fields) {
  static const std::regex ts("^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{6}Z$");
  SCOPED_TRACE(rec.dump());
  ASSERT_TRUE(rec.is_object());
  ASSERT_TRUE(rec.contains("ts") && rec["ts"].is_string());
  EXPECT_TRUE(std::regex_match(rec["ts"].get<std::string>(), ts));
  EXPECT_TRUE(rec.contains("seq") && rec["seq"].is_number_unsigned());
  EXPECT_TRUE(rec.contains("event") && rec["event"].is_string());
  EXPECT_TRUE(rec.contains("prev") && is_hex64(rec["prev"]));
  for (const auto& f : fields) EXPECT_TRUE(rec.contains(f)) << "missing " << f;
}

// seq is 1..N in file order and each prev is the hash of the line before.
void expect_chain(const std::vector<std::string>& lines) {
  std::string prev(64, '0');
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const auto j = json::parse(lines[i], nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << lines[i];
    EXPECT_EQ(j["seq"], i + 1) << lines[i];
    EXPECT_EQ(j["prev"], prev) << "line " << i + 1;
    prev = sha256_hex(lines[i]);
  }
}

// One PKI for the file: "client" (OU ops), alice, and mallory (revoked).
struct SharedPki {
  TempDir tmp;
  Pki pki{tmp.path()};
  SharedPki() {
    pki.client("alice");
    pki.client("mallory");
    pki.pki({"revoke", "mallory"});
    pki.pki({"crl"});
    // revoke moves the files to revoked/NAME-SERIAL.*: put copies back so
    // mallory can still present the revoked certificate.
    for (const auto& e : fs::directory_iterator(pki.dir() + "/revoked")) {
      const std::string name = e.path().filename();
      if (name.rfind("mallory-", 0) != 0) continue;
      if (e.path().extension() == ".crt") fs::copy_file(e.path(), pki.cert("mallory"));
      if (e.path().extension() == ".key") fs::copy_file(e.path(), pki.key("mallory"));
    }
    EXPECT_TRUE(fs::exists(pki.cert("mallory")) && fs::exists(pki.key("mallory")));
  }
};

const Pki& shared_pki() {
  static SharedPki s;
  return s.pki;
}

const char* kPolicy = R"toml(
[[rule]]
name = "ops"
ou = ["ops"]
allow = ["*"]
shell = true

[[rule]]
name = "alice"
cn = ["alice"]
allow = ["echo"]
)toml";

class Audit : public ::testing::Test {
 protected:
  const Pki& pki() const { return shared_pki(); }

  void start(std::vector<std::string> extra = {}) {
    write_file(tmp_.file("policy.toml"), kPolicy);
    std::vector<std::string> flags{"--policy", tmp_.file("policy.toml"), "--kill-grace", "1"};
    flags.insert(flags.end(), extra.begin(), extra.end());
    server_ = std::make_unique<Trexd>(pki(), tmp_.path(), flags);
    ASSERT_FALSE(server_->address().empty());
  }

  static RunOptions opts(std::chrono::milliseconds timeout = 20s) {
    RunOptions o;
    o.timeout = timeout;
    return o;
  }

  RunResult as(const std::string& who, const std::vector<std::string>& args,
               RunOptions o = opts()) const {
    return server_->trex(who, args, o);
  }

  std::vector<json> records(const std::string& event) const {
    return audit_records(trail_.empty() ? server_->audit_path() : trail_, event);
  }

  // Waits for session_close number n (sessions end after trex exits).
  bool closes(std::size_t n) const {
    return eventually([&] { return records("session_close").size() >= n; }, 10s);
  }

  std::vector<std::string> trexd_argv(std::vector<std::string> extra) const {
    std::vector<std::string> argv{
        TREXD_BIN,           "--listen", "127.0.0.1:0",        "--ca",
        pki().ca(),          "--cert",   pki().cert("server"), "--key",
        pki().key("server"), "--crl",    pki().crl(),          "--allow-all"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return argv;
  }

  TempDir tmp_;
  std::unique_ptr<Trexd> server_;
  std::string trail_;  // when not the default LOG_DIR/audit.jsonl
};

// --- every event, its fields, seq and the chain ------------------------------

TEST_F(Audit, EveryEventHasTheSpecFields) {
  start();
  const std::string address = server_->address();
  const pid_t pid = server_->pid();

  auto r = as("client", {"echo", "hello"});
  ASSERT_EQ(r.status, 0) << r.err;
  RunOptions in = opts();
  in.stdin_data = "abcde";
  const std::string shell = "cat >/dev/null; printf 'out put'; printf err >&2; exit 3";
  r = as("client", {"-c", shell}, in);
  ASSERT_EQ(r.status, 3) << r.err;
  ASSERT_EQ(r.out, "out put");
  ASSERT_EQ(r.err, "err");
  const std::string out3 = r.out, err3 = r.err;
  r = as("alice", {"uptime"});
  ASSERT_EQ(r.status, 126) << r.err;
  r = as("mallory", {"echo", "revoked"});
  ASSERT_EQ(r.status, 255) << r.err;
  // A connection that never sends a certificate: auth_fail without cn.
  {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(std::stoi(server_->port())));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
    ::close(fd);
  }
  ASSERT_TRUE(eventually([&] { return records("auth_fail").size() == 2; }));
  ASSERT_TRUE(closes(3));
  server_->signal(SIGHUP);
  ASSERT_TRUE(eventually([&] { return records("reload").size() == 2; }));
  server_->signal(SIGTERM);
  ASSERT_EQ(server_->wait(20s), 0);

  const std::string text = read_file(server_->audit_path());
  const auto lines = lines_of(text);
  expect_chain(lines);
  EXPECT_EQ(verify_trail(server_->audit_path()), 0);
  const auto all = audit_records(server_->audit_path());
  for (const auto& rec : all) expect_fields(rec, {});

  // server_start first, server_stop last.
  ASSERT_GE(all.size(), 2u);
  for (const auto* rec : {&all.front(), &all.back()}) {
    expect_fields(*rec, {"version", "listen", "pid"});
    EXPECT_EQ((*rec)["version"], TREX_VERSION);
    EXPECT_EQ((*rec)["listen"], address);
    EXPECT_EQ((*rec)["pid"], pid);
  }
  EXPECT_EQ(all.front()["event"], "server_start");
  EXPECT_EQ(all.back()["event"], "server_stop");
  EXPECT_EQ(all.front()["prev"], std::string(64, '0'));

  const auto opens = audit_records(server_->audit_path(), "session_open");
  ASSERT_EQ(opens.size(), 3u);
  std::map<std::string, json> open_by_cn;
  for (const auto& o : opens) {
    expect_fields(o, {"conn", "peer", "cn", "ou", "serial", "fingerprint", "not_after"});
    EXPECT_TRUE(is_hex64(o["fingerprint"])) << o.dump();
    EXPECT_TRUE(contains(o["peer"].get<std::string>(), "127.0.0.1:")) << o.dump();
    EXPECT_FALSE(o["serial"].get<std::string>().empty());
    EXPECT_FALSE(o["not_after"].get<std::string>().empty());
    open_by_cn[o["cn"]] = o;
  }
  EXPECT_EQ(open_by_cn["client"]["ou"], json::array({"ops"}));
  EXPECT_EQ(open_by_cn["alice"]["ou"], json::array());
  EXPECT_NE(opens[0]["conn"], opens[1]["conn"]);
  EXPECT_EQ(opens[0]["fingerprint"], opens[1]["fingerprint"]);  // same certificate
  EXPECT_NE(opens[0]["fingerprint"], open_by_cn["alice"]["fingerprint"]);

  const auto starts = audit_records(server_->audit_path(), "exec_start");
  ASSERT_EQ(starts.size(), 2u);
  for (const auto& s : starts) expect_fields(s, {"conn", "id", "cn", "cwd", "run_as"});
  EXPECT_EQ(starts[0]["argv"], json::array({"echo", "hello"}));
  EXPECT_FALSE(starts[0].contains("shell"));
  EXPECT_EQ(starts[1]["shell"], shell);
  EXPECT_FALSE(starts[1].contains("argv"));
  EXPECT_EQ(starts[0]["cn"], "client");
  EXPECT_EQ(starts[0]["cwd"], "/");
  EXPECT_EQ(starts[0]["conn"], opens[0]["conn"]);

  const auto ends = audit_records(server_->audit_path(), "exec_end");
  ASSERT_EQ(ends.size(), 2u);
  for (const auto& e : ends) {
    expect_fields(
        e, {"conn", "id", "cn", "exit_code", "signal", "timed_out", "duration_ms", "stdout_bytes",
            "stderr_bytes", "stdin_bytes", "stdout_sha256", "stderr_sha256", "truncated"});
  }
  EXPECT_EQ(ends[0]["id"], starts[0]["id"]);
  EXPECT_EQ(ends[0]["exit_code"], 0);
  EXPECT_EQ(ends[0]["stdout_bytes"], 6);
  EXPECT_EQ(ends[0]["stdout_sha256"], sha256_hex("hello\n"));
  EXPECT_EQ(ends[0]["stderr_sha256"], sha256_hex(""));
  const auto& e = ends[1];
  EXPECT_EQ(e["id"], starts[1]["id"]);
  EXPECT_EQ(e["conn"], starts[1]["conn"]);
  EXPECT_EQ(e["cn"], "client");
  EXPECT_EQ(e["exit_code"], 3);
  EXPECT_TRUE(e["signal"].is_null());
  EXPECT_EQ(e["timed_out"], false);
  EXPECT_TRUE(e["duration_ms"].is_number_unsigned());
  EXPECT_EQ(e["stdout_bytes"], out3.size());
  EXPECT_EQ(e["stderr_bytes"], err3.size());
  EXPECT_EQ(e["stdin_bytes"], 5);
  EXPECT_EQ(e["stdout_sha256"], sha256_hex(out3));
  EXPECT_EQ(e["stderr_sha256"], sha256_hex(err3));
  EXPECT_EQ(e["truncated"], false);

  const auto denied = audit_records(server_->audit_path(), "exec_denied");
  ASSERT_EQ(denied.size(), 1u);
  expect_fields(denied[0], {"conn", "cn", "argv", "rule", "reason"});
  EXPECT_EQ(denied[0]["cn"], "alice");
  EXPECT_EQ(denied[0]["argv"], json::array({"uptime"}));
  EXPECT_EQ(denied[0]["rule"], "alice");
  EXPECT_EQ(denied[0]["conn"], open_by_cn["alice"]["conn"]);

  const auto closes_ = audit_records(server_->audit_path(), "session_close");
  ASSERT_EQ(closes_.size(), 3u);
  for (const auto& c : closes_) {
    expect_fields(c, {"conn", "cn", "reason", "commands"});
    EXPECT_FALSE(c["reason"].get<std::string>().empty()) << c.dump();
  }
  std::map<std::string, int> commands;
  for (const auto& c : closes_) commands[c["cn"]] += c["commands"].get<int>();
  EXPECT_EQ(commands["client"], 2);
  EXPECT_EQ(commands["alice"], 0);  // a denied command is not a command run

  const auto fails = audit_records(server_->audit_path(), "auth_fail");
  ASSERT_EQ(fails.size(), 2u);
  int with_cert = 0;
  for (const auto& f : fails) {
    expect_fields(f, {"conn", "peer", "reason"});
    EXPECT_FALSE(f["reason"].get<std::string>().empty());
    EXPECT_FALSE(f.contains("cn")) << "a refused certificate proves nobody: " << f.dump();
    if (f.contains("claimed_cn")) {
      ++with_cert;
      EXPECT_EQ(f["claimed_cn"], "mallory");
      EXPECT_EQ(f.value("fingerprint", "").size(), 64u) << f.dump();
      EXPECT_TRUE(contains(f["reason"].get<std::string>(), "revoked")) << f.dump();
    }
  }
  EXPECT_EQ(with_cert, 1);

  const auto reloads = audit_records(server_->audit_path(), "reload");
  ASSERT_EQ(reloads.size(), 2u);
  std::set<std::string> what;
  for (const auto& rl : reloads) {
    expect_fields(rl, {"what", "ok", "reason"});
    EXPECT_EQ(rl["ok"], true);
    what.insert(rl["what"]);
  }
  EXPECT_EQ(what, (std::set<std::string>{"tls", "policy"}));
}

// --- fail-closed writing ----------------------------------------------------

TEST_F(Audit, UnwritableTrailAtStartRefusesToStart) {
  const auto r =
      run(trexd_argv({"--log-dir", tmp_.file("log"), "--audit-log", "/dev/full"}), opts(20s));
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_TRUE(contains(r.err, "audit")) << r.err;
  EXPECT_FALSE(contains(read_file(tmp_.file("log/server.log")), "listening on"));
}

class AuditFull : public Audit {
 protected:
  void TearDown() override {
    server_.reset();
    if (mounted_) ::umount2(mnt_.c_str(), MNT_DETACH);
  }
  std::string mnt_;
  bool mounted_ = false;
};

TEST_F(AuditFull, FullFileSystemRefusesCommandsUntilThereIsSpace) {
  mnt_ = tmp_.file("mnt");
  fs::create_directories(mnt_);
  // Room for the filler below after trexd reserved blocks for its records.
  if (::mount("tmpfs", mnt_.c_str(), "tmpfs", 0, "size=256k") != 0) {
    GTEST_SKIP() << "cannot mount a small tmpfs here: " << std::strerror(errno);
  }
  mounted_ = true;
  const std::string trail = mnt_ + "/audit.jsonl";
  start({"--audit-log", trail});
  trail_ = trail;
  ASSERT_EQ(as("client", {"true"}).status, 0);
  ASSERT_TRUE(closes(1));

  // Fill the file system.
  const std::string filler = mnt_ + "/filler";
  {
    const int fd = ::open(filler.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    ASSERT_GE(fd, 0);
    const std::string block(4096, 'x');
    for (int i = 0; i < 1000 && ::write(fd, block.data(), block.size()) > 0; ++i) {
    }
    while (::write(fd, "x", 1) == 1) {
    }
    ::close(fd);
  }
  // The trail may still have room: its last page, and the blocks trexd
  // reserves ahead of its records (up to 16 KiB). Use it up with reload
  // records (smaller than any session record) until one cannot be written.
  const auto log_errors = [&] {
    return contains(server_->server_log(), "cannot write audit record");
  };
  for (int i = 0; i < 128 && !log_errors(); ++i) {
    const auto before = records("reload").size();
    server_->signal(SIGHUP);
    // Each SIGHUP either adds its two records or logs the failure.
    ASSERT_TRUE(
        eventually([&] { return records("reload").size() >= before + 2 || log_errors(); }, 5s));
  }
  ASSERT_TRUE(log_errors()) << server_->server_log();
  EXPECT_TRUE(contains(server_->server_log(), "No space left on device")) << server_->server_log();

  const std::string marker = tmp_.file("ran-while-full");
  auto r = as("client", {"touch", marker});
  EXPECT_EQ(r.status, 255) << r.err;
  EXPECT_TRUE(contains(r.err, "trex: the server cannot write its audit trail")) << r.err;
  EXPECT_FALSE(fs::exists(marker)) << "the command ran without an audit record";
  EXPECT_TRUE(contains(server_->server_log(), "cannot record session_open"))
      << server_->server_log();

  // Space again: the next command runs.
  fs::remove(filler);
  r = as("client", {"touch", marker});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(fs::exists(marker));
  ASSERT_TRUE(closes(2));
  EXPECT_EQ(verify_trail(trail), 0);
  const auto starts = audit_records(trail, "exec_start");
  ASSERT_EQ(starts.size(), 2u);
  EXPECT_EQ(starts.back()["argv"], json::array({"touch", marker}));
}

TEST_F(Audit, RemovedTrailRefusesOneCommandThenContinuesTheChain) {
  start();
  ASSERT_EQ(as("client", {"true"}).status, 0);
  ASSERT_TRUE(closes(1));
  const std::string old_text = read_file(server_->audit_path());
  ASSERT_EQ(::unlink(server_->audit_path().c_str()), 0);

  const std::string m1 = tmp_.file("m1"), m2 = tmp_.file("m2");
  auto r = as("client", {"touch", m1});
  EXPECT_EQ(r.status, 255) << r.err;
  EXPECT_TRUE(contains(r.err, "trex: the server cannot write its audit trail")) << r.err;
  EXPECT_FALSE(fs::exists(m1));
  EXPECT_TRUE(contains(server_->server_log(), "removed or replaced")) << server_->server_log();

  r = as("client", {"touch", m2});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(fs::exists(m2));
  ASSERT_TRUE(eventually([&] { return records("session_close").size() >= 1; }));

  const std::string new_text = read_file(server_->audit_path());
  const auto old_lines = lines_of(old_text), new_lines = lines_of(new_text);
  ASSERT_FALSE(old_lines.empty());
  ASSERT_FALSE(new_lines.empty());
  const auto first = json::parse(new_lines.front());
  EXPECT_EQ(first["prev"], sha256_hex(old_lines.back()));
  EXPECT_EQ(first["seq"], old_lines.size() + 1);
  EXPECT_EQ(first["event"], "session_open");
  // Old and new together are one chain.
  const std::string joined = tmp_.file("joined.jsonl");
  write_file(joined, old_text + new_text);
  EXPECT_EQ(verify_trail(joined), 0);
  auto all = old_lines;
  all.insert(all.end(), new_lines.begin(), new_lines.end());
  expect_chain(all);
}

TEST_F(Audit, UnwritableTrailMidSessionRefusesCommandsUntilRestored) {
  start();
  RunOptions hold = opts();
  hold.close_stdin = false;
  Child c(server_->trex_argv("client", {}), hold);
  ASSERT_TRUE(c.write_stdin("echo one\n"));
  ASSERT_TRUE(c.wait_for_output("one\n")) << c.out();
  // The output comes before the exec_end record: wait for it.
  ASSERT_TRUE(eventually([&] { return records("exec_end").size() == 1; }));

  // The trail's path stops naming a writable file: the file is moved away
  // and a directory takes its place (open() fails on it, even for root).
  const std::string trail = server_->audit_path();
  const std::string moved = tmp_.file("moved-audit.jsonl");
  ASSERT_EQ(::rename(trail.c_str(), moved.c_str()), 0);
  ASSERT_EQ(::mkdir(trail.c_str(), 0700), 0);
  const auto refusals = [&] {
    const auto log = server_->server_log();
    int n = 0;
    for (auto at = log.find("cannot record exec_start"); at != std::string::npos;
         at = log.find("cannot record exec_start", at + 1)) {
      ++n;
    }
    return n;
  };
  const std::string m1 = tmp_.file("m1"), m2 = tmp_.file("m2"), m3 = tmp_.file("m3");
  ASSERT_TRUE(c.write_stdin("touch " + m1 + "; echo ran1\n"));
  ASSERT_TRUE(eventually([&] { return refusals() == 1; })) << server_->server_log();
  // Still unwritable: the next command is refused too.
  ASSERT_TRUE(c.write_stdin("touch " + m2 + "; echo ran2\n"));
  ASSERT_TRUE(eventually([&] { return refusals() == 2; })) << server_->server_log();
  EXPECT_FALSE(fs::exists(m1)) << "a command ran without its exec_start record";
  EXPECT_FALSE(fs::exists(m2)) << "a command ran without its exec_start record";

  // Restored: the same session runs commands again, recorded in the same file.
  ASSERT_EQ(::rmdir(trail.c_str()), 0);
  ASSERT_EQ(::rename(moved.c_str(), trail.c_str()), 0);
  ASSERT_TRUE(c.write_stdin("touch " + m3 + "; echo ran3\n"));
  ASSERT_TRUE(c.wait_for_output("ran3\n")) << c.out();
  EXPECT_TRUE(fs::exists(m3));
  ASSERT_TRUE(c.write_stdin("exit\n"));
  const auto r = c.wait(20s);
  EXPECT_EQ(r.status, 0) << r.err;  // the last command's status
  EXPECT_EQ(r.out, "one\nran3\n");
  const std::string failure = "trex: the server cannot write its audit trail\n[exit 255]\n";
  EXPECT_EQ(r.err, failure + failure);
  EXPECT_FALSE(fs::exists(m1));
  EXPECT_FALSE(fs::exists(m2));

  ASSERT_TRUE(closes(1));
  EXPECT_EQ(verify_trail(trail), 0);
  expect_chain(lines_of(read_file(trail)));
  const auto starts = records("exec_start");
  ASSERT_EQ(starts.size(), 2u) << read_file(trail);
  EXPECT_EQ(starts[0]["shell"], "echo one");
  EXPECT_EQ(starts[1]["shell"], "touch " + m3 + "; echo ran3");
  EXPECT_EQ(records("exec_end").size(), 2u);
  EXPECT_EQ(records("session_open").size(), 1u);
}

TEST_F(Audit, TornLastLineIsSetAsideAtStart) {
  // A trail from an earlier run, then half a record (a crash mid-write).
  TempDir earlier;
  {
    Trexd first(pki(), earlier.path());
    ASSERT_FALSE(first.address().empty());
    ASSERT_EQ(first.trex("client", {"echo", "before"}, opts()).status, 0);
    ASSERT_TRUE(
        eventually([&] { return !audit_records(first.audit_path(), "session_close").empty(); }));
  }
  const std::string good = read_file(earlier.path() + "/log/audit.jsonl");
  const auto good_lines = lines_of(good);
  ASSERT_GE(good_lines.size(), 5u) << good;
  ASSERT_EQ(json::parse(good_lines.back())["event"], "server_stop");
  const std::string torn = good_lines[1].substr(0, good_lines[1].size() / 2);
  fs::create_directories(tmp_.file("log"));
  write_file(tmp_.file("log/audit.jsonl"), good + torn);
  ASSERT_NE(verify_trail(tmp_.file("log/audit.jsonl")), 0) << "the torn line went unnoticed";

  start();
  const std::string trail = server_->audit_path();
  ASSERT_EQ(as("client", {"echo", "after"}).out, "after\n");
  ASSERT_TRUE(closes(2));
  const auto lines = lines_of(read_file(trail));
  ASSERT_GT(lines.size(), good_lines.size());
  // The good records are kept as they were; the torn bytes are gone.
  EXPECT_TRUE(std::equal(good_lines.begin(), good_lines.end(), lines.begin()));
  const auto start_rec = json::parse(lines[good_lines.size()]);
  EXPECT_EQ(start_rec["event"], "server_start");
  EXPECT_EQ(start_rec["seq"], good_lines.size() + 1);
  EXPECT_EQ(start_rec["prev"], sha256_hex(good_lines.back()));
  ASSERT_TRUE(start_rec.contains("recovered")) << start_rec.dump();
  EXPECT_EQ(start_rec["recovered"]["torn_bytes"], torn.size()) << start_rec.dump();
  EXPECT_EQ(start_rec["recovered"]["saved_to"], trail + ".torn") << start_rec.dump();
  EXPECT_EQ(read_file(trail + ".torn"), torn + "\n");
  // Only the first start after the crash reports a recovery.
  EXPECT_EQ(records("server_start").size(), 2u);
  EXPECT_FALSE(records("server_start")[0].contains("recovered"));
  expect_chain(lines);
  EXPECT_EQ(verify_trail(trail), 0);
}

TEST_F(Audit, KillNineMidCommandLeavesAVerifiableTrail) {
  start();
  // The command prints its pid (exec keeps it): it leads its process group.
  Child child(server_->trex_argv("client", {"-c", "echo $$; exec sleep 30"}));
  ASSERT_TRUE(child.wait_for_output("\n", 15s)) << child.out();
  const pid_t cmd = static_cast<pid_t>(std::stol(child.out()));
  ASSERT_GT(cmd, 1);
  ASSERT_EQ(records("exec_start").size(), 1u);
  const std::size_t lines_before = lines_of(read_file(server_->audit_path())).size();

  server_->signal(SIGKILL);
  EXPECT_EQ(server_->wait(10s), 128 + SIGKILL);
  // The client sees the connection end: trex's own failure.
  const auto cr = child.wait(15s);
  EXPECT_FALSE(cr.timed_out);
  EXPECT_EQ(cr.status, 255) << cr.err;
  // What happens to the command: nothing kills it. trexd had no chance to
  // act, and the product sets no parent-death signal, so the orphaned group
  // runs on (reparented) until it ends by itself; its exec_start stays
  // without an exec_end. We only record that here, then clean up.
  const bool orphan_alive = process_exists(cmd);
  std::printf("[ info ] after kill -9 of trexd the command (pid %d) is %s\n", cmd,
              orphan_alive ? "still running (orphaned)" : "gone");
  ::kill(-cmd, SIGKILL);
  ::kill(cmd, SIGKILL);

  // Restart on the same log dir (server.log set aside: the harness reads the
  // port from its "listening on" line).
  fs::rename(server_->log_dir() + "/server.log", server_->log_dir() + "/server.log.before");
  server_ = std::make_unique<Trexd>(pki(), tmp_.path(),
                                    std::vector<std::string>{"--policy", tmp_.file("policy.toml")});
  ASSERT_FALSE(server_->address().empty());
  ASSERT_EQ(as("client", {"echo", "after"}).out, "after\n");
  ASSERT_TRUE(closes(1));  // the killed session never closed
  EXPECT_EQ(verify_trail(server_->audit_path()), 0);
  const auto all = audit_records(server_->audit_path());
  expect_chain(lines_of(read_file(server_->audit_path())));
  ASSERT_GT(all.size(), lines_before);
  EXPECT_EQ(all[lines_before]["event"], "server_start");
  EXPECT_EQ(all[lines_before]["pid"], server_->pid());
  const auto starts = records("exec_start");
  const auto ends = records("exec_end");
  ASSERT_EQ(starts.size(), 2u);
  ASSERT_EQ(ends.size(), 1u);
  EXPECT_EQ(ends[0]["id"], starts[1]["id"]);  // the killed command has no exec_end
  EXPECT_EQ(audit_records(server_->audit_path(), "server_stop").size(), 0u);
}

// --- rotation under concurrent clients ---------------------------------------

TEST_F(Audit, RotationUnderSixteenConcurrentClients) {
  start({"--audit-max-bytes", "8192", "--max-sessions", "32"});
  constexpr int kThreads = 16, kEach = 10;
  std::atomic<int> bad{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        const std::string word = "w" + std::to_string(t) + "-" + std::to_string(i);
        const auto r = as("client", {"echo", word}, opts(60s));
        if (r.status != 0 || r.out != word + "\n") {
          ++bad;
          std::fprintf(stderr, "%s: status %d out '%s' err '%s'\n", word.c_str(), r.status,
                       r.out.c_str(), r.err.c_str());
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(bad.load(), 0);
  const std::size_t total = kThreads * kEach;

  // All files, oldest first: audit.jsonl.1, .2, ..., then audit.jsonl.
  std::vector<std::string> files;
  for (int n = 1; fs::exists(server_->audit_path() + "." + std::to_string(n)); ++n) {
    files.push_back(server_->audit_path() + "." + std::to_string(n));
  }
  EXPECT_GE(files.size(), 3u);
  files.push_back(server_->audit_path());
  auto collect = [&] {
    std::vector<std::string> lines;
    for (const auto& f : files) {
      auto l = lines_of(read_file(f));
      lines.insert(lines.end(), l.begin(), l.end());
    }
    return lines;
  };
  auto closes_seen = [&] {
    std::size_t n = 0;
    for (const auto& l : collect()) n += contains(l, "\"event\":\"session_close\"");
    return n;
  };
  ASSERT_TRUE(eventually([&] { return closes_seen() == total; }, 15s));

  for (const auto& f : files) {
    EXPECT_LE(fs::file_size(f), 8192u) << f;
    EXPECT_GT(fs::file_size(f), 0u) << f;
  }
  const auto lines = collect();
  expect_chain(lines);
  std::map<std::string, int> ends_by_id;
  std::set<std::string> start_ids;
  std::set<std::string> words;
  for (const auto& l : lines) {
    const auto j = json::parse(l);
    if (j["event"] == "exec_start") {
      EXPECT_TRUE(start_ids.insert(j["id"].get<std::string>()).second) << "duplicate id " << l;
      words.insert(j["argv"][1].get<std::string>());
    }
    if (j["event"] == "exec_end") ++ends_by_id[j["id"].get<std::string>()];
  }
  EXPECT_EQ(start_ids.size(), total);
  EXPECT_EQ(words.size(), total);
  EXPECT_EQ(ends_by_id.size(), total);
  for (const auto& id : start_ids) EXPECT_EQ(ends_by_id[id], 1) << id;

  // trex-audit verify: default trail relative to the working directory ...
  RunOptions in_dir = opts();
  in_dir.cwd = tmp_.path();
  auto v = run({TREX_AUDIT_BIN, "verify"}, in_dir);
  EXPECT_EQ(v.status, 0) << v.out << v.err;
  EXPECT_TRUE(contains(v.out, std::to_string(files.size()) + " files")) << v.out;
  // ... and all files named, oldest first.
  std::vector<std::string> argv{TREX_AUDIT_BIN, "verify"};
  argv.insert(argv.end(), files.begin(), files.end());
  v = run(argv, opts());
  EXPECT_EQ(v.status, 0) << v.out << v.err;
  // Only the current file is a broken chain (it starts mid-way).
  EXPECT_EQ(verify_trail(server_->audit_path()), 1);
}

// --- trex-audit show and stats on a real trail --------------------------------

TEST_F(Audit, ShowAndStatsOnARealTrail) {
  start();
  ASSERT_EQ(as("client", {"true"}).status, 0);
  ASSERT_EQ(as("client", {"false"}).status, 1);
  ASSERT_EQ(as("alice", {"echo", "hi"}).status, 0);
  ASSERT_EQ(as("alice", {"uptime"}).status, 126);
  ASSERT_EQ(as("mallory", {"true"}).status, 255);
  ASSERT_TRUE(closes(4));
  ASSERT_TRUE(eventually([&] { return records("auth_fail").size() == 1; }));
  const std::string trail = server_->audit_path();
  const auto lines = lines_of(read_file(trail));

  auto show = [&](std::vector<std::string> args) {
    std::vector<std::string> argv{TREX_AUDIT_BIN, "show", trail};
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv, opts());
  };
  auto expected = [&](const std::function<bool(const json&)>& pred) {
    std::vector<std::string> out;
    for (const auto& l : lines) {
      if (pred(json::parse(l))) out.push_back(l);
    }
    return out;
  };

  // --json prints the matching raw lines.
  auto r = show({"--client", "alice", "--json"});
  EXPECT_EQ(r.status, 0) << r.err;
  auto want = expected([](const json& j) { return j.value("cn", "") == "alice"; });
  EXPECT_EQ(want.size(), 7u);  // 2 session_open/close, exec_start, exec_end, exec_denied
  EXPECT_EQ(lines_of(r.out), want);

  r = show({"--event", "exec_denied", "--json"});
  EXPECT_EQ(r.status, 0) << r.err;
  ASSERT_EQ(lines_of(r.out).size(), 1u) << r.out;
  EXPECT_TRUE(contains(r.out, "\"uptime\""));

  r = show({"--failed", "--json"});
  EXPECT_EQ(r.status, 0) << r.err;
  want = expected([](const json& j) {
    const std::string e = j["event"];
    if (e == "auth_fail" || e == "exec_denied") return true;
    return e == "exec_end" &&
           (j["exit_code"] != 0 || !j["signal"].is_null() || j["timed_out"] == true);
  });
  EXPECT_EQ(want.size(), 3u);
  EXPECT_EQ(lines_of(r.out), want);

  r = show({"--client", "client", "--event", "exec_end", "--failed", "--json"});
  ASSERT_EQ(lines_of(r.out).size(), 1u) << r.out;
  EXPECT_EQ(json::parse(lines_of(r.out)[0])["exit_code"], 1);

  // The event table: a header and one row per record, naming client and command.
  r = show({"--events", "--client", "alice", "--event", "exec_denied"});
  EXPECT_EQ(r.status, 0) << r.err;
  auto rows = lines_of(r.out);
  ASSERT_EQ(rows.size(), 2u) << r.out;
  EXPECT_TRUE(contains(rows[1], "alice")) << r.out;
  EXPECT_TRUE(contains(rows[1], "uptime")) << r.out;
  EXPECT_TRUE(contains(rows[1], "exec_denied")) << r.out;
  r = show({"--client", "nobody-at-all"});
  EXPECT_EQ(lines_of(r.out).size(), 1u) << r.out;  // header only

  // stats: per client sessions, commands, failures, denials, refused.
  r = run({TREX_AUDIT_BIN, "stats", trail}, opts());
  EXPECT_EQ(r.status, 0) << r.err;
  std::map<std::string, std::vector<std::string>> table;
  for (const auto& row : lines_of(r.out)) {
    if (row.empty()) break;  // the per-client table ends; per command and rule follow
    std::istringstream in(row);
    std::vector<std::string> cells;
    for (std::string c; in >> c;) cells.push_back(c);
    if (!cells.empty()) table[cells[0]] = cells;
  }
  ASSERT_TRUE(table.count("CLIENT")) << r.out;
  using Row = std::vector<std::string>;
  auto counts = [&](const std::string& who) {
    const auto& c = table[who];
    return c.size() >= 6 ? Row(c.begin() + 1, c.begin() + 6) : c;
  };
  EXPECT_EQ(counts("client"), (Row{"2", "2", "1", "0", "0"})) << r.out;
  EXPECT_EQ(counts("alice"), (Row{"2", "1", "0", "1", "0"})) << r.out;
  // mallory's certificate was revoked: its CN is a claim, never a client.
  EXPECT_EQ(table.count("mallory"), 0u) << r.out;
  const auto& unverified = table["(unverified"];
  ASSERT_GE(unverified.size(), 7u) << r.out;
  EXPECT_EQ(unverified[1], "certificate)") << r.out;
  EXPECT_EQ(Row(unverified.begin() + 2, unverified.begin() + 7), (Row{"0", "0", "0", "0", "1"}))
      << r.out;
  EXPECT_EQ(counts("total"), (Row{"4", "3", "1", "1", "1"})) << r.out;
}

}  // namespace
}  // namespace trex::testing
