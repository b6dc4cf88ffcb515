// Lossless command bytes in the audit trail: nlohmann::json would replace
// invalid UTF-8 with U+FFFD, so "a\xffb" and "a\xfeb" would read the same.
#include "audit/fields.hpp"
#include "trex/audit.hpp"

namespace trex::audit {
namespace {

constexpr char kHex[] = "0123456789abcdef";

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

}  // namespace

int utf8_sequence_length(std::string_view s, std::size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  if (c < 0x80) return 1;
  int len = 0;
  std::uint32_t cp = 0;
  if ((c & 0xE0U) == 0xC0U) {
    len = 2, cp = c & 0x1FU;
  } else if ((c & 0xF0U) == 0xE0U) {
    len = 3, cp = c & 0x0FU;
  } else if ((c & 0xF8U) == 0xF0U) {
    len = 4, cp = c & 0x07U;
  } else {
    return -1;
  }
  for (int k = 1; k < len; ++k) {
    if (i + static_cast<std::size_t>(k) >= s.size()) return 0;
    const auto b = static_cast<unsigned char>(s[i + static_cast<std::size_t>(k)]);
    if ((b & 0xC0U) != 0x80U) return -1;
    cp = (cp << 6) | (b & 0x3FU);
  }
  const bool overlong =
      (len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000);
  if (overlong || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return -1;
  return len;
}

// Strict UTF-8 (RFC 3629), whole: no sequence cut off at the end.
bool is_utf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    const int len = utf8_sequence_length(s, i);
    if (len <= 0) return false;
    i += static_cast<std::size_t>(len);
  }
  return true;
}

Json bytes_field(std::string_view bytes) {
  if (is_utf8(bytes)) return std::string(bytes);
  std::string hex;
  hex.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    hex += kHex[c >> 4];
    hex += kHex[c & 15];
  }
  return Json{{"hex", std::move(hex)}};
}

Json argv_field(const std::vector<std::string>& argv) {
  Json out = Json::array();
  for (const auto& a : argv) out.push_back(bytes_field(a));
  return out;
}

std::optional<std::string> field_bytes(const Json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (!value.is_object() || value.size() != 1) return std::nullopt;
  const auto it = value.find("hex");
  if (it == value.end() || !it->is_string()) return std::nullopt;
  const auto& hex = it->get_ref<const std::string&>();
  if (hex.size() % 2 != 0) return std::nullopt;
  std::string out;
  out.reserve(hex.size() / 2);
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    const int hi = hex_value(hex[i]), lo = hex_value(hex[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi << 4 | lo);
  }
  return out;
}

}  // namespace trex::audit
