#include "tls/x509_name.hpp"

#include <cstdint>
#include <string_view>
#include <vector>

namespace trex::tls {
namespace {

// The names openssl prints for the attributes CAs put in subjects.
std::string_view short_name(std::string_view oid) {
  struct Known {
    std::string_view der, name;
  };
  static constexpr Known kKnown[] = {
      {"\x55\x04\x03", "CN"},
      {"\x55\x04\x0b", "OU"},
      {"\x55\x04\x0a", "O"},
      {"\x55\x04\x07", "L"},
      {"\x55\x04\x08", "ST"},
      {"\x55\x04\x06", "C"},
      {"\x55\x04\x05", "serialNumber"},
      {"\x55\x04\x09", "street"},
      {"\x55\x04\x0c", "title"},
      {"\x55\x04\x2a", "GN"},
      {"\x55\x04\x04", "SN"},
      {"\x09\x92\x26\x89\x93\xf2\x2c\x64\x01\x19", "DC"},
      {"\x09\x92\x26\x89\x93\xf2\x2c\x64\x01\x01", "UID"},
      {"\x2a\x86\x48\x86\xf7\x0d\x01\x09\x01", "emailAddress"},
  };
  for (const auto& k : kKnown) {
    if (k.der == oid) return k.name;
  }
  return {};
}

std::string dotted(std::string_view oid) {
  std::string out;
  std::uint64_t v = 0;
  bool first = true;
  for (unsigned char c : oid) {
    v = (v << 7) | (c & 0x7f);
    if (c & 0x80) continue;
    if (first) {
      const std::uint64_t a = v < 80 ? v / 40 : 2;
      out = std::to_string(a) + "." + std::to_string(v - a * 40);
      first = false;
    } else {
      out += "." + std::to_string(v);
    }
    v = 0;
  }
  return out;
}

std::string hex(const unsigned char* p, std::size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < n; ++i) {
    out.push_back(kDigits[p[i] >> 4]);
    out.push_back(kDigits[p[i] & 15]);
  }
  return out;
}

// RFC 4514 escaping; control bytes as \XX so a name cannot rewrite a log line.
std::string escaped(std::string_view v) {
  std::string out;
  for (std::size_t i = 0; i < v.size(); ++i) {
    const auto c = static_cast<unsigned char>(v[i]);
    const bool edge = (i == 0 && (c == ' ' || c == '#')) || (i + 1 == v.size() && c == ' ');
    if (c < 0x20 || c == 0x7f) {
      static constexpr char kDigits[] = "0123456789ABCDEF";
      out += '\\';
      out.push_back(kDigits[c >> 4]);
      out.push_back(kDigits[c & 15]);
      continue;
    }
    if (edge || c == ',' || c == '+' || c == '"' || c == '\\' || c == '<' || c == '>' || c == ';') {
      out += '\\';
    }
    out.push_back(static_cast<char>(c));
  }
  return out;
}

bool is_text(unsigned char tag) {  // UTF8String, PrintableString, T61String, IA5String
  return tag == 0x0c || tag == 0x13 || tag == 0x14 || tag == 0x16;
}

// The Name's RDNs, each as "type=value" joined by '+'; false when malformed.
bool rdns(const unsigned char* p, const unsigned char* end, std::vector<std::string>& out) {
  unsigned char tag = 0;
  const unsigned char* v = nullptr;
  std::size_t n = 0;
  while (p < end) {
    if (!der_element(p, end, tag, v, n) || tag != 0x31) return false;
    std::string rdn;
    for (const unsigned char *q = v, *set_end = v + n; q < set_end;) {
      const unsigned char* atv = nullptr;
      std::size_t atv_len = 0;
      if (!der_element(q, set_end, tag, atv, atv_len) || tag != 0x30) return false;
      const unsigned char* r = atv;
      const unsigned char *oid = nullptr, *val = nullptr;
      std::size_t oid_len = 0, val_len = 0;
      unsigned char val_tag = 0;
      const unsigned char* val_start = nullptr;
      if (!der_element(r, atv + atv_len, tag, oid, oid_len) || tag != 0x06) return false;
      val_start = r;
      if (!der_element(r, atv + atv_len, val_tag, val, val_len)) return false;
      const std::string_view oid_bytes(reinterpret_cast<const char*>(oid), oid_len);
      const auto name = short_name(oid_bytes);
      std::string item;
      if (!name.empty() && is_text(val_tag)) {
        item = std::string(name) + "=" +
               escaped(std::string_view(reinterpret_cast<const char*>(val), val_len));
      } else {
        item = (name.empty() ? dotted(oid_bytes) : std::string(name)) + "=#" +
               hex(val_start, static_cast<std::size_t>(r - val_start));
      }
      rdn += (rdn.empty() ? "" : "+") + item;
    }
    out.push_back(std::move(rdn));
  }
  return true;
}

// Points [p, end) at the Name's contents, skipping its SEQUENCE header.
bool name_contents(const unsigned char*& p, const unsigned char*& end) {
  if (p == nullptr || p >= end) return false;
  if (*p != 0x30) return true;
  unsigned char tag = 0;
  const unsigned char* v = nullptr;
  std::size_t n = 0;
  if (!der_element(p, end, tag, v, n)) return false;
  p = v;
  end = v + n;
  return true;
}

}  // namespace

bool der_element(const unsigned char*& p, const unsigned char* end, unsigned char& tag,
                 const unsigned char*& value, std::size_t& len) {
  if (end - p < 2) return false;
  tag = *p++;
  std::size_t n = *p++;
  if (n & 0x80) {
    const int bytes = static_cast<int>(n & 0x7f);
    if (bytes == 0 || bytes > 4 || end - p < bytes) return false;
    n = 0;
    for (int i = 0; i < bytes; ++i) n = (n << 8) | *p++;
  }
  if (static_cast<std::size_t>(end - p) < n) return false;
  value = p;
  len = n;
  p += n;
  return true;
}

std::string name_text(const unsigned char* der, std::size_t len) {
  const unsigned char* p = der;
  const unsigned char* end = der == nullptr ? nullptr : der + len;
  std::vector<std::string> parts;
  if (!name_contents(p, end) || !rdns(p, end, parts)) return "(unreadable name)";
  std::string out;
  for (auto it = parts.rbegin(); it != parts.rend(); ++it) out += (out.empty() ? "" : ",") + *it;
  return out;
}

std::string name_key(const unsigned char* der, std::size_t len) {
  const unsigned char* p = der;
  const unsigned char* end = der == nullptr ? nullptr : der + len;
  if (!name_contents(p, end)) return {};
  return std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(end - p));
}

}  // namespace trex::tls
