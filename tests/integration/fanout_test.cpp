// The client side of operations: fan-out over several servers (prefixed
// whole lines, a summary of failed hosts, the largest status, --json,
// --hosts-file, --parallel, --connect-timeout), interactive mode through a
// pseudo-terminal, and the warning about a client certificate that expires
// soon.
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <ctime>
#include <functional>
#include <map>
#include <memory>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/harness.hpp"
#include "support/pty.hpp"

namespace trex::testing {
namespace {

using Clock = std::chrono::steady_clock;

std::string utc_stamp(std::chrono::seconds offset) {
  const std::time_t t = std::time(nullptr) + offset.count();
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y%m%d%H%M%SZ", &tm);
  return buf;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

int count_of(const std::string& text, const std::string& needle) {
  int n = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

// A socket on 127.0.0.1 bound to port 0: `listen` = a server that never
// accepts (the kernel completes the TCP handshake, nobody speaks TLS);
// otherwise closed at once, leaving a port nothing listens on.
struct LocalPort {
  int fd = -1;
  std::string port;
  explicit LocalPort(bool listen) {
    fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    EXPECT_GE(fd, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    socklen_t len = sizeof(addr);
    EXPECT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
    port = std::to_string(ntohs(addr.sin_port));
    if (listen) {
      EXPECT_EQ(::listen(fd, 16), 0);
    } else {
      ::close(fd);
      fd = -1;
    }
  }
  ~LocalPort() {
    if (fd >= 0) ::close(fd);
  }
  std::string host() const { return "127.0.0.1:" + port; }
};

class Fanout : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    pki_tmp_ = new TempDir();
    pki_ = new Pki(pki_tmp_->path());
    // A client certificate that expires in 3 days.
    pki_->client("soon", {"--ou", "ops", "--end", utc_stamp(std::chrono::hours(72))});
    dir1_ = new TempDir();
    dir2_ = new TempDir();
    s1_ = new Trexd(*pki_, dir1_->path(), {"--kill-grace", "1"});
    s2_ = new Trexd(*pki_, dir2_->path(), {"--kill-grace", "1"});
  }
  static void TearDownTestSuite() {
    delete s1_;
    delete s2_;
    delete dir1_;
    delete dir2_;
    delete pki_;
    delete pki_tmp_;
  }

  static std::vector<std::string> trex_argv(const std::vector<std::string>& args,
                                            const std::string& name = "client") {
    std::vector<std::string> argv{TREX_BIN,         "--ca",  pki_->ca(),     "--cert",
                                  pki_->cert(name), "--key", pki_->key(name)};
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  }
  static RunResult trex(const std::vector<std::string>& args,
                        std::chrono::milliseconds timeout = 30s) {
    RunOptions o;
    o.timeout = timeout;
    return run(trex_argv(args), o);
  }

  static TempDir *pki_tmp_, *dir1_, *dir2_;
  static Pki* pki_;
  static Trexd *s1_, *s2_;
  TempDir tmp_;
};

TempDir* Fanout::pki_tmp_ = nullptr;
TempDir* Fanout::dir1_ = nullptr;
TempDir* Fanout::dir2_ = nullptr;
Pki* Fanout::pki_ = nullptr;
Trexd* Fanout::s1_ = nullptr;
Trexd* Fanout::s2_ = nullptr;

// ---- fan-out -------------------------------------------------------------

TEST_F(Fanout, PrefixesLinesSummarisesFailuresAndExitsWithTheLargestStatus) {
  ASSERT_FALSE(s1_->address().empty());
  ASSERT_FALSE(s2_->address().empty());
  const LocalPort dead(false);
  const auto r = trex({"-H", s1_->address() + "," + s2_->address(), "-H", dead.host(), "-c",
                       "echo line1; echo line2; echo err >&2; exit 3"});
  EXPECT_EQ(r.status, 255) << r.err;
  for (const auto* s : {s1_, s2_}) {
    const std::string p = s->address() + ": ";
    EXPECT_EQ(count_of(r.out, p + "line1\n"), 1) << r.out;
    EXPECT_EQ(count_of(r.out, p + "line2\n"), 1) << r.out;
    EXPECT_LT(r.out.find(p + "line1\n"), r.out.find(p + "line2\n")) << r.out;
    EXPECT_EQ(count_of(r.err, p + "err\n"), 1) << r.err;
  }
  EXPECT_EQ(lines_of(r.out).size(), 4u) << r.out;
  // A summary that names every failed host, the dead one first of all.
  std::string summary;
  for (const auto& l : lines_of(r.err)) {
    if (l.rfind("trex: ", 0) == 0 && l.find("hosts failed") != std::string::npos) summary = l;
  }
  ASSERT_FALSE(summary.empty()) << r.err;
  EXPECT_NE(summary.find(dead.host()), std::string::npos) << summary;
  EXPECT_NE(summary.find(s1_->address() + " (exit 3)"), std::string::npos) << summary;
  EXPECT_NE(summary.find(s2_->address() + " (exit 3)"), std::string::npos) << summary;
  EXPECT_NE(r.err.find(dead.host() + ": trex: "), std::string::npos) << r.err;
}

TEST_F(Fanout, NeverSplicesPartialLines) {
  const std::string cmd =
      "for i in 1 2 3; do printf 'aaaa'; sleep 0.1; printf 'bbbb'; sleep 0.1; printf 'cccc\\n'; "
      "done; printf 'tail'";
  const auto r = trex({"-H", s1_->address() + "," + s2_->address(), "-c", cmd});
  EXPECT_EQ(r.status, 0) << r.err;
  std::map<std::string, int> full, tails;
  const auto lines = lines_of(r.out);
  for (const auto& l : lines) {
    bool known = false;
    for (const auto* s : {s1_, s2_}) {
      const std::string p = s->address() + ": ";
      if (l == p + "aaaabbbbcccc") {
        ++full[s->address()];
        known = true;
      } else if (l == p + "tail") {
        ++tails[s->address()];
        known = true;
      }
    }
    EXPECT_TRUE(known) << "a spliced or unprefixed line: '" << l << "'\n" << r.out;
  }
  EXPECT_EQ(lines.size(), 8u) << r.out;
  for (const auto* s : {s1_, s2_}) {
    EXPECT_EQ(full[s->address()], 3) << r.out;
    EXPECT_EQ(tails[s->address()], 1) << r.out;
  }
  EXPECT_EQ(r.out.back(), '\n');
}

TEST_F(Fanout, JsonPrintsOneObjectPerHost) {
  const LocalPort dead(false);
  const auto r = trex({"--json", "-H", s1_->address() + "," + dead.host() + "," + s2_->address(),
                       "-c", "echo line1; echo err >&2; exit 3"});
  EXPECT_EQ(r.status, 255) << r.err;
  const auto lines = lines_of(r.out);
  ASSERT_EQ(lines.size(), 3u) << r.out;
  std::map<std::string, nlohmann::json> by_host;
  for (const auto& l : lines) {
    auto j = nlohmann::json::parse(l, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << l;
    for (const char* k : {"host", "exit", "signal", "stdout", "stderr", "duration_ms", "error"}) {
      EXPECT_TRUE(j.contains(k)) << k << " missing in " << l;
    }
    by_host[j.value("host", "")] = j;
  }
  for (const auto* s : {s1_, s2_}) {
    ASSERT_TRUE(by_host.count(s->address())) << r.out;
    const auto& j = by_host[s->address()];
    EXPECT_EQ(j["exit"], 3);
    EXPECT_TRUE(j["signal"].is_null());
    EXPECT_EQ(j["stdout"], "line1\n");
    EXPECT_EQ(j["stderr"], "err\n");
    EXPECT_TRUE(j["duration_ms"].is_number_integer());
    EXPECT_GE(j["duration_ms"].get<long long>(), 0);
    EXPECT_TRUE(j["error"].is_null()) << j.dump();
  }
  ASSERT_TRUE(by_host.count(dead.host())) << r.out;
  const auto& d = by_host[dead.host()];
  EXPECT_EQ(d["exit"], 255);
  EXPECT_TRUE(d["error"].is_string()) << d.dump();
  EXPECT_FALSE(d["error"].get<std::string>().empty());
  EXPECT_EQ(d["stdout"], "");
}

TEST_F(Fanout, GatherPrintsEachSetOfIdenticalResultsOnce) {
  const LocalPort dead(false);
  const std::string rule = "----------------\n";
  const std::string a = s1_->address(), b = s2_->address();
  auto r =
      trex({"-b", "-H", a + "," + dead.host() + "," + b, "-c", "echo same; echo warn >&2; exit 3"});
  EXPECT_EQ(r.status, 255) << r.err;
  const std::string both = rule + a + "," + b + " (2): exit 3\n" + rule;
  EXPECT_EQ(r.out.find(both + "same\n"), 0U) << r.out;  // the first host's group first
  EXPECT_EQ(count_of(r.out, "same"), 1) << r.out;
  EXPECT_EQ(count_of(r.err, both + "warn\n"), 1) << r.err;
  EXPECT_NE(r.out.find(rule + dead.host() + " (1): trex: "), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find(a + ": "), std::string::npos) << "no per-line prefixes: " << r.out;
  EXPECT_NE(r.err.find("trex: 3 of 3 hosts failed:"), std::string::npos) << r.err;
  // Different output: one group each; the reaper (the command's parent) differs.
  r = trex({"-b", "-H", a + "," + b, "-c", "echo $PPID"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(count_of(r.out, rule), 4) << r.out;
  EXPECT_NE(r.out.find(rule + a + " (1)\n" + rule), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(rule + b + " (1)\n" + rule), std::string::npos) << r.out;
  // Success with no output is left out; one host works too.
  r = trex({"-b", "-H", a + "," + b, "true"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "");
  r = trex({"-b", a, "-c", "printf one"});
  EXPECT_EQ(r.out, rule + a + " (1)\n" + rule + "one\n") << r.err;
}

TEST_F(Fanout, FirstCtrlCListsTheRunningHostsTheSecondInterruptsThem) {
  const std::string a = s1_->address(), b = s2_->address();
  Child c(trex_argv({"-n", "-H", a + "," + b, "-c",
                     "trap 'echo got-int; exit 7' INT; echo ready; while :; do sleep 0.1; done"}));
  ASSERT_TRUE(c.wait_for_output(a + ": ready\n"));
  ASSERT_TRUE(c.wait_for_output(b + ": ready\n"));
  c.kill(SIGINT);
  EXPECT_FALSE(c.wait_for_output("got-int", 1s)) << "the first Ctrl-C only lists the hosts";
  c.kill(SIGINT);
  const auto r = c.wait(60s);
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.status, 7) << r.err;
  const auto listed = r.err.find("trex: still running on 2 of 2 hosts: ");
  ASSERT_NE(listed, std::string::npos) << r.err;
  const auto line = r.err.substr(listed, r.err.find('\n', listed) - listed);
  EXPECT_NE(line.find(a), std::string::npos) << line;
  EXPECT_NE(line.find(b), std::string::npos) << line;
  EXPECT_EQ(count_of(r.out, ": got-int\n"), 2) << r.out;
  // The status each host ended with.
  EXPECT_NE(r.err.find(a + " (exit 7)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(b + " (exit 7)"), std::string::npos) << r.err;
}

TEST_F(Fanout, ThirdCtrlCGivesUpAndHostsNotStartedStayUnstarted) {
  const std::string a = s1_->address(), b = s2_->address();
  // The command and its sleep ignore SIGINT: only giving up ends this. Its
  // stderr joins stdout, so that each Ctrl-C is sent once the last one was
  // taken (signals of one kind that wait together are delivered once).
  std::vector<std::string> argv{"sh", "-c", "exec \"$@\" 2>&1", "sh"};
  for (const auto& w : trex_argv({"-n", "--parallel", "1", "-H", a + "," + b, "-c",
                                  "trap '' INT; echo ready; sleep 300"})) {
    argv.push_back(w);
  }
  Child c(argv);
  ASSERT_TRUE(c.wait_for_output(a + ": ready\n"));
  c.kill(SIGINT);
  ASSERT_TRUE(c.wait_for_output("trex: still running on 1 of 2 hosts: " + a + " ("));
  c.kill(SIGINT);
  ASSERT_TRUE(c.wait_for_output("trex: interrupting the commands on 1 of 2 hosts"));
  c.kill(SIGINT);
  const auto r = c.wait(60s);
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.status, 130) << r.out;
  EXPECT_NE(r.out.find(a + ": trex: interrupted again"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(b + " (not started: interrupted (Ctrl-C))"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find(b + ": ready"), std::string::npos) << r.out;
}

TEST_F(Fanout, HostsFileWithCommentsAndParallelOne) {
  const std::string hosts = tmp_.file("hosts");
  write_file(hosts, "# lab machines\n" + s1_->address() + "   # the first\n\n  \t\n" +
                        s2_->address() + "\n# end\n");
  auto r = trex({"--hosts-file", hosts, "-c", "echo up"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(count_of(r.out, s1_->address() + ": up\n"), 1) << r.out;
  EXPECT_EQ(count_of(r.out, s2_->address() + ": up\n"), 1) << r.out;
  EXPECT_EQ(lines_of(r.out).size(), 2u) << r.out;

  // --parallel 1 runs the hosts one after the other, and all of them; a
  // host named twice runs once.
  r = trex({"--parallel", "1", "-H", s1_->address(), "--hosts-file", hosts, "echo", "seq"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(count_of(r.out, s1_->address() + ": seq\n"), 1) << r.out;
  EXPECT_EQ(count_of(r.out, s2_->address() + ": seq\n"), 1) << r.out;
}

TEST_F(Fanout, ConnectTimeoutBoundsAHostThatDoesNotAnswer) {
  const LocalPort silent(true);  // accepts TCP (backlog), never speaks TLS
  const auto t0 = Clock::now();
  const auto r = trex(
      {"--connect-timeout", "1", "-H", silent.host() + "," + s1_->address(), "-c", "echo fine"},
      20s);
  const auto took = Clock::now() - t0;
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.status, 255) << r.err;
  EXPECT_LT(took, 5s) << "--connect-timeout 1 did not bound the silent host";
  EXPECT_EQ(r.out, s1_->address() + ": fine\n");
  std::string line;
  for (const auto& l : lines_of(r.err)) {
    if (l.rfind(silent.host() + ": trex: ", 0) == 0) line = l;
  }
  ASSERT_FALSE(line.empty()) << r.err;
  EXPECT_NE(line.find("timed out"), std::string::npos) << line;
}

// ---- interactive mode through a pseudo-terminal ---------------------------

TEST_F(Fanout, InteractiveThroughATerminal) {
  Pty t(s1_->trex_argv("client", {}, {"-T"}));  // line mode, not a login shell
  ASSERT_TRUE(t.ok());
  const std::string prompt = "trex 127.0.0.1$ ";
  ASSERT_TRUE(t.expect(prompt, 0)) << t.out();
  std::size_t mark = t.out().size();
  t.send("echo hi\r");
  ASSERT_TRUE(t.expect("\nhi\r\n", mark)) << t.out();
  ASSERT_TRUE(t.expect(prompt, mark)) << t.out();

  mark = t.out().size();
  t.send("sh -c 'exit 4'\r");
  ASSERT_TRUE(t.expect("[exit 4]", mark)) << t.out();
  ASSERT_TRUE(t.expect(prompt, mark)) << t.out();

  // Ctrl-C interrupts the command, not the session.
  const auto starts = audit_records(s1_->audit_path(), "exec_start").size();
  mark = t.out().size();
  t.send("sleep 30\r");
  ASSERT_TRUE(
      eventually([&] { return audit_records(s1_->audit_path(), "exec_start").size() > starts; }));
  const auto t0 = Clock::now();
  t.send("\x03");
  ASSERT_TRUE(t.expect("[exit 130]", mark, 10s)) << t.out();
  EXPECT_LT(Clock::now() - t0, scaled(5s));
  ASSERT_TRUE(t.expect(prompt, mark)) << t.out();

  mark = t.out().size();
  t.send("echo still here\r");
  ASSERT_TRUE(t.expect("\nstill here\r\n", mark)) << t.out();
  ASSERT_TRUE(t.expect(prompt, mark)) << t.out();
  t.send("exit\r");
  EXPECT_EQ(t.wait(), 0) << t.out();
}

TEST_F(Fanout, InteractiveWithoutATerminalPrintsNoPrompt) {
  RunOptions o;
  o.stdin_data = "echo hi\nsh -c 'exit 4'\necho bye\n";
  const auto r = s1_->trex("client", {}, o);
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "hi\nbye\n");
  EXPECT_EQ(r.out.find("trex "), std::string::npos);
  EXPECT_EQ(r.err, "[exit 4]\n");
}

// ---- client certificate expiry -------------------------------------------

TEST_F(Fanout, ClientCertificateExpiryWarnsOnceADay) {
  RunOptions o;
  o.env = {"XDG_CACHE_HOME=" + tmp_.file("cache"), "HOME=" + tmp_.path()};
  auto r = s1_->trex("soon", {"true"}, o);
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(count_of(r.err, "trex: warning: your certificate"), 1) << r.err;
  EXPECT_NE(r.err.find(pki_->cert("soon")), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("expires on"), std::string::npos) << r.err;
  // Again the same day: no second warning.
  r = s1_->trex("soon", {"true"}, o);
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.err.find("warning"), std::string::npos) << r.err;
  // Another cache (another user): warned again. A far-off certificate: never.
  RunOptions other;
  other.env = {"XDG_CACHE_HOME=" + tmp_.file("cache2"), "HOME=" + tmp_.path()};
  r = s1_->trex("soon", {"true"}, other);
  EXPECT_EQ(count_of(r.err, "trex: warning: your certificate"), 1) << r.err;
  r = s1_->trex("client", {"true"}, other);
  EXPECT_EQ(r.err.find("warning"), std::string::npos) << r.err;

  // tools/pki list marks it.
  const auto l = pki_->pki({"list"});
  bool marked = false;
  for (const auto& line : lines_of(l.out + l.err)) {
    if (line.find("soon") != std::string::npos &&
        (line.find("warning") != std::string::npos || line.find("WARN") != std::string::npos)) {
      marked = true;
    }
  }
  EXPECT_TRUE(marked) << l.out << l.err;
}

}  // namespace
}  // namespace trex::testing
