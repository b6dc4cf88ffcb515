#include "trex/host.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

namespace trex::host {
namespace {

constexpr std::size_t kMaxZone = 64;

std::optional<std::array<std::uint8_t, 4>> parse_v4(std::string_view s) {
  std::array<std::uint8_t, 4> out{};
  for (std::size_t i = 0; i < 4; ++i) {
    if (i > 0) {
      if (s.empty() || s.front() != '.') return std::nullopt;
      s.remove_prefix(1);
    }
    std::size_t digits = 0;
    unsigned value = 0;
    while (digits < s.size() && s[digits] >= '0' && s[digits] <= '9' && digits < 4) {
      value = value * 10 + static_cast<unsigned>(s[digits] - '0');
      ++digits;
    }
    // "010" is octal to inet_aton and decimal to others: neither guess is safe.
    if (digits == 0 || digits > 3 || value > 255 || (digits > 1 && s.front() == '0')) {
      return std::nullopt;
    }
    out[i] = static_cast<std::uint8_t>(value);
    s.remove_prefix(digits);
  }
  if (!s.empty()) return std::nullopt;
  return out;
}

std::optional<std::uint16_t> parse_group(std::string_view s) {
  if (s.empty() || s.size() > 4) return std::nullopt;
  unsigned v = 0;
  for (char c : s) {
    unsigned d;
    if (c >= '0' && c <= '9') {
      d = static_cast<unsigned>(c - '0');
    } else if (c >= 'a' && c <= 'f') {
      d = static_cast<unsigned>(c - 'a' + 10);
    } else if (c >= 'A' && c <= 'F') {
      d = static_cast<unsigned>(c - 'A' + 10);
    } else {
      return std::nullopt;
    }
    v = v * 16 + d;
  }
  return static_cast<std::uint16_t>(v);
}

// RFC 4291 2.2: eight groups, at most one "::" for one or more zero groups,
// and an IPv4 dotted quad in place of the last two.
std::optional<std::array<std::uint8_t, 16>> parse_v6(std::string_view s) {
  std::array<std::uint16_t, 8> groups{};
  std::size_t n = 0, i = 0;
  int gap = -1;  // index of the group where "::" stands
  if (s.substr(0, 2) == "::") {
    gap = 0;
    i = 2;
  } else if (s.empty() || s.front() == ':') {
    return std::nullopt;
  }
  while (i < s.size()) {
    const std::size_t end = std::min(s.find(':', i), s.size());
    const std::string_view piece = s.substr(i, end - i);
    if (piece.find('.') != std::string_view::npos) {
      auto v4 = parse_v4(piece);
      if (!v4 || end != s.size() || n > 6) return std::nullopt;
      groups[n++] = static_cast<std::uint16_t>((*v4)[0] << 8 | (*v4)[1]);
      groups[n++] = static_cast<std::uint16_t>((*v4)[2] << 8 | (*v4)[3]);
      i = end;
      break;
    }
    auto g = parse_group(piece);
    if (!g || n >= 8) return std::nullopt;
    groups[n++] = *g;
    i = end;
    if (i == s.size()) break;
    if (i + 1 < s.size() && s[i + 1] == ':') {
      if (gap >= 0) return std::nullopt;
      gap = static_cast<int>(n);
      i += 2;
    } else if (++i == s.size()) {
      return std::nullopt;  // a trailing single ':'
    }
  }
  if ((gap < 0 && n != 8) || (gap >= 0 && n > 7)) return std::nullopt;
  std::array<std::uint16_t, 8> full{};
  if (gap < 0) {
    full = groups;
  } else {
    const std::size_t g = static_cast<std::size_t>(gap);
    std::copy(groups.begin(), groups.begin() + static_cast<std::ptrdiff_t>(g), full.begin());
    std::copy(groups.begin() + static_cast<std::ptrdiff_t>(g),
              groups.begin() + static_cast<std::ptrdiff_t>(n), full.end() - (n - g));
  }
  std::array<std::uint8_t, 16> out{};
  for (std::size_t k = 0; k < 8; ++k) {
    out[2 * k] = static_cast<std::uint8_t>(full[k] >> 8);
    out[2 * k + 1] = static_cast<std::uint8_t>(full[k] & 0xff);
  }
  return out;
}

bool valid_zone(std::string_view z) {
  if (z.empty() || z.size() > kMaxZone) return false;
  return std::all_of(z.begin(), z.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
  });
}

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequal(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                            [](char x, char y) { return lower(x) == lower(y); });
}

// RFC 6125 6.4.3, strictly: "*" only as the whole leftmost label, standing
// for one non-empty label, and never directly above a top-level name.
bool dns_matches(std::string_view pattern, std::string_view name) {
  if (pattern.empty() || name.empty()) return false;
  if (pattern.substr(0, 2) != "*.") return iequal(pattern, name);
  const std::string_view suffix = pattern.substr(1);  // ".example.com"
  if (suffix.find('*') != std::string_view::npos || suffix.find('.', 1) == std::string_view::npos) {
    return false;
  }
  const std::size_t dot = name.find('.');
  return dot != std::string_view::npos && dot > 0 && iequal(name.substr(dot), suffix);
}

}  // namespace

std::optional<IpAddress> IpAddress::from_bytes(const unsigned char* bytes, std::size_t len,
                                               std::string zone) {
  if (bytes == nullptr || (len != 4 && len != 16)) return std::nullopt;
  IpAddress a;
  std::memcpy(a.bytes_.data(), bytes, len);
  a.size_ = static_cast<std::uint8_t>(len);
  a.zone_ = std::move(zone);
  return a;
}

bool IpAddress::is_v4_mapped() const {
  static constexpr std::uint8_t kPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  return size_ == 16 && std::memcmp(bytes_.data(), kPrefix, sizeof(kPrefix)) == 0;
}

IpAddress IpAddress::unmapped() const {
  if (!is_v4_mapped()) return *this;
  return *from_bytes(bytes_.data() + 12, 4);
}

bool IpAddress::same_address(const IpAddress& other) const {
  const IpAddress a = unmapped(), b = other.unmapped();
  return a.size_ == b.size_ && std::memcmp(a.bytes_.data(), b.bytes_.data(), a.size_) == 0;
}

std::string IpAddress::to_string() const {
  char buf[INET6_ADDRSTRLEN] = {};
  // glibc's inet_ntop already writes RFC 5952 text.
  inet_ntop(size_ == 4 ? AF_INET : AF_INET6, bytes_.data(), buf, sizeof(buf));
  std::string out = buf;
  if (!zone_.empty()) out += "%" + zone_;
  return out;
}

std::optional<IpAddress> parse_ip(std::string_view text) {
  if (text.find(':') == std::string_view::npos) {
    auto v4 = parse_v4(text);
    if (!v4) return std::nullopt;
    return IpAddress::from_bytes(v4->data(), 4);
  }
  std::string zone;
  if (const auto pct = text.find('%'); pct != std::string_view::npos) {
    if (!valid_zone(text.substr(pct + 1))) return std::nullopt;
    zone = std::string(text.substr(pct + 1));
    text = text.substr(0, pct);
  }
  auto v6 = parse_v6(text);
  if (!v6) return std::nullopt;
  return IpAddress::from_bytes(v6->data(), 16, std::move(zone));
}

bool is_ambiguous_numeric(std::string_view host) {
  if (parse_ip(host)) return false;
  in_addr unused{};
  return inet_aton(std::string(host).c_str(), &unused) != 0;
}

std::string join_host_port(std::string_view host, std::uint16_t port) {
  const std::string p = std::to_string(port);
  if (host.find(':') != std::string_view::npos) return "[" + std::string(host) + "]:" + p;
  return std::string(host) + ":" + p;
}

bool certificate_names_host(std::string_view host, const std::vector<std::string>& sans) {
  const auto ip = parse_ip(host);
  for (const auto& san : sans) {
    const std::string_view v(san);
    if (ip && v.substr(0, 3) == "IP:") {
      if (auto a = parse_ip(v.substr(3)); a && a->zone().empty() && a->same_address(*ip)) {
        return true;
      }
    } else if (!ip && v.substr(0, 4) == "DNS:" && dns_matches(v.substr(4), host)) {
      return true;
    }
  }
  return false;
}

}  // namespace trex::host
