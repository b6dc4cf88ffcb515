// The client's config file, host ranges and certificate lookup order: pure
// functions, no HOME or files needed.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "config/toml_lite.hpp"
#include "trex/client_config.hpp"

namespace trex::config {
namespace {

ClientConfig parsed(const std::string& text) {
  auto c = parse_client_config(text, "/home/u/.config/trex/config.toml", "/home/u");
  EXPECT_TRUE(c.ok()) << (c ? "" : c.message());
  return c ? *c : ClientConfig{};
}

std::string error_of(const std::string& text) {
  auto c = parse_client_config(text, "cfg.toml", "/home/u");
  EXPECT_FALSE(c.ok()) << "accepted: " << text;
  return c ? "" : c.message();
}

TEST(ClientConfig, ReadsDefaultsHostsAndGroups) {
  const auto c = parsed(R"(# mine
ca = "ca.crt"            # beside this file
cert = "/etc/trex/me.crt"
key = '~/keys/me.key'
port = 7_444
connect_timeout = 3

[hosts.web1]
address = "10.0.0.5"
port = 7445
server_name = "web1.lab"
cert = "web1.crt"

[hosts."db-1"]
address = "[fd00::1]:7446"

[groups]
lab = [ "web1",
        "lab[01-03]",   # trailing comma below
        "10.0.0.[11-12]", ]
)");
  EXPECT_EQ(c.ca, "/home/u/.config/trex/ca.crt");
  EXPECT_EQ(c.cert, "/etc/trex/me.crt");
  EXPECT_EQ(c.key, "/home/u/keys/me.key");
  EXPECT_EQ(c.port, 7444);
  EXPECT_EQ(c.connect_timeout, 3U);
  EXPECT_TRUE(c.pki_dir.empty());
  ASSERT_EQ(c.hosts.size(), 2U);
  const auto& web = c.hosts.at("web1");
  EXPECT_EQ(web.address, "10.0.0.5");
  EXPECT_EQ(web.port, 7445);
  EXPECT_EQ(web.server_name, "web1.lab");
  EXPECT_EQ(web.cert, "/home/u/.config/trex/web1.crt");
  EXPECT_TRUE(web.key.empty());
  EXPECT_EQ(c.hosts.at("db-1").address, "fd00::1");
  EXPECT_EQ(c.hosts.at("db-1").port, 7446);
  EXPECT_EQ(c.groups.at("lab"), (std::vector<std::string>{"web1", "lab[01-03]", "10.0.0.[11-12]"}));
}

TEST(ClientConfig, PersistTakesSecondsOrADurationPerHostToo) {
  const auto c = parsed(
      "persist = \"5m\"\n[hosts.a]\npersist = 0\n[hosts.b]\npersist = \"off\"\n"
      "[hosts.c]\npersist = 90\n[hosts.d]\naddress = \"d1\"\n");
  EXPECT_EQ(c.persist, 300u);
  EXPECT_EQ(c.hosts.at("a").persist, 0u);
  EXPECT_EQ(c.hosts.at("b").persist, 0u);
  EXPECT_EQ(c.hosts.at("c").persist, 90u);
  EXPECT_FALSE(c.hosts.at("d").persist.has_value());
  EXPECT_EQ(*parse_duration("1h"), 3600u);
  EXPECT_EQ(*parse_duration("45s"), 45u);
  for (const char* bad : {"", "s", "-1", "1d", "1.5m", "721h", "ten"}) {
    EXPECT_FALSE(parse_duration(bad).ok()) << bad;
  }
  const auto e = error_of("persist = \"forever\"\n");
  EXPECT_NE(e.find("cfg.toml:1: key 'persist'"), std::string::npos) << e;
  EXPECT_NE(e.find("'forever'"), std::string::npos) << e;
  EXPECT_FALSE(error_of("persist = true\n").empty());
}

TEST(ClientConfig, EmptyFileIsNoSettings) {
  const auto c = parsed("\n# nothing\n\n");
  EXPECT_TRUE(c.ca.empty() && c.hosts.empty() && c.groups.empty() && !c.port);
}

TEST(ClientConfig, ErrorsNameLineAndKey) {
  EXPECT_EQ(error_of("port = 7443\nprot = 1\n").rfind("cfg.toml:2: key 'prot' is unknown", 0), 0U);
  EXPECT_NE(
      error_of("port = 70000\n").find("cfg.toml:1: key 'port' must be an integer from 1 to 65535"),
      std::string::npos);
  EXPECT_NE(error_of("port = \"7443\"\n").find("key 'port'"), std::string::npos);
  EXPECT_NE(error_of("\n\nca = 5\n").find("cfg.toml:3: key 'ca' must be a non-empty string"),
            std::string::npos);
  EXPECT_NE(error_of("[host.x]\naddress = \"a\"\n").find("cfg.toml:2: unknown table [host.x]"),
            std::string::npos);
  EXPECT_NE(error_of("[hosts.x]\nadress = \"a\"\n").find("key 'adress' is unknown in [hosts.x]"),
            std::string::npos);
  EXPECT_NE(error_of("[hosts.x]\naddress = \"a:1\"\nport = 2\n").find("cfg.toml:3"),
            std::string::npos);
  EXPECT_NE(error_of("[hosts.\"a b\"]\nport = 2\n").find("alias"), std::string::npos);
  EXPECT_NE(error_of("[groups]\nlab = []\n").find("non-empty array"), std::string::npos);
  EXPECT_NE(error_of("[groups]\nlab = \"web1\"\n").find("non-empty array"), std::string::npos);
  EXPECT_NE(error_of("[groups]\nlab = [\"n[5-1]\"]\n").find("backwards"), std::string::npos);
}

TEST(ClientConfig, SyntaxOutsideTheSubsetIsRefused) {
  for (const std::string bad : {"port = 7443 7444\n",
                                "port = 1.5\n",
                                "port = 0x10\n",
                                "ca = \"unterminated\n",
                                "ca = \"\"\"x\"\"\"\n",
                                "a.b = 1\n",
                                "x = {a = 1}\n",
                                "[[hosts]]\n",
                                "[hosts.x\n",
                                "ca = \"a\"\nca = \"b\"\n",
                                "[groups]\n[groups]\n",
                                "g = [1, 2]\n",
                                "ca = \"\\q\"\n",
                                "ca = \"\\uD800\"\n",
                                "= 1\n",
                                "port =\n",
                                "port = 99999999999999999999\n",
                                "ca = \"a\x01\"\n",
                                "k = [\"a\" \"b\"]\n",
                                "k = [\"a\",\n"}) {
    SCOPED_TRACE(bad);
    auto r = read_toml_lite(bad, "f", [](const auto&, TomlEntry&) { return Status(); });
    const bool refused = !r.ok() || !parse_client_config(bad, "f", "/h").ok();
    EXPECT_TRUE(refused);
    if (!r.ok()) {
      EXPECT_EQ(r.message().rfind("f:", 0), 0U) << r.message();
    }
  }
}

TEST(ClientConfig, StringsDecodeEscapes) {
  std::vector<TomlEntry> entries;
  auto r = read_toml_lite("a = \"q\\\"\\\\\\t\\u00e9\\U0001F600\"\nb = 'C:\\raw'\n", "f",
                          [&](const auto&, TomlEntry& e) {
                            entries.push_back(e);
                            return Status();
                          });
  ASSERT_TRUE(r.ok()) << r.message();
  ASSERT_EQ(entries.size(), 2U);
  EXPECT_EQ(entries[0].value.text, "q\"\\\t\xc3\xa9\xf0\x9f\x98\x80");
  EXPECT_EQ(entries[1].value.text, "C:\\raw");
  EXPECT_EQ(entries[1].line, 2);
}

TEST(ClientConfig, PathsAreRelativeToTheFileAndTildeIsHome) {
  auto c = parse_client_config("pki_dir = \"pki\"\n", "conf/trex.toml", "/h");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->pki_dir, "conf/pki");
  c = parse_client_config("pki_dir = \"pki\"\n", "trex.toml", "/h");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->pki_dir, "./pki");
  EXPECT_NE(parse_client_config("ca = \"~/x\"\n", "t", "").message().find("HOME"),
            std::string::npos);
}

TEST(ClientConfig, ConfigPathOrder) {
  std::map<std::string, std::string> vars;
  const EnvLookup env = [&](const char* n) -> const char* {
    auto it = vars.find(n);
    return it == vars.end() ? nullptr : it->second.c_str();
  };
  EXPECT_EQ(config_path("", env).path, "");
  vars["HOME"] = "/home/u";
  EXPECT_EQ(config_path("", env).path, "/home/u/.config/trex/config.toml");
  EXPECT_FALSE(config_path("", env).required);
  vars["XDG_CONFIG_HOME"] = "relative";  // not absolute: ignored, as the XDG spec says
  EXPECT_EQ(config_path("", env).path, "/home/u/.config/trex/config.toml");
  vars["XDG_CONFIG_HOME"] = "/xdg";
  EXPECT_EQ(config_path("", env).path, "/xdg/trex/config.toml");
  EXPECT_EQ(config_dir(env), "/xdg/trex");
  vars["TREX_CONFIG"] = "/env.toml";
  EXPECT_EQ(config_path("", env).path, "/env.toml");
  EXPECT_TRUE(config_path("", env).required);
  EXPECT_EQ(config_path("/flag.toml", env).path, "/flag.toml");
  vars["TREX_CONFIG"] = "";  // empty counts as unset
  EXPECT_EQ(config_path("", env).path, "/xdg/trex/config.toml");
}

TEST(ClientConfig, CertificateLookupOrder) {
  std::map<std::string, std::string> vars;
  const EnvLookup env = [&](const char* n) -> const char* {
    auto it = vars.find(n);
    return it == vars.end() ? nullptr : it->second.c_str();
  };
  ClientConfig c;
  c.source = "/c.toml";
  auto f = choose_cert_files({}, env, c, nullptr, "/d");
  EXPECT_EQ(f.ca.path, "/d/ca.crt");
  EXPECT_EQ(f.cert.path, "/d/client.crt");
  EXPECT_EQ(f.key.path, "/d/client.key");
  EXPECT_EQ(f.cert.from, "default");
  EXPECT_TRUE(choose_cert_files({}, env, c, nullptr, "").cert.path.empty())
      << "without HOME there is no default, never a path relative to the working directory";
  c.pki_dir = "/p";
  f = choose_cert_files({}, env, c, nullptr, "/d");
  EXPECT_EQ(f.ca.path, "/p/ca.crt");
  EXPECT_EQ(f.cert.path, "/p/issued/client.crt");
  EXPECT_EQ(f.key.path, "/p/private/client.key");
  EXPECT_EQ(f.key.from, "pki_dir of config /c.toml");
  c.cert = "/cfg.crt";
  EXPECT_EQ(choose_cert_files({}, env, c, nullptr, "/d").cert.path, "/cfg.crt");
  HostEntry h;
  h.cert = "/host.crt";
  f = choose_cert_files({}, env, c, &h, "/d");
  EXPECT_EQ(f.cert.path, "/host.crt");
  EXPECT_EQ(f.ca.path, "/p/ca.crt");
  vars["TREX_CERT"] = "/env.crt";
  f = choose_cert_files({}, env, c, &h, "/d");
  EXPECT_EQ(f.cert.path, "/env.crt");
  EXPECT_EQ(f.cert.from, "TREX_CERT");
  f = choose_cert_files({"", "/flag.crt", ""}, env, c, &h, "/d");
  EXPECT_EQ(f.cert.path, "/flag.crt");
  EXPECT_EQ(f.cert.from, "--cert");
}

TEST(ClientConfig, CrlLookupOrderHasNoDefault) {
  std::map<std::string, std::string> vars;
  const EnvLookup env = [&](const char* n) -> const char* {
    auto it = vars.find(n);
    return it == vars.end() ? nullptr : it->second.c_str();
  };
  // Not even pki_dir's crl.pem: a CRL trex did not ask for could go stale
  // and stop it.
  auto c = parsed("pki_dir = \"/p\"\n");
  auto f = choose_cert_files({}, env, c, nullptr, "/d");
  EXPECT_TRUE(f.crl.path.empty());
  EXPECT_EQ(f.crl.from, "not set: servers are not checked for revocation");
  c = parsed("crl = \"crl.pem\"\n[hosts.web1]\ncrl = \"~/web1-crl.pem\"\n");
  EXPECT_EQ(c.crl, "/home/u/.config/trex/crl.pem");
  ASSERT_EQ(c.hosts.count("web1"), 1u);
  f = choose_cert_files({}, env, c, nullptr, "/d");
  EXPECT_EQ(f.crl.path, "/home/u/.config/trex/crl.pem");
  EXPECT_EQ(f.crl.from, "config /home/u/.config/trex/config.toml");
  f = choose_cert_files({}, env, c, &c.hosts["web1"], "/d");
  EXPECT_EQ(f.crl.path, "/home/u/web1-crl.pem");
  vars["TREX_CRL"] = "";  // empty counts as unset
  EXPECT_EQ(choose_cert_files({}, env, c, nullptr, "/d").crl.from,
            "config /home/u/.config/trex/config.toml");
  vars["TREX_CRL"] = "/env.pem";
  f = choose_cert_files({}, env, c, &c.hosts["web1"], "/d");
  EXPECT_EQ(f.crl.path, "/env.pem");
  EXPECT_EQ(f.crl.from, "TREX_CRL");
  f = choose_cert_files({"", "", "", "/flag.pem"}, env, c, nullptr, "/d");
  EXPECT_EQ(f.crl.path, "/flag.pem");
  EXPECT_EQ(f.crl.from, "--crl");
  EXPECT_NE(error_of("crl = 7\n").find("key 'crl' must be a non-empty string"), std::string::npos);
}

TEST(HostRanges, Expand) {
  const auto e = [](std::string_view w) {
    auto r = expand_host_ranges(w);
    EXPECT_TRUE(r.ok()) << w << ": " << (r ? "" : r.message());
    return r ? *r : std::vector<std::string>{};
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(e("web1"), V{"web1"});
  EXPECT_EQ(e("lab[01-03]"), (V{"lab01", "lab02", "lab03"}));
  EXPECT_EQ(e("lab[8-11]"), (V{"lab8", "lab9", "lab10", "lab11"}));
  EXPECT_EQ(e("lab[08-11]"), (V{"lab08", "lab09", "lab10", "lab11"}));
  EXPECT_EQ(e("10.0.0.[11-13]"), (V{"10.0.0.11", "10.0.0.12", "10.0.0.13"}));
  EXPECT_EQ(e("n[1,3,5-6]:7444"), (V{"n1:7444", "n3:7444", "n5:7444", "n6:7444"}));
  EXPECT_EQ(e("r[1-2]n[1-2]"), (V{"r1n1", "r1n2", "r2n1", "r2n2"}));
  EXPECT_EQ(e("[::1]:7443"), V{"[::1]:7443"});
  EXPECT_EQ(e("[fd00::1]"), V{"[fd00::1]"});
  EXPECT_EQ(e("fd00::[9-10]"), (V{"fd00::9", "fd00::10"}));  // bare IPv6 takes --port
  EXPECT_EQ(e("lab[7]"), V{"lab7"});
  EXPECT_EQ(e("10.0.0.[1-300]").size(), 300U);
  for (const char* bad :
       {"lab[3-1]", "lab[1-]", "lab[-2]", "lab[1,,2]", "n[0-99999]", "a[0-999]b[0-999]"}) {
    SCOPED_TRACE(bad);
    auto r = expand_host_ranges(bad);
    EXPECT_FALSE(r.ok());
    if (!r.ok()) {
      EXPECT_NE(r.message().find(bad), std::string::npos) << r.message();
    }
  }
}

TEST(HostRanges, FoldIsTheInverseOfExpand) {
  EXPECT_EQ(fold_host_ranges({"lab03", "lab01", "lab02", "lab05"}), "lab[01-03,05]");
  EXPECT_EQ(fold_host_ranges({"n1", "n2", "n10", "n11", "web"}), "n[1-2],n[10-11],web");
  EXPECT_EQ(fold_host_ranges({"10.0.0.11", "10.0.0.12", "lab7"}), "10.0.0.[11-12],lab7");
  EXPECT_EQ(fold_host_ranges({"lab2", "lab2"}), "lab2");
  // HOST:PORT and IPv6 stay as they are (a bracket there is no range).
  EXPECT_EQ(fold_host_ranges({"127.0.0.1:7443", "127.0.0.1:7444", "[::1]:7"}),
            "127.0.0.1:7443,127.0.0.1:7444,[::1]:7");
  EXPECT_EQ(fold_host_ranges({}), "");
  for (const std::vector<std::string>& hosts :
       {std::vector<std::string>{"lab01", "lab09", "lab10", "lab12", "x", "lab11"},
        std::vector<std::string>{"a9", "a10", "a099", "a100", "b1.lab", "b2.lab"}}) {
    std::vector<std::string> back;
    for (const auto& word : split_host_list(fold_host_ranges(hosts))) {
      auto names = expand_host_ranges(word);
      ASSERT_TRUE(names.ok()) << word;
      back.insert(back.end(), names->begin(), names->end());
    }
    auto want = hosts;
    std::sort(want.begin(), want.end());
    std::sort(back.begin(), back.end());
    EXPECT_EQ(back, want);
  }
}

TEST(HostRanges, SplitKeepsBracketsWhole) {
  using V = std::vector<std::string>;
  EXPECT_EQ(split_host_list("a,n[1,3],b"), (V{"a", "n[1,3]", "b"}));
  EXPECT_EQ(split_host_list(",a,,[::1]:7443,"), (V{"a", "[::1]:7443"}));
}

}  // namespace
}  // namespace trex::config
