// Authorization policy end to end (issue 4): allowed and denied argv with
// the exit status, message and exec_denied record of a denial (and nothing
// started), argv[0] spelling tricks, args patterns, shell mode, OU and CN
// identities, run_as, the per-rule timeout, max_output, cwd, umask and
// resource limits, `trexd --explain`, broken policy files at start-up and on
// SIGHUP, a reload seen by a live session, and running without a policy.
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <random>
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

constexpr const char* kDeniedPrefix = "trex: not allowed by the server's policy: ";

bool contains(const std::string& hay, const std::string& needle) {
  return hay.find(needle) != std::string::npos;
}

std::string unique_token() {
  std::random_device rd;
  return std::to_string(getpid()) + "-" + std::to_string(rd());
}

// One PKI per process (ctest runs each test in its own process): the CA,
// the server and "client" (OU ops) at once, the other clients when a test
// first uses them, since making certificates is the slow part:
//   alice, bob, eve (no rule), runner (run_as nobody + limits),
//   timer (timeout/max_output), hog (memory limit), opsy (OU ops, no CN rule).
struct SharedPki {
  TempDir tmp;
  Pki pki{tmp.path()};
};

const Pki& shared_pki() {
  static SharedPki s;
  return s.pki;
}

void ensure_client(const std::string& name) {
  const Pki& p = shared_pki();
  if (fs::exists(p.cert(name))) return;
  if (name == "opsy") {
    p.client(name, {"--ou", "ops"});
  } else {
    p.client(name);
  }
}

// The policy most tests use. Line numbers matter to nobody here.
const char* kPolicy = R"toml(
[[rule]]
name = "alice-basic"
cn = ["alice"]
allow = ["uptime", "echo", "/usr/bin/id"]

[[rule]]
name = "bob-args"
cn = ["bob"]
allow = ["echo", "pwd"]
args = ["^status( [a-z0-9@.-]+)?$", ""]
cwd = "/tmp"

[[rule]]
name = "bob-shell"
cn = ["bob"]
shell = true
cwd = "/tmp"
umask = "0027"

[[rule]]
name = "ops-hostname"
ou = ["ops"]
allow = ["hostname"]

[[rule]]
name = "runner"
cn = ["runner"]
allow = ["id"]
shell = true
run_as = "nobody"
cwd = "/"
timeout = 30
limits = { processes = 20 }

[[rule]]
name = "timer"
cn = ["timer"]
allow = ["sleep", "head"]
timeout = 1
max_output = 100

[[rule]]
name = "hog"
cn = ["hog"]
shell = true
limits = { memory = "64M" }
)toml";

class Policy : public ::testing::Test {
 protected:
  const Pki& pki() const { return shared_pki(); }
  std::string policy_path() const { return tmp_.file("policy.toml"); }

  void start(const std::string& policy_text = kPolicy) {
    write_file(policy_path(), policy_text);
    server_ = std::make_unique<Trexd>(
        pki(), tmp_.path(),
        std::vector<std::string>{"--policy", policy_path(), "--kill-grace", "1"});
    ASSERT_FALSE(server_->address().empty());
  }

  void TearDown() override {
    if (!server_ || server_->address().empty() || !server_->alive()) return;
    EXPECT_EQ(verify_trail(server_->audit_path()), 0);
  }

  static RunOptions opts(std::chrono::milliseconds timeout = 20s) {
    RunOptions o;
    o.timeout = timeout;
    return o;
  }

  RunResult as(const std::string& who, const std::vector<std::string>& args,
               RunOptions o = opts()) const {
    ensure_client(who);
    return server_->trex(who, args, o);
  }

  std::vector<nlohmann::json> records(const std::string& event) const {
    return audit_records(server_->audit_path(), event);
  }

  // Asserts a denial: 126, the one-line message, and an exec_denied record
  // with the rule and the same reason; no exec_start was written for it.
  void expect_denied(const std::string& who, const std::vector<std::string>& args,
                     const std::string& rule) {
    SCOPED_TRACE("denied: " + who + " " + (args.empty() ? "" : args[0]));
    const auto starts = records("exec_start").size();
    const auto denials = records("exec_denied").size();
    const auto r = as(who, args);
    EXPECT_EQ(r.status, 126) << r.out << r.err;
    EXPECT_EQ(r.out, "");
    ASSERT_EQ(r.err.rfind(kDeniedPrefix, 0), 0u) << r.err;
    ASSERT_FALSE(r.err.empty());
    EXPECT_EQ(r.err.back(), '\n');
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    const std::string reason = r.err.substr(std::string(kDeniedPrefix).size(),
                                            r.err.size() - std::string(kDeniedPrefix).size() - 1);
    EXPECT_FALSE(reason.empty());
    const auto d = records("exec_denied");
    ASSERT_EQ(d.size(), denials + 1);
    EXPECT_EQ(d.back()["cn"], who);
    EXPECT_EQ(d.back()["rule"], rule) << d.back().dump();
    EXPECT_EQ(d.back()["reason"], reason) << d.back().dump();
    if (args.size() == 2 && args[0] == "-c") {
      EXPECT_EQ(d.back()["shell"], args[1]);
    } else {
      EXPECT_EQ(d.back()["argv"], nlohmann::json(args));
    }
    EXPECT_EQ(records("exec_start").size(), starts) << "a denied command was started";
  }

  TempDir tmp_;
  std::unique_ptr<Trexd> server_;
};

// --- allowed and denied --------------------------------------------------

TEST_F(Policy, AllowedRunsAndDeniedStartsNothing) {
  start();
  const auto ok = as("alice", {"echo", "hello"});
  EXPECT_EQ(ok.status, 0) << ok.err;
  EXPECT_EQ(ok.out, "hello\n");

  const std::string marker = "/tmp/x-" + unique_token();
  expect_denied("alice", {"touch", marker}, "alice-basic");
  EXPECT_FALSE(fs::exists(marker)) << "a denied touch ran";
  const auto d = records("exec_denied").back();
  EXPECT_TRUE(contains(d["reason"].get<std::string>(), "touch")) << d.dump();

  // No rule names eve at all: denied with no deciding rule.
  expect_denied("eve", {"echo", "hi"}, "");
  EXPECT_TRUE(contains(records("exec_denied").back()["reason"].get<std::string>(), "eve"));
  // The allowed command is still allowed afterwards.
  EXPECT_EQ(as("alice", {"uptime"}).status, 0);
}

TEST_F(Policy, Argv0TricksAreDenied) {
  start();
  // A look-alike program that would leave a trace if it ever ran.
  const std::string marker = tmp_.file("fake-ran");
  const std::string fake = tmp_.file("uptime");
  write_file(fake, "#!/bin/sh\ntouch " + marker + "\n");
  ::chmod(fake.c_str(), 0755);
  fs::create_directories(tmp_.file("bin"));
  fs::copy_file(fake, tmp_.file("bin/uptime"));

  EXPECT_EQ(as("alice", {"uptime"}).status, 0);
  expect_denied("alice", {fake}, "alice-basic");
  expect_denied("alice", {"/tmp/uptime"}, "alice-basic");
  expect_denied("alice", {"./uptime"}, "alice-basic");
  expect_denied("alice", {"../bin/uptime"}, "alice-basic");
  expect_denied("alice", {"/usr/bin/uptime"}, "alice-basic");
  EXPECT_FALSE(fs::exists(marker));

  // An absolute entry allows exactly that spelling.
  const auto id = as("alice", {"/usr/bin/id", "-u"});
  EXPECT_EQ(id.status, 0) << id.err;
  EXPECT_EQ(id.out, std::to_string(geteuid()) + "\n");
  expect_denied("alice", {"id", "-u"}, "alice-basic");
  expect_denied("alice", {"/bin/id", "-u"}, "alice-basic");
  expect_denied("alice", {"/usr/bin/../bin/id", "-u"}, "alice-basic");
  expect_denied("alice", {"//usr/bin/id"}, "alice-basic");
}

TEST_F(Policy, ArgsPatternsConstrainTheArguments) {
  start();
  auto r = as("bob", {"echo", "status", "nginx"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "status nginx\n");
  r = as("bob", {"echo", "status", "nginx@1.service"});
  EXPECT_EQ(r.status, 0) << r.err;
  // One argument with a space reads like two once joined: refused.
  expect_denied("bob", {"echo", "status nginx@1.service"}, "bob-args");
  r = as("bob", {"echo"});  // the "" pattern
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "\n");

  expect_denied("bob", {"echo", "status", "NGINX"}, "bob-args");
  expect_denied("bob", {"echo", "status; rm -rf /"}, "bob-args");
  expect_denied("bob", {"echo", "restart", "nginx"}, "bob-args");
  expect_denied("bob", {"echo", "status\nnginx"}, "bob-args");
  expect_denied("bob", {"echo", "xstatus"}, "bob-args");
  expect_denied("bob", {"echo", "status", std::string(2000, 'a')}, "bob-args");
  EXPECT_TRUE(contains(records("exec_denied").back()["reason"].get<std::string>(), "too long"));
  // A program the rule does not list is denied by the rule that came closest.
  expect_denied("bob", {"uptime"}, "bob-args");
}

TEST_F(Policy, ShellNeedsShellTrue) {
  start();
  const std::string marker = "/tmp/x-" + unique_token();
  expect_denied("alice", {"-c", "touch " + marker}, "alice-basic");
  EXPECT_FALSE(fs::exists(marker));
  EXPECT_TRUE(contains(records("exec_denied").back()["reason"].get<std::string>(), "shell"));

  const auto r = as("bob", {"-c", "echo $((1+2)) $0"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "3 sh\n");
  const auto s = records("exec_start").back();
  EXPECT_EQ(s["shell"], "echo $((1+2)) $0");
  EXPECT_FALSE(s.contains("argv"));
}

TEST_F(Policy, OuAndCnIdentities) {
  start();
  // opsy has OU ops, no rule names its CN.
  auto r = as("opsy", {"hostname"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_FALSE(r.out.empty());
  EXPECT_EQ(records("exec_start").back()["cn"], "opsy");
  expect_denied("opsy", {"uptime"}, "ops-hostname");
  // alice has no OU: the OU rule does not apply to her.
  expect_denied("alice", {"hostname"}, "alice-basic");
  // "client" has OU ops too.
  EXPECT_EQ(as("client", {"hostname"}).status, 0);
  // eve: neither.
  expect_denied("eve", {"hostname"}, "");
}

// --- settings of the deciding rule ----------------------------------------

TEST_F(Policy, RunAsDropsToTheUserAndItsGroups) {
  if (geteuid() != 0) {
    GTEST_SKIP() << "run_as needs trexd to run as root; these tests run as uid " << geteuid();
  }
  start();
  passwd* pw = getpwnam("nobody");
  ASSERT_NE(pw, nullptr);
  auto r = as("runner", {"id", "-u"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, std::to_string(pw->pw_uid) + "\n");
  r = as("runner", {"id", "-g"});
  EXPECT_EQ(r.out, std::to_string(pw->pw_gid) + "\n");

  int n = 64;
  std::vector<gid_t> groups(static_cast<std::size_t>(n));
  ASSERT_GE(getgrouplist("nobody", pw->pw_gid, groups.data(), &n), 0);
  std::set<std::string> want;
  for (int i = 0; i < n; ++i) want.insert(std::to_string(groups[static_cast<std::size_t>(i)]));
  r = as("runner", {"id", "-G"});
  EXPECT_EQ(r.status, 0) << r.err;
  std::set<std::string> got;
  std::istringstream in(r.out);
  for (std::string g; in >> g;) got.insert(g);
  EXPECT_EQ(got, want) << r.out;
  EXPECT_EQ(got.count("0"), 0u) << "root's group survived the drop: " << r.out;

  const auto s = records("exec_start").back();
  EXPECT_EQ(s["run_as"], "nobody");
  EXPECT_EQ(s["cwd"], "/");
  // Without run_as the command runs as the server's user.
  EXPECT_EQ(as("alice", {"/usr/bin/id", "-u"}).out, "0\n");
  EXPECT_EQ(records("exec_start").back()["run_as"], "root");
}

TEST_F(Policy, RuleTimeoutAndMaxOutput) {
  start();
  const auto t0 = Clock::now();
  const auto r = as("timer", {"sleep", "30"});
  EXPECT_EQ(r.status, 124) << r.err;
  EXPECT_LT(Clock::now() - t0, 15s);
  auto end = records("exec_end").back();
  EXPECT_EQ(end["timed_out"], true) << end.dump();

  const auto big = as("timer", {"head", "-c", "5000", "/dev/zero"});
  EXPECT_LE(big.out.size(), 100u);
  end = records("exec_end").back();
  EXPECT_EQ(end["truncated"], true) << end.dump();
  EXPECT_LE(end["stdout_bytes"].get<std::uint64_t>(), 100u);
  EXPECT_EQ(end["stdout_bytes"], big.out.size());

  const auto small = as("timer", {"head", "-c", "100", "/dev/zero"});
  EXPECT_EQ(small.status, 0) << small.err;
  EXPECT_EQ(small.out.size(), 100u);
  EXPECT_EQ(records("exec_end").back()["truncated"], false);
}

TEST_F(Policy, CwdAndUmaskAreApplied) {
  start();
  auto r = as("bob", {"pwd"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "/tmp\n");
  EXPECT_EQ(records("exec_start").back()["cwd"], "/tmp");
  r = as("bob", {"-c", "umask; pwd"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "0027\n/tmp\n");
  // A rule without cwd (and without run_as) runs in "/".
  r = as("alice", {"echo", "x"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(records("exec_start").back()["cwd"], "/");
}

TEST_F(Policy, MemoryLimitStopsAHog) {
  start();
  const auto small =
      as("hog", {"-c", "x=$(head -c 1000000 /dev/zero | tr '\\0' a); echo done ${#x}"});
  EXPECT_EQ(small.status, 0) << small.err;
  EXPECT_EQ(small.out, "done 1000000\n");
  const auto big = as(
      "hog", {"-c", "x=$(head -c 200000000 /dev/zero | tr '\\0' a); echo done ${#x}"}, opts(40s));
  EXPECT_FALSE(big.timed_out);
  EXPECT_NE(big.status, 0) << big.out << big.err;
  EXPECT_FALSE(contains(big.out, "done")) << big.out;
  std::printf("[ info ] memory hog: status %d, stderr: %s\n", big.status,
              big.err.substr(0, 200).c_str());
  // The server is fine afterwards.
  EXPECT_EQ(as("alice", {"echo", "ok"}).out, "ok\n");
}

// Pids of processes whose command line is exactly `cmdline` (NULs as spaces).
std::vector<pid_t> processes_with_cmdline(const std::string& cmdline) {
  std::vector<pid_t> out;
  std::error_code ec;
  for (auto it = fs::directory_iterator("/proc", ec); !ec && it != fs::directory_iterator();
       it.increment(ec)) {
    const std::string name = it->path().filename();
    if (name.empty() || !std::all_of(name.begin(), name.end(), ::isdigit)) continue;
    std::string c = read_file(it->path().string() + "/cmdline");
    std::replace(c.begin(), c.end(), '\0', ' ');
    while (!c.empty() && c.back() == ' ') c.pop_back();
    if (c == cmdline) out.push_back(static_cast<pid_t>(std::stol(name)));
  }
  return out;
}

TEST_F(Policy, ForkBombIsStoppedByProcessLimitWhileOthersAreServed) {
  if (geteuid() != 0) {
    GTEST_SKIP() << "RLIMIT_NPROC only binds a run_as user; needs trexd as root, not uid "
                 << geteuid();
  }
  start();
  // A unique sleep length finds every process of this bomb in /proc.
  std::mt19937 rng(std::random_device{}());
  const std::string secs = "3." + std::to_string(100000 + rng() % 800000);
  const std::string sleep_cmd = "sleep " + secs;
  const std::string bomb =
      "echo started; for i in $(seq 200); do " + sleep_cmd + " & done; wait; echo finished";
  ensure_client("runner");
  Child child(server_->trex_argv("runner", {"-c", bomb}));
  ASSERT_TRUE(child.wait_for_output("started", 15s)) << child.out();

  // Another client is served while the bomb runs.
  const auto during = as("alice", {"echo", "during"});
  EXPECT_EQ(during.status, 0) << during.err;
  EXPECT_EQ(during.out, "during\n");

  const auto r = child.wait(30s);
  EXPECT_FALSE(r.timed_out);
  EXPECT_FALSE(contains(r.out, "finished")) << "200 processes ran under processes = 20";
  EXPECT_NE(r.status, 0);
  EXPECT_TRUE(contains(r.err, "fork") || contains(r.err, "Resource temporarily unavailable"))
      << r.err;
  std::printf("[ info ] fork bomb: status %d, stderr: %s\n", r.status,
              r.err.substr(0, 200).c_str());
  const auto running = processes_with_cmdline(sleep_cmd);
  EXPECT_LE(running.size(), 20u);
  // Nothing of the bomb survives for long (its sleeps are bounded anyway).
  EXPECT_TRUE(eventually([&] { return processes_with_cmdline(sleep_cmd).empty(); }, 15s));
  for (pid_t p : processes_with_cmdline(sleep_cmd)) ::kill(p, SIGKILL);

  const auto after = as("alice", {"echo", "after"});
  EXPECT_EQ(after.status, 0) << after.err;
  const auto s = records("exec_start");
  const auto it =
      std::find_if(s.begin(), s.end(), [&](const auto& j) { return j.value("shell", "") == bomb; });
  ASSERT_NE(it, s.end());
  EXPECT_EQ((*it)["run_as"], "nobody");
}

// --- trexd --explain -------------------------------------------------------

RunResult explain(const std::string& policy, const std::vector<std::string>& who_and_cmd) {
  std::vector<std::string> argv{TREXD_BIN, "--policy", policy, "--explain"};
  argv.insert(argv.end(), who_and_cmd.begin(), who_and_cmd.end());
  RunOptions o;
  o.timeout = 20s;
  return run(argv, o);
}

TEST(PolicyExplain, NamesTheDecidingRule) {
  TempDir tmp;
  const std::string path = tmp.file("policy.toml");
  write_file(path, kPolicy);

  auto r = explain(path, {"alice", "--ou", "ops", "--", "uptime"});
  EXPECT_EQ(r.status, 0) << r.out << r.err;
  EXPECT_TRUE(contains(r.out, "decision: allow by rule 'alice-basic'")) << r.out;
  EXPECT_TRUE(contains(r.out, "rule 'alice-basic' (" + path + ":")) << r.out;

  r = explain(path, {"opsy", "--ou", "ops", "--", "hostname"});
  EXPECT_EQ(r.status, 0) << r.out << r.err;
  EXPECT_TRUE(contains(r.out, "decision: allow by rule 'ops-hostname'")) << r.out;

  r = explain(path, {"alice", "--", "/tmp/uptime"});
  EXPECT_EQ(r.status, 1) << r.out << r.err;
  EXPECT_TRUE(contains(r.out, "decision: deny")) << r.out;
  EXPECT_TRUE(contains(r.out, "alice-basic")) << r.out;

  r = explain(path, {"eve", "--", "uptime"});
  EXPECT_EQ(r.status, 1) << r.out << r.err;
  EXPECT_TRUE(contains(r.out, "decision: deny")) << r.out;

  r = explain(path, {"bob", "--", "-c", "ls"});
  EXPECT_EQ(r.status, 0) << r.out << r.err;
  EXPECT_TRUE(contains(r.out, "decision: allow by rule 'bob-shell'")) << r.out;
  EXPECT_TRUE(contains(r.out, "shell")) << r.out;

  r = explain(path, {"alice", "--", "-c", "ls"});
  EXPECT_EQ(r.status, 1) << r.out << r.err;
  EXPECT_TRUE(contains(r.out, "decision: deny")) << r.out;
}

// --- broken policy files -----------------------------------------------------

struct Broken {
  const char* what;
  const char* text;
  int line;
  const char* mentions;
};

const Broken kBroken[] = {
    {"syntax error", "[[rule]]\nname = \"a\"\ncn = [\"alice\"]\nallow = [\"uptime\"\n", 4, ""},
    {"wrong type",
     "[[rule]]\nname = \"a\"\ncn = [\"alice\"]\nallow = [\"uptime\"]\ntimeout = \"soon\"\n", 5,
     "timeout"},
    {"unknown key",
     "[[rule]]\nname = \"a\"\ncn = [\"alice\"]\nallow = [\"uptime\"]\ncolour = \"red\"\n", 5,
     "colour"},
    {"unknown run_as user",
     "[[rule]]\nname = \"a\"\ncn = [\"alice\"]\nallow = [\"uptime\"]\nrun_as = "
     "\"no-such-user-x\"\n",
     5, "run_as"},
};

TEST_F(Policy, BrokenFileStopsTheStart) {
  const Pki& p = pki();
  for (const auto& b : kBroken) {
    SCOPED_TRACE(b.what);
    const std::string path = tmp_.file("broken.toml");
    write_file(path, b.text);
    const std::string logs = tmp_.file(std::string("log-") + std::to_string(&b - kBroken));
    const auto r =
        run({TREXD_BIN, "--listen", "127.0.0.1:0", "--ca", p.ca(), "--cert", p.cert("server"),
             "--key", p.key("server"), "--crl", p.crl(), "--log-dir", logs, "--policy", path},
            opts(20s));
    EXPECT_EQ(r.status, 2) << r.err;
    EXPECT_TRUE(contains(r.err, path + ":" + std::to_string(b.line) + ":")) << r.err;
    EXPECT_TRUE(contains(r.err, b.mentions)) << r.err;
    EXPECT_FALSE(contains(read_file(logs + "/server.log"), "listening on"));
    // --explain and --check-config refuse it too.
    EXPECT_EQ(explain(path, {"alice", "--", "uptime"}).status, 2);
  }
}

TEST_F(Policy, ReloadKeepsTheOldPolicyOnErrorAndAppliesAGoodOne) {
  start();
  // A live interactive session (shell lines), opened before any reload.
  RunOptions live_opts = opts(40s);
  live_opts.close_stdin = false;
  ensure_client("bob");
  Child live(server_->trex_argv("bob", {}), live_opts);
  ASSERT_TRUE(live.write_stdin("echo one\n"));
  ASSERT_TRUE(live.wait_for_output("one\n", 15s)) << live.out();

  auto policy_reloads = [&] {
    std::vector<nlohmann::json> out;
    for (auto& j : records("reload")) {
      if (j["what"] == "policy") out.push_back(j);
    }
    return out;
  };

  // A broken file: the old policy stays, the reload record says why.
  write_file(policy_path(), kBroken[2].text);
  server_->signal(SIGHUP);
  ASSERT_TRUE(eventually([&] { return policy_reloads().size() == 1; }));
  auto rec = policy_reloads().back();
  EXPECT_EQ(rec["ok"], false);
  EXPECT_TRUE(contains(rec["reason"].get<std::string>(), policy_path() + ":5:")) << rec.dump();
  EXPECT_TRUE(contains(server_->server_log(), "keeping the old policy"));
  auto r = as("alice", {"echo", "still"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "still\n");
  ASSERT_TRUE(live.write_stdin("echo two\n"));
  ASSERT_TRUE(live.wait_for_output("two\n", 15s)) << live.out();

  // A good file: alice may only run uptime, bob loses the shell.
  write_file(policy_path(),
             "[[rule]]\nname = \"v2\"\ncn = [\"alice\", \"bob\"]\nallow = [\"uptime\"]\n");
  server_->signal(SIGHUP);
  ASSERT_TRUE(eventually([&] { return policy_reloads().size() == 2; }));
  rec = policy_reloads().back();
  EXPECT_EQ(rec["ok"], true) << rec.dump();
  EXPECT_EQ(rec["reason"], "");

  // The live session's next command is judged by the new policy.
  ASSERT_TRUE(live.write_stdin("echo three\nexit\n"));
  live.close_stdin();
  const auto lr = live.wait(20s);
  EXPECT_FALSE(contains(lr.out, "three")) << lr.out;
  EXPECT_TRUE(contains(lr.err, kDeniedPrefix)) << lr.err;
  const auto denied = records("exec_denied");
  ASSERT_FALSE(denied.empty());
  EXPECT_EQ(denied.back()["shell"], "echo three");
  EXPECT_EQ(denied.back()["rule"], "v2");
  const auto starts = records("exec_start");
  ASSERT_GE(starts.size(), 1u);
  EXPECT_EQ(denied.back()["conn"], starts.front()["conn"]) << "not the same live session";

  // New sessions too.
  expect_denied("alice", {"echo", "x"}, "v2");
  EXPECT_EQ(as("alice", {"uptime"}).status, 0);
}

TEST_F(Policy, WithoutPolicyEveryCertificateMayRunAnything) {
  server_ = std::make_unique<Trexd>(pki(), tmp_.path());
  ASSERT_FALSE(server_->address().empty());
  EXPECT_TRUE(contains(server_->server_log(),
                       "--allow-all: no policy, every certificate signed by the CA may run "
                       "anything"))
      << server_->server_log();
  const auto r = as("eve", {"-c", "echo anything"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "anything\n");
  EXPECT_TRUE(records("exec_denied").empty());
}

}  // namespace
}  // namespace trex::testing
