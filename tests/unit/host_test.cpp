// IP literals as values, host:port text and the server-name rule (trex/host.hpp).
#include "trex/host.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "trex/config.hpp"

namespace trex::host {
namespace {

std::vector<std::uint8_t> bytes_of(const char* text) {
  auto ip = parse_ip(text);
  if (!ip) return {};
  return {ip->bytes(), ip->bytes() + ip->size()};
}

const std::vector<std::uint8_t> kLoopback6 = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};

TEST(IpAddress, EverySpellingOfLoopbackIsOneValue) {
  for (const char* text : {"::1", "0:0:0:0:0:0:0:1", "0000:0000:0000:0000:0000:0000:0000:0001",
                           "::0001", "0::1", "0:0::0:1", "0:0:0:0:0:0:0.0.0.1", "::0.0.0.1"}) {
    EXPECT_EQ(bytes_of(text), kLoopback6) << text;
  }
}

TEST(IpAddress, GroupsAndTailsLandInTheirBytes) {
  EXPECT_EQ(bytes_of("2001:DB8::a:B"),
            (std::vector<std::uint8_t>{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x0a, 0,
                                       0x0b}));
  EXPECT_EQ(
      bytes_of("64:ff9b::192.0.2.33"),
      (std::vector<std::uint8_t>{0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0, 192, 0, 2, 33}));
  EXPECT_EQ(bytes_of("1::"),
            (std::vector<std::uint8_t>{0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}));
  EXPECT_EQ(bytes_of("1:2:3:4:5:6:7::"),
            (std::vector<std::uint8_t>{0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 0}));
  EXPECT_EQ(bytes_of("::"), std::vector<std::uint8_t>(16, 0));
  EXPECT_EQ(bytes_of("127.0.0.1"), (std::vector<std::uint8_t>{127, 0, 0, 1}));
  EXPECT_EQ(bytes_of("255.255.255.255"), (std::vector<std::uint8_t>{255, 255, 255, 255}));
  EXPECT_EQ(bytes_of("0.0.0.0"), (std::vector<std::uint8_t>{0, 0, 0, 0}));
}

TEST(IpAddress, RefusesWhatIsNoAddress) {
  for (const char* text : {"",
                           ":",
                           ":::",
                           "::1::",
                           "1:::2",
                           "1::2::3",
                           ":1:2:3:4:5:6:7",
                           "1:2:3:4:5:6:7:",
                           "1:2",
                           "1:2:3:4:5:6:7:8:9",
                           "1::2:3:4:5:6:7:8",
                           "12345::",
                           "g::1",
                           "::1 ",
                           " ::1",
                           "[::1]",
                           "::1.2.3",
                           "::1.2.3.4.5",
                           "1.2.3.4::",
                           "::256.0.0.1",
                           "1:2:3:4:5:6:7:1.2.3.4",
                           "::ffff:1.2.3.04",
                           "::1%",
                           "::1%a b",
                           "::1%eth0%1",
                           "::-1",
                           "::+1",
                           "127.0.0.1%eth0",
                           "1.2.3",
                           "1.2.3.4.5",
                           "256.1.1.1",
                           "01.2.3.4",
                           "127.000.000.001",
                           "0x7f.0.0.1",
                           "1..2.3",
                           "1.2.3.",
                           ".1.2.3",
                           "lab1",
                           "1.2.3.-4",
                           "1.2.3.4 "}) {
    EXPECT_FALSE(parse_ip(text).has_value()) << "'" << text << "'";
  }
}

TEST(IpAddress, ZoneIsKeptButNotCompared) {
  auto scoped = parse_ip("fe80::1%eth0");
  ASSERT_TRUE(scoped.has_value());
  EXPECT_EQ(scoped->zone(), "eth0");
  EXPECT_EQ(scoped->to_string(), "fe80::1%eth0");
  auto other = parse_ip("FE80:0::0001%2");
  ASSERT_TRUE(other.has_value());
  EXPECT_TRUE(scoped->same_address(*other));
  EXPECT_TRUE(scoped->same_address(*parse_ip("fe80::1")));
  EXPECT_FALSE(scoped->same_address(*parse_ip("fe80::2%eth0")));
}

TEST(IpAddress, MappedAddressIsItsIpv4Address) {
  auto mapped = parse_ip("::ffff:127.0.0.1");
  ASSERT_TRUE(mapped.has_value());
  EXPECT_TRUE(mapped->is_v4_mapped());
  EXPECT_TRUE(mapped->same_address(*parse_ip("127.0.0.1")));
  EXPECT_TRUE(mapped->same_address(*parse_ip("::FFFF:7f00:1")));
  EXPECT_EQ(mapped->unmapped().to_string(), "127.0.0.1");
  EXPECT_TRUE(mapped->unmapped().is_v4());
  // Not mapped: the deprecated IPv4-compatible form, and a NAT64 prefix.
  EXPECT_FALSE(parse_ip("::127.0.0.1")->same_address(*parse_ip("127.0.0.1")));
  EXPECT_FALSE(parse_ip("64:ff9b::127.0.0.1")->same_address(*parse_ip("127.0.0.1")));
  EXPECT_FALSE(parse_ip("::1")->same_address(*parse_ip("0.0.0.1")));
}

TEST(IpAddress, WritesRfc5952Text) {
  EXPECT_EQ(parse_ip("0000:0000:0000:0000:0000:0000:0000:0001")->to_string(), "::1");
  EXPECT_EQ(parse_ip("2001:DB8:0:0:1:0:0:1")->to_string(), "2001:db8::1:0:0:1");
  EXPECT_EQ(parse_ip("2001:db8:0:1:1:1:1:1")->to_string(), "2001:db8:0:1:1:1:1:1");
  EXPECT_EQ(parse_ip("::ffff:7f00:1")->to_string(), "::ffff:127.0.0.1");
  EXPECT_EQ(parse_ip("10.1.2.3")->to_string(), "10.1.2.3");
  const unsigned char odd[8] = {};
  EXPECT_FALSE(IpAddress::from_bytes(odd, 8).has_value());
  EXPECT_FALSE(IpAddress::from_bytes(odd, 0).has_value());
}

TEST(HostPort, BracketsOnlyForIpv6) {
  EXPECT_EQ(join_host_port("::1", 7443), "[::1]:7443");
  EXPECT_EQ(join_host_port("fe80::1%eth0", 1), "[fe80::1%eth0]:1");
  EXPECT_EQ(join_host_port("127.0.0.1", 7443), "127.0.0.1:7443");
  EXPECT_EQ(join_host_port("lab1", 22), "lab1:22");
}

TEST(HostPort, NumericHostsTheLibraryWouldGuessAreAmbiguous) {
  for (const char* h : {"127.1", "0x7f.0.0.1", "010.0.0.1", "2130706433", "127.0.1"}) {
    EXPECT_TRUE(is_ambiguous_numeric(h)) << h;
  }
  for (const char* h : {"127.0.0.1", "::1", "lab1", "1e100.example", "10.example"}) {
    EXPECT_FALSE(is_ambiguous_numeric(h)) << h;
  }
}

TEST(ServerName, IpLiteralMatchesIpSansByValueOnly) {
  const std::vector<std::string> sans = {"DNS:server", "IP:127.0.0.1", "IP:::1"};
  for (const char* host : {"::1", "0:0:0:0:0:0:0:1", "0000::0001", "::0.0.0.1", "127.0.0.1",
                           "::ffff:127.0.0.1", "::1%lo"}) {
    EXPECT_TRUE(certificate_names_host(host, sans)) << host;
  }
  for (const char* host : {"::2", "127.0.0.2", "::127.0.0.1", "fe80::1"}) {
    EXPECT_FALSE(certificate_names_host(host, sans)) << host;
  }
  // A DNS SAN spelling an address never stands for it.
  EXPECT_FALSE(certificate_names_host("::1", {"DNS:::1", "DNS:0:0:0:0:0:0:0:1"}));
  EXPECT_FALSE(certificate_names_host("127.0.0.1", {"DNS:127.0.0.1", "DNS:*.0.0.1"}));
  // A mapped SAN is the IPv4 address too.
  EXPECT_TRUE(certificate_names_host("127.0.0.1", {"IP:::ffff:127.0.0.1"}));
  // An IP SAN wolfCrypt could not read (a length other than 4 or 16) names nothing.
  EXPECT_FALSE(certificate_names_host("0.0.0.0", {"IP:"}));
  EXPECT_FALSE(certificate_names_host("::1", {}));
}

TEST(ServerName, HostNameMatchesDnsSansOnly) {
  EXPECT_TRUE(certificate_names_host("lab1", {"IP:::1", "DNS:lab1"}));
  EXPECT_TRUE(certificate_names_host("LAB1.Example.com", {"DNS:lab1.example.COM"}));
  EXPECT_FALSE(certificate_names_host("lab2", {"DNS:lab1"}));
  EXPECT_FALSE(certificate_names_host("lab", {"DNS:lab1"}));
  // Wildcards: one whole leftmost label, never a partial one, never two.
  EXPECT_TRUE(certificate_names_host("a.lab.example", {"DNS:*.lab.example"}));
  EXPECT_FALSE(certificate_names_host("a.b.lab.example", {"DNS:*.lab.example"}));
  EXPECT_FALSE(certificate_names_host("lab.example", {"DNS:*.lab.example"}));
  EXPECT_FALSE(certificate_names_host("foo.example", {"DNS:f*.example"}));
  EXPECT_FALSE(certificate_names_host("a.example", {"DNS:*.example"}));
  EXPECT_FALSE(certificate_names_host("a.b.example", {"DNS:*.*.example"}));
  // IP SANs' text does not name hosts.
  EXPECT_FALSE(certificate_names_host("lab1", {"IP:127.0.0.1"}));
  EXPECT_FALSE(certificate_names_host("", {"DNS:"}));
}

}  // namespace
}  // namespace trex::host

namespace trex::config {
namespace {

TEST(Endpoint, Ipv6WithAndWithoutPort) {
  struct Case {
    const char* text;
    const char* host;
    std::uint16_t port;
  } good[] = {{"[::1]:17460", "::1", 17460},
              {"::1", "::1", 9},
              {"[0:0:0:0:0:0:0:1]:1", "0:0:0:0:0:0:0:1", 1},
              {"[fe80::1%eth0]:22", "fe80::1%eth0", 22},
              {"fe80::1%eth0", "fe80::1%eth0", 9},
              {"[::ffff:127.0.0.1]:5", "::ffff:127.0.0.1", 5},
              {"[::]:7443", "::", 7443},
              {"::", "::", 9}};
  for (const auto& c : good) {
    auto ep = parse_endpoint(c.text, 9);
    ASSERT_TRUE(ep.ok()) << c.text << ": " << ep.message();
    EXPECT_EQ(ep->host, c.host) << c.text;
    EXPECT_EQ(ep->port, c.port) << c.text;
  }
}

TEST(Endpoint, RefusesHostsThatAreNotWhatTheyLookLike) {
  struct Case {
    const char* text;
    const char* says;
  } bad[] = {{"[lab1]:22", "brackets are for IPv6"},
             {"[127.0.0.1]:22", "brackets are for IPv6"},
             {"[::1::]:22", "brackets are for IPv6"},
             {"::1:99999", "write an IPv6 address with a port as [ADDRESS]:PORT"},
             {"lab1:22:33", "neither HOST:PORT nor an IPv6 address"},
             {"127.1:22", "no dotted-quad IPv4 address"},
             {"010.0.0.1", "no dotted-quad IPv4 address"},
             {"[]:22", "missing host"},
             {"[::1]:", "bad port"}};
  for (const auto& c : bad) {
    auto ep = parse_endpoint(c.text, 9);
    ASSERT_FALSE(ep.ok()) << c.text;
    EXPECT_NE(ep.message().find(c.says), std::string::npos) << c.text << ": " << ep.message();
  }
}

}  // namespace
}  // namespace trex::config
