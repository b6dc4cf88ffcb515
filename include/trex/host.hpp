// Hosts as users write them and as certificates name them. An IP address is
// a value (4 or 16 bytes), whatever its spelling: "::1", "0:0:0:0:0:0:0:1"
// and "0000::0001" are one address, and "::ffff:127.0.0.1" is 127.0.0.1.
// Parsing accepts only the textual forms of RFC 4291 (IPv6, with an embedded
// IPv4 tail and an RFC 4007 zone such as "%eth0") and the dotted quad (IPv4).
// Pure functions on values: no I/O, no name resolution; thread-safe.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace trex::host {

class IpAddress {
 public:
  // 4 or 16 bytes in network order; any other length is no address.
  static std::optional<IpAddress> from_bytes(const unsigned char* bytes, std::size_t len,
                                             std::string zone = {});

  std::size_t size() const { return size_; }  // 4 or 16
  const std::uint8_t* bytes() const { return bytes_.data(); }
  // The zone of a scoped address ("eth0" in "fe80::1%eth0"), empty without.
  // It says where to connect, not which address: comparisons ignore it.
  const std::string& zone() const { return zone_; }
  bool is_v4() const { return size_ == 4; }
  bool is_v4_mapped() const;  // ::ffff:a.b.c.d
  // The IPv4 address an IPv4-mapped address stands for; otherwise itself.
  IpAddress unmapped() const;
  // One address by value: bytes after unmapping; zones ignored.
  bool same_address(const IpAddress& other) const;
  // RFC 5952: lower-case hex, the longest run of zero groups as "::",
  // "::ffff:a.b.c.d" for a mapped address, then "%zone" when there is one.
  std::string to_string() const;

 private:
  IpAddress() = default;
  std::array<std::uint8_t, 16> bytes_{};
  std::uint8_t size_ = 0;
  std::string zone_;
};

// An IPv4 dotted quad (four decimal octets without leading zeros, which
// inet_aton would read as octal) or an IPv6 address with an optional zone.
// No brackets, no port, no surrounding blanks. nullopt for anything else.
std::optional<IpAddress> parse_ip(std::string_view text);

// A host that the C library would take for an IPv4 address but that is no
// dotted quad ("127.1", "0x7f.0.0.1", "010.0.0.1"): refused, since the user
// cannot tell which address it is and the certificate check could not either.
bool is_ambiguous_numeric(std::string_view host);

// "host:port", or "[v6]:port" for a host holding a ':' (an IPv6 address).
std::string join_host_port(std::string_view host, std::uint16_t port);

// Does a server certificate with these subject alternative names ("DNS:x"
// and "IP:y" entries, as tls::CertificateInfo lists them) name `host`? An IP
// literal is compared by value with the IP entries only; a host name with the
// DNS entries only, ignoring case, where "*.example.com" stands for exactly
// one leftmost label. The subject's CN is never consulted.
bool certificate_names_host(std::string_view host, const std::vector<std::string>& sans);

}  // namespace trex::host
