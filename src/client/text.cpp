#include "trex/client_text.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>

namespace trex::client {
namespace {

void hex(std::string& out, unsigned char c) {
  char buf[5];
  std::snprintf(buf, sizeof(buf), "\\x%02x", c);
  out += buf;
}

// Length of the valid UTF-8 sequence at `s` (1..4), or 0 when it is not one.
std::size_t utf8_length(std::string_view s) {
  const auto c = static_cast<unsigned char>(s[0]);
  std::size_t n = 0;
  unsigned min = 0;
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2, min = 0x80;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3, min = 0x800;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4, min = 0x10000;
  } else {
    return 0;
  }
  if (s.size() < n) return 0;
  unsigned cp = c & (0xFFu >> (n + 1));
  for (std::size_t i = 1; i < n; ++i) {
    const auto b = static_cast<unsigned char>(s[i]);
    if ((b & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  if (cp >= 0x80 && cp <= 0x9F) return 0;  // C1 control: escaped byte by byte
  return n;
}

}  // namespace

std::string escape_controls(std::string_view text, bool keep_lines) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7F) {
      out += static_cast<char>(c);
      ++i;
    } else if (c < 0x80) {
      if (keep_lines && (c == '\n' || c == '\t')) {
        out += static_cast<char>(c);
      } else {
        hex(out, c);
      }
      ++i;
    } else if (const std::size_t n = utf8_length(text.substr(i)); n > 0) {
      out.append(text.substr(i, n));
      i += n;
    } else {
      hex(out, c);
      ++i;
    }
  }
  return out;
}

void LineSplitter::feed(std::string_view data, std::vector<Piece>& out) {
  while (!data.empty()) {
    if (partial_.size() == max_) {
      // Full: a newline next completes it, anything else continues it.
      if (data.front() == '\n') {
        out.push_back({std::move(partial_), false});
        data.remove_prefix(1);
      } else {
        out.push_back({std::move(partial_), true});
      }
      partial_.clear();
      continue;
    }
    const std::size_t room = max_ - partial_.size();
    const std::size_t scan = std::min(room, data.size());
    const void* nl = std::memchr(data.data(), '\n', scan);
    if (nl == nullptr) {
      partial_.append(data.substr(0, scan));
      data.remove_prefix(scan);
      continue;
    }
    const auto len = static_cast<std::size_t>(static_cast<const char*>(nl) - data.data());
    partial_.append(data.substr(0, len));
    out.push_back({std::move(partial_), false});
    partial_.clear();
    data.remove_prefix(len + 1);
  }
}

bool LineSplitter::finish(Piece& out) {
  if (partial_.empty()) return false;
  out = {std::move(partial_), false};
  partial_.clear();
  return true;
}

}  // namespace trex::client
