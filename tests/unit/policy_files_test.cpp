// The put and get keys: glob syntax, matching, granted trees and decisions.
#include <gtest/gtest.h>

#include "policy/paths.hpp"
#include "trex/policy.hpp"

namespace trex::policy {
namespace {

using detail::check_glob;
using detail::glob_matches;
using detail::glob_tree;

TEST(PathGlob, StarStaysInOneComponentAndDoubleStarSpansAny) {
  EXPECT_TRUE(glob_matches("/srv/in/*.txt", "/srv/in/a.txt"));
  EXPECT_FALSE(glob_matches("/srv/in/*.txt", "/srv/in/sub/a.txt"));
  EXPECT_FALSE(glob_matches("/srv/in/*.txt", "/srv/in/a.txt.sh"));
  EXPECT_TRUE(glob_matches("/srv/in/**", "/srv/in/a"));
  EXPECT_TRUE(glob_matches("/srv/in/**", "/srv/in/a/b/c"));
  EXPECT_FALSE(glob_matches("/srv/in/**", "/srv/inbox/a"));
  EXPECT_FALSE(glob_matches("/srv/in/**", "/srv/other"));
  EXPECT_TRUE(glob_matches("/srv/**/out/*.log", "/srv/out/x.log"));
  EXPECT_TRUE(glob_matches("/srv/**/out/*.log", "/srv/a/b/out/x.log"));
  EXPECT_FALSE(glob_matches("/srv/**/out/*.log", "/srv/a/b/out/x.txt"));
  EXPECT_TRUE(glob_matches("/etc/motd", "/etc/motd"));
  EXPECT_FALSE(glob_matches("/etc/motd", "/etc/motd2"));
  EXPECT_TRUE(glob_matches("/d/file-?.[ch]", "/d/file-1.c"));
}

TEST(PathGlob, GrantedTreeIsTheLiteralPrefix) {
  EXPECT_EQ(glob_tree("/srv/lab/inbox/**"), "/srv/lab/inbox");
  EXPECT_EQ(glob_tree("/srv/lab/*/inbox/**"), "/srv/lab");
  EXPECT_EQ(glob_tree("/etc/motd"), "/etc");
  EXPECT_EQ(glob_tree("/motd"), "/");
  EXPECT_EQ(glob_tree("/**"), "/");
}

TEST(PathGlob, RefusesUnclearGlobs) {
  EXPECT_FALSE(check_glob("/srv/in/**"));
  EXPECT_TRUE(check_glob("srv/in/**"));
  EXPECT_TRUE(check_glob("/srv/../etc/**"));
  EXPECT_TRUE(check_glob("/srv//in"));
  EXPECT_TRUE(check_glob("/srv/in/"));
  EXPECT_TRUE(check_glob("/srv/a**b"));
  EXPECT_TRUE(check_glob("/**/**/**/**/**"));
}

constexpr const char* kPolicy = R"(
[[rule]]
name = "runner"
cn = ["alice"]
allow = ["uptime"]

[[rule]]
name = "inbox"
cn = ["alice", "bob"]
put = ["/srv/lab/inbox/**"]
get = ["/srv/lab/out/*.log", "/srv/lab/inbox/**"]
umask = "0027"

[[rule]]
name = "other"
cn = ["carol"]
allow = ["true"]
)";

Policy load() {
  auto p = Policy::parse(kPolicy, "files.toml");
  EXPECT_TRUE(p.ok()) << p.message();
  return std::move(*p);
}

TEST(DecideFile, GrantingGlobDecidesWithTreeAndRest) {
  const Policy p = load();
  auto d = p.decide_file({"alice", {}}, {FileOp::kPut, "/srv/lab/inbox/a/b.txt"});
  ASSERT_TRUE(d.allowed) << d.reason;
  EXPECT_EQ(d.rule, "inbox");
  EXPECT_EQ(d.tree, "/srv/lab/inbox");
  EXPECT_EQ(d.beneath, "a/b.txt");
  EXPECT_EQ(d.umask, 027u);
  d = p.decide_file({"bob", {}}, {FileOp::kGet, "/srv/lab/out/run.log"});
  ASSERT_TRUE(d.allowed) << d.reason;
  EXPECT_EQ(d.tree, "/srv/lab/out");
  EXPECT_EQ(d.beneath, "run.log");
}

TEST(DecideFile, RefusalsNameTheRule) {
  const Policy p = load();
  auto d = p.decide_file({"alice", {}}, {FileOp::kPut, "/srv/lab/out/run.log"});
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.rule, "inbox");
  EXPECT_NE(d.reason.find("rule 'inbox' does not grant put of '/srv/lab/out/run.log'"),
            std::string::npos)
      << d.reason;
  d = p.decide_file({"carol", {}}, {FileOp::kGet, "/srv/lab/out/run.log"});
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.rule, "other");
  EXPECT_EQ(d.reason, "rule 'other' grants no get");
  d = p.decide_file({"mallory", {}}, {FileOp::kGet, "/srv/lab/out/run.log"});
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.rule, "");
}

TEST(ExplainFile, NamesEachRuleTheGrantingGlobAndTheDecision) {
  const Policy p = load();
  auto lines = p.explain_file({"bob", {}}, {FileOp::kGet, "/srv/lab/out/run.log"});
  ASSERT_EQ(lines.size(), 5u);
  EXPECT_EQ(lines[0], "request from cn=bob ou=[]: get '/srv/lab/out/run.log'");
  EXPECT_EQ(lines[1], "rule 'runner' (files.toml:2): does not name cn=bob ou=[]");
  EXPECT_NE(lines[2].find("rule 'inbox' (files.toml:7): allowed: get glob '/srv/lab/out/*.log' "
                          "matches; opened beneath '/srv/lab/out'"),
            std::string::npos)
      << lines[2];
  EXPECT_EQ(lines[3], "rule 'other' (files.toml:14): not reached");
  EXPECT_EQ(lines[4], "decision: allow by rule 'inbox'");
  lines = p.explain_file({"alice", {}}, {FileOp::kPut, "/srv/lab/out/run.log"});
  EXPECT_EQ(lines[1], "rule 'runner' (files.toml:2): grants no put");
  EXPECT_EQ(lines[2],
            "rule 'inbox' (files.toml:7): no put glob matches (put = [/srv/lab/inbox/**])");
  EXPECT_EQ(lines.back().rfind("decision: deny: rule 'inbox' does not grant put", 0), 0u)
      << lines.back();
}

TEST(DecideFile, DotDotAndOtherUnnormalisedPathsAreRefused) {
  const Policy p = load();
  for (const char* path : {"/srv/lab/inbox/../../../etc/passwd", "/srv/lab/inbox/./a",
                           "/srv/lab/inbox//a", "/srv/lab/inbox/a/", "/srv/lab/inbox/.."}) {
    auto d = p.decide_file({"alice", {}}, {FileOp::kPut, path});
    EXPECT_FALSE(d.allowed) << path;
    EXPECT_NE(d.reason.find("normalised"), std::string::npos) << d.reason;
  }
}

TEST(DecideFile, WithoutPolicyEverythingUnderRoot) {
  auto d = Policy::allow_all().decide_file({"x", {}}, {FileOp::kGet, "/etc/hostname"});
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.tree, "/");
  EXPECT_EQ(d.beneath, "etc/hostname");
}

TEST(PutGetKeys, BadEntriesNameFileLineAndKey) {
  auto p = Policy::parse("[[rule]]\nname = \"r\"\ncn = [\"a\"]\nput = [\"/srv/../x\"]\n", "p.toml");
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.message().find("p.toml:4: rule 'r': key 'put' entry '/srv/../x'"), std::string::npos)
      << p.message();
  p = Policy::parse("[[rule]]\nname = \"r\"\ncn = [\"a\"]\nget = \"/srv/**\"\n", "p.toml");
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.message().find("key 'get' must be an array of strings"), std::string::npos);
}

TEST(PutGetKeys, ARuleMayGrantOnlyFiles) {
  auto p = Policy::parse("[[rule]]\nname = \"r\"\ncn = [\"a\"]\nget = [\"/srv/**\"]\n", "p.toml");
  ASSERT_TRUE(p.ok()) << p.message();
  EXPECT_FALSE(p->decide({"a", {}}, Request{false, {"true"}, ""}).allowed);
}

}  // namespace
}  // namespace trex::policy
