// The client's per-user configuration, played by a user with a temporary
// HOME: where trex finds its certificates (flags, environment, config file,
// ~/.config/trex/; a pki/ folder in the working directory only when the
// config opts in), host aliases, groups and ranges, -v, and the warning
// about a key others can read.
#include <sys/stat.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "support/harness.hpp"

namespace trex::testing {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

class ClientConfig : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    pki_tmp_ = new TempDir();
    pki_ = new Pki(pki_tmp_->path());
    for (const char* name : {"alice", "bob", "dave"}) pki_->client(name);
    dir_ = new TempDir();
    server_ = new Trexd(*pki_, dir_->path());
  }
  static void TearDownTestSuite() {
    delete server_;
    delete dir_;
    delete pki_;
    delete pki_tmp_;
  }
  void SetUp() override {
    home_ = tmp_.file("home");
    conf_dir_ = home_ + "/.config/trex";
    fs::create_directories(conf_dir_);
  }

  // Copies client `name`'s files to ~/.config/trex/ under the default names.
  void install_default(const std::string& name) const {
    write_file(conf_dir_ + "/ca.crt", read_file(pki_->ca()));
    write_file(conf_dir_ + "/client.crt", read_file(pki_->cert(name)));
    write_file(conf_dir_ + "/client.key", read_file(pki_->key(name)));
    ::chmod((conf_dir_ + "/client.key").c_str(), 0600);
  }
  void write_config(const std::string& text, const std::string& path = "") const {
    write_file(path.empty() ? conf_dir_ + "/config.toml" : path, text);
  }
  // trex with HOME = home_, in `cwd` (default: a folder holding the pki/ of
  // client "client", which must not be trusted unless the config says so).
  RunResult trex(std::vector<std::string> args, std::vector<std::string> env = {},
                 const std::string& cwd = "") const {
    RunOptions o;
    o.timeout = 30s;
    o.cwd = cwd.empty() ? pki_tmp_->path() : cwd;
    o.env = {"HOME=" + home_, "TREX_CA=", "TREX_CERT=", "TREX_KEY="};
    o.env.insert(o.env.end(), env.begin(), env.end());
    args.insert(args.begin(), TREX_BIN);
    return run(args, o);
  }
  RunResult whoami(std::vector<std::string> flags = {}, std::vector<std::string> env = {},
                   const std::string& host = "") const {
    flags.insert(flags.end(),
                 {host.empty() ? server_->address() : host, "-c", "echo $TREX_CLIENT"});
    return trex(flags, env);
  }
  static std::vector<std::string> flags_for(const std::string& name) {
    return {"--ca", pki_->ca(), "--cert", pki_->cert(name), "--key", pki_->key(name)};
  }

  static TempDir *pki_tmp_, *dir_;
  static Pki* pki_;
  static Trexd* server_;
  TempDir tmp_;
  std::string home_, conf_dir_;
};

TempDir* ClientConfig::pki_tmp_ = nullptr;
TempDir* ClientConfig::dir_ = nullptr;
Pki* ClientConfig::pki_ = nullptr;
Trexd* ClientConfig::server_ = nullptr;

TEST_F(ClientConfig, CertificatesComeFromFlagsEnvironmentConfigThenHome) {
  ASSERT_TRUE(fs::exists(pki_tmp_->path() + "/pki/issued/client.crt"));
  // Nothing in ~/.config/trex/: the pki/ folder of the working directory is
  // not a fallback, and the error names where trex looked.
  auto r = whoami();
  EXPECT_EQ(r.status, 255) << r.out;
  ASSERT_EQ(lines_of(r.err).size(), 1U) << r.err;
  EXPECT_NE(r.err.find(conf_dir_ + "/"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("pki/"), std::string::npos) << r.err;

  install_default("alice");
  r = whoami();
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "alice\n");
  write_config("cert = \"" + pki_->cert("bob") + "\"\nkey = \"" + pki_->key("bob") + "\"\n");
  r = whoami();
  EXPECT_EQ(r.out, "bob\n") << "the config did not beat ~/.config/trex/: " << r.err;
  r = whoami({}, {"TREX_CERT=" + pki_->cert("dave"), "TREX_KEY=" + pki_->key("dave")});
  EXPECT_EQ(r.out, "dave\n") << "the environment did not beat the config: " << r.err;
  r = whoami(flags_for("client"),
             {"TREX_CERT=" + pki_->cert("dave"), "TREX_KEY=" + pki_->key("dave")});
  EXPECT_EQ(r.out, "client\n") << "the flags did not beat the environment: " << r.err;

  // A garbage file in the config is used (and named) when nothing higher is set.
  write_file(tmp_.file("garbage.crt"),
             "-----BEGIN CERTIFICATE-----\nxx\n-----END CERTIFICATE-----\n");
  write_config("cert = \"" + tmp_.file("garbage.crt") + "\"\n");
  r = whoami();
  EXPECT_EQ(r.status, 255);
  EXPECT_NE(r.err.find("garbage.crt"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("config " + conf_dir_ + "/config.toml"), std::string::npos) << r.err;
}

TEST_F(ClientConfig, PkiFolderOnlyWhereTheConfigSaysSo) {
  // pki_dir relative to the config file's folder, as the quickstart writes it.
  fs::create_directories(tmp_.file("elsewhere"));
  write_config("pki_dir = \"pki\"\n", pki_tmp_->path() + "/trex.toml");
  auto r = whoami({}, {"TREX_CONFIG=" + pki_tmp_->path() + "/trex.toml"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "client\n");
  // --config beats TREX_CONFIG; a named file that is missing is an error.
  r = whoami({"--config", tmp_.file("none.toml")},
             {"TREX_CONFIG=" + pki_tmp_->path() + "/trex.toml"});
  EXPECT_EQ(r.status, 255);
  EXPECT_NE(r.err.find("cannot read config file " + tmp_.file("none.toml")), std::string::npos)
      << r.err;
  // XDG_CONFIG_HOME moves the whole folder, config and default files.
  const std::string xdg = tmp_.file("xdg");
  fs::create_directories(xdg + "/trex");
  write_config("pki_dir = \"" + pki_tmp_->path() + "/pki\"\n", xdg + "/trex/config.toml");
  r = whoami({}, {"XDG_CONFIG_HOME=" + xdg});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "client\n");
}

TEST_F(ClientConfig, BadConfigIsOneLineNamingFileLineAndKey) {
  install_default("alice");
  write_config("port = 7443\nprot = 1\n");
  auto r = whoami();
  EXPECT_EQ(r.status, 255);
  ASSERT_EQ(lines_of(r.err).size(), 1U) << r.err;
  EXPECT_NE(r.err.find(conf_dir_ + "/config.toml:2: key 'prot' is unknown"), std::string::npos)
      << r.err;
}

TEST_F(ClientConfig, AliasesCarryAddressPortServerNameAndCertificate) {
  install_default("alice");
  write_config("[hosts.lab]\naddress = \"127.0.0.1\"\nport = " + server_->port() +
               "\nserver_name = \"localhost\"\ncert = \"" + pki_->cert("bob") + "\"\nkey = \"" +
               pki_->key("bob") + "\"\n[hosts.wrong]\naddress = \"127.0.0.1:" + server_->port() +
               "\"\nserver_name = \"wrong.example\"\n");
  auto r = whoami({}, {}, "lab");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "bob\n") << "the host's own certificate was not used";
  r = whoami({}, {}, "wrong");
  EXPECT_EQ(r.status, 255);
  EXPECT_NE(r.err.find("does not match wrong.example"), std::string::npos) << r.err;
  // The environment beats a host entry's certificate.
  r = whoami({}, {"TREX_CERT=" + pki_->cert("dave"), "TREX_KEY=" + pki_->key("dave")}, "lab");
  EXPECT_EQ(r.out, "dave\n") << r.err;
}

TEST_F(ClientConfig, GroupsAndRangesFanOutOncePerServer) {
  install_default("alice");
  const std::string p = server_->port();
  write_config("port = " + p + "\n[hosts.lab1]\naddress = \"127.0.0.1\"\n" +
               "[hosts.lab2]\naddress = \"localhost\"\n[groups]\n" +
               "lab = [\"lab[1-2]\", \"127.0.0.1\", \"127.0.0.[1-1]:" + p + "\"]\n");
  auto r = trex({"-g", "lab", "echo", "hi"});
  EXPECT_EQ(r.status, 0) << r.err;
  // lab1, 127.0.0.1 and 127.0.0.1:PORT are one server: it runs once.
  auto lines = lines_of(r.out);
  std::sort(lines.begin(), lines.end());
  EXPECT_EQ(lines, (std::vector<std::string>{"lab1: hi", "lab2: hi"})) << r.out;
  r = trex({"-H", "lab[1-2],lab1", "echo", "hi"});
  EXPECT_EQ(lines_of(r.out).size(), 2U) << r.out << r.err;
  // A range as HOST is a fan-out too.
  r = trex({"lab[1-2]", "echo", "hi"});
  EXPECT_EQ(lines_of(r.out).size(), 2U) << r.out << r.err;
  r = trex({"-g", "nope", "echo", "hi"});
  EXPECT_EQ(r.status, 255);
  EXPECT_NE(r.err.find("no group 'nope'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("(groups: lab)"), std::string::npos) << r.err;
  r = trex({"-H", "lab[3-1]", "echo", "hi"});
  EXPECT_EQ(r.status, 255);
  EXPECT_NE(r.err.find("runs backwards"), std::string::npos) << r.err;
}

TEST_F(ClientConfig, VerboseNamesTheConfigAndWhereEachFileCameFrom) {
  install_default("alice");
  write_config("cert = \"" + pki_->cert("bob") + "\"\nkey = \"" + pki_->key("bob") + "\"\n");
  auto r = whoami({"-v", "--key", pki_->key("bob")});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("config file " + conf_dir_ + "/config.toml"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("CA certificate " + conf_dir_ + "/ca.crt (from default)"), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("certificate " + pki_->cert("bob") + " (from config " + conf_dir_),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("key " + pki_->key("bob") + " (from --key)"), std::string::npos) << r.err;
  r = whoami();
  EXPECT_EQ(r.err, "") << "without -v trex says nothing";
}

TEST_F(ClientConfig, KeyReadableByOthersWarnsOnceUnlessQuiet) {
  install_default("alice");
  const std::string key = conf_dir_ + "/client.key";
  ::chmod(key.c_str(), 0644);
  auto r = trex({"-H", server_->address() + ",localhost:" + server_->port(), "true"});
  EXPECT_EQ(r.status, 0) << r.err;
  ASSERT_EQ(lines_of(r.err).size(), 1U) << "one warning for two hosts: " << r.err;
  EXPECT_NE(r.err.find("warning: your key " + key + " can be read by everyone"), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("chmod 600"), std::string::npos) << r.err;
  r = whoami({"-q"});
  EXPECT_EQ(r.err, "");
  ::chmod(key.c_str(), 0640);
  r = whoami();
  EXPECT_NE(r.err.find("can be read by its group"), std::string::npos) << r.err;
  ::chmod(key.c_str(), 0600);
  r = whoami();
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(r.out, "alice\n");
}

}  // namespace
}  // namespace trex::testing

namespace trex::testing {
namespace {

TEST_F(ClientConfig, OptionsAfterTheHostAndDoubleDash) {
  // As in ssh: options after HOST up to the command; the command's own stay its.
  std::vector<std::string> args{server_->address()};
  const auto flags = flags_for("bob");
  args.insert(args.end(), flags.begin(), flags.end());
  args.insert(args.end(), {"-n", "--timeout", "5", "sh", "-c", "echo $TREX_CLIENT"});
  auto r = trex(args);
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "bob\n");
  r = trex({server_->address(), "--cert", pki_->cert("bob"), "--key", pki_->key("bob"), "--ca",
            pki_->ca(), "--", "-c", "x"});
  EXPECT_EQ(r.status, 127) << "after --, -c is the program's name: " << r.err;
}

TEST_F(ClientConfig, FanOutRefusesStdinUnlessStdinAll) {
  install_default("alice");
  const std::string hosts = server_->address() + ",localhost:" + server_->port();
  RunOptions o;
  o.timeout = 30s;
  o.env = {"HOME=" + home_};
  o.stdin_data = "one line\n";
  auto r = run({TREX_BIN, "-H", hosts, "cat"}, o);
  EXPECT_EQ(r.status, 255);
  EXPECT_NE(r.err.find("a fan-out does not read stdin: give -n, or --stdin-all"), std::string::npos)
      << r.err;
  EXPECT_EQ(r.out, "");
  r = run({TREX_BIN, "-H", hosts, "-n", "echo", "ok"}, o);
  EXPECT_EQ(r.status, 0) << r.err;
  r = run({TREX_BIN, "-H", hosts, "--stdin-all", "cat"}, o);
  EXPECT_EQ(r.status, 0) << r.err;
  auto lines = lines_of(r.out);
  std::sort(lines.begin(), lines.end());
  EXPECT_EQ(lines, (std::vector<std::string>{"127.0.0.1:" + server_->port() + ": one line",
                                             "localhost:" + server_->port() + ": one line"}))
      << r.out;
  // An empty stdin is no input to drop.
  o.stdin_data.clear();
  r = run({TREX_BIN, "-H", hosts, "echo", "ok"}, o);
  EXPECT_EQ(r.status, 0) << r.err;
}

TEST_F(ClientConfig, VerboseSaysWhereWhomHowAndTheCommandId) {
  install_default("alice");
  auto r = whoami({"-v"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("connected to " + server_->address() + ", server certificate for"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("server certificate CN=server serial "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(", expires 20"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("trex: TLSv1.3 TLS13-"), std::string::npos) << r.err;
  const auto at = r.err.find("command id ");
  ASSERT_NE(at, std::string::npos) << r.err;
  const auto id = r.err.substr(at + 11, r.err.find(' ', at + 11) - at - 11);
  ASSERT_FALSE(id.empty()) << r.err;
  bool audited = false;
  for (const auto& rec : audit_records(server_->audit_path(), "exec_start")) {
    audited = audited || rec["id"] == id;
  }
  EXPECT_TRUE(audited) << "no exec_start with id " << id;
  r = whoami();
  EXPECT_EQ(r.err, "");
}

TEST_F(ClientConfig, JsonForOneHost) {
  install_default("alice");
  auto r = trex({"--json", server_->address(), "-c", "echo hi; exit 3"});
  EXPECT_EQ(r.status, 3) << r.err;
  const auto lines = lines_of(r.out);
  ASSERT_EQ(lines.size(), 1U) << r.out;
  const auto j = nlohmann::json::parse(lines[0]);
  EXPECT_EQ(j["host"], server_->address());
  EXPECT_EQ(j["exit"], 3);
  EXPECT_EQ(j["stdout"], "hi\n");
  r = trex({"--json", server_->address()});
  EXPECT_EQ(r.status, 255);
  EXPECT_NE(r.err.find("--json and -b need a command"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace trex::testing
