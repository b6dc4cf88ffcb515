// The server's pure parts: what an approved request becomes, and how many
// refusals an address may write into the audit trail.
#include <gtest/gtest.h>

#include <pwd.h>
#include <unistd.h>

#include <fstream>

#include "server/plan.hpp"
#include "server/refusals.hpp"
#include "trex/server.hpp"

namespace trex::server {
namespace {

struct PlanTest : ::testing::Test {
  proto::ExecRequest req;
  policy::Decision allow;
  Account acct{"alice", "/home/alice"};
  Requester who{"ops-1", 7};
  config::ServerConfig cfg;

  PlanTest() {
    req.argv = {"ls", "-l"};
    allow.allowed = true;
    cfg.command_timeout = 100;
    cfg.max_output = 1000;
    cfg.kill_grace = 3;
  }
  CommandPlan plan() const { return plan_command(req, allow, acct, who, cfg); }
};

TEST_F(PlanTest, ArgvRunsAsGivenWithTheFixedEnvironment) {
  const auto p = plan();
  EXPECT_EQ(p.spec.program, "ls");
  EXPECT_EQ(p.spec.argv, (std::vector<std::string>{"ls", "-l"}));
  EXPECT_EQ(p.spec.cwd, "/");
  const std::vector<std::string> env{"PATH=" + std::string(exec::kCommandPath),
                                     "HOME=/home/alice",
                                     "USER=alice",
                                     "LANG=C.UTF-8",
                                     "TREX_CLIENT=ops-1",
                                     "TREX_SESSION=7"};
  EXPECT_EQ(p.spec.env, env);
  EXPECT_TRUE(p.spec.stdin_open);
  EXPECT_FALSE(p.spec.run_as);
}

TEST_F(PlanTest, ShellGoesThroughBinSh) {
  req.shell = true;
  req.argv.clear();
  req.command = "echo hi | wc";
  const auto p = plan();
  EXPECT_EQ(p.spec.program, "/bin/sh");
  EXPECT_EQ(p.spec.argv, (std::vector<std::string>{"sh", "-c", "echo hi | wc"}));
  const auto text = command_text(req);
  EXPECT_TRUE(text.shell);
  EXPECT_EQ(text.command, "echo hi | wc");
  EXPECT_TRUE(text.argv.empty());
}

TEST_F(PlanTest, RunAsStartsInTheAccountsHomeUnlessTheRuleSaysWhere) {
  allow.run_as = "alice";
  allow.umask = 027;
  allow.limits.memory = 1 << 20;
  EXPECT_EQ(plan().spec.cwd, "/home/alice");
  EXPECT_EQ(plan().spec.run_as, std::optional<std::string>("alice"));
  EXPECT_EQ(plan().spec.umask, std::optional<unsigned>(027));
  EXPECT_EQ(plan().spec.limits, allow.limits);
  allow.cwd = "/srv";
  EXPECT_EQ(plan().spec.cwd, "/srv");
}

TEST_F(PlanTest, StdinClosedOnRequest) {
  req.stdin_open = false;
  EXPECT_FALSE(plan().spec.stdin_open);
}

TEST_F(PlanTest, TheTightestLimitWins) {
  EXPECT_EQ(plan().limits.timeout, std::chrono::seconds(100));
  EXPECT_EQ(plan().limits.max_output, 1000u);
  EXPECT_EQ(plan().limits.kill_grace, std::chrono::seconds(3));
  allow.timeout_s = 50;
  allow.max_output = 500;
  EXPECT_EQ(plan().limits.timeout, std::chrono::seconds(50));
  EXPECT_EQ(plan().limits.max_output, 500u);
  req.timeout_s = 20;
  EXPECT_EQ(plan().limits.timeout, std::chrono::seconds(20));
  // A client or rule cannot raise the server's limits.
  req.timeout_s = 1000;
  allow.timeout_s = 2000;
  allow.max_output = 5000;
  EXPECT_EQ(plan().limits.timeout, std::chrono::seconds(100));
  EXPECT_EQ(plan().limits.max_output, 1000u);
  EXPECT_EQ(plan().limits.stop_fd, -1);
}

// trexd's own account and a run_as account are told apart, also once cached.
TEST(AccountFor, OwnAndRunAsAccountsAreKeptApart) {
  const passwd* own = ::getpwuid(::geteuid());
  const passwd* nobody = ::getpwnam("nobody");
  if (own == nullptr || nobody == nullptr) GTEST_SKIP() << "no passwd entries here";
  const std::string own_name = own->pw_name;
  for (int round = 0; round < 2; ++round) {  // the second round is answered from the cache
    EXPECT_EQ(account_for(std::nullopt).name, own_name);
    const Account n = account_for(std::string("nobody"));
    EXPECT_EQ(n.name, "nobody");
    EXPECT_EQ(n.home, ::access("/nonexistent", F_OK) == 0 ? "/nonexistent" : "/");
    EXPECT_EQ(account_for(std::string("no-such-user-trex")).name, "no-such-user-trex");
  }
}

// The audit's session_close reason and exec_end ended_by come from the kind.
// Start-up, reload, --check-config and --explain read the policy here.
TEST(LoadPolicy, FileAllowAllOrNamedAsMissing) {
  config::ServerConfig c;
  auto none = load_policy(c);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.message().rfind("no policy: ", 0), 0u) << none.message();
  c.allow_all = true;
  auto all = load_policy(c);
  ASSERT_TRUE(all.ok());
  EXPECT_TRUE(all->is_allow_all());
  char tmpl[] = "/tmp/trex-policy-XXXXXX";
  const int fd = ::mkstemp(tmpl);
  ASSERT_GE(fd, 0);
  ::close(fd);
  std::ofstream(tmpl) << "[[rule]]\nname = \"r\"\ncn = [\"a\"]\nallow = [\"true\"]\n";
  c.allow_all = false;
  c.policy = tmpl;
  auto file = load_policy(c);
  ASSERT_TRUE(file.ok()) << file.message();
  EXPECT_FALSE(file->is_allow_all());
  EXPECT_EQ(file->rules().size(), 1u);
  std::ofstream(tmpl) << "[[rule]]\nname = 1\n";
  auto bad = load_policy(c);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.message().rfind(std::string(tmpl) + ":2:", 0), 0u) << bad.message();
  ::unlink(tmpl);
  auto gone = load_policy(c);
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.message(),
            "cannot read policy file '" + std::string(tmpl) + "': No such file or directory");
}

TEST(SessionEnd, TextFollowsTheKind) {
  EXPECT_EQ((SessionEnd{EndKind::kClientClosed, {}}).text(), "client closed");
  EXPECT_EQ((SessionEnd{EndKind::kClientGone, {}}).text(), "client gone");
  EXPECT_EQ((SessionEnd{EndKind::kClientDisconnected, {}}).text(), "client disconnected");
  EXPECT_EQ((SessionEnd{EndKind::kClientDisconnected, "connection lost"}).text(),
            "client disconnected: connection lost");
  EXPECT_EQ((SessionEnd{EndKind::kConnectionError, "reset"}).text(), "connection error: reset");
  EXPECT_EQ((SessionEnd{EndKind::kProtocolError, "unexpected exit frame"}).text(),
            "protocol error: unexpected exit frame");
  EXPECT_EQ((SessionEnd{EndKind::kIdleTimeout, {}}).text(), "idle timeout");
  EXPECT_EQ((SessionEnd{EndKind::kServerStopping, {}}).text(), "server stopping");
  EXPECT_EQ((SessionEnd{EndKind::kCertificate, "certificate revoked"}).text(),
            "certificate revoked");
  CommandOutcome out;
  EXPECT_FALSE(out.error_sent());
  out.session_end = SessionEnd{EndKind::kProtocolError, "x"};
  EXPECT_TRUE(out.error_sent());
  out.session_end = SessionEnd{EndKind::kCertificate, "certificate expired"};
  EXPECT_TRUE(out.error_sent());
  out.session_end = SessionEnd{EndKind::kClientGone, {}};
  EXPECT_FALSE(out.error_sent());
}

// ---- refusal rate ---------------------------------------------------------

struct RefusalLimiterTest : ::testing::Test {
  Instant t0{std::chrono::steady_clock::time_point{} + std::chrono::hours(1),
             std::chrono::system_clock::from_time_t(1'700'000'000)};
  Instant at(std::chrono::milliseconds d) const { return {t0.mono + d, t0.wall + d}; }
};

TEST_F(RefusalLimiterTest, ABurstIsRecordedThenTheRestIsCountedPerAddress) {
  RefusalLimiter lim(3, std::chrono::seconds(60));
  int recorded = 0;
  for (int i = 0; i < 10; ++i) recorded += lim.admit("10.0.0.1", "timeout", at({}));
  EXPECT_EQ(recorded, 3);
  // Another address has its own burst.
  EXPECT_TRUE(lim.admit("10.0.0.2", "unknown CA", at({})));
  EXPECT_TRUE(lim.take_due(at(std::chrono::seconds(59))).empty());
  EXPECT_EQ(lim.next_due(), t0.mono + std::chrono::seconds(60));
}

TEST_F(RefusalLimiterTest, TheWindowEndsWithOneSummaryAndTheAddressStartsAfresh) {
  RefusalLimiter lim(2, std::chrono::seconds(60));
  lim.admit("10.0.0.1", "timeout", at({}));
  lim.admit("10.0.0.1", "timeout", at({}));
  for (int i = 0; i < 5; ++i) lim.admit("10.0.0.1", "timeout", at(std::chrono::seconds(1)));
  for (int i = 0; i < 2; ++i) lim.admit("10.0.0.1", "no certificate", at(std::chrono::seconds(2)));
  lim.admit("10.0.0.2", "timeout", at({}));  // within its burst: no summary
  const auto due = lim.take_due(at(std::chrono::seconds(60)));
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].peer, "10.0.0.1");
  EXPECT_EQ(due[0].count, 7u);
  EXPECT_EQ(due[0].reasons,
            (std::map<std::string, std::uint64_t>{{"no certificate", 2}, {"timeout", 5}}));
  EXPECT_EQ(due[0].window_start, audit::rfc3339_utc(t0.wall));
  EXPECT_EQ(due[0].window_end, audit::rfc3339_utc(t0.wall + std::chrono::seconds(60)));
  EXPECT_FALSE(lim.next_due().has_value());
  EXPECT_TRUE(lim.admit("10.0.0.1", "timeout", at(std::chrono::seconds(61))));
}

TEST_F(RefusalLimiterTest, StopTakesEveryOpenWindowEndingNow) {
  RefusalLimiter lim(1, std::chrono::seconds(60));
  for (int i = 0; i < 4; ++i) lim.admit("10.0.0.1", "timeout", at({}));
  const auto due = lim.take_due(at(std::chrono::seconds(5)), true);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].count, 3u);
  EXPECT_EQ(due[0].window_end, audit::rfc3339_utc(t0.wall + std::chrono::seconds(5)));
  EXPECT_TRUE(lim.take_due(at(std::chrono::seconds(5)), true).empty());
}

TEST_F(RefusalLimiterTest, AddressesBeyondTheTableShareOneWindow) {
  RefusalLimiter lim(1, std::chrono::seconds(60), 2);
  EXPECT_TRUE(lim.admit("10.0.0.1", "timeout", at({})));
  EXPECT_TRUE(lim.admit("10.0.0.2", "timeout", at({})));
  EXPECT_TRUE(lim.admit("10.0.0.3", "timeout", at({})));   // the first under "*"
  EXPECT_FALSE(lim.admit("10.0.0.4", "timeout", at({})));  // counted under "*"
  const auto due = lim.take_due(at({}), true);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].peer, "*");
  EXPECT_EQ(due[0].count, 1u);
}

}  // namespace
}  // namespace trex::server
