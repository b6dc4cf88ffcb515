// Operating trexd (issue: operations): SIGTERM drains running commands for
// --kill-grace seconds and then kills them, a second signal kills at once,
// SIGHUP reloads without dropping sessions, --check-config and the start-up
// log warn about expiry and name broken files, --config FILE with flags
// overriding it, and --help/--version of the three programs.
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <functional>
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

// UTC time `offset` from now in tools/pki's YYYYMMDDHHMMSSZ form.
std::string utc_stamp(std::chrono::seconds offset) {
  const std::time_t t = std::time(nullptr) + offset.count();
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y%m%d%H%M%SZ", &tm);
  return buf;
}

// An open TCP connection to 127.0.0.1:port that sends nothing (-1 on failure).
int open_tcp(const std::string& port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(std::stoi(port)));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Does a TCP connect to 127.0.0.1:port succeed?
bool can_connect(const std::string& port) {
  const int fd = open_tcp(port);
  if (fd >= 0) ::close(fd);
  return fd >= 0;
}

// The serial of a PEM certificate, as `openssl x509 -serial` prints it.
std::string serial_of_pem(const std::string& pem) {
  RunOptions o;
  o.stdin_data = pem;
  const auto r = run({"openssl", "x509", "-noout", "-serial"}, o);
  EXPECT_EQ(r.status, 0) << r.err << pem;
  auto s = r.out.substr(r.out.find('=') + 1);
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// The lines of `text` that start with `prefix` and contain `needle`.
int count_lines(const std::string& text, const std::string& prefix, const std::string& needle) {
  int n = 0;
  for (const auto& l : lines_of(text)) {
    if (l.rfind(prefix, 0) == 0 && l.find(needle) != std::string::npos) ++n;
  }
  return n;
}

std::vector<std::string> events_of(const std::string& audit) {
  std::vector<std::string> out;
  for (const auto& r : audit_records(audit)) out.push_back(r.value("event", ""));
  return out;
}

class Ops : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    pki_tmp_ = new TempDir();
    pki_ = new Pki(pki_tmp_->path());
    // A server certificate that expires in 3 days.
    pki_->pki({"server", "s2", "--loopback", "--end", utc_stamp(std::chrono::hours(72))});
  }
  static void TearDownTestSuite() {
    delete pki_;
    pki_ = nullptr;
    delete pki_tmp_;
    pki_tmp_ = nullptr;
  }

  static RunResult check_config(std::vector<std::string> flags) {
    std::vector<std::string> argv{TREXD_BIN, "--check-config"};
    const std::vector<std::pair<std::string, std::string>> defaults{
        {"--ca", pki_->ca()},
        {"--cert", pki_->cert("server")},
        {"--key", pki_->key("server")},
        {"--crl", pki_->crl()}};
    for (const auto& [flag, value] : defaults) {
      if (std::find(flags.begin(), flags.end(), flag) != flags.end()) continue;
      argv.push_back(flag);
      argv.push_back(value);
    }
    if (std::find(flags.begin(), flags.end(), "--policy") == flags.end()) {
      argv.push_back("--allow-all");
    }
    argv.insert(argv.end(), flags.begin(), flags.end());
    return run(argv);
  }

  static RunOptions opts(std::chrono::milliseconds timeout = 20s) {
    RunOptions o;
    o.timeout = timeout;
    return o;
  }

  static TempDir* pki_tmp_;
  static Pki* pki_;
  TempDir tmp_;
};

TempDir* Ops::pki_tmp_ = nullptr;
Pki* Ops::pki_ = nullptr;

// ---- SIGTERM / SIGINT ----------------------------------------------------

TEST_F(Ops, SigtermLetsARunningCommandFinishAndRefusesNewConnections) {
  Trexd d(*pki_, tmp_.path(), {"--kill-grace", "10"});
  ASSERT_FALSE(d.address().empty());
  Child c(d.trex_argv("client", {"-c", "echo started; sleep 2; echo done"}, {"-n"}));
  // Wait for the command itself, not its exec_start record (written before
  // the spawn): a child forked but not yet exec'd still holds a copy of the
  // listening socket (under TSan, whose fork is slow, for long enough that
  // the connection below would land in that copy's backlog).
  ASSERT_TRUE(c.wait_for_output("started\n", scaled(20s)));
  d.signal(SIGTERM);
  ASSERT_TRUE(eventually([&] {
    return d.server_log().find("stopped accepting") != std::string::npos;
  })) << d.server_log();
  // Draining: the listening socket is closed while the command still runs.
  EXPECT_FALSE(can_connect(d.port())) << "a new connection was accepted while draining";
  EXPECT_TRUE(audit_records(d.audit_path(), "exec_end").empty())
      << "the command did not get to run on after SIGTERM";
  const auto r = c.wait(20s);
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "started\ndone\n");
  EXPECT_EQ(d.wait(15s), 0) << "trexd did not exit 0 after draining";
  const auto ev = events_of(d.audit_path());
  ASSERT_GE(ev.size(), 3u);
  EXPECT_EQ(ev[ev.size() - 3], "exec_end");
  EXPECT_EQ(ev[ev.size() - 2], "session_close");
  EXPECT_EQ(ev.back(), "server_stop");
  const auto end = audit_records(d.audit_path(), "exec_end");
  ASSERT_EQ(end.size(), 1u);
  EXPECT_EQ(end[0]["exit_code"], 0);
  EXPECT_EQ(verify_trail(d.audit_path()), 0);
}

TEST_F(Ops, SigtermKillsACommandPastTheGracePeriod) {
  Trexd d(*pki_, tmp_.path(), {"--kill-grace", "1"});
  ASSERT_FALSE(d.address().empty());
  Child c(d.trex_argv("client", {"sleep", "300"}, {"-n"}));
  ASSERT_TRUE(eventually([&] { return !audit_records(d.audit_path(), "exec_start").empty(); }));
  const auto t0 = Clock::now();
  d.signal(SIGTERM);
  EXPECT_EQ(d.wait(10s), 0) << "trexd did not exit 0 after the grace period";
  EXPECT_LT(Clock::now() - t0, 6s) << "trexd took too long to stop";
  const auto r = c.wait(10s);
  EXPECT_TRUE(r.status == 128 + SIGTERM || r.status == 128 + SIGKILL) << r.status << " " << r.err;
  const auto ends = audit_records(d.audit_path(), "exec_end");
  ASSERT_EQ(ends.size(), 1u);
  EXPECT_TRUE(ends[0]["signal"] == SIGTERM || ends[0]["signal"] == SIGKILL) << ends[0].dump();
  const auto ev = events_of(d.audit_path());
  ASSERT_FALSE(ev.empty());
  EXPECT_EQ(ev.back(), "server_stop");
  EXPECT_EQ(verify_trail(d.audit_path()), 0);
}

TEST_F(Ops, SecondSigtermKillsAtOnce) {
  Trexd d(*pki_, tmp_.path(), {"--kill-grace", "30"});
  ASSERT_FALSE(d.address().empty());
  Child c(d.trex_argv("client", {"sleep", "300"}, {"-n"}));
  ASSERT_TRUE(eventually([&] { return !audit_records(d.audit_path(), "exec_start").empty(); }));
  d.signal(SIGTERM);
  // Two signals sent together may merge into one: send the second after
  // the first was taken.
  ASSERT_TRUE(
      eventually([&] { return d.server_log().find("stop requested") != std::string::npos; }));
  EXPECT_TRUE(d.alive());
  const auto t0 = Clock::now();
  d.signal(SIGINT);
  EXPECT_EQ(d.wait(10s), 0);
  EXPECT_LT(Clock::now() - t0, 5s) << "the second signal did not kill the command at once";
  const auto r = c.wait(10s);
  EXPECT_TRUE(r.status == 128 + SIGKILL || r.status == 128 + SIGTERM) << r.status << " " << r.err;
  EXPECT_EQ(audit_records(d.audit_path(), "exec_end").size(), 1u);
  EXPECT_EQ(events_of(d.audit_path()).back(), "server_stop");
}

// ---- SIGHUP --------------------------------------------------------------

// A held interactive session still answers: it echoes `word`, then exits 0
// having printed `all_output` over its life.
void expect_session_runs_on(Child& c, const std::string& word, const std::string& all_output) {
  ASSERT_TRUE(c.write_stdin("echo " + word + "\n"));
  ASSERT_TRUE(c.wait_for_output(word + "\n")) << c.out();
  ASSERT_TRUE(c.write_stdin("exit\n"));
  const auto r = c.wait(20s);
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, all_output);
}

TEST_F(Ops, SighupReloadsWithoutDroppingALiveSession) {
  const std::string policy = tmp_.file("policy.toml");
  write_file(policy, "[[rule]]\nname = \"ops\"\nou = [\"ops\"]\nallow = [\"*\"]\nshell = true\n");
  Trexd d(*pki_, tmp_.path(), {"--policy", policy});
  ASSERT_FALSE(d.address().empty());
  RunOptions o;
  o.close_stdin = false;
  Child c(d.trex_argv("client", {}), o);
  ASSERT_TRUE(c.write_stdin("echo before\n"));
  ASSERT_TRUE(c.wait_for_output("before\n")) << c.out();
  d.signal(SIGHUP);
  std::vector<nlohmann::json> reloads;
  ASSERT_TRUE(eventually([&] {
    return (reloads = audit_records(d.audit_path(), "reload")).size() >= 2;
  })) << "no reload records";
  for (const auto& r : reloads) EXPECT_EQ(r["ok"], true) << r.dump();
  EXPECT_EQ(reloads[0]["what"], "tls");
  EXPECT_EQ(reloads[1]["what"], "policy");
  // The same session still runs commands.
  expect_session_runs_on(c, "after", "before\nafter\n");
  EXPECT_EQ(audit_records(d.audit_path(), "session_open").size(), 1u);
  EXPECT_TRUE(d.alive());
  EXPECT_EQ(verify_trail(d.audit_path()), 0);
}

// The serial of the certificate the server presents to a new handshake
// (openssl s_client, so that trex's own checks play no part).
std::string served_serial(const Trexd& d, const Pki& pki) {
  RunOptions o;
  o.timeout = 20s;
  const auto r = run({"openssl", "s_client", "-connect", d.address(), "-tls1_3", "-alpn", "trex/1",
                      "-CAfile", pki.ca(), "-cert", pki.cert("client"), "-key", pki.key("client")},
                     o);
  const auto begin = r.out.find("-----BEGIN CERTIFICATE-----");
  const std::string end_marker = "-----END CERTIFICATE-----";
  const auto end = r.out.find(end_marker, begin);
  if (begin == std::string::npos || end == std::string::npos) {
    ADD_FAILURE() << "no server certificate in s_client's output: " << r.out << r.err;
    return "";
  }
  return serial_of_pem(r.out.substr(begin, end + end_marker.size() - begin) + "\n");
}

TEST_F(Ops, SighupReloadsTheServerCertificateAndKeepsItWhenTheNewKeyIsBroken) {
  Pki pki(tmp_.path(), *pki_);
  Trexd d(pki, tmp_.path());
  ASSERT_FALSE(d.address().empty());
  const std::string old_serial = serial_of_pem(read_file(pki.cert("server")));
  ASSERT_EQ(served_serial(d, pki), old_serial);

  // Re-issue: a new certificate and key in the files trexd was started with.
  pki.pki({"server", "renewed", "--loopback"});
  const std::string new_serial = serial_of_pem(read_file(pki.cert("renewed")));
  ASSERT_NE(new_serial, old_serial);
  namespace fs = std::filesystem;
  fs::copy_file(pki.cert("renewed"), pki.cert("server"), fs::copy_options::overwrite_existing);
  fs::copy_file(pki.key("renewed"), pki.key("server"), fs::copy_options::overwrite_existing);
  d.signal(SIGHUP);
  std::vector<nlohmann::json> reloads;
  ASSERT_TRUE(eventually([&] {
    return !(reloads = audit_records(d.audit_path(), "reload")).empty();
  })) << d.server_log();
  EXPECT_EQ(reloads[0]["what"], "tls");
  EXPECT_EQ(reloads[0]["ok"], true) << reloads[0].dump();
  EXPECT_EQ(served_serial(d, pki), new_serial) << "new handshakes still see the old certificate";
  auto r = d.trex("client", {"echo", "renewed"}, opts());
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "renewed\n");

  // A broken key at the next reload: the certificate and key in use stay.
  write_file(pki.key("server"), "-----BEGIN PRIVATE KEY-----\nbroken\n-----END PRIVATE KEY-----\n");
  d.signal(SIGHUP);
  ASSERT_TRUE(eventually([&] {
    return (reloads = audit_records(d.audit_path(), "reload")).size() >= 2;
  })) << d.server_log();
  EXPECT_EQ(reloads[1]["what"], "tls");
  EXPECT_EQ(reloads[1]["ok"], false) << reloads[1].dump();
  EXPECT_NE(reloads[1].value("reason", "").find(pki.key("server")), std::string::npos)
      << reloads[1].dump();
  EXPECT_NE(d.server_log().find("keeping the old TLS settings"), std::string::npos)
      << d.server_log();
  EXPECT_TRUE(d.alive());
  EXPECT_EQ(served_serial(d, pki), new_serial);
  r = d.trex("client", {"echo", "kept"}, opts());
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "kept\n");
  EXPECT_EQ(verify_trail(d.audit_path()), 0);
}

TEST_F(Ops, RevokedClientIsRefusedWhileAnotherLiveSessionGoesOn) {
  Pki pki(tmp_.path(), *pki_);
  pki.client("bob");
  // tools/pki revoke moves bob's files away: keep copies to present.
  const std::string bob_crt = tmp_.file("bob.crt"), bob_key = tmp_.file("bob.key");
  write_file(bob_crt, read_file(pki.cert("bob")));
  write_file(bob_key, read_file(pki.key("bob")));
  Trexd d(pki, tmp_.path());
  ASSERT_FALSE(d.address().empty());
  const auto as_bob = [&] {
    return run({TREX_BIN, "--ca", pki.ca(), "--cert", bob_crt, "--key", bob_key, d.address(),
                "echo", "bob"},
               opts());
  };
  auto r = as_bob();
  ASSERT_EQ(r.status, 0) << r.err;
  ASSERT_EQ(r.out, "bob\n");

  RunOptions hold;
  hold.close_stdin = false;
  Child a(d.trex_argv("client", {}), hold);
  ASSERT_TRUE(a.write_stdin("echo one\n"));
  ASSERT_TRUE(a.wait_for_output("one\n")) << a.out();

  pki.pki({"revoke", "bob"});
  pki.pki({"crl"});
  d.signal(SIGHUP);
  std::vector<nlohmann::json> reloads;
  ASSERT_TRUE(eventually([&] {
    return !(reloads = audit_records(d.audit_path(), "reload")).empty();
  })) << d.server_log();
  EXPECT_EQ(reloads[0]["ok"], true) << reloads[0].dump();

  r = as_bob();
  EXPECT_EQ(r.status, 255) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("revoked"), std::string::npos) << r.err;
  EXPECT_TRUE(eventually([&] {
    for (const auto& f : audit_records(d.audit_path(), "auth_fail")) {
      if (f.value("claimed_cn", "") == "bob" && f.value("reason", "") == "revoked") return true;
    }
    return false;
  })) << read_file(d.audit_path());

  // The session opened before the reload runs on.
  expect_session_runs_on(a, "two", "one\ntwo\n");
  const auto opens = audit_records(d.audit_path(), "session_open");
  ASSERT_EQ(opens.size(), 2u);  // bob before the revocation, then client
  EXPECT_EQ(opens[1]["cn"], "client");
  std::vector<nlohmann::json> closes;
  ASSERT_TRUE(eventually(
      [&] { return (closes = audit_records(d.audit_path(), "session_close")).size() == 2; }));
  EXPECT_EQ(closes[1]["conn"], opens[1]["conn"]);
  EXPECT_EQ(closes[1]["commands"], 2);
  EXPECT_EQ(closes[1]["reason"], "client closed");
  EXPECT_EQ(verify_trail(d.audit_path()), 0);
}

// ---- busy ----------------------------------------------------------------

TEST_F(Ops, BusyRefusalsAreAudited) {
  Trexd d(*pki_, tmp_.path(), {"--max-sessions", "1"});
  ASSERT_FALSE(d.address().empty());
  const auto busy_records = [&] {
    std::vector<nlohmann::json> out;
    for (auto& f : audit_records(d.audit_path(), "auth_fail")) {
      if (f.value("reason", "") == "server busy") out.push_back(std::move(f));
    }
    return out;
  };
  RunOptions hold;
  hold.close_stdin = false;
  Child a(d.trex_argv("client", {}), hold);
  ASSERT_TRUE(a.write_stdin("echo holding\n"));
  ASSERT_TRUE(a.wait_for_output("holding\n")) << a.out();

  // A client beyond the limit is told so after its handshake.
  const auto r = d.trex("client", {"echo", "second"}, opts());
  EXPECT_EQ(r.status, 255) << r.err;
  EXPECT_EQ(r.err.rfind("trex: server busy", 0), 0u) << r.err;
  EXPECT_EQ(r.out, "");
  std::vector<nlohmann::json> busy;
  ASSERT_TRUE(eventually([&] { return (busy = busy_records()).size() == 1; }))
      << read_file(d.audit_path());
  EXPECT_EQ(busy[0].value("peer", "").rfind("127.0.0.1:", 0), 0u) << busy[0].dump();
  ASSERT_TRUE(busy[0].contains("conn")) << busy[0].dump();
  const auto opens = audit_records(d.audit_path(), "session_open");
  ASSERT_EQ(opens.size(), 1u);
  EXPECT_NE(busy[0]["conn"], opens[0]["conn"]);

  // Refused after authentication: the record names who was turned away.
  EXPECT_EQ(busy[0].value("cn", ""), "client") << busy[0].dump();
  // Silent connections take no session slot (it_handshake_stage): they are
  // never refused as busy.
  std::vector<int> raw;
  for (int i = 0; i < 8; ++i) raw.push_back(open_tcp(d.port()));
  ASSERT_TRUE(a.write_stdin("echo among-silent\n"));
  ASSERT_TRUE(a.wait_for_output("among-silent\n")) << a.out();
  for (int fd : raw) ::close(fd);
  EXPECT_EQ(busy_records().size(), 1u) << read_file(d.audit_path());

  // The held session is untouched; once it ends the slot serves again.
  ASSERT_TRUE(a.write_stdin("echo still\n"));
  ASSERT_TRUE(a.wait_for_output("still\n")) << a.out();
  ASSERT_TRUE(a.write_stdin("exit\n"));
  EXPECT_EQ(a.wait(20s).status, 0);
  EXPECT_TRUE(eventually([&] {
    const auto again = d.trex("client", {"echo", "next"}, opts());
    return again.status == 0 && again.out == "next\n";
  }));
  EXPECT_EQ(verify_trail(d.audit_path()), 0);
}

// ---- --check-config and expiry ------------------------------------------

TEST_F(Ops, CheckConfigGoodSetup) {
  const auto r = check_config({});
  EXPECT_EQ(r.status, 0) << r.out << r.err;
  EXPECT_GE(count_lines(r.out, "ok: ", ""), 3) << r.out;
  EXPECT_EQ(count_lines(r.out, "error:", ""), 0) << r.out;
  EXPECT_EQ(count_lines(r.out, "ok: ", "CRL"), 1) << r.out;
}

TEST_F(Ops, CheckConfigWarnsAboutACertificateExpiringSoon) {
  const auto r = check_config({"--cert", pki_->cert("s2"), "--key", pki_->key("s2")});
  EXPECT_EQ(r.status, 0) << r.out << r.err;
  EXPECT_EQ(count_lines(r.out, "warning: ", pki_->cert("s2")), 1) << r.out;
  EXPECT_EQ(count_lines(r.out, "warning: ", "expires in"), 1) << r.out;
}

TEST_F(Ops, CheckConfigFailsOnAnExpiredCrl) {
  Pki copy(tmp_.path(), *pki_);
  copy.pki({"crl", "--lastupdate", utc_stamp(-std::chrono::hours(48)), "--nextupdate",
            utc_stamp(-std::chrono::hours(1))});
  const auto r = check_config({"--crl", copy.crl()});
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_GE(count_lines(r.out, "error: ", copy.crl()), 1) << r.out;
  EXPECT_EQ(count_lines(r.out, "ok: ", "CRL"), 0) << r.out;
}

TEST_F(Ops, CheckConfigFailsOnAKeyThatDoesNotMatch) {
  const auto r = check_config({"--key", pki_->key("client")});
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_EQ(count_lines(r.out, "error: ", pki_->key("client")), 1) << r.out;
  EXPECT_EQ(count_lines(r.out, "ok: ", "matches the certificate"), 0) << r.out;
}

TEST_F(Ops, CheckConfigNamesABrokenPolicyFileAndLine) {
  const std::string policy = tmp_.file("broken.toml");
  write_file(policy, "[[rule]]\nname = \"x\"\nallow = 5\nou = [\"ops\"]\n");
  auto r = check_config({"--policy", policy});
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_EQ(count_lines(r.out, "error: ", policy + ":3"), 1) << r.out;
  write_file(policy, "[[rule]]\nname = \"x\"\nallow = [\"ls\"\nou = [\"ops\"]\n");
  r = check_config({"--policy", policy});
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_EQ(count_lines(r.out, "error: ", policy + ":"), 1) << r.out;
}

TEST_F(Ops, CheckConfigSummarizesThePolicyAndWarnsAboutItsRules) {
  const std::string policy = tmp_.file("lint.toml");
  write_file(policy,
             "[[rule]]\n"               // line 1
             "name = \"admins\"\n"      // 2
             "ou = [\"ops\"]\n"         // 3
             "allow = [\"*\"]\n"        // 4
             "shell = true\n"           // 5
             "\n"                       // 6
             "[[rule]]\n"               // 7
             "name = \"ops-uptime\"\n"  // 8
             "ou = [\"ops\"]\n"         // 9
             "allow = [\"uptime\"]\n"   // 10
             "\n"                       // 11
             "[[rule]]\n"               // 12
             "name = \"alice-echo\"\n"  // 13
             "cn = [\"alice\"]\n"       // 14
             "allow = [\"echo\"]\n"     // 15
             "args = [\"^hi$\"]\n"      // 16
             "run_as = \"nobody\"\n");  // 17
  const auto r = check_config({"--policy", policy});
  // Warnings do not make the configuration wrong.
  EXPECT_EQ(r.status, 0) << r.out << r.err;
  EXPECT_EQ(count_lines(r.out, "error:", ""), 0) << r.out;
  EXPECT_EQ(count_lines(r.out, "ok: ", "policy " + policy + ": 3 rules"), 1) << r.out;
  // One summary line per rule, indented under the policy line.
  EXPECT_EQ(count_lines(r.out, "  rule 'admins' (line 1): ",
                        "who ou=[ops]; programs [*] with any args; shell yes; run_as (server's "
                        "user); limits none"),
            1)
      << r.out;
  EXPECT_EQ(count_lines(r.out, "  rule 'ops-uptime' (line 7): ",
                        "who ou=[ops]; programs [uptime] with any args; shell no"),
            1)
      << r.out;
  EXPECT_EQ(count_lines(r.out, "  rule 'alice-echo' (line 12): ",
                        "who cn=[alice]; programs [echo] with args matching 1 pattern(s); shell "
                        "no; run_as nobody"),
            1)
      << r.out;
  // Lint: full access, and a rule that can never decide.
  EXPECT_EQ(count_lines(r.out, "warning: ",
                        "rule 'admins' allows any program and shell commands: full access for "
                        "its identities"),
            1)
      << r.out;
  EXPECT_EQ(count_lines(r.out, "warning: ",
                        "rule 'ops-uptime' (line 7) can never decide: rule 'admins' (line 1) "
                        "comes first, covers the same identities and allows everything it allows"),
            1)
      << r.out;
  EXPECT_EQ(count_lines(r.out, "warning: ", "can never decide"), 1) << r.out;
  EXPECT_EQ(count_lines(r.out, "warning: ", "rule 'alice-echo'"), 0) << r.out;
  // Running as root, a rule without run_as runs commands as root.
  EXPECT_EQ(count_lines(r.out, "warning: ", "runs commands as root (no run_as)"),
            geteuid() == 0 ? 2 : 0)
      << r.out;
}

TEST_F(Ops, CheckConfigNamesAMissingCaFile) {
  const std::string missing = tmp_.file("no-such-ca.crt");
  const auto r = check_config({"--ca", missing});
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_GE(count_lines(r.out, "error: ", missing), 1) << r.out;
}

TEST_F(Ops, StartupLogWarnsAboutExpiry) {
  Trexd d(*pki_, tmp_.path(), {"--cert", pki_->cert("s2"), "--key", pki_->key("s2")});
  ASSERT_FALSE(d.address().empty());
  // The warning is logged just after "listening on", which the harness waits for.
  EXPECT_TRUE(eventually([&] { return d.server_log().find("expires in") != std::string::npos; }));
  const auto log = d.server_log();
  EXPECT_NE(log.find("expires in"), std::string::npos) << log;
  EXPECT_NE(log.find(pki_->cert("s2")), std::string::npos) << log;
  // A certificate that is far from expiry gives no warning.
  TempDir other;
  Trexd fine(*pki_, other.path());
  ASSERT_FALSE(fine.address().empty());
  EXPECT_EQ(fine.server_log().find("expires in"), std::string::npos) << fine.server_log();
}

// ---- --config FILE ------------------------------------------------------

TEST_F(Ops, ConfigFileTakesEffect) {
  const std::string conf = tmp_.file("trexd.toml");
  write_file(conf, "listen = \"127.0.0.1:0\"\nca = \"" + pki_->ca() + "\"\ncert = \"" +
                       pki_->cert("server") + "\"\nkey = \"" + pki_->key("server") +
                       "\"\ncrl = \"" + pki_->crl() + "\"\nlog_dir = \"" + tmp_.file("log") +
                       "\"\nmax_sessions = 3\nidle_timeout = 1\nkill_grace = 2\n"
                       "allow_all = true\n");
  // The file alone: the check reports its values.
  auto r = run({TREXD_BIN, "--config", conf, "--check-config"});
  EXPECT_EQ(r.status, 0) << r.out << r.err;
  EXPECT_EQ(count_lines(r.out, "ok: ", "listen 127.0.0.1:0, max 3 sessions"), 1) << r.out;
  // A flag overrides the file.
  r = run({TREXD_BIN, "--config", conf, "--max-sessions", "5", "--check-config"});
  EXPECT_EQ(count_lines(r.out, "ok: ", "max 5 sessions"), 1) << r.out;

  // The server from the file alone: idle_timeout = 1 closes an idle session.
  Trexd d(*pki_, tmp_.path(), {"--config", conf}, false);
  ASSERT_FALSE(d.address().empty());
  RunOptions o;
  o.close_stdin = false;
  Child c(d.trex_argv("client", {}), o);
  ASSERT_TRUE(c.write_stdin("echo hi\n"));
  ASSERT_TRUE(c.wait_for_output("hi\n"));
  std::vector<nlohmann::json> closes;
  ASSERT_TRUE(eventually([&] {
    return !(closes = audit_records(d.audit_path(), "session_close")).empty();
  })) << "the idle session was not closed";
  EXPECT_EQ(closes[0]["reason"], "idle timeout");
  const auto cr = c.wait(10s);
  EXPECT_NE(cr.status, 0);
}

TEST_F(Ops, ConfigFileValuesAreOverriddenByFlags) {
  // The file's paths are wrong; the harness's flags give the right ones.
  const std::string conf = tmp_.file("trexd.toml");
  write_file(conf,
             "ca = \"/nonexistent/ca.crt\"\ncert = \"/nonexistent/s.crt\"\n"
             "log_dir = \"/nonexistent/log\"\nallow_all = true\n");
  // Without the flags the file's paths stop trexd (exit 2, naming the file).
  const auto bad = run({TREXD_BIN, "--config", conf, "--log-dir", tmp_.file("badlog")}, opts(10s));
  EXPECT_EQ(bad.status, 2) << bad.err;
  EXPECT_NE(bad.err.find("/nonexistent/"), std::string::npos) << bad.err;
  // With them it starts, logs where the flag says and serves.
  Trexd d(*pki_, tmp_.path(), {"--config", conf});
  ASSERT_FALSE(d.address().empty()) << read_file(tmp_.file("trexd.stderr"));
  const auto r = d.trex("client", {"echo", "served"}, opts());
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "served\n");
}

TEST_F(Ops, ConfigFileUnknownKeyIsNamedWithFileAndLine) {
  const std::string conf = tmp_.file("bad.toml");
  write_file(conf, "# comment\nlisten = \"127.0.0.1:0\"\nno_such_key = 1\n");
  // --check-config reports it as a finding (exit 1, one "error:" line).
  const auto r = run({TREXD_BIN, "--config", conf, "--check-config"});
  EXPECT_EQ(r.status, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("error: " + conf + ":3: unknown key 'no_such_key'"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("configuration has 1 error(s)"), std::string::npos) << r.out;
  // The server refuses to start the same way.
  const auto s = run({TREXD_BIN, "--config", conf, "--log-dir", tmp_.file("log")}, opts(10s));
  EXPECT_EQ(s.status, 2) << s.err;
  EXPECT_NE(s.err.find("no_such_key"), std::string::npos) << s.err;
}

TEST_F(Ops, ExampleConfigParses) {
  // The example's relative pki/ paths match the harness PKI's layout.
  // Its policy = "policy.toml" is the example policy, copied where it says.
  RunOptions o = opts();
  o.cwd = pki_tmp_->path();
  write_file(pki_tmp_->file("policy.toml"),
             read_file(std::string(TREX_SOURCE_DIR) + "/tools/policy.example.toml"));
  const auto r = run({TREXD_BIN, "--config",
                      std::string(TREX_SOURCE_DIR) + "/tools/trexd.example.toml", "--check-config"},
                     o);
  EXPECT_EQ(r.status, 0) << r.out << r.err;
  EXPECT_EQ(count_lines(r.out, "ok: ", "listen 127.0.0.1:7443, max 64 sessions"), 1) << r.out;
}

// ---- --help and --version ------------------------------------------------

TEST_F(Ops, SizeFlagsTakeSuffixesAndRefuseNonsense) {
  struct Case {
    std::vector<std::string> flags;
    std::string says;
  } cases[] = {
      {{"--max-output", "12X"}, "--max-output: must be a size of at least 1 bytes"},
      {{"--max-output", "0"}, "--max-output: must be a size of at least 1 bytes"},
      {{"--audit-max-bytes", "1K"}, "--audit-max-bytes: must be a size of at least 4096 bytes"},
      {{"--audit-max-bytes", "-5"}, "not '-5'"},
  };
  for (const auto& c : cases) {
    std::vector<std::string> argv{TREXD_BIN};
    argv.insert(argv.end(), c.flags.begin(), c.flags.end());
    const auto r = run(argv, opts(10s));
    EXPECT_EQ(r.status, 2) << c.flags[1];
    EXPECT_NE(r.err.find(c.says), std::string::npos) << c.flags[1] << ": " << r.err;
  }
}

TEST_F(Ops, HelpListsOptionsAndVersionPrintsOne) {
  auto r = run({TREXD_BIN, "--help"});
  EXPECT_EQ(r.status, 0);
  for (const char* flag : {"--config",
                           "--listen",
                           "--ca",
                           "--cert",
                           "--key",
                           "--crl",
                           "--policy",
                           "--log-dir",
                           "--audit-log",
                           "--max-sessions",
                           "--command-timeout",
                           "--handshake-timeout",
                           "--idle-timeout",
                           "--max-output",
                           "--kill-grace",
                           "--audit-fsync",
                           "--audit-max-bytes",
                           "--syslog",
                           "--check-config",
                           "--explain",
                           "--ou",
                           "--help",
                           "--version",
                           "7443"}) {
    EXPECT_NE(r.out.find(flag), std::string::npos) << "trexd --help lacks " << flag;
  }
  r = run({TREX_BIN, "--help"});
  EXPECT_EQ(r.status, 0);
  for (const char* flag :
       {"--ca", "--cert", "--key", "--port", "--timeout", "-n", "--connect-timeout", "--hosts-file",
        "--parallel", "--json", "-v", "-H", "-c", "--help", "--version"}) {
    EXPECT_NE(r.out.find(flag), std::string::npos) << "trex --help lacks " << flag;
  }
  r = run({TREX_AUDIT_BIN, "--help"});
  EXPECT_EQ(r.status, 0);
  for (const char* word : {"verify", "show", "stats"}) {
    EXPECT_NE(r.out.find(word), std::string::npos) << "trex-audit --help lacks " << word;
  }
  r = run({TREX_AUDIT_BIN, "show", "--help"});
  EXPECT_EQ(r.status, 0);
  for (const char* flag : {"--client", "--event", "--since", "--until", "--failed", "--json"}) {
    EXPECT_NE(r.out.find(flag), std::string::npos) << "trex-audit show --help lacks " << flag;
  }
  for (const char* bin : {TREXD_BIN, TREX_BIN, TREX_AUDIT_BIN}) {
    r = run({bin, "--version"});
    EXPECT_EQ(r.status, 0) << bin;
    EXPECT_NE(r.out.find(TREX_VERSION), std::string::npos) << bin << ": " << r.out;
  }
}

}  // namespace
}  // namespace trex::testing
