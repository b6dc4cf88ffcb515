// HOST[:PORT] parsing, on its own so that the client (which needs only
// this) does not link the TOML parser and its shared C++ runtime.
#include <charconv>
#include <string>

#include "trex/config.hpp"
#include "trex/host.hpp"

namespace trex::config {
namespace {

// Which host the text names, before any port is looked at: brackets hold
// an IPv6 address and nothing else; several colons without brackets are a
// bare IPv6 address (its port comes from elsewhere).
Status check_host(std::string_view host, bool bracketed, std::string_view text) {
  const auto ip = host::parse_ip(host);
  const bool has_colon = host.find(':') != std::string_view::npos;
  if (bracketed && !(ip && !ip->is_v4())) {
    return make_error("'" + std::string(host) + "' in '" + std::string(text) +
                      "' is not an IPv6 address (brackets are for IPv6 addresses only)");
  }
  if (has_colon && !ip) {
    return make_error("'" + std::string(text) +
                      "' is neither HOST:PORT nor an IPv6 address (write an IPv6 address "
                      "with a port as [ADDRESS]:PORT)");
  }
  if (host::is_ambiguous_numeric(host)) {
    return make_error("'" + std::string(host) +
                      "' is no dotted-quad IPv4 address (write all four decimal parts, "
                      "without leading zeros)");
  }
  return {};
}

}  // namespace

Result<Endpoint> parse_endpoint(std::string_view text, std::uint16_t default_port) {
  Endpoint ep;
  std::string_view port_text;
  bool bracketed = false, has_port = false;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos)
      return make_error("missing ']' in '" + std::string(text) + "'");
    ep.host = std::string(text.substr(1, close - 1));
    bracketed = true;
    auto rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':')
        return make_error("expected ':PORT' after ']' in '" + std::string(text) + "'");
      port_text = rest.substr(1);
      has_port = true;
    }
  } else {
    const auto colon = text.rfind(':');
    if (colon != std::string_view::npos && text.find(':') == colon) {
      ep.host = std::string(text.substr(0, colon));
      port_text = text.substr(colon + 1);
      has_port = true;
    } else {
      ep.host = std::string(text);  // bare IPv6 or host
    }
  }
  if (ep.host.empty()) return make_error("missing host in '" + std::string(text) + "'");
  if (auto st = check_host(ep.host, bracketed, text); !st) return st.error();
  ep.port = default_port;
  if (has_port) {
    unsigned v = 0;
    auto [p, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), v);
    if (ec != std::errc() || p != port_text.data() + port_text.size() || v > 65535) {
      return make_error("bad port '" + std::string(port_text) + "' in '" + std::string(text) + "'");
    }
    ep.port = static_cast<std::uint16_t>(v);
  }
  return ep;
}

}  // namespace trex::config
