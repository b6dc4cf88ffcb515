// Private to proto: big-endian integers and a bounds-checked payload cursor.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace trex::proto::detail {

inline void put_u32(std::string& out, std::uint32_t v) {
  const char b[4] = {static_cast<char>(v >> 24), static_cast<char>(v >> 16),
                     static_cast<char>(v >> 8), static_cast<char>(v)};
  out.append(b, 4);
}

inline std::uint32_t get_u32(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return (std::uint32_t{u[0]} << 24) | (std::uint32_t{u[1]} << 16) | (std::uint32_t{u[2]} << 8) |
         std::uint32_t{u[3]};
}

// Cursor over a payload; every read is bounds-checked.
class Reader {
 public:
  explicit Reader(std::string_view s) : s_(s) {}
  bool u8(std::uint8_t& v) {
    if (s_.size() < 1) return false;
    v = static_cast<std::uint8_t>(s_[0]);
    s_.remove_prefix(1);
    return true;
  }
  bool u32(std::uint32_t& v) {
    if (s_.size() < 4) return false;
    v = get_u32(s_.data());
    s_.remove_prefix(4);
    return true;
  }
  bool u64(std::uint64_t& v) {
    std::uint32_t hi = 0, lo = 0;
    if (!u32(hi) || !u32(lo)) return false;
    v = (std::uint64_t{hi} << 32) | lo;
    return true;
  }
  bool bytes(std::string& v) {
    std::uint32_t n = 0;
    if (!u32(n) || s_.size() < n) return false;
    v.assign(s_.data(), n);
    s_.remove_prefix(n);
    return true;
  }
  std::string_view rest() const { return s_; }
  bool empty() const { return s_.empty(); }

 private:
  std::string_view s_;
};

inline void put_u64(std::string& out, std::uint64_t v) {
  put_u32(out, static_cast<std::uint32_t>(v >> 32));
  put_u32(out, static_cast<std::uint32_t>(v));
}

}  // namespace trex::proto::detail
