#include "trex/policy.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>

#include "policy/text.hpp"

namespace trex::policy {
namespace {

// gmock is not linked into unit tests: a small substring check instead.
struct HasSubstr {
  explicit HasSubstr(std::string n) : needle(std::move(n)) {}
  std::string needle;
};

::testing::AssertionResult contains_format(const char* expr, const char* /*matcher*/,
                                           const std::string& hay, const HasSubstr& m) {
  if (hay.find(m.needle) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << expr << " is \"" << hay << "\", without \"" << m.needle << "\"";
}

#define EXPECT_CONTAINS(hay, matcher) EXPECT_PRED_FORMAT2(contains_format, hay, matcher)

constexpr const char* kExample = R"(
[[rule]]
name = "ops-readonly"
cn = ["alice", "bob"]
ou = ["ops"]
allow = ["uptime", "/usr/bin/systemctl"]
args = ["^status( [a-z0-9@.-]+)?$", ""]
shell = false
run_as = "root"
timeout = 300
max_output = 10485760
cwd = "/srv/lab"
umask = "0027"
limits = { cpu = 60, memory = "512M", processes = 64, open_files = 256, file_size = "1G" }
)";

Policy must_parse(std::string_view text) {
  Result<Policy> p = Policy::parse(text, "policy.toml");
  if (!p) {
    ADD_FAILURE() << "parse failed: " << p.message();
    return Policy{};  // denies everything, so no later assertion passes by accident
  }
  return std::move(*p);
}

std::string parse_error(std::string_view text) {
  Result<Policy> p = Policy::parse(text, "policy.toml");
  if (p) {
    ADD_FAILURE() << "parsed but should not have:\n" << text;
    return "";
  }
  return p.message();
}

Identity who(std::string cn, std::vector<std::string> ou = {}) {
  return {std::move(cn), std::move(ou)};
}
Request run(std::vector<std::string> argv) { return {false, std::move(argv), ""}; }
Request sh(std::string command) { return {true, {}, std::move(command)}; }

// A rule for alice at line 2 (line 1 is empty); extra lines follow from line 6.
std::string rule_with(std::string_view extra) {
  return "\n[[rule]]\nname = \"ops\"\ncn = [\"alice\"]\nallow = [\"uptime\"]\n" +
         std::string(extra) + "\n";
}

// ---- loading: valid files -------------------------------------------------

TEST(PolicyParse, ReadsEveryKeyOfTheExample) {
  Policy p = must_parse(kExample);
  ASSERT_EQ(p.rules().size(), 1u);
  const Rule& r = p.rules()[0];
  EXPECT_EQ(r.name, "ops-readonly");
  EXPECT_EQ(r.line, 2);
  EXPECT_EQ(r.cn, (std::vector<std::string>{"alice", "bob"}));
  EXPECT_EQ(r.ou, (std::vector<std::string>{"ops"}));
  EXPECT_EQ(r.allow, (std::vector<std::string>{"uptime", "/usr/bin/systemctl"}));
  EXPECT_EQ(r.args_patterns.size(), 2u);
  EXPECT_EQ(r.args.size(), 2u);
  EXPECT_FALSE(r.shell);
  EXPECT_EQ(r.run_as, "root");
  EXPECT_EQ(r.timeout_s, 300u);
  EXPECT_EQ(r.max_output, 10485760u);
  EXPECT_EQ(r.cwd, "/srv/lab");
  EXPECT_EQ(r.umask, 027u);
  EXPECT_EQ(r.limits.cpu_seconds, 60u);
  EXPECT_EQ(r.limits.memory, 512ull << 20);
  EXPECT_EQ(r.limits.processes, 64u);
  EXPECT_EQ(r.limits.open_files, 256u);
  EXPECT_EQ(r.limits.file_size, 1ull << 30);
  EXPECT_FALSE(p.is_allow_all());
  EXPECT_EQ(p.source(), "policy.toml");
}

TEST(PolicyParse, OptionalKeysDefaultToUnset) {
  Policy p = must_parse(rule_with(""));
  ASSERT_EQ(p.rules().size(), 1u);
  const Rule& r = p.rules()[0];
  EXPECT_FALSE(r.shell);
  EXPECT_FALSE(r.run_as || r.timeout_s || r.max_output || r.cwd || r.umask);
  EXPECT_EQ(r.limits, exec::Limits{});
  EXPECT_TRUE(r.args.empty());
}

TEST(PolicyParse, EmptyFilesAreValidAndDenyEverything) {
  for (const char* text : {"", "\n\n", "# only a comment\n", "rule = []\n"}) {
    Policy p = must_parse(text);
    EXPECT_TRUE(p.rules().empty()) << text;
    EXPECT_FALSE(p.decide(who("alice"), run({"uptime"})).allowed);
    EXPECT_FALSE(p.decide(who("alice"), sh("id")).allowed);
  }
}

TEST(PolicyParse, SizeSuffixesArePowersOf1024) {
  const std::pair<const char*, std::uint64_t> cases[] = {{"1", 1},
                                                         {"\"1\"", 1},
                                                         {"\"10K\"", 10240},
                                                         {"\"10k\"", 10240},
                                                         {"\"3M\"", 3 << 20},
                                                         {"\"2G\"", 2ull << 30},
                                                         {"\"1T\"", 1ull << 40},
                                                         {"\"1KB\"", 1024},
                                                         {"\"64mb\"", 64ull << 20},
                                                         {"4096", 4096}};
  for (const auto& [text, bytes] : cases) {
    Policy p = must_parse(rule_with(std::string("max_output = ") + text));
    ASSERT_EQ(p.rules().size(), 1u) << text;
    EXPECT_EQ(p.rules()[0].max_output, bytes) << text;
    Policy q = must_parse(rule_with(std::string("limits = { memory = ") + text + " }"));
    ASSERT_EQ(q.rules().size(), 1u) << text;
    EXPECT_EQ(q.rules()[0].limits.memory, bytes) << text;
  }
  // The grammar is util::parse_size's; a policy size must also be positive.
  for (const char* bad : {"0", "\"0\"", "\"0K\"", "\"1X\"", "-1", "\"1.5M\""}) {
    const auto r = Policy::parse(rule_with(std::string("max_output = ") + bad), "p.toml");
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.message().find("must be a positive size"), std::string::npos) << r.message();
  }
}

TEST(PolicyParse, UmaskForms) {
  const std::pair<const char*, unsigned> cases[] = {
      {"\"0027\"", 027},  {"\"027\"", 027}, {"\"27\"", 027}, {"\"0\"", 0},
      {"\"0777\"", 0777}, {"0o027", 027},   {"0o777", 0777}, {"0", 0}};
  for (const auto& [text, value] : cases) {
    Policy p = must_parse(rule_with(std::string("umask = ") + text));
    ASSERT_EQ(p.rules().size(), 1u) << text;
    EXPECT_EQ(p.rules()[0].umask, value) << text;
  }
}

TEST(PolicyParse, AcceptsShellOnlyRulesOuOnlyRulesAndAnyCn) {
  Policy p = must_parse(R"(
[[rule]]
name = "shell-only"
ou = ["admins"]
shell = true
[[rule]]
name = "anyone"
cn = ["*"]
allow = ["*"]
)");
  ASSERT_EQ(p.rules().size(), 2u);
  EXPECT_TRUE(p.rules()[0].allow.empty());
  EXPECT_EQ(p.rules()[1].cn, std::vector<std::string>{"*"});
}

// ---- loading: errors name the file, the line and the key ------------------

struct BadKey {
  const char* line;
  const char* key;
  const char* says;
};

TEST(PolicyParse, TypeErrorsNameFileLineAndKey) {
  const BadKey cases[] = {
      {"timeout = 0", "timeout", "must be a positive integer"},
      {"timeout = -5", "timeout", "must be a positive integer"},
      {"timeout = \"300\"", "timeout", "must be a positive integer"},
      {"timeout = 1.5", "timeout", "must be a positive integer"},
      {"timeout = 4294967296", "timeout", "must be a positive integer"},
      {"max_output = 0", "max_output", "positive size"},
      {"max_output = \"10X\"", "max_output", "positive size"},
      {"max_output = \"M\"", "max_output", "positive size"},
      {"max_output = \" 10M\"", "max_output", "positive size"},
      {"max_output = \"99999999999999999999T\"", "max_output", "positive size"},
      {"max_output = true", "max_output", "positive size"},
      {"shell = \"yes\"", "shell", "true or false"},
      {"run_as = 5", "run_as", "user name"},
      {"run_as = \"\"", "run_as", "user name"},
      {"cwd = \"srv/lab\"", "cwd", "absolute path"},
      {"cwd = 5", "cwd", "absolute path"},
      {"umask = \"0999\"", "umask", "octal"},
      {"umask = \"01777\"", "umask", "octal"},
      {"umask = \"\"", "umask", "octal"},
      {"umask = 22", "umask", "decimal"},
      {"umask = 0o1000", "umask", "octal"},
      {"umask = true", "umask", "octal"},
      {"ou = \"ops\"", "ou", "array of strings"},
      {"ou = [1]", "ou", "array of strings"},
      {"ou = [\"\"]", "ou", "empty string"},
      {"ou = [\"*\"]", "ou", "cn = [\"*\"]"},
      {"ou = [\"a\\nb\"]", "ou", "control character"},
      {"args = \"^x$\"", "args", "array of strings"},
      {"limits = 5", "limits", "must be a table"},
      {"limits = { cpu = 0 }", "limits.cpu", "positive integer"},
      {"limits = { cpu = \"60\" }", "limits.cpu", "positive integer"},
      {"limits = { memory = \"5Q\" }", "limits.memory", "positive size"},
      {"limits = { processes = \"64\" }", "limits.processes", "positive integer"},
      {"limits = { open_files = -1 }", "limits.open_files", "positive integer"},
      {"limits = { file_size = 0 }", "limits.file_size", "positive size"},
  };
  for (const auto& c : cases) {
    const std::string msg = parse_error(rule_with(c.line));
    EXPECT_CONTAINS(msg, HasSubstr(std::string("policy.toml:6: rule 'ops': key '") + c.key + "'"))
        << c.line;
    EXPECT_CONTAINS(msg, HasSubstr(c.says)) << c.line;
  }
}

TEST(PolicyParse, TheLeadsExampleMessage) {
  EXPECT_EQ(parse_error(rule_with("timeout = 0")),
            "policy.toml:6: rule 'ops': key 'timeout' must be a positive integer");
}

TEST(PolicyParse, BadAllowEntries) {
  const std::pair<const char*, const char*> cases[] = {
      {"bin/ls", "relative path"},     {"./ls", "relative path"},
      {"../ls", "relative path"},      {"ls/", "relative path"},
      {"/usr//bin/ls", "normalised"},  {"/usr/bin/../bin/rm", "normalised"},
      {"/usr/./bin/ls", "normalised"}, {"/usr/bin/", "normalised"},
      {"/usr/bin/..", "normalised"},   {"/", "normalised"},
      {"..", "not a program name"},    {".", "not a program name"},
  };
  for (const auto& [entry, says] : cases) {
    const std::string msg =
        parse_error("[[rule]]\nname = \"r\"\ncn = [\"a\"]\nallow = [\"ok\",\n  \"" +
                    std::string(entry) + "\"]\n");
    EXPECT_CONTAINS(msg, HasSubstr("policy.toml:5: rule 'r': key 'allow' entry")) << entry;
    EXPECT_CONTAINS(msg, HasSubstr(says)) << entry;
  }
}

TEST(PolicyParse, BadRegexNamesLineAndPattern) {
  for (const char* pattern : {"(", "[a-", "a{2,1}", "(a)\\\\1", "*x"}) {
    const std::string msg = parse_error(rule_with(std::string("args = [\"") + pattern + "\"]"));
    EXPECT_CONTAINS(msg, HasSubstr("policy.toml:6: rule 'ops': key 'args' pattern")) << pattern;
  }
  EXPECT_CONTAINS(parse_error(rule_with("args = [\"(\"]")), HasSubstr("'('"));
  EXPECT_CONTAINS(parse_error(rule_with("args = [\"" + std::string(600, 'a') + "\"]")),
                  HasSubstr("longer than 512 bytes"));
  // Huge repeat counts overflowed libstdc++'s regex compiler (policy_fuzz).
  for (const char* pattern : {"a{2222222222222222222}", "a{1,99999}", "(x){1001}", "a{3,}{5000}",
                              "(a)\\\\2222222222222222222"}) {
    EXPECT_CONTAINS(parse_error(rule_with(std::string("args = [\"") + pattern + "\"]")),
                    HasSubstr("references of at most 1000 are allowed"))
        << pattern;
  }
  // Escaped braces and counts within the limit are fine.
  for (const char* pattern : {"a{1000}", "x\\\\{99999\\\\}", "[0-9]{1,3}", "--count,20000"}) {
    const auto p =
        Policy::parse(rule_with(std::string("args = [\"") + pattern + "\"]"), "policy.toml");
    EXPECT_TRUE(p.ok()) << pattern << ": " << (p.ok() ? "" : p.message());
  }
}

TEST(PolicyParse, UnknownKeysAreErrors) {
  EXPECT_CONTAINS(parse_error(rule_with("alow = [\"ls\"]")),
                  HasSubstr("policy.toml:6: rule 'ops': unknown key 'alow'"));
  EXPECT_CONTAINS(parse_error(rule_with("limits = { cpu = 1, stack = 5 }")),
                  HasSubstr("policy.toml:6: rule 'ops': unknown key 'limits.stack'"));
  EXPECT_CONTAINS(parse_error("version = 1\n" + rule_with("")),
                  HasSubstr("policy.toml:1: unknown key 'version'"));
  EXPECT_CONTAINS(parse_error(rule_with("[rule.extra]\nx = 1")),
                  HasSubstr("policy.toml:6: rule 'ops': unknown key 'extra'"));
}

TEST(PolicyParse, RuleShapeErrors) {
  EXPECT_CONTAINS(parse_error("\n[[rule]]\ncn = [\"a\"]\nallow = [\"x\"]\n"),
                  HasSubstr("policy.toml:2: rule #1: key 'name' is required"));
  EXPECT_CONTAINS(parse_error(rule_with("") + "[[rule]]\nname = 5\ncn = [\"a\"]\n"),
                  HasSubstr("policy.toml:8: rule #2: key 'name' must be a non-empty string"));
  EXPECT_CONTAINS(parse_error("[[rule]]\nname = \"it's\"\ncn = [\"a\"]\nallow = [\"x\"]\n"),
                  HasSubstr("quotes"));
  EXPECT_CONTAINS(parse_error("[[rule]]\nname = \"r\"\nallow = [\"x\"]\n"),
                  HasSubstr("policy.toml:1: rule 'r': needs a non-empty 'cn' or 'ou'"));
  EXPECT_CONTAINS(parse_error("[[rule]]\nname = \"r\"\ncn = []\nou = []\nallow = [\"x\"]\n"),
                  HasSubstr("needs a non-empty 'cn' or 'ou'"));
  EXPECT_CONTAINS(parse_error("[[rule]]\nname = \"r\"\ncn = [\"a\"]\n"),
                  HasSubstr("policy.toml:1: rule 'r': allows nothing"));
  EXPECT_CONTAINS(
      parse_error("[[rule]]\nname = \"r\"\ncn = [\"a\"]\nshell = true\nargs = [\"x\"]\n"),
      HasSubstr("policy.toml:5: rule 'r': key 'args' needs 'allow'"));
  EXPECT_CONTAINS(parse_error("rule = 5\n"),
                  HasSubstr("policy.toml:1: key 'rule' must be an array"));
  EXPECT_CONTAINS(parse_error("[rule]\nname = \"r\"\n"), HasSubstr("array of tables"));
}

TEST(PolicyParse, DuplicateRuleNames) {
  EXPECT_EQ(parse_error(rule_with("") + rule_with("")),
            "policy.toml:8: rule 'ops': duplicate rule name (first used at line 2)");
}

TEST(PolicyParse, RunAsMustBeAKnownUser) {
  EXPECT_EQ(must_parse(rule_with("run_as = \"root\"")).rules().at(0).run_as, "root");
  EXPECT_EQ(parse_error(rule_with("run_as = \"no-such-user-trex\"")),
            "policy.toml:6: rule 'ops': key 'run_as' unknown user 'no-such-user-trex'");
}

TEST(PolicyParse, TomlSyntaxErrorsGiveLineAndColumn) {
  const std::string msg = parse_error("[[rule]]\nname = \"x\nallow = [\n");
  EXPECT_EQ(msg.rfind("policy.toml:2:", 0), 0u) << msg;
  EXPECT_CONTAINS(parse_error("[[rule]]\nname = 'a'\nname = 'b'\n"), HasSubstr("policy.toml:3:"));
}

TEST(PolicyParse, CapsFileSizeAndRuleCount) {
  EXPECT_CONTAINS(parse_error(std::string((1 << 20) + 1, '\n')), HasSubstr("larger than 1 MiB"));
  std::string many;
  for (int i = 0; i <= 10000; ++i) {
    many += "[[rule]]\nname=\"r" + std::to_string(i) + "\"\ncn=[\"a\"]\nallow=[\"x\"]\n";
  }
  EXPECT_CONTAINS(parse_error(many), HasSubstr("too many rules (10001, at most 10000)"));
}

class PolicyFile : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/trex-policy-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::remove((dir_ + "/p.toml").c_str());
    ::rmdir(dir_.c_str());
  }
  std::string write(const std::string& text) {
    std::string path = dir_ + "/p.toml";
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }
  std::string dir_;
};

TEST_F(PolicyFile, LoadsAndNamesThePathInErrors) {
  const std::string path = write(kExample);
  Result<Policy> p = Policy::load_file(path);
  ASSERT_TRUE(p.ok()) << p.message();
  EXPECT_EQ(p->source(), path);
  EXPECT_EQ(p->rules().size(), 1u);
  write(rule_with("timeout = 0"));
  Result<Policy> bad = Policy::load_file(path);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.message(), path + ":6: rule 'ops': key 'timeout' must be a positive integer");
}

TEST_F(PolicyFile, MissingDirectoryAndOversizedFiles) {
  Result<Policy> missing = Policy::load_file(dir_ + "/nope.toml");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.message(),
            "cannot read policy file '" + dir_ + "/nope.toml': No such file or directory");
  Result<Policy> directory = Policy::load_file(dir_);
  ASSERT_FALSE(directory.ok());
  EXPECT_CONTAINS(directory.message(), HasSubstr("Is a directory"));
  const std::string path = write(std::string((1 << 20) + 10, '#'));
  Result<Policy> big = Policy::load_file(path);
  ASSERT_FALSE(big.ok());
  EXPECT_CONTAINS(big.message(), HasSubstr(path + ": policy file larger than 1 MiB"));
}

// ---- deciding ---------------------------------------------------------------

constexpr const char* kTwoRules = R"(
[[rule]]
name = "ops-readonly"
cn = ["alice", "bob"]
ou = ["ops"]
allow = ["uptime", "/usr/bin/systemctl"]
args = ["^status( [a-z0-9@.-]+)?$", ""]
run_as = "root"
timeout = 300
max_output = "10M"
cwd = "/srv/lab"
umask = "0027"
limits = { cpu = 60, memory = "512M" }

[[rule]]
name = "dev-any"
ou = ["dev"]
allow = ["*"]
timeout = 5
)";

TEST(PolicyDecide, MatchesByCnAndByOu) {
  Policy p = must_parse(kTwoRules);
  Decision by_cn = p.decide(who("alice"), run({"uptime"}));
  EXPECT_TRUE(by_cn.allowed) << by_cn.reason;
  EXPECT_EQ(by_cn.rule, "ops-readonly");
  EXPECT_EQ(by_cn.reason, "allowed by rule 'ops-readonly' (cn=alice)");
  Decision by_ou = p.decide(who("zoe", {"staff", "ops"}), run({"uptime"}));
  EXPECT_TRUE(by_ou.allowed);
  EXPECT_EQ(by_ou.rule, "ops-readonly");
  EXPECT_EQ(by_ou.reason, "allowed by rule 'ops-readonly' (ou=ops)");
  EXPECT_EQ(p.decide(who("zoe", {"dev"}), run({"rm", "-rf", "/tmp/x"})).rule, "dev-any");
}

TEST(PolicyDecide, IdentityMatchIsExactAndCaseSensitive) {
  Policy p = must_parse(kTwoRules);
  for (const Identity& id : {who("Alice"), who("alice "), who(""), who("ali"), who("x", {"OPS"}),
                             who("x", {"op"}), who("x", {""}), who("x", {})}) {
    Decision d = p.decide(id, run({"uptime"}));
    EXPECT_FALSE(d.allowed) << id.cn;
    EXPECT_EQ(d.rule, "") << id.cn;
    EXPECT_EQ(d.reason.rfind("no rule for cn=", 0), 0u) << d.reason;
  }
  EXPECT_EQ(p.decide(who("carol", {"ops-x", "web"}), run({"uptime"})).reason,
            "no rule for cn=carol ou=[ops-x,web]");
  EXPECT_EQ(p.decide(who("carol"), run({"uptime"})).reason, "no rule for cn=carol ou=[]");
}

TEST(PolicyDecide, FirstAllowingRuleDecides) {
  Policy p = must_parse(R"(
[[rule]]
name = "first"
cn = ["alice"]
allow = ["ls"]
timeout = 1
[[rule]]
name = "second"
cn = ["alice"]
allow = ["ls", "cat"]
timeout = 2
)");
  Decision ls = p.decide(who("alice"), run({"ls"}));
  EXPECT_EQ(ls.rule, "first");
  EXPECT_EQ(ls.timeout_s, 1u);
  // The first rule matches the identity but not the program: the next one decides.
  Decision cat = p.decide(who("alice"), run({"cat", "/etc/hostname"}));
  EXPECT_TRUE(cat.allowed);
  EXPECT_EQ(cat.rule, "second");
  EXPECT_EQ(cat.timeout_s, 2u);
}

TEST(PolicyDecide, DenialNamesTheClosestRule) {
  Policy p = must_parse(kTwoRules);
  Decision prog = p.decide(who("alice"), run({"rm", "-rf", "/"}));
  EXPECT_FALSE(prog.allowed);
  EXPECT_EQ(prog.rule, "ops-readonly");
  EXPECT_EQ(prog.reason, "rule 'ops-readonly' does not allow program 'rm'");
  Decision args = p.decide(who("bob"), run({"/usr/bin/systemctl", "stop", "nginx"}));
  EXPECT_EQ(args.rule, "ops-readonly");
  EXPECT_EQ(args.reason,
            "rule 'ops-readonly': arguments 'stop nginx' match none of its args patterns");
  // Rule 1 refuses the program, rule 2 gets further (program allowed, args
  // refused): the furthest rule is the closest.
  Policy q = must_parse(R"(
[[rule]]
name = "a"
cn = ["u"]
allow = ["ls"]
[[rule]]
name = "b"
cn = ["u"]
allow = ["cat"]
args = ["^/etc/hostname$"]
[[rule]]
name = "c"
cn = ["u"]
allow = ["cat"]
args = ["^/etc/motd$"]
)");
  Decision d = q.decide(who("u"), run({"cat", "/etc/shadow"}));
  EXPECT_EQ(d.rule, "b");
  EXPECT_EQ(d.reason, "rule 'b': arguments '/etc/shadow' match none of its args patterns");
}

TEST(PolicyDecide, DeniedDecisionsCarryNoSettings) {
  Decision d = must_parse(kTwoRules).decide(who("alice"), run({"rm"}));
  EXPECT_FALSE(d.run_as || d.timeout_s || d.max_output || d.cwd || d.umask);
  EXPECT_EQ(d.limits, exec::Limits{});
}

TEST(PolicyDecide, CopiesTheDecidingRulesSettings) {
  Decision d = must_parse(kTwoRules).decide(who("bob"), run({"/usr/bin/systemctl", "status"}));
  ASSERT_TRUE(d.allowed) << d.reason;
  EXPECT_EQ(d.run_as, "root");
  EXPECT_EQ(d.timeout_s, 300u);
  EXPECT_EQ(d.max_output, 10u << 20);
  EXPECT_EQ(d.cwd, "/srv/lab");
  EXPECT_EQ(d.umask, 027u);
  exec::Limits want;
  want.cpu_seconds = 60;
  want.memory = 512ull << 20;
  EXPECT_EQ(d.limits, want);
}

TEST(PolicyDecide, StarAllowsAnyProgram) {
  Policy p = must_parse(kTwoRules);
  for (const char* prog : {"rm", "/bin/sh", "./x", "../../y", "a b", "uptime/", "é"}) {
    EXPECT_TRUE(p.decide(who("x", {"dev"}), run({prog})).allowed) << prog;
  }
}

TEST(PolicyDecide, BareNameMatchesOnlyItself) {
  Policy p = must_parse(kTwoRules);
  EXPECT_TRUE(p.decide(who("alice"), run({"uptime"})).allowed);
  for (const char* prog : {"/tmp/uptime", "./uptime", "../uptime", "uptime/", "uptime ", " uptime",
                           "/usr/bin/uptime", "Uptime", "uptime\n", "bin/uptime", "uptime/."}) {
    Decision d = p.decide(who("alice"), run({prog}));
    EXPECT_FALSE(d.allowed) << prog;
    EXPECT_EQ(d.rule, "ops-readonly") << prog;
  }
  EXPECT_EQ(p.decide(who("alice"), run({"uptime\n"})).reason,
            "rule 'ops-readonly' does not allow program 'uptime\\x0a'");
}

TEST(PolicyDecide, AbsolutePathMatchesOnlyTheSameSpelling) {
  Policy p = must_parse(kTwoRules);
  EXPECT_TRUE(p.decide(who("alice"), run({"/usr/bin/systemctl", "status"})).allowed);
  for (const char* prog :
       {"/usr/bin/../bin/systemctl", "/usr//bin/systemctl", "/usr/bin/./systemctl",
        "/usr/bin/systemctl/", "//usr/bin/systemctl", "systemctl", "/bin/systemctl",
        "usr/bin/systemctl", "/usr/bin/systemctl/.."}) {
    EXPECT_FALSE(p.decide(who("alice"), run({prog, "status"})).allowed) << prog;
  }
}

TEST(PolicyDecide, ArgsPatternsAreAnchoredAtBothEnds) {
  Policy p = must_parse(R"(
[[rule]]
name = "r"
cn = ["u"]
allow = ["a", "s", "none"]
args = ["status", "^a", "x|y", ""]
)");
  const auto ok = [&](std::vector<std::string> argv) {
    return p.decide(who("u"), run(std::move(argv))).allowed;
  };
  EXPECT_TRUE(ok({"s", "status"}));
  EXPECT_FALSE(ok({"s", "status", "x"}));
  EXPECT_FALSE(ok({"s", "xstatus"}));
  EXPECT_FALSE(ok({"s", "statu"}));
  EXPECT_TRUE(ok({"a", "a"}));
  EXPECT_FALSE(ok({"a", "ab"}));
  EXPECT_TRUE(ok({"s", "x"}));
  EXPECT_TRUE(ok({"s", "y"}));
  EXPECT_FALSE(ok({"s", "xy"}));
  EXPECT_TRUE(ok({"none"}));       // "" is the joined form of no arguments
  EXPECT_FALSE(ok({"none", ""}));  // one empty argument is not "no arguments"
}

TEST(PolicyDecide, ArgsJoinWithSingleSpaces) {
  Policy p = must_parse(rule_with("args = [\"^status( [a-z0-9@.-]+)?$\", \"^a  b$\"]"));
  const auto ok = [&](std::vector<std::string> argv) {
    return p.decide(who("alice"), run(std::move(argv))).allowed;
  };
  EXPECT_TRUE(ok({"uptime", "status"}));
  EXPECT_TRUE(ok({"uptime", "status", "nginx.service"}));
  // One argument with a space would join the same way: refused, as ambiguous.
  EXPECT_FALSE(ok({"uptime", "status nginx"}));
  EXPECT_FALSE(ok({"uptime", "status", "a", "b"}));
  EXPECT_FALSE(ok({"uptime", "status", "A"}));
  EXPECT_FALSE(ok({"uptime", "status;", "rm"}));
  EXPECT_FALSE(ok({"uptime"}));
  EXPECT_FALSE(ok({"uptime", "a", "", "b"}));  // an empty argument would leave two spaces
  EXPECT_FALSE(ok({"uptime", "a ", "b"}));
}

TEST(PolicyDecide, WithoutArgsPatternsAnyArgumentsPass) {
  Policy p = must_parse(rule_with(""));
  EXPECT_TRUE(
      p.decide(who("alice"), run({"uptime", "-p", "x\ny", std::string(100000, 'z')})).allowed);
}

TEST(PolicyDecide, LineBreaksAreRefusedByRulesWithPatterns) {
  Policy p = must_parse(rule_with("args = [\"[^;]*\"]"));
  EXPECT_TRUE(p.decide(who("alice"), run({"uptime", "a", "b"})).allowed);
  for (const char* arg : {"a\nb", "a\rb", "\n"}) {
    Decision d = p.decide(who("alice"), run({"uptime", arg}));
    EXPECT_FALSE(d.allowed) << arg;
    EXPECT_EQ(d.reason,
              "rule 'ops': arguments contain a line break, which args patterns never allow");
  }
}

TEST(PolicyDecide, NulBytesAreAlwaysRefused) {
  Policy p = must_parse(rule_with(""));
  Decision arg = p.decide(who("alice"), run({"uptime", std::string("a\0b", 3)}));
  EXPECT_FALSE(arg.allowed);
  EXPECT_EQ(arg.reason, "argument 1 contains a NUL byte");
  EXPECT_EQ(arg.rule, "");
  EXPECT_FALSE(p.decide(who("alice"), run({std::string("uptime\0", 7)})).allowed);
  Policy shell = must_parse(rule_with("shell = true"));
  EXPECT_EQ(shell.decide(who("alice"), sh(std::string("id\0rm", 5))).reason,
            "shell command contains a NUL byte");
}

TEST(PolicyDecide, UnicodeArgumentsAndReasons) {
  Policy p = must_parse(rule_with("args = [\"^echo [a-z]+$\", \"^say .+$\"]"));
  EXPECT_TRUE(p.decide(who("alice"), run({"uptime", "say", "héllo", "wörld", "✓"})).allowed);
  EXPECT_FALSE(p.decide(who("alice"), run({"uptime", "echo", "héllo"})).allowed);
  Decision d = p.decide(who("alice"), run({"uptime", "echo", "h\xe9llo", "ü"}));
  EXPECT_EQ(d.reason, "rule 'ops': arguments 'echo h\\xe9llo ü' match none of its args patterns");
}

TEST(PolicyDecide, LongArgumentsAreRefusedWithoutCrashing) {
  Policy p = must_parse(rule_with("args = [\"^x*$\", \"(a*)*b\", \"(a|aa)+c\"]"));
  EXPECT_TRUE(p.decide(who("alice"), run({"uptime", std::string(1024, 'x')})).allowed);
  Decision d = p.decide(who("alice"), run({"uptime", std::string(1025, 'x')}));
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.reason,
            "rule 'ops': arguments too long for this rule's patterns (1025 bytes, limit 1024)");
  EXPECT_FALSE(p.decide(who("alice"), run({"uptime", std::string(1 << 20, 'x')})).allowed);
  std::vector<std::string> many(20000, "x");
  many.front() = "uptime";
  EXPECT_FALSE(p.decide(who("alice"), run(many)).allowed);
  // Patterns that make a backtracking matcher exponential stay fast.
  const auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(p.decide(who("alice"), run({"uptime", std::string(1024, 'a')})).allowed);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST(PolicyDecide, EmptyArgvIsRefused) {
  Decision d = must_parse(kTwoRules).decide(who("alice"), run({}));
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.reason, "empty command");
  EXPECT_EQ(d.rule, "");
  EXPECT_FALSE(Policy::allow_all().decide(who("alice"), run({})).allowed);
  Decision empty_name = must_parse(kTwoRules).decide(who("x", {"dev"}), run({"", "a"}));
  EXPECT_FALSE(empty_name.allowed);
  EXPECT_EQ(empty_name.reason, "empty command");
}

TEST(PolicyDecide, ShellNeedsShellTrue) {
  Policy p = must_parse(kTwoRules + std::string(R"(
[[rule]]
name = "alice-shell"
cn = ["alice"]
shell = true
run_as = "root"
)"));
  Decision refused = p.decide(who("bob"), sh("uptime"));
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(refused.rule, "ops-readonly");
  EXPECT_EQ(refused.reason, "rule 'ops-readonly' does not allow shell commands");
  EXPECT_EQ(p.decide(who("x", {"dev"}), sh("ls")).reason,
            "rule 'dev-any' does not allow shell commands");
  Decision granted = p.decide(who("alice"), sh("rm -rf / ; anything | at all"));
  EXPECT_TRUE(granted.allowed);
  EXPECT_EQ(granted.rule, "alice-shell");
  EXPECT_EQ(granted.run_as, "root");
  EXPECT_TRUE(p.decide(who("alice"), sh("")).allowed);
  EXPECT_EQ(p.decide(who("carol"), sh("id")).reason, "no rule for cn=carol ou=[]");
  // The shell rule allows no argv programs.
  EXPECT_FALSE(p.decide(who("alice"), run({"rm"})).allowed);
}

TEST(PolicyDecide, AllowAllAllowsEverything) {
  Policy p = Policy::allow_all();
  EXPECT_TRUE(p.is_allow_all());
  for (const Request& r : {run({"rm", "-rf", "/"}), sh("id"), run({"./x"})}) {
    Decision d = p.decide(who("anyone"), r);
    EXPECT_TRUE(d.allowed);
    EXPECT_EQ(d.rule, "");
    EXPECT_EQ(d.reason, "no policy file: every certificate of the CA may run anything");
    EXPECT_FALSE(d.run_as || d.timeout_s);
  }
}

// ---- explain, lint, summary ---------------------------------------------------

TEST(PolicyExplain, OneLinePerRuleThenTheDecision) {
  Policy p = must_parse(std::string(kExample).substr(1) + R"(
[[rule]]
name = "later"
cn = ["alice"]
allow = ["uptime"]
)");
  // Indented lines say what each pattern was matched against; the rest is
  // one line per rule.
  const auto explain = [&](const Identity& id, const Request& r, std::vector<std::string>& trace) {
    std::vector<std::string> out;
    trace.clear();
    for (auto& l : p.explain(id, r)) (l.rfind("  ", 0) == 0 ? trace : out).push_back(l);
    return out;
  };
  std::vector<std::string> trace;
  std::vector<std::string> lines = explain(who("alice", {"ops"}), run({"uptime"}), trace);
  ASSERT_EQ(lines.size(), 4u);
  ASSERT_EQ(trace.size(), 2u);
  EXPECT_EQ(trace[0],
            "  args pattern '^status( [a-z0-9@.-]+)?$' against '' (arguments joined with spaces): "
            "no match");
  EXPECT_EQ(trace[1], "  args pattern '' against '' (arguments joined with spaces): match");
  EXPECT_EQ(lines[0], "request from cn=alice ou=[ops]: argv ['uptime']");
  EXPECT_EQ(lines[1],
            "rule 'ops-readonly' (policy.toml:1): identity matches (cn=alice); program 'uptime' "
            "allowed; arguments '' match pattern '' -> ALLOW");
  EXPECT_EQ(lines[2], "rule 'later' (policy.toml:15): not reached");
  EXPECT_EQ(lines[3], "decision: allow by rule 'ops-readonly'");
  lines = explain(who("alice"), run({"/usr/bin/systemctl", "stop", "x"}), trace);
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(trace.size(), 2u);
  EXPECT_EQ(lines[1],
            "rule 'ops-readonly' (policy.toml:1): identity matches (cn=alice); program "
            "'/usr/bin/systemctl' allowed; arguments 'stop x' match none of 2 pattern(s) -> no");
  EXPECT_EQ(lines[2],
            "rule 'later' (policy.toml:15): identity matches (cn=alice); program "
            "'/usr/bin/systemctl' not allowed -> no");
  EXPECT_EQ(lines[3],
            "decision: deny: rule 'ops-readonly': arguments 'stop x' match none of "
            "its args patterns");
}

TEST(PolicyExplain, NoArgsPatternsShellAndNoMatch) {
  Policy p = must_parse(rule_with(""));
  EXPECT_EQ(p.explain(who("alice"), run({"uptime"}))[1],
            "rule 'ops' (policy.toml:2): identity matches (cn=alice); program 'uptime' allowed; "
            "no args patterns -> ALLOW");
  std::vector<std::string> shell = p.explain(who("alice"), sh("id"));
  EXPECT_EQ(shell[0], "request from cn=alice ou=[]: shell 'id'");
  EXPECT_EQ(shell[1],
            "rule 'ops' (policy.toml:2): identity matches (cn=alice); shell commands "
            "not allowed -> no");
  EXPECT_EQ(shell.back(), "decision: deny: rule 'ops' does not allow shell commands");
  std::vector<std::string> nobody = p.explain(who("eve"), run({"uptime"}));
  EXPECT_EQ(nobody[1], "rule 'ops' (policy.toml:2): identity does not match -> skip");
  EXPECT_EQ(nobody.back(), "decision: deny: no rule for cn=eve ou=[]");
  EXPECT_EQ(p.explain(who("alice"), run({})).back(), "decision: deny: empty command");
}

TEST(PolicyExplain, AllowAll) {
  std::vector<std::string> lines = Policy::allow_all().explain(who("a"), run({"x"}));
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[1], "no policy file: every certificate of the CA may run anything");
  EXPECT_EQ(lines[2], "decision: allow (no policy file)");
}

TEST(PolicyExplain, AgreesWithDecide) {
  Policy p = must_parse(kTwoRules);
  const Request requests[] = {run({"uptime"}),
                              run({"rm"}),
                              sh("id"),
                              run({}),
                              run({"/usr/bin/systemctl", "status", "x"}),
                              run({"uptime", "a\nb"})};
  for (const Identity& id : {who("alice"), who("x", {"dev"}), who("eve")}) {
    for (const Request& r : requests) {
      Decision d = p.decide(id, r);
      const std::string want =
          d.allowed ? "decision: allow by rule '" + d.rule + "'" : "decision: deny: " + d.reason;
      EXPECT_EQ(p.explain(id, r).back(), want);
    }
  }
}

TEST(PolicyLint, EmptyPolicyAndAllowAll) {
  EXPECT_EQ(must_parse("").lint(false),
            std::vector<std::string>{"the policy has no rules: every command is denied"});
  ASSERT_EQ(Policy::allow_all().lint(false).size(), 1u);
  EXPECT_CONTAINS(Policy::allow_all().lint(false)[0], HasSubstr("including shell commands"));
}

TEST(PolicyLint, CleanPolicyHasNoFindings) {
  EXPECT_TRUE(must_parse(rule_with("run_as = \"nobody\"")).lint(true).empty());
  EXPECT_TRUE(must_parse(rule_with("")).lint(false).empty());
}

TEST(PolicyLint, FlagsWildcardsShellsAndRoot) {
  Policy p = must_parse(R"(
[[rule]]
name = "all"
cn = ["*"]
allow = ["*"]
shell = true
run_as = "nobody"
[[rule]]
name = "sh"
ou = ["x"]
allow = ["ls"]
shell = true
run_as = "root"
)");
  const std::vector<std::string> want = {
      "rule 'all' matches every certificate of the CA (cn = \"*\")",
      "rule 'all' allows any program and shell commands: full access for its identities",
      std::string("rule 'sh' allows shell commands: a shell can run any program, ") +
          "so 'allow' and 'args' do not limit it",
      "rule 'sh' runs commands as root (run_as = \"root\")",
      std::string("rule 'sh' (line 8) can never decide: rule 'all' (line 2) comes first, ") +
          "covers the same identities and allows everything it allows"};
  EXPECT_EQ(p.lint(false), want);
  EXPECT_EQ(must_parse(rule_with("")).lint(true),
            std::vector<std::string>{"rule 'ops' runs commands as root (no run_as)"});
}

TEST(PolicyLint, Shadowing) {
  const auto lint_of = [](const std::string& first, const std::string& second) {
    return must_parse("[[rule]]\nname = \"a\"\n" + first + "\n[[rule]]\nname = \"b\"\n" + second)
        .lint(false);
  };
  const auto flagged = [](const std::vector<std::string>& lines) {
    return lines.size() == 1 && lines[0].rfind("rule 'b' (line ", 0) == 0 &&
           lines[0].find("can never decide: rule 'a' (line 1) comes first") != std::string::npos;
  };
  EXPECT_TRUE(flagged(lint_of("cn=['u','v']\nallow=['ls','cat']", "cn=['u']\nallow=['ls']")));
  EXPECT_TRUE(flagged(lint_of("ou=['g']\nallow=['*']", "ou=['g']\nallow=['ls']\nargs=['x']")));
  EXPECT_TRUE(
      flagged(lint_of("cn=['u']\nallow=['ls']\nargs=['x']", "cn=['u']\nallow=['ls']\nargs=['x']")));
  // Narrower earlier rules do not shadow.
  EXPECT_TRUE(lint_of("cn=['u']\nallow=['ls']", "cn=['u','v']\nallow=['ls']").empty());
  EXPECT_TRUE(lint_of("cn=['u']\nallow=['ls']", "cn=['u']\nallow=['ls','cat']").empty());
  EXPECT_TRUE(lint_of("cn=['u']\nallow=['ls']\nargs=['x']", "cn=['u']\nallow=['ls']").empty());
  EXPECT_TRUE(lint_of("cn=['u']\nallow=['ls']", "cn=['u']\nallow=['ls']\nshell=true").size() == 1);
  EXPECT_TRUE(lint_of("cn=['u']\nallow=['ls']", "ou=['u']\nallow=['ls']").empty());
}

TEST(PolicySummary, OneLinePerRule) {
  Policy p = must_parse(kTwoRules);
  std::vector<std::string> lines = p.summary();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0],
            "rule 'ops-readonly' (line 2): who cn=[alice,bob] ou=[ops]; programs "
            "[uptime,/usr/bin/systemctl] with args matching 2 pattern(s); shell no; run_as root; "
            "timeout 300s; max_output 10M; cwd /srv/lab; umask 0027; limits cpu=60s memory=512M");
  EXPECT_EQ(lines[1],
            "rule 'dev-any' (line 15): who ou=[dev]; programs [*] with any args; shell no; run_as "
            "(server's user); timeout 5s; limits none");
  EXPECT_EQ(must_parse("").summary(),
            std::vector<std::string>{"no rules: every command is denied"});
  EXPECT_EQ(Policy::allow_all().summary().size(), 1u);
}

// ---- text helpers --------------------------------------------------------------

TEST(PolicyText, Sizes) {
  EXPECT_EQ(detail::format_size(512ull << 20), "512M");
  EXPECT_EQ(detail::format_size(1536), "1536");  // not a whole number of K
  EXPECT_EQ(detail::format_size(3ull << 40), "3T");
  EXPECT_EQ(detail::format_size(1000), "1000");
}

TEST(PolicyText, Umask) {
  EXPECT_EQ(detail::parse_umask("0027"), 027u);
  EXPECT_EQ(detail::parse_umask("7"), 07u);
  for (const char* bad : {"", "8", "00000", "1000", "0o27", "-1", " 27"}) {
    EXPECT_EQ(detail::parse_umask(bad), std::nullopt) << bad;
  }
  EXPECT_EQ(detail::format_umask(027), "0027");
  EXPECT_EQ(detail::format_umask(0777), "0777");
}

TEST(PolicyText, EscapeKeepsReasonsOnOneLineAndValidUtf8) {
  EXPECT_EQ(detail::quote("rm"), "'rm'");
  EXPECT_EQ(detail::quote("it's"), "'it\\'s'");
  EXPECT_EQ(detail::escape("a\nb\tc\x7f\\"), "a\\x0ab\\x09c\\x7f\\\\");
  EXPECT_EQ(detail::escape("ü✓😀"), "ü✓😀");
  EXPECT_EQ(detail::escape("\xc3"), "\\xc3");                    // truncated sequence
  EXPECT_EQ(detail::escape("\xc0\xaf"), "\\xc0\\xaf");           // overlong '/'
  EXPECT_EQ(detail::escape("\xed\xa0\x80"), "\\xed\\xa0\\x80");  // surrogate
  EXPECT_EQ(detail::escape(std::string(300, 'x')), std::string(200, 'x') + "...");
  EXPECT_EQ(detail::escape("aaéb", 3), "aaé...");
  EXPECT_EQ(detail::escape("aaé", 3), "aaé");  // never cuts inside a character
}

// ---- telling arguments apart (issue 14, point 5) ----------------------------

TEST(PolicyArgs, JoinedPatternsRefuseArgumentsTheyCannotTellApart) {
  const Policy p = must_parse(
      "[[rule]]\nname = \"r\"\ncn = [\"a\"]\nallow = [\"echo\"]\nargs = [\"\", \"^x y$\"]\n");
  EXPECT_TRUE(p.decide(who("a"), run({"echo"})).allowed);
  EXPECT_FALSE(p.decide(who("a"), run({"echo", ""})).allowed);
  EXPECT_TRUE(p.decide(who("a"), run({"echo", "x", "y"})).allowed);
  const Decision d = p.decide(who("a"), run({"echo", "x y"}));
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.reason,
            "rule 'r': argument 1 is empty or holds a space, which its args patterns cannot tell "
            "apart from other arguments (arg_lists can admit it)");
}

TEST(PolicyArgs, ArgListsAdmitExactlyTheListsTheySpell) {
  const Policy p = must_parse(
      "[[rule]]\nname = \"r\"\ncn = [\"a\"]\nallow = [\"git\"]\n"
      "arg_lists = [[], [\"commit\", \"-m\", \".+\"]]\n");
  EXPECT_TRUE(p.decide(who("a"), run({"git"})).allowed);
  EXPECT_TRUE(p.decide(who("a"), run({"git", "commit", "-m", "a b; c"})).allowed);
  EXPECT_FALSE(p.decide(who("a"), run({"git", "commit", "-m"})).allowed);
  EXPECT_FALSE(p.decide(who("a"), run({"git", "commit", "-m", "x", "--amend"})).allowed);
  EXPECT_FALSE(p.decide(who("a"), run({"git", "commit", "-m", ""})).allowed);
  EXPECT_FALSE(p.decide(who("a"), run({"git", "commit -m x"})).allowed);
  EXPECT_FALSE(p.decide(who("a"), run({"git", "commit", "-m", "a\nb"})).allowed);
}

TEST(PolicyArgs, ArgListsMustBeListsOfPatterns) {
  const std::string head = "[[rule]]\nname = \"r\"\ncn = [\"a\"]\nallow = [\"ls\"]\n";
  EXPECT_NE(parse_error(head + "arg_lists = [\"-l\"]\n")
                .find("key 'arg_lists' must be an array "
                      "of arrays of patterns"),
            std::string::npos);
  EXPECT_NE(parse_error(head + "arg_lists = [[\"(\"]]\n").find("is not a valid regular expression"),
            std::string::npos);
  EXPECT_NE(parse_error("[[rule]]\nname = \"r\"\ncn = [\"a\"]\nshell = true\narg_lists = [[]]\n")
                .find("key 'arg_lists' needs 'allow'"),
            std::string::npos);
}

TEST(PolicyExample, ToolsExampleLoadsAndBehavesAsCommented) {
  Result<Policy> p = Policy::load_file(TREX_SOURCE_DIR "/tools/policy.example.toml");
  ASSERT_TRUE(p.ok()) << p.message();
  EXPECT_EQ(p->rules().size(), 3u);
  EXPECT_TRUE(p->decide(who("alice"), run({"/usr/bin/systemctl", "status", "nginx"})).allowed);
  EXPECT_FALSE(p->decide(who("alice"), run({"systemctl", "status"})).allowed);
  EXPECT_TRUE(p->decide(who("alice"), run({"/usr/bin/systemctl"})).allowed);
  EXPECT_FALSE(p->decide(who("alice"), run({"/usr/bin/systemctl", "status nginx"})).allowed);
  EXPECT_FALSE(p->decide(who("alice"), run({"/usr/bin/systemctl", "stop", "nginx"})).allowed);
  EXPECT_EQ(p->decide(who("dan", {"dev"}), run({"journalctl", "-u", "x"})).rule, "dev-logs");
  EXPECT_TRUE(p->decide_file(who("dan", {"dev"}), {FileOp::kGet, "/var/log/lab/a/b.log"}).allowed);
  EXPECT_FALSE(p->decide_file(who("dan", {"dev"}), {FileOp::kPut, "/var/log/lab/x"}).allowed);
  EXPECT_TRUE(p->decide(who("carol"), sh("id")).allowed);
  EXPECT_FALSE(p->decide(who("alice"), sh("id")).allowed);
}

}  // namespace
}  // namespace trex::policy
