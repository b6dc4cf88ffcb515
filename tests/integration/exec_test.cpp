// Command execution end to end (issue 2): the client's exit-status table,
// large and concurrent output, stdin, -n, streaming, the time limit and the
// kill of the whole process group, a client that vanishes (while the
// command sleeps or while its output streams), Ctrl-C, the command's
// environment and working directory, --max-output, and several commands in
// one interactive session. After every test the server still
// serves a command and the audit trail verifies.
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/hash.h>
#include <wolfssl/wolfcrypt/sha256.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/harness.hpp"

namespace trex::testing {
namespace {

using Clock = std::chrono::steady_clock;

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

// True when `pid` no longer runs: no /proc entry, or a zombie nobody reaps
// (orphans reparented to a PID 1 that does not reap may linger as 'Z').
bool gone(pid_t pid) {
  const std::string stat = read_file("/proc/" + std::to_string(pid) + "/stat");
  if (stat.empty()) return true;
  const auto paren = stat.rfind(')');
  return paren != std::string::npos && paren + 2 < stat.size() && stat[paren + 2] == 'Z';
}

// Polls `cond` until it holds or `timeout` passes.
pid_t first_pid(const std::string& out) {
  std::istringstream in(out);
  long pid = -1;
  in >> pid;
  return static_cast<pid_t>(pid);
}

// A 127.0.0.1 port that nothing listens on: bound to port 0, then closed.
std::string closed_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  EXPECT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  socklen_t len = sizeof(addr);
  EXPECT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  ::close(fd);
  return std::to_string(ntohs(addr.sin_port));
}

// Each test has its own folder and server; the PKI (2-3 s of openssl runs)
// is made once per suite and only read by the servers and clients.
class Exec : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    pki_tmp_ = new TempDir();
    pki_ = new Pki(pki_tmp_->path());
  }
  static void TearDownTestSuite() {
    delete pki_;
    pki_ = nullptr;
    delete pki_tmp_;
    pki_tmp_ = nullptr;
  }

  virtual std::vector<std::string> server_flags() const { return {"--kill-grace", "1"}; }

  void SetUp() override {
    server_ = std::make_unique<Trexd>(*pki_, tmp_.path(), server_flags());
    ASSERT_FALSE(server_->address().empty());
  }

  // Every test leaves a server that still runs commands and a valid trail.
  void TearDown() override {
    if (!server_ || server_->address().empty()) return;
    const auto r = server_->trex("client", {"true"}, opts(20s));
    EXPECT_EQ(r.status, 0) << "the server no longer serves: " << r.err;
    EXPECT_EQ(verify_trail(server_->audit_path()), 0);
  }

  static RunOptions opts(std::chrono::milliseconds timeout = 20s) {
    RunOptions o;
    o.timeout = timeout;
    return o;
  }

  RunResult trex(const std::vector<std::string>& args, const std::vector<std::string>& flags = {},
                 RunOptions o = opts()) const {
    return server_->trex("client", args, o, flags);
  }

  // After the client went away mid-command: one exec_start and one matching
  // exec_end that says the session ended under it; returns that exec_end.
  nlohmann::json one_command_ended_with_its_session() const {
    const auto starts = records("exec_start");
    const auto ends = records("exec_end");
    EXPECT_EQ(starts.size(), 1u);
    EXPECT_EQ(ends.size(), 1u);
    if (starts.size() != 1 || ends.size() != 1) return nlohmann::json::object();
    EXPECT_EQ(ends[0]["id"], starts[0]["id"]);
    EXPECT_NE(ends[0].value("ended_by", ""), "") << ends[0].dump();
    return ends[0];
  }

  std::vector<nlohmann::json> records(const std::string& event) const {
    return audit_records(server_->audit_path(), event);
  }

  // The last exec_end, waiting for it to be written.
  nlohmann::json last_exec_end() const {
    std::vector<nlohmann::json> ends;
    eventually([&] { return !(ends = records("exec_end")).empty(); }, 5s);
    return ends.empty() ? nlohmann::json::object() : ends.back();
  }

  static TempDir* pki_tmp_;
  static Pki* pki_;
  TempDir tmp_;
  std::unique_ptr<Trexd> server_;
};

TempDir* Exec::pki_tmp_ = nullptr;
Pki* Exec::pki_ = nullptr;

// --- The exit-status table ---------------------------------------------

TEST_F(Exec, CommandOwnStatusIsTrexStatus) {
  for (const int code : {0, 3, 255}) {
    const auto r = trex({"-c", "exit " + std::to_string(code)});
    EXPECT_EQ(r.status, code) << r.err;
    EXPECT_EQ(last_exec_end().value("exit_code", -1), code);
  }
  // argv mode (no shell) too.
  EXPECT_EQ(trex({"false"}).status, 1);
  EXPECT_EQ(trex({"true"}).status, 0);
}

TEST_F(Exec, SignalGives128PlusNAndDiffersFromExitN) {
  const auto killed = trex({"-c", "kill -9 $$"});
  EXPECT_EQ(killed.status, 137) << killed.err;
  auto end = last_exec_end();
  EXPECT_EQ(end["signal"], 9) << end.dump();
  EXPECT_TRUE(end["exit_code"].is_null()) << end.dump();
  EXPECT_EQ(end["timed_out"], false);

  const auto exited = trex({"-c", "exit 9"});
  EXPECT_EQ(exited.status, 9) << exited.err;
  end = last_exec_end();
  EXPECT_EQ(end["exit_code"], 9) << end.dump();
  EXPECT_TRUE(end["signal"].is_null()) << end.dump();

  const auto term = trex({"-c", "kill -TERM $$"});
  EXPECT_EQ(term.status, 128 + SIGTERM) << term.err;
}

TEST_F(Exec, TimeoutKillsTheCommandAndGives124) {
  const auto r = trex({"sleep", "30"}, {"--timeout", "1"}, opts(20s));
  ASSERT_FALSE(r.timed_out) << "trex did not return: the command was not killed";
  EXPECT_EQ(r.status, 124) << r.err;
  EXPECT_EQ(r.err.rfind("trex: ", 0), 0u) << r.err;
  const auto end = last_exec_end();
  EXPECT_EQ(end["timed_out"], true) << end.dump();
  EXPECT_EQ(end["signal"], SIGTERM) << end.dump();
}

TEST_F(Exec, MissingProgramGives127WithMessage) {
  const auto r = trex({"nosuchcmd-xyz"});
  EXPECT_EQ(r.status, 127);
  EXPECT_EQ(r.err.rfind("trex: ", 0), 0u) << r.err;
  EXPECT_NE(r.err.find("nosuchcmd-xyz"), std::string::npos) << r.err;
  EXPECT_EQ(last_exec_end()["exit_code"], 127);

  // A file that exists but cannot be executed.
  const auto x = trex({"/etc/passwd"});
  EXPECT_EQ(x.status, 127) << x.err;
  EXPECT_EQ(x.err.rfind("trex: ", 0), 0u) << x.err;
}

TEST_F(Exec, ConnectionRefusedGives255) {
  const std::string port = closed_port();
  const auto r = run({TREX_BIN, "--ca", pki_->ca(), "--cert", pki_->cert("client"), "--key",
                      pki_->key("client"), "127.0.0.1:" + port, "true"},
                     opts(20s));
  EXPECT_EQ(r.status, 255);
  EXPECT_EQ(r.err.rfind("trex: ", 0), 0u) << r.err;
  EXPECT_NE(r.err.find(port), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

// --- Data volume and streaming -------------------------------------------

TEST_F(Exec, SixtyFourMiBOfOutputArriveIntact) {
  constexpr std::size_t kSize = 64u << 20;
  const auto r = trex({"head", "-c", std::to_string(kSize), "/dev/urandom"}, {}, opts(60s));
  ASSERT_FALSE(r.timed_out);
  EXPECT_EQ(r.status, 0) << r.err;
  ASSERT_EQ(r.out.size(), kSize);
  const auto end = last_exec_end();
  EXPECT_EQ(end["stdout_bytes"], kSize);
  EXPECT_EQ(end["stdout_sha256"], sha256_hex(r.out));
  EXPECT_EQ(end["truncated"], false);
}

TEST_F(Exec, HeavyOutputOnBothPipesDoesNotDeadlock) {
  constexpr std::size_t kSize = 8u << 20;
  const std::string n = std::to_string(kSize);
  const auto r = trex({"-c", "head -c " + n + " /dev/zero | tr '\\0' o & head -c " + n +
                                 " /dev/zero | tr '\\0' e >&2; wait"},
                      {}, opts(60s));
  ASSERT_FALSE(r.timed_out) << "deadlock: trex did not finish";
  EXPECT_EQ(r.status, 0) << r.err.substr(0, 200);
  EXPECT_EQ(r.out, std::string(kSize, 'o'));
  EXPECT_EQ(r.err, std::string(kSize, 'e'));
  const auto end = last_exec_end();
  EXPECT_EQ(end["stdout_bytes"], kSize);
  EXPECT_EQ(end["stderr_bytes"], kSize);
  EXPECT_EQ(end["stdout_sha256"], sha256_hex(r.out));
  EXPECT_EQ(end["stderr_sha256"], sha256_hex(r.err));
}

TEST_F(Exec, SixteenMiBOfStdinReachTheCommand) {
  constexpr std::size_t kSize = 16u << 20;
  std::string data(kSize, '\0');
  for (std::size_t i = 0; i < kSize; ++i) data[i] = static_cast<char>((i * 7919u) >> 5);
  RunOptions o = opts(60s);
  o.stdin_data = data;
  const auto r = trex({"sha256sum"}, {}, o);
  ASSERT_FALSE(r.timed_out);
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, sha256_hex(data) + "  -\n");
  EXPECT_EQ(last_exec_end()["stdin_bytes"], kSize);
}

TEST_F(Exec, StdinAndOutputFlowAtOnceWithoutDeadlock) {
  // cat echoes while stdin still arrives: both directions are full at once.
  constexpr std::size_t kSize = 16u << 20;
  std::string data(kSize, '\0');
  for (std::size_t i = 0; i < kSize; ++i) data[i] = static_cast<char>('a' + (i * 31u) % 26u);
  RunOptions o = opts(60s);
  o.stdin_data = data;
  const auto r = trex({"cat"}, {}, o);
  ASSERT_FALSE(r.timed_out) << "deadlock: trex did not finish";
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out.size(), kSize);
  EXPECT_TRUE(r.out == data) << "the echoed data differs";
  const auto end = last_exec_end();
  EXPECT_EQ(end["stdin_bytes"], kSize);
  EXPECT_EQ(end["stdout_bytes"], kSize);
}

TEST_F(Exec, NoStdinGivesTheCommandEofAtOnce) {
  // trex's own stdin stays open: without -n, cat would wait on it forever.
  RunOptions o = opts();
  o.close_stdin = false;
  Child c(server_->trex_argv("client", {"cat"}, {"-n"}), o);
  const auto r = c.wait(15s);
  ASSERT_FALSE(r.timed_out) << "cat did not get EOF";
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(last_exec_end()["stdin_bytes"], 0);
}

TEST_F(Exec, OutputIsStreamedBeforeTheCommandEnds) {
  Child c(server_->trex_argv("client", {"-c", "echo first; sleep 30"}));
  ASSERT_TRUE(c.wait_for_output("first", 5s)) << c.out();
  EXPECT_FALSE(gone(c.pid())) << "trex ended: the output was not streamed";
  EXPECT_TRUE(records("exec_end").empty()) << "the command already ended";
  c.kill(SIGKILL);
  c.wait(5s);
  EXPECT_TRUE(eventually([&] { return !records("session_close").empty(); }));
}

// --- Killing the process group -------------------------------------------

TEST_F(Exec, TimeoutKillsGrandchildren) {
  const auto r = trex({"-c", "sleep 300 & echo $!; wait"}, {"--timeout", "1"});
  ASSERT_FALSE(r.timed_out);
  EXPECT_EQ(r.status, 124) << r.err;
  const pid_t grandchild = first_pid(r.out);
  ASSERT_GT(grandchild, 1) << r.out;
  EXPECT_TRUE(eventually([&] { return gone(grandchild); }, 5s))
      << "grandchild " << grandchild << " survived the time limit";
  EXPECT_EQ(last_exec_end()["timed_out"], true);
}

TEST_F(Exec, TimeoutEscalatesToKillForCommandsIgnoringTerm) {
  // Both the shell and its background child ignore SIGTERM.
  const auto r = trex({"-c", "trap '' TERM; sleep 300 & echo $!; wait"}, {"--timeout", "1"});
  ASSERT_FALSE(r.timed_out) << "a TERM-proof command was never killed";
  EXPECT_EQ(r.status, 124) << r.err;
  const pid_t grandchild = first_pid(r.out);
  ASSERT_GT(grandchild, 1) << r.out;
  EXPECT_TRUE(eventually([&] { return gone(grandchild); }, 5s));
  const auto end = last_exec_end();
  EXPECT_EQ(end["timed_out"], true);
  EXPECT_EQ(end["signal"], SIGKILL) << end.dump();
}

TEST_F(Exec, ClientKilledMidCommandEndsTheCommand) {
  Child c(server_->trex_argv("client", {"-c", "echo $$; sleep 300"}));
  ASSERT_TRUE(c.wait_for_output("\n", 10s)) << c.out();
  const pid_t remote = first_pid(c.out());
  ASSERT_GT(remote, 1) << c.out();
  ASSERT_FALSE(gone(remote));
  c.kill(SIGKILL);
  c.wait(5s);
  // kill-grace is 1 s: the command is gone well within a few seconds.
  EXPECT_TRUE(eventually([&] { return gone(remote); }, 6s)) << "remote command " << remote;
  ASSERT_TRUE(eventually([&] { return !records("session_close").empty(); }, 6s));
  one_command_ended_with_its_session();
  EXPECT_EQ(records("session_close")[0]["commands"], 1);
}

// Live (non-zombie) processes whose process group is `pgid`, from /proc.
std::vector<pid_t> live_group_members(pid_t pgid) {
  std::vector<pid_t> out;
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator("/proc", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    const std::string stat = read_file(it->path().string() + "/stat");
    const auto paren = stat.rfind(')');
    if (paren == std::string::npos) continue;
    std::istringstream fields(stat.substr(paren + 1));
    char state = '?';
    long ppid = 0, pgrp = 0;
    if (!(fields >> state >> ppid >> pgrp)) continue;
    if (pgrp == pgid && state != 'Z') out.push_back(static_cast<pid_t>(std::stol(name)));
  }
  return out;
}

std::string pids_text(const std::vector<pid_t>& pids) {
  std::string s;
  for (pid_t p : pids) s += std::to_string(p) + " ";
  return s;
}

TEST_F(Exec, ClientKilledMidOutputEndsTheCommandGroup) {
  // A pipeline streaming as fast as it can: sh, yes and cat share a group.
  Child c(server_->trex_argv("client", {"-c", "echo $$; yes | cat"}));
  ASSERT_TRUE(c.wait_for_output("\ny\ny\n", 10s)) << c.out().substr(0, 200);
  const pid_t group = first_pid(c.out());
  ASSERT_GT(group, 1) << c.out().substr(0, 200);
  EXPECT_GE(live_group_members(group).size(), 2u) << pids_text(live_group_members(group));
  c.kill(SIGKILL);
  c.wait(10s);
  // No process of the group lives on, and trexd reaped its child.
  EXPECT_TRUE(eventually([&] { return live_group_members(group).empty(); }, 10s))
      << "left in group " << group << ": " << pids_text(live_group_members(group));
  EXPECT_TRUE(eventually([&] { return server_->children().empty(); }, 10s))
      << "trexd still has children: " << pids_text(server_->children());
  ASSERT_TRUE(eventually([&] { return !records("session_close").empty(); }, 10s));
  auto end = one_command_ended_with_its_session();  // non-const: [] on a missing key
  EXPECT_TRUE(end["signal"].is_number()) << "the command was not killed: " << end.dump();
  EXPECT_GT(end.value("stdout_bytes", 0), 0) << end.dump();
  EXPECT_EQ(records("session_close")[0]["commands"], 1);
}

// A server killed with SIGKILL cannot clean up; its command must not live on.
TEST_F(Exec, ServerKilledMidCommandTakesTheCommandWithIt) {
  Child c(server_->trex_argv("client", {"sleep", "300"}));
  ASSERT_TRUE(eventually([&] { return !records("exec_start").empty(); }, 10s));
  std::vector<pid_t> kids;
  ASSERT_TRUE(eventually([&] { return !(kids = server_->children()).empty(); }, 5s));
  server_->signal(SIGKILL);
  EXPECT_EQ(server_->wait(5s), 128 + SIGKILL);
  for (pid_t pid : kids) {
    EXPECT_TRUE(eventually([&] { return gone(pid); }, 5s))
        << "command " << pid << " outlived trexd";
  }
  EXPECT_EQ(c.wait(10s).status, 255);
  server_.reset();  // nothing left to serve: skip the TearDown checks
}

TEST_F(Exec, CtrlCIsForwardedToTheCommand) {
  Child c(server_->trex_argv(
      "client", {"-c", "trap 'echo got-int; exit 7' INT; echo ready; sleep 300 & wait"}));
  ASSERT_TRUE(c.wait_for_output("ready", 10s)) << c.out();
  c.kill(SIGINT);
  const auto r = c.wait(15s);
  ASSERT_FALSE(r.timed_out) << "SIGINT did not end the command";
  EXPECT_EQ(r.status, 7) << r.err;
  EXPECT_NE(r.out.find("got-int"), std::string::npos) << r.out;
  EXPECT_EQ(last_exec_end()["exit_code"], 7);
}

// --- Environment and working directory -----------------------------------

TEST_F(Exec, CommandGetsAFreshEnvironment) {
  RunOptions o = opts();
  o.env = {"TREX_IT_LEAK=from-the-client"};
  const auto r = trex({"env"}, {}, o);
  ASSERT_EQ(r.status, 0) << r.err;
  std::map<std::string, std::string> env;
  std::istringstream in(r.out);
  std::string line;
  while (std::getline(in, line)) {
    const auto eq = line.find('=');
    ASSERT_NE(eq, std::string::npos) << line;
    env[line.substr(0, eq)] = line.substr(eq + 1);
  }
  std::set<std::string> keys;
  for (const auto& [k, v] : env) keys.insert(k);
  EXPECT_EQ(keys,
            (std::set<std::string>{"PATH", "HOME", "USER", "LANG", "TREX_CLIENT", "TREX_SESSION"}))
      << r.out;
  EXPECT_EQ(env["TREX_CLIENT"], "client");
  const auto starts = records("exec_start");
  ASSERT_EQ(starts.size(), 1u);
  EXPECT_EQ(env["TREX_SESSION"], std::to_string(starts[0]["conn"].get<std::uint64_t>()));
  EXPECT_FALSE(env["PATH"].empty());
  EXPECT_EQ(r.out.find("TREX_IT_LEAK"), std::string::npos);
}

TEST_F(Exec, WorkingDirectoryIsRootWithoutPolicy) {
  RunOptions o = opts();
  o.cwd = tmp_.path();  // the client's own directory does not matter
  const auto r = trex({"pwd"}, {}, o);
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "/\n");
  EXPECT_EQ(records("exec_start").at(0)["cwd"], "/");
}

// --- Interactive mode -----------------------------------------------------

TEST_F(Exec, InteractiveSessionRunsManyCommands) {
  RunOptions o = opts();
  o.stdin_data = "echo a\necho b\nexit\n";
  const auto r = trex({}, {}, o);
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "a\nb\n");
  ASSERT_TRUE(eventually([&] { return !records("session_close").empty(); }, 5s));
  const auto opens = records("session_open");
  const auto starts = records("exec_start");
  ASSERT_EQ(opens.size(), 1u);
  ASSERT_EQ(starts.size(), 2u);
  EXPECT_EQ(starts[0]["conn"], opens[0]["conn"]);
  EXPECT_EQ(starts[1]["conn"], opens[0]["conn"]);
  EXPECT_EQ(records("session_close")[0]["commands"], 2);
}

// --- --max-output -----------------------------------------------------------

class ExecMaxOutput : public Exec {
 protected:
  std::vector<std::string> server_flags() const override {
    return {"--kill-grace", "1", "--max-output", "1K"};  // 1024, the size form
  }
};

TEST_F(ExecMaxOutput, OutputBeyondTheLimitIsCut) {
  const auto r = trex({"head", "-c", "5000", "/dev/zero"});
  ASSERT_FALSE(r.timed_out);
  EXPECT_LE(r.out.size(), 1024u);
  EXPECT_NE(r.err.find("trex: "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("cut"), std::string::npos) << r.err;
  const auto end = last_exec_end();
  EXPECT_EQ(end["truncated"], true) << end.dump();
  EXPECT_LE(end["stdout_bytes"].get<std::uint64_t>(), 1024u);
  EXPECT_EQ(end["stdout_bytes"], r.out.size());

  // Output exactly at the limit is not cut.
  const auto small = trex({"head", "-c", "1024", "/dev/zero"});
  EXPECT_EQ(small.status, 0) << small.err;
  EXPECT_EQ(small.out.size(), 1024u);
  EXPECT_EQ(small.err, "");
  EXPECT_EQ(last_exec_end()["truncated"], false);
}

}  // namespace
}  // namespace trex::testing
