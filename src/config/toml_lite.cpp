#include "config/toml_lite.hpp"

#include <algorithm>
#include <charconv>
#include <unordered_set>

namespace trex::config {
namespace {

class Reader {
 public:
  Reader(std::string_view text, std::string_view source, const TomlVisitor& visit)
      : s_(text), source_(source), visit_(visit) {}

  Status run() {
    std::vector<std::string> table;
    std::vector<std::string> keys;  // of the current table
    TomlEntry e;
    while (skip_blank_lines(), pos_ < s_.size()) {
      if (s_[pos_] == '[') {
        auto st = header(table);
        if (!st) return st.error();
        keys.clear();
      } else {
        // `e` is reused from entry to entry: its strings keep their capacity,
        // so most entries allocate nothing.
        e.line = line_;
        if (auto st = key(e.key); !st) return st;
        skip_space();
        if (!eat('=')) return fail("expected '=' after key '" + e.key + "'");
        skip_space();
        if (auto st = value(e.value); !st) return st;
        // A table appears once (a repeated header is refused), so a repeated
        // key can only be among the current table's keys.
        if (std::find(keys.begin(), keys.end(), e.key) != keys.end()) {
          return fail("key '" + e.key + "' given twice");
        }
        keys.push_back(e.key);
        if (auto st = visit_(table, e); !st) return st;
      }
      auto st = end_of_line();
      if (!st) return st.error();
    }
    return {};
  }

 private:
  Error fail(const std::string& what) const {
    return make_error(std::string(source_) + ":" + std::to_string(line_) + ": " + what);
  }
  static std::string path_of(const std::vector<std::string>& t) {
    std::string p;
    for (const auto& part : t) p += part + '\x1e';
    return p;
  }
  static bool bare_key_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
  }
  bool eat(char c) {
    if (pos_ < s_.size() && s_[pos_] == c) return ++pos_, true;
    return false;
  }
  void skip_space() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t')) ++pos_;
  }
  void skip_comment() {
    if (pos_ < s_.size() && s_[pos_] == '#') {
      while (pos_ < s_.size() && s_[pos_] != '\n') ++pos_;
    }
  }
  // Spaces, comments and newlines, counting lines.
  void skip_blank_lines() {
    for (;;) {
      skip_space();
      skip_comment();
      if (pos_ < s_.size() && s_[pos_] == '\r' && pos_ + 1 < s_.size() && s_[pos_ + 1] == '\n')
        ++pos_;
      if (pos_ >= s_.size() || s_[pos_] != '\n') return;
      ++pos_;
      ++line_;
    }
  }
  Status end_of_line() {
    skip_space();
    skip_comment();
    eat('\r');
    if (pos_ < s_.size() && !eat('\n')) return fail("unexpected text after the value");
    ++line_;
    return {};
  }

  Status header(std::vector<std::string>& table) {
    ++pos_;
    if (pos_ < s_.size() && s_[pos_] == '[')
      return fail("arrays of tables ([[...]]) are not used here");
    table.clear();
    do {
      skip_space();
      table.emplace_back();
      if (auto st = key(table.back()); !st) return st;
      skip_space();
    } while (eat('.'));
    if (!eat(']')) return fail("expected ']' to end the table header");
    if (!seen_.insert("[" + path_of(table)).second) return fail("table given twice");
    return {};
  }

  Status key(std::string& out) {
    if (pos_ < s_.size() && (s_[pos_] == '"' || s_[pos_] == '\'')) {
      if (auto st = string(out); !st) return st;
      if (out.empty()) return fail("empty key");
      return {};
    }
    const auto start = pos_;
    while (pos_ < s_.size() && bare_key_char(s_[pos_])) ++pos_;
    if (pos_ == start) return fail("expected a key");
    out.assign(s_.substr(start, pos_ - start));
    return {};
  }

  Status value(TomlValue& v) {
    v.kind = TomlValue::Kind::kString;
    v.text.clear();
    v.strings.clear();
    v.integer = 0;
    v.boolean = false;
    if (pos_ >= s_.size()) return fail("missing value");
    const char c = s_[pos_];
    if (c == '"' || c == '\'') return string(v.text);
    if (c == '[') return array(v);
    if (s_.substr(pos_, 4) == "true" || s_.substr(pos_, 5) == "false") {
      v.kind = TomlValue::Kind::kBool;
      v.boolean = c == 't';
      pos_ += v.boolean ? 4 : 5;
      return {};
    }
    if (c == '+' || c == '-' || (c >= '0' && c <= '9')) return integer(v);
    if (c == '{') return fail("inline tables are not used here; write a [table]");
    return fail("expected a value: \"string\", integer, true/false or [array]");
  }

  Status integer(TomlValue& v) {
    std::string digits;
    const auto start = pos_;
    if (s_[pos_] == '+' || s_[pos_] == '-') digits += s_[pos_++];
    while (pos_ < s_.size() && ((s_[pos_] >= '0' && s_[pos_] <= '9') || s_[pos_] == '_')) {
      if (s_[pos_] != '_') digits += s_[pos_];
      ++pos_;
    }
    v.kind = TomlValue::Kind::kInteger;
    auto [p, ec] = std::from_chars(digits.data() + (digits[0] == '+'),
                                   digits.data() + digits.size(), v.integer);
    const bool more = pos_ < s_.size() && s_[pos_] != ' ' && s_[pos_] != '\t' && s_[pos_] != '#' &&
                      s_[pos_] != '\n' && s_[pos_] != '\r' && s_[pos_] != ',' && s_[pos_] != ']';
    if (ec != std::errc() || p != digits.data() + digits.size() || more) {
      pos_ = start;
      return fail("expected an integer (floats, dates and hex are not used here)");
    }
    return {};
  }

  Status array(TomlValue& v) {
    ++pos_;
    v.kind = TomlValue::Kind::kArray;
    for (;;) {
      skip_blank_lines();
      if (eat(']')) return {};
      if (pos_ >= s_.size()) return fail("unterminated array");
      if (s_[pos_] != '"' && s_[pos_] != '\'') return fail("arrays here hold strings only");
      v.strings.emplace_back();
      if (auto st = string(v.strings.back()); !st) return st;
      skip_blank_lines();
      if (eat(']')) return {};
      if (!eat(',')) return fail("expected ',' or ']' in the array");
    }
  }

  static bool plain_string_char(char c, char quote) {
    const auto u = static_cast<unsigned char>(c);
    return c != quote && c != '\\' && (u >= 0x20 || c == '\t') && u != 0x7f;
  }
  // Into `out` (cleared first).
  Status string(std::string& out) {
    const char quote = s_[pos_++];
    if (pos_ + 1 < s_.size() && s_[pos_] == quote && s_[pos_ + 1] == quote) {
      return fail("multi-line strings are not used here");
    }
    out.clear();
    while (pos_ < s_.size() && s_[pos_] != quote) {
      // The common case first: a run of plain characters, appended at once.
      const auto start = pos_;
      while (pos_ < s_.size() && plain_string_char(s_[pos_], quote)) ++pos_;
      out.append(s_.substr(start, pos_ - start));
      if (pos_ >= s_.size() || s_[pos_] == quote) break;
      const char c = s_[pos_++];
      if (c == '\n' || (static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f) {
        --pos_;
        return fail("control character or newline in a string");
      }
      if (c != '\\' || quote == '\'') {
        out += c;
        continue;
      }
      auto st = escape(out);
      if (!st) return st.error();
    }
    if (!eat(quote)) return fail("unterminated string");
    return {};
  }

  Status escape(std::string& out) {
    if (pos_ >= s_.size()) return fail("unterminated string");
    const char e = s_[pos_++];
    switch (e) {
      case '"':
        out += '"';
        return {};
      case '\\':
        out += '\\';
        return {};
      case 'n':
        out += '\n';
        return {};
      case 't':
        out += '\t';
        return {};
      case 'r':
        out += '\r';
        return {};
      case 'b':
        out += '\b';
        return {};
      case 'f':
        out += '\f';
        return {};
      case 'u':
      case 'U':
        return unicode(out, e == 'u' ? 4 : 8);
      default:
        return fail(std::string("unknown escape '\\") + e + "' in a string");
    }
  }

  Status unicode(std::string& out, std::size_t digits) {
    std::uint32_t cp = 0;
    const auto hex = s_.substr(pos_, digits);
    auto [p, ec] = std::from_chars(hex.data(), hex.data() + hex.size(), cp, 16);
    if (hex.size() != digits || ec != std::errc() || p != hex.data() + hex.size() ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return fail("bad \\u escape in a string");
    }
    pos_ += digits;
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
    return {};
  }

  std::string_view s_;
  std::string_view source_;
  std::size_t pos_ = 0;
  int line_ = 1;
  const TomlVisitor& visit_;
  std::unordered_set<std::string> seen_;
};

}  // namespace

Status read_toml_lite(std::string_view text, std::string_view source, const TomlVisitor& on_entry) {
  return Reader(text, source, on_entry).run();
}

}  // namespace trex::config
