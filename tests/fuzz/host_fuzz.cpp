// Host text from hostile command lines and host files: parse_ip and
// parse_endpoint must answer, never crash; an address written out must
// read back as the same address, and must name itself in a certificate.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "trex/config.hpp"
#include "trex/host.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto ip = trex::host::parse_ip(text)) {
    const auto again = trex::host::parse_ip(ip->to_string());
    if (!again || !again->same_address(*ip) || again->zone() != ip->zone()) std::abort();
    const auto bare = trex::host::IpAddress::from_bytes(ip->bytes(), ip->size());  // no zone
    if (!trex::host::certificate_names_host(text, {"IP:" + bare->to_string()})) {
      std::abort();
    }
  }
  (void)trex::host::is_ambiguous_numeric(text);
  if (auto ep = trex::config::parse_endpoint(text, 7443)) {
    (void)trex::host::join_host_port(ep->host, ep->port);
  }
  // The first line as a host, the rest as one SAN.
  const auto nl = text.find('\n');
  if (nl != std::string_view::npos) {
    (void)trex::host::certificate_names_host(text.substr(0, nl),
                                             {std::string(text.substr(nl + 1))});
  }
  return 0;
}
