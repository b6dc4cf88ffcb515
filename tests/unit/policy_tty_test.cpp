// The policy's terminal keys: tty, record_input, and a login shell's need
// for shell = true.
#include <gtest/gtest.h>

#include <string>

#include "trex/policy.hpp"

namespace trex::policy {
namespace {

constexpr const char* kPolicy = R"(
[[rule]]
name = "plain"
cn = ["bob"]
allow = ["top", "vim"]

[[rule]]
name = "screens"
cn = ["alice"]
allow = ["top", "vim"]
tty = true

[[rule]]
name = "lab-shell"
cn = ["carol"]
shell = true
tty = true
record_input = true
)";

Policy must_parse(const std::string& text) {
  auto p = Policy::parse(text, "policy.toml");
  if (!p) {
    ADD_FAILURE() << p.message();
    return Policy{};
  }
  return std::move(*p);
}

Request on_tty(std::vector<std::string> argv) {
  Request r;
  r.argv = std::move(argv);
  r.tty = true;
  return r;
}

Request login() {
  Request r;
  r.tty = true;
  r.login = true;
  return r;
}

TEST(PolicyTty, ATerminalNeedsTtyTrue) {
  const Policy p = must_parse(kPolicy);
  const Decision refused = p.decide({"bob", {}}, on_tty({"top"}));
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(refused.rule, "plain");
  EXPECT_EQ(refused.reason, "rule 'plain' does not allow terminals (tty = true)");
  // The same command without a terminal is fine.
  EXPECT_TRUE(p.decide({"bob", {}}, Request{false, {"top"}, ""}).allowed);
  const Decision granted = p.decide({"alice", {}}, on_tty({"vim"}));
  EXPECT_TRUE(granted.allowed);
  EXPECT_EQ(granted.rule, "screens");
  EXPECT_FALSE(granted.record_input);
  // tty grants a terminal, not programs.
  EXPECT_EQ(p.decide({"alice", {}}, on_tty({"bash"})).reason,
            "rule 'screens' does not allow program 'bash'");
}

TEST(PolicyTty, ALoginShellNeedsShellToo) {
  const Policy p = must_parse(kPolicy);
  EXPECT_EQ(p.decide({"alice", {}}, login()).reason,
            "rule 'screens' does not allow a login shell (it needs shell = true)");
  EXPECT_EQ(p.decide({"bob", {}}, login()).reason,
            "rule 'plain' does not allow terminals (tty = true)");
  const Decision granted = p.decide({"carol", {}}, login());
  EXPECT_TRUE(granted.allowed);
  EXPECT_EQ(granted.rule, "lab-shell");
  EXPECT_TRUE(granted.record_input);
  Request no_tty = login();
  no_tty.tty = false;
  EXPECT_EQ(p.decide({"carol", {}}, no_tty).reason, "a login shell needs a terminal");
  EXPECT_TRUE(Policy::allow_all().decide({"x", {}}, login()).allowed);
}

TEST(PolicyTty, ExplainAndSummaryShowIt) {
  const Policy p = must_parse(kPolicy);
  std::string text;
  for (const auto& line : p.explain({"alice", {}}, login())) text += line + "\n";
  EXPECT_NE(text.find("a login shell on a terminal"), std::string::npos) << text;
  EXPECT_NE(text.find("terminals allowed; login shell not allowed (no shell = true) -> no"),
            std::string::npos)
      << text;
  text.clear();
  for (const auto& line : p.explain({"bob", {}}, on_tty({"top"}))) text += line + "\n";
  EXPECT_NE(text.find("terminals not allowed (no tty = true) -> no"), std::string::npos) << text;
  const auto summary = p.summary();
  ASSERT_EQ(summary.size(), 3U);
  EXPECT_EQ(summary[0].find("tty"), std::string::npos) << summary[0];
  EXPECT_NE(summary[1].find("; tty (recorded)"), std::string::npos) << summary[1];
  EXPECT_NE(summary[2].find("; tty (recorded with input)"), std::string::npos) << summary[2];
}

TEST(PolicyTty, KeysAreBooleansAndLinted) {
  auto bad =
      Policy::parse("[[rule]]\nname = \"x\"\ncn = [\"a\"]\nallow = [\"top\"]\ntty = 1\n", "p.toml");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.message().find("p.toml:5"), std::string::npos) << bad.message();
  EXPECT_NE(bad.message().find("'tty' must be true or false"), std::string::npos) << bad.message();
  const Policy p =
      must_parse("[[rule]]\nname = \"x\"\ncn = [\"a\"]\nallow = [\"top\"]\nrecord_input = true\n");
  bool warned = false;
  for (const auto& l : p.lint(false)) warned |= l.find("record_input without tty") != l.npos;
  EXPECT_TRUE(warned);
}

}  // namespace
}  // namespace trex::policy
