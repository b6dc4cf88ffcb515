#include "trex/client_args.hpp"

#include <gtest/gtest.h>

#include <fstream>

namespace trex::client {
namespace {

Args parse_ok(std::vector<std::string> in) {
  auto r = parse_args(in);
  EXPECT_TRUE(r.ok()) << r.message();
  return r.ok() ? *r : Args{};
}

std::string parse_err(std::vector<std::string> in) {
  auto r = parse_args(in);
  EXPECT_FALSE(r.ok());
  return r.ok() ? "" : r.message();
}

TEST(ClientArgs, ArgvModeKeepsEverythingAfterTheHost) {
  auto a = parse_ok({"lab1", "ls", "-l", "--color=never", "-c", "x"});
  EXPECT_EQ(a.hosts, std::vector<std::string>{"lab1"});
  EXPECT_FALSE(a.shell);
  EXPECT_EQ(a.argv, (std::vector<std::string>{"ls", "-l", "--color=never", "-c", "x"}));
}

TEST(ClientArgs, PersistAndDashO) {
  auto a = parse_ok({"--persist", "5m", "lab1", "true"});
  EXPECT_EQ(a.persist, 300u);
  EXPECT_EQ(parse_ok({"lab1", "--persist=off", "true"}).persist, 0u);
  EXPECT_FALSE(parse_ok({"lab1", "true"}).persist.has_value());
  EXPECT_NE(parse_err({"--persist", "soon", "lab1", "true"}).find("--persist must be"),
            std::string::npos);
  EXPECT_EQ(parse_ok({"-O", "check", "lab1"}).control, "check");
  EXPECT_EQ(parse_ok({"lab1", "-O", "exit"}).control, "exit");
  EXPECT_EQ(parse_err({"-O", "stop", "lab1"}), "-O takes check or exit, not 'stop'");
  EXPECT_EQ(parse_err({"-O", "exit", "lab1", "true"}), "-O exit takes one HOST and no command");
  EXPECT_EQ(parse_err({"-O", "check", "-H", "a,b"}), "-O check takes one HOST and no command");
}

TEST(ClientArgs, ShellModeTakesOneString) {
  auto a = parse_ok({"lab1:7000", "-c", "echo hi | wc -c"});
  EXPECT_TRUE(a.shell);
  EXPECT_EQ(a.shell_command, "echo hi | wc -c");
  EXPECT_NE(parse_err({"lab1", "-c", "echo", "extra"}).find("one shell string"), std::string::npos);
  EXPECT_NE(parse_err({"lab1", "-c"}).find("needs a shell command"), std::string::npos);
  EXPECT_NE(parse_err({"lab1", "-c", ""}).find("non-empty"), std::string::npos);
}

TEST(ClientArgs, NoCommandMeansInteractive) {
  auto a = parse_ok({"-n", "--timeout", "30", "lab1"});
  EXPECT_TRUE(a.argv.empty());
  EXPECT_FALSE(a.shell);
  EXPECT_TRUE(a.no_stdin);
  EXPECT_EQ(a.timeout, 30u);
}

TEST(ClientArgs, OptionsWithValues) {
  auto a = parse_ok({"--ca", "c.crt", "--cert=me.crt", "--key", "me.key", "--port", "8443",
                     "--connect-timeout=3", "-v", "lab1", "true"});
  EXPECT_EQ(a.ca, "c.crt");
  EXPECT_EQ(a.cert, "me.crt");
  EXPECT_EQ(a.key, "me.key");
  EXPECT_EQ(a.port, 8443);
  EXPECT_EQ(a.connect_timeout, 3u);
  EXPECT_TRUE(a.verbose);
}

TEST(ClientArgs, FanOutCollectsHosts) {
  auto a = parse_ok({"-H", "a,b", "-H", "c:9", "--parallel", "4", "--json", "uptime"});
  EXPECT_TRUE(a.fan_out);
  EXPECT_EQ(a.hosts, (std::vector<std::string>{"a", "b", "c:9"}));
  EXPECT_EQ(a.parallel, 4u);
  EXPECT_TRUE(a.json);
  EXPECT_EQ(a.argv, std::vector<std::string>{"uptime"});
  auto s = parse_ok({"-H", "a", "-c", "echo $HOSTNAME"});
  EXPECT_TRUE(s.shell);
  EXPECT_NE(parse_err({"-H", "a,b"}).find("needs a command"), std::string::npos);
}

TEST(ClientArgs, GatherIsAFlagThatJsonExcludes) {
  EXPECT_TRUE(parse_ok({"-b", "-H", "a,b", "uptime"}).gather);
  EXPECT_TRUE(parse_ok({"lab[1-3]", "-b", "uptime"}).gather);
  EXPECT_FALSE(parse_ok({"-H", "a,b", "uptime", "-b"}).gather);  // the command's own -b
  EXPECT_NE(parse_err({"-b", "--json", "-H", "a", "x"}).find("-b and --json"), std::string::npos);
}

TEST(ClientArgs, BadInputGetsOneClearError) {
  EXPECT_NE(parse_err({}).find("no host"), std::string::npos);
  EXPECT_NE(parse_err({"--bogus", "h", "x"}).find("unknown option '--bogus'"), std::string::npos);
  EXPECT_NE(parse_err({"--port", "0", "h"}).find("--port needs a number"), std::string::npos);
  EXPECT_NE(parse_err({"--port", "65536", "h"}).find("--port"), std::string::npos);
  EXPECT_NE(parse_err({"--timeout", "abc", "h", "x"}).find("--timeout"), std::string::npos);
  EXPECT_NE(parse_err({"--ca"}).find("--ca needs a value"), std::string::npos);
  EXPECT_NE(parse_err({"--ca=", "h"}).find("--ca needs a value"), std::string::npos);
  EXPECT_NE(parse_err({"--parallel", "0", "-H", "a", "x"}).find("--parallel"), std::string::npos);
}

TEST(ClientArgs, DoubleDashEndsOptions) {
  auto a = parse_ok({"--", "-weird-host", "echo"});
  EXPECT_EQ(a.hosts, std::vector<std::string>{"-weird-host"});
}

TEST(HostsFile, SkipsCommentsAndBlankLines) {
  const std::string path = ::testing::TempDir() + "/hosts";
  std::ofstream(path) << "# lab\nlab1\n\n  lab2:7000  # second\n\t\n";
  auto hosts = read_hosts_file(path);
  ASSERT_TRUE(hosts.ok()) << hosts.message();
  EXPECT_EQ(*hosts, (std::vector<std::string>{"lab1", "lab2:7000"}));
  std::ofstream(path) << "# nothing\n";
  EXPECT_FALSE(read_hosts_file(path).ok());
  EXPECT_FALSE(read_hosts_file("/nonexistent/hosts").ok());
}

}  // namespace
}  // namespace trex::client

namespace trex::client {
namespace {

TEST(ClientArgs, OptionsMayFollowTheHostAsInSsh) {
  auto a = parse_args({"lab1", "-n", "--timeout", "5", "-v", "uptime", "-n"});
  ASSERT_TRUE(a.ok()) << a.message();
  EXPECT_EQ(a->hosts, std::vector<std::string>{"lab1"});
  EXPECT_TRUE(a->no_stdin && a->verbose);
  EXPECT_EQ(a->timeout, 5U);
  // The first word that is not an option is the command: its own options stay its.
  EXPECT_EQ(a->argv, (std::vector<std::string>{"uptime", "-n"}));
  a = parse_args({"lab1", "--port=7444", "-c", "echo hi"});
  ASSERT_TRUE(a.ok()) << a.message();
  EXPECT_TRUE(a->shell);
  EXPECT_EQ(a->shell_command, "echo hi");
  EXPECT_EQ(a->port, 7444);
  // "--" ends the options: what follows is the command, even "-c".
  a = parse_args({"lab1", "-q", "--", "-c", "x"});
  ASSERT_TRUE(a.ok()) << a.message();
  EXPECT_TRUE(a->quiet);
  EXPECT_FALSE(a->shell);
  EXPECT_EQ(a->argv, (std::vector<std::string>{"-c", "x"}));
  // "--" before HOST ends them for good.
  a = parse_args({"--", "lab1", "-n", "x"});
  ASSERT_TRUE(a.ok()) << a.message();
  EXPECT_FALSE(a->no_stdin);
  EXPECT_EQ(a->argv, (std::vector<std::string>{"-n", "x"}));
  auto bad = parse_args({"lab1", "-l", "ls"});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.message().find("unknown option '-l'"), std::string::npos) << bad.message();
  bad = parse_args({"lab1", "--timeout"});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.message().find("--timeout needs a value"), std::string::npos) << bad.message();
  bad = parse_args({"lab1", "-c", "a", "-c", "b"});
  EXPECT_FALSE(bad.ok());
  a = parse_args({"-H", "a,b", "--stdin-all", "cat"});
  ASSERT_TRUE(a.ok()) << a.message();
  EXPECT_TRUE(a->stdin_all);
}

TEST(ClientArgs, PutAndGetTakeFilesAndOneRemoteHost) {
  auto a = parse_args({"put", "-p", "a.txt", "b.txt", "lab1:/srv/in/"});
  ASSERT_TRUE(a.ok()) << a.message();
  EXPECT_EQ(a->files, FileCommand::kPut);
  EXPECT_TRUE(a->preserve);
  EXPECT_EQ(a->hosts, std::vector<std::string>{"lab1"});
  EXPECT_EQ(a->sources, (std::vector<std::string>{"a.txt", "b.txt"}));
  EXPECT_EQ(a->destination, "/srv/in/");
  a = parse_args({"get", "-q", "lab1:7443:/var/a", "lab1:7443:/var/b", "out/"});
  ASSERT_TRUE(a.ok()) << a.message();
  EXPECT_EQ(a->hosts, std::vector<std::string>{"lab1:7443"});
  EXPECT_EQ(a->sources, (std::vector<std::string>{"/var/a", "/var/b"}));
  EXPECT_EQ(a->destination, "out/");
  EXPECT_TRUE(a->quiet);
  a = parse_args({"get", "[::1]:7443:/x", "y"});
  ASSERT_TRUE(a.ok()) << a.message();
  EXPECT_EQ(a->hosts, std::vector<std::string>{"[::1]:7443"});
  EXPECT_FALSE(parse_args({"put", "a.txt", "lab1:relative"}).ok());
  EXPECT_FALSE(parse_args({"put", "a.txt"}).ok());
  EXPECT_FALSE(parse_args({"get", "lab1:/a", "lab2:/b", "dir"}).ok()) << "one host";
  EXPECT_FALSE(parse_args({"put", "-c", "x", "a", "lab1:/b"}).ok());
  EXPECT_FALSE(parse_args({"lab1", "-p", "true"}).ok()) << "-p is for put and get";
}

}  // namespace
}  // namespace trex::client
