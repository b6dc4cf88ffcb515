// The server's pure parts: what an approved request becomes.
#include <gtest/gtest.h>

#include "server/plan.hpp"

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

// The audit's session_close reason and exec_end ended_by come from the kind.
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
  CommandOutcome out;
  EXPECT_FALSE(out.protocol_error());
  out.session_end = SessionEnd{EndKind::kProtocolError, "x"};
  EXPECT_TRUE(out.protocol_error());
}

}  // namespace
}  // namespace trex::server
