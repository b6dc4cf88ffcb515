#include "trex/config.hpp"

#include <gtest/gtest.h>

namespace trex::config {
namespace {

TEST(ConfigToml, EveryKeyOverridesTheDefault) {
  const char* text = R"(
listen = "0.0.0.0:9000"
ca = "/etc/trex/ca.crt"
cert = "/etc/trex/server.crt"
key = "/etc/trex/server.key"
crl = "/etc/trex/crl.pem"
policy = "/etc/trex/policy.toml"
log_dir = "/var/log/trex"
audit_log = "/var/log/trex/audit.jsonl"
max_sessions = 8
command_timeout = 60
handshake_timeout = 3
idle_timeout = 30
max_output = "16M"
max_recording = "64K"
kill_grace = 2
audit_fsync = true
audit_max_bytes = 1048576
syslog = true
audit_syslog = true
audit_syslog_socket = "/run/rsyslog/trex.sock"
)";
  auto c = apply_toml(ServerConfig{}, text, "trexd.toml");
  ASSERT_TRUE(c.ok()) << c.message();
  EXPECT_EQ(c->listen, "0.0.0.0:9000");
  EXPECT_EQ(c->ca, "/etc/trex/ca.crt");
  EXPECT_EQ(c->cert, "/etc/trex/server.crt");
  EXPECT_EQ(c->key, "/etc/trex/server.key");
  EXPECT_EQ(c->crl, "/etc/trex/crl.pem");
  EXPECT_EQ(c->policy, "/etc/trex/policy.toml");
  EXPECT_EQ(c->log_dir, "/var/log/trex");
  EXPECT_EQ(c->audit_path(), "/var/log/trex/audit.jsonl");
  EXPECT_EQ(c->max_sessions, 8u);
  EXPECT_EQ(c->command_timeout, 60u);
  EXPECT_EQ(c->handshake_timeout, 3u);
  EXPECT_EQ(c->idle_timeout, 30u);
  EXPECT_EQ(c->max_output, 16u << 20);
  EXPECT_EQ(c->max_recording, 64u << 10);
  EXPECT_EQ(c->kill_grace, 2u);
  EXPECT_TRUE(c->audit_fsync);
  EXPECT_EQ(c->audit_max_bytes, 1u << 20);
  EXPECT_TRUE(c->syslog);
  EXPECT_TRUE(c->audit_syslog);
  EXPECT_EQ(c->audit_syslog_socket, "/run/rsyslog/trex.sock");
  EXPECT_TRUE(validate(*c).ok());
}

TEST(ConfigToml, DefaultsMatchTheSpecification) {
  ServerConfig c;
  EXPECT_EQ(c.listen, "127.0.0.1:7443");
  EXPECT_EQ(c.ca, "pki/ca.crt");
  EXPECT_EQ(c.cert, "pki/issued/server.crt");
  EXPECT_EQ(c.key, "pki/private/server.key");
  EXPECT_EQ(c.crl, "pki/crl.pem");
  EXPECT_EQ(c.audit_path(), "log/audit.jsonl");
  EXPECT_EQ(c.max_sessions, 64u);
  EXPECT_EQ(c.max_recording, 1u << 30);
}

TEST(ConfigToml, ErrorsNameFileLineAndKey) {
  struct Case {
    const char* text;
    const char* expect;
  } cases[] = {
      {"listen = 7443\n", "trexd.toml:1: key 'listen' must be a non-empty string"},
      {"\nmax_sessions = \"64\"\n", "trexd.toml:2: key 'max_sessions' must be an integer"},
      {"max_sessions = 0\n", "key 'max_sessions' must be an integer from 1 to 4096"},
      {"max_sessions = -5\n", "key 'max_sessions'"},
      // Floats are not integers; one beyond int64 was undefined behaviour (fuzzer).
      {"max_sessions = 8.0\n", "key 'max_sessions' must be an integer"},
      {"max_sessions = 9999e98\n", "key 'max_sessions' must be an integer"},
      {"command_timeout = -1e300\n", "key 'command_timeout' must be an integer"},
      {"max_output = 1e30\n", "key 'max_output' must be a size"},
      {"audit_fsync = \"yes\"\n", "key 'audit_fsync' must be true or false"},
      {"max_output = \"12X\"\n", "key 'max_output' must be a size"},
      {"max_output = 0\n", "key 'max_output'"},
      {"max_output = \"0\"\n", "key 'max_output' must be a size"},
      {"max_recording = \"1Q\"\n", "key 'max_recording' must be a size"},
      {"listen_addr = \"x\"\n", "trexd.toml:1: unknown key 'listen_addr'"},
      {"max-sessions = 3\n", "unknown key 'max-sessions'"},
      {"[server]\nlisten = \"x\"\n", "unknown key 'server'"},
      {"listen = \n", "trexd.toml:1:"},
      {"listen = \"\"\n", "must be a non-empty string"},
  };
  for (const auto& c : cases) {
    auto r = apply_toml(ServerConfig{}, c.text, "trexd.toml");
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_NE(r.message().find(c.expect), std::string::npos)
        << "for " << c.text << " got: " << r.message();
  }
}

TEST(ConfigToml, MissingFileIsAnError) {
  auto r = apply_toml_file(ServerConfig{}, "/nonexistent/trexd.toml");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.message().find("/nonexistent/trexd.toml"), std::string::npos);
}

TEST(Endpoint, ParsesHostsAndPorts) {
  struct Case {
    const char* text;
    const char* host;
    std::uint16_t port;
  } good[] = {{"127.0.0.1:7443", "127.0.0.1", 7443}, {"lab1", "lab1", 9}, {"lab1:22", "lab1", 22},
              {"[::1]:8000", "::1", 8000},           {"[::1]", "::1", 9}, {"::1", "::1", 9},
              {"127.0.0.1:0", "127.0.0.1", 0}};
  for (const auto& c : good) {
    auto ep = parse_endpoint(c.text, 9);
    ASSERT_TRUE(ep.ok()) << c.text << ": " << ep.message();
    EXPECT_EQ(ep->host, c.host);
    EXPECT_EQ(ep->port, c.port);
  }
  for (const char* bad : {"", ":80", "host:", "host:99999", "host:12a", "[::1", "[::1]x", "h:-1"}) {
    EXPECT_FALSE(parse_endpoint(bad, 9).ok()) << bad;
  }
}

TEST(Size, ConfigAndPolicyShareOneGrammar) {
  // "1KB" was refused by the policy and accepted here; now both take it.
  auto c = apply_toml(ServerConfig{}, "max_output = \"1KB\"\naudit_max_bytes = \"1mb\"\n", "t");
  ASSERT_TRUE(c.ok()) << c.message();
  EXPECT_EQ(c->max_output, 1024u);
  EXPECT_EQ(c->audit_max_bytes, 1u << 20);
}

TEST(Validate, RejectsImpossibleCombinations) {
  ServerConfig c;
  c.listen = "nohost:";
  EXPECT_FALSE(validate(c).ok());
  c = ServerConfig{};
  c.audit_max_bytes = 100;
  EXPECT_FALSE(validate(c).ok());
  c = ServerConfig{};
  c.max_recording = 4095;  // the header alone may need most of that
  EXPECT_FALSE(validate(c).ok());
  c.max_recording = 4096;
  EXPECT_TRUE(validate(c).ok());
}

}  // namespace
}  // namespace trex::config

namespace trex::config {
namespace {

// The annotated example says its values are the defaults: keep it honest.
TEST(ConfigToml, ExampleFileParsesAndShowsTheDefaults) {
  auto c =
      apply_toml_file(ServerConfig{}, std::string(TREX_SOURCE_DIR) + "/tools/trexd.example.toml");
  ASSERT_TRUE(c.ok()) << c.message();
  const ServerConfig d;
  EXPECT_EQ(c->listen, d.listen);
  EXPECT_EQ(c->ca, d.ca);
  EXPECT_EQ(c->cert, d.cert);
  EXPECT_EQ(c->key, d.key);
  EXPECT_EQ(c->crl, d.crl);
  EXPECT_EQ(c->log_dir, d.log_dir);
  // The one value marked "example": a policy is required (no default).
  EXPECT_EQ(c->policy, "policy.toml");
  EXPECT_FALSE(c->allow_all);
  EXPECT_EQ(missing_policy(*c), "");
  EXPECT_NE(missing_policy(d), "");
  EXPECT_EQ(c->audit_fsync, d.audit_fsync);
  EXPECT_EQ(c->audit_max_bytes, d.audit_max_bytes);
  EXPECT_EQ(c->syslog, d.syslog);
  EXPECT_EQ(c->audit_syslog, d.audit_syslog);
  EXPECT_EQ(c->audit_syslog_socket, d.audit_syslog_socket);
  EXPECT_EQ(c->max_sessions, d.max_sessions);
  EXPECT_EQ(c->command_timeout, d.command_timeout);
  EXPECT_EQ(c->handshake_timeout, d.handshake_timeout);
  EXPECT_EQ(c->idle_timeout, d.idle_timeout);
  EXPECT_EQ(c->kill_grace, d.kill_grace);
  EXPECT_EQ(c->max_output, d.max_output);
}

}  // namespace
}  // namespace trex::config
