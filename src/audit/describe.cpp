#include <cstdio>

#include "audit/fields.hpp"
#include "trex/audit_events.hpp"
#include "trex/audit_review.hpp"

namespace trex::audit {
namespace {

// One character of `s` at `i`: a code point of valid UTF-8, or one byte
// that is not (`valid` false).
struct Char {
  char32_t cp = 0;
  std::size_t len = 1;
  bool valid = true;
};

Char char_at(std::string_view s, std::size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  const int n = utf8_sequence_length(s, i);
  if (n <= 0) return {c, 1, false};  // invalid, or cut off by the end
  const auto len = static_cast<std::size_t>(n);
  if (len == 1) return {c, 1, true};
  char32_t cp = c & (len == 2 ? 0x1Fu : len == 3 ? 0x0Fu : 0x07u);
  for (std::size_t k = 1; k < len; ++k)
    cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3Fu);
  return {cp, len, true};
}

// Characters that act on a terminal instead of showing: C0 and C1 controls,
// DEL, line/paragraph separators and the bidirectional overrides, marks and
// isolates, which can make a record read as something else.
bool acts_on_terminal(char32_t cp) {
  return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0x061c || cp == 0x200e || cp == 0x200f ||
         cp == 0x2028 || cp == 0x2029 || (cp >= 0x202a && cp <= 0x202e) ||
         (cp >= 0x2066 && cp <= 0x2069);
}

// \n, \t, \xHH (a C0 control or a byte that is not UTF-8), \uHHHH (others):
// bash's $'...' reads them all back.
void append_escape(std::string& out, const Char& ch) {
  char buf[16];
  if (ch.valid && ch.cp == '\n')
    out += "\\n";
  else if (ch.valid && ch.cp == '\t')
    out += "\\t";
  else if (!ch.valid || ch.cp < 0x80)
    out += (std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned>(ch.cp)), buf);
  else
    out += (std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(ch.cp)), buf);
}

bool is_safe_arg_char(const Char& ch) {
  const char32_t c = ch.cp;
  if (!ch.valid) return false;
  if (c >= 0x80) return !acts_on_terminal(c);
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view("_@%+=:,./-").find(static_cast<char>(c)) != std::string_view::npos;
}

std::string quote_arg(const std::string& arg) {
  if (arg.empty()) return "''";
  bool safe = true, escape = false;
  for (std::size_t i = 0; i < arg.size();) {
    const Char ch = char_at(arg, i);
    safe = safe && is_safe_arg_char(ch);
    escape = escape || !ch.valid || acts_on_terminal(ch.cp);
    i += ch.len;
  }
  if (safe) return arg;
  if (!escape) {
    std::string out = "'";
    for (char c : arg) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
  }
  std::string out = "$'";  // bash/zsh ANSI-C quoting keeps every byte visible
  for (std::size_t i = 0; i < arg.size();) {
    const Char ch = char_at(arg, i);
    if (ch.valid && (ch.cp == '\\' || ch.cp == '\''))
      out += std::string("\\") + static_cast<char>(ch.cp);
    else if (!ch.valid || acts_on_terminal(ch.cp))
      append_escape(out, ch);
    else
      out.append(arg, i, ch.len);
    i += ch.len;
  }
  return out + "'";
}

}  // namespace

// A table cell must stay on one line and must not carry terminal controls.
std::string printable(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    // Printable ASCII, most of any trail, is copied a run at a time.
    const std::size_t run = i;
    while (i < s.size() && static_cast<unsigned char>(s[i]) - 0x20U < 0x5fU) ++i;
    out.append(s.substr(run, i - run));
    if (i == s.size()) break;
    const Char ch = char_at(s, i);
    if (!ch.valid || acts_on_terminal(ch.cp))
      append_escape(out, ch);
    else
      out.append(s.substr(i, ch.len));
    i += ch.len;
  }
  return out;
}

std::size_t display_width(std::string_view s) {
  std::size_t n = 0;
  for (unsigned char c : s) n += (c & 0xc0) != 0x80;
  return n;
}

std::string shell_join(const Json& argv) {
  std::string out;
  if (!argv.is_array()) return out;
  for (const auto& arg : argv) {
    if (!out.empty()) out += ' ';
    const auto bytes = field_bytes(arg);
    out += quote_arg(bytes ? *bytes : arg.is_structured() ? std::string("?") : arg.dump());
  }
  return out;
}

std::string human_duration(std::uint64_t ms) {
  char buf[48];
  const std::uint64_t s = ms / 1000;
  if (ms < 1000) {
    std::snprintf(buf, sizeof buf, "%llums", static_cast<unsigned long long>(ms));
  } else if (s < 60) {
    std::snprintf(buf, sizeof buf, "%.1fs", static_cast<double>(ms) / 1000.0);
  } else if (s < 3600) {
    std::snprintf(buf, sizeof buf, "%llum%02llus", s / 60ULL, s % 60ULL);
  } else if (s < 86400) {
    std::snprintf(buf, sizeof buf, "%lluh%02llum", s / 3600ULL, s / 60ULL % 60ULL);
  } else {
    std::snprintf(buf, sizeof buf, "%llud%02lluh", s / 86400ULL, s / 3600ULL % 24ULL);
  }
  return buf;
}

}  // namespace trex::audit
