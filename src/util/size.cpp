#include "util/size.hpp"

#include <charconv>
#include <string>

namespace trex::util {

Result<std::uint64_t> parse_size(std::string_view text) {
  std::uint64_t value = 0;
  const char* end = text.data() + text.size();
  // from_chars takes no sign, no space and no base prefix: digits only.
  auto [p, ec] = std::from_chars(text.data(), end, value);
  if (ec == std::errc::result_out_of_range)
    return make_error("size too large: " + std::string(text));
  if (ec != std::errc() || p == text.data()) {
    return make_error("not a size: '" + std::string(text) + "'");
  }
  std::string_view suffix(p, static_cast<std::size_t>(end - p));
  if (suffix.size() == 2 && (suffix[1] == 'B' || suffix[1] == 'b')) suffix.remove_suffix(1);
  int shift = -1;
  if (suffix.empty()) {
    shift = 0;
  } else if (suffix.size() == 1) {
    switch (suffix[0]) {
      case 'K':
      case 'k':
        shift = 10;
        break;
      case 'M':
      case 'm':
        shift = 20;
        break;
      case 'G':
      case 'g':
        shift = 30;
        break;
      case 'T':
      case 't':
        shift = 40;
        break;
      default:
        break;
    }
  }
  if (shift < 0) return make_error("not a size: '" + std::string(text) + "' (use K, M, G or T)");
  if (value > (UINT64_MAX >> shift)) return make_error("size too large: " + std::string(text));
  return value << shift;
}

}  // namespace trex::util
