// HOST[:PORT] parsing, on its own so that the client (which needs only
// this) does not link the TOML parser and its shared C++ runtime.
#include <charconv>
#include <string>

#include "trex/config.hpp"

namespace trex::config {

Result<Endpoint> parse_endpoint(std::string_view text, std::uint16_t default_port) {
  Endpoint ep;
  std::string_view port_text;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos)
      return make_error("missing ']' in '" + std::string(text) + "'");
    ep.host = std::string(text.substr(1, close - 1));
    auto rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':')
        return make_error("expected ':PORT' after ']' in '" + std::string(text) + "'");
      port_text = rest.substr(1);
    }
  } else {
    const auto colon = text.rfind(':');
    if (colon != std::string_view::npos && text.find(':') == colon) {
      ep.host = std::string(text.substr(0, colon));
      port_text = text.substr(colon + 1);
    } else {
      ep.host = std::string(text);  // bare IPv6 or host
    }
  }
  if (ep.host.empty()) return make_error("missing host in '" + std::string(text) + "'");
  ep.port = default_port;
  if (!port_text.empty() || (text.size() && text.back() == ':')) {
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
