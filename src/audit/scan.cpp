#include "audit/scan.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdlib>
#include <vector>

namespace trex::audit {
namespace {

// A strict RFC 8259 scanner (UTF-8 checked, surrogates paired, as nlohmann
// accepts) that decodes only the four chain fields. The verifier runs it on
// every line: building a DOM, or even nlohmann's SAX events, costs 5-10x more.

enum Field : unsigned { kOther = 0, kTs = 1, kSeq = 2, kEvent = 4, kPrev = 8 };

const char* field_name(Field f) {
  switch (f) {
    case kTs:
      return "ts";
    case kSeq:
      return "seq";
    case kEvent:
      return "event";
    case kPrev:
      return "prev";
    default:
      return "?";
  }
}

bool is_utc_time(std::string_view s) {
  // "2026-11-23T17:49:07[.ffffff]Z"
  if (s.size() < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' ||
      s.back() != 'Z') {
    return false;
  }
  for (std::size_t i : {0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18}) {
    if (s[i] < '0' || s[i] > '9') return false;
  }
  return true;
}

void put_utf8(std::string& out, unsigned cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xc0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xe0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else {
    out += static_cast<char>(0xf0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  }
}

// Bytes a string copies as they are: printable ASCII but '"' and '\\'.
constexpr auto kPlain = [] {
  std::array<bool, 256> plain{};
  for (int c = 0x20; c < 0x80; ++c) plain[c] = c != '"' && c != '\\';
  return plain;
}();

class Scanner {
 public:
  explicit Scanner(std::string_view s)
      : begin_(reinterpret_cast<const unsigned char*>(s.data())), p_(begin_), end_(p_ + s.size()) {}
  // Record mode: top-level fields not in `skip` are decoded into `*out`.
  Scanner(std::string_view s, Json* out, const std::vector<std::string_view>* skip) : Scanner(s) {
    record_ = out;
    skip_ = skip;
  }

  Status fields() {
    if (!document()) return make_error(error_);
    return {};
  }

  Result<RecordHead> run() {
    if (!document()) return make_error(error_);
    for (Field f : {kTs, kSeq, kEvent, kPrev}) {
      if (!(seen_ & f)) return make_error(std::string("missing field ") + field_name(f));
    }
    return std::move(head_);
  }

 private:
  enum class Kind { kString, kNumber, kInteger, kLiteral, kContainer };

  bool syntax(const char* what) {
    error_ = "not valid JSON at byte " + std::to_string(p_ - begin_ + 1) + ": " + what;
    return false;
  }
  bool fail(std::string reason) {
    error_ = std::move(reason);
    return false;
  }
  void ws() {
    while (p_ < end_ && (*p_ == ' ' || *p_ == '\t' || *p_ == '\n' || *p_ == '\r')) ++p_;
  }
  int peek() const { return p_ < end_ ? *p_ : -1; }

  bool document();
  bool value(Field field);
  bool typed(Field field, Kind kind);
  bool string(std::string* out);
  bool escape(std::string* out);
  bool hex4(unsigned& v);
  bool utf8();
  bool number(bool& integer);
  bool literal(std::string_view word);
  bool key(bool top, Field& field, Json*& slot);
  bool keep_scalar(Json& slot);

  const unsigned char* begin_;
  const unsigned char* p_;
  const unsigned char* end_;
  RecordHead head_;
  unsigned seen_ = 0;
  std::string scratch_;
  std::string error_;
  // Record mode: the object being filled and the kept containers open in it.
  // Pointers into a container stay valid: nothing is added to a container
  // while a value inside it is being built.
  Json* record_ = nullptr;
  const std::vector<std::string_view>* skip_ = nullptr;
  std::vector<Json*> build_;
};

// Containers are tracked on an explicit stack: nesting depth is unbounded in
// JSON and a hostile line must not exhaust the call stack.
bool Scanner::document() {
  ws();
  if (peek() != '{') return fail("not a JSON object");
  ++p_;
  ws();
  if (peek() == '}') {
    ++p_;
    ws();
    return p_ == end_ || syntax("text after the object");
  }
  std::vector<char> stack{'{'};
  bool expect_key = true;  // just opened '{' or read ',' inside one
  for (;;) {
    Field field = kOther;
    Json* slot = nullptr;  // record mode: where a kept value goes
    if (expect_key) {
      if (!key(stack.size() == 1, field, slot)) return false;
    } else if (!build_.empty()) {
      slot = &build_.back()->emplace_back();  // the next item of a kept array
    }
    const int c = peek();
    if (c == '{' || c == '[') {
      if (field != kOther) return typed(field, Kind::kContainer);
      if (slot) *slot = c == '{' ? Json::object() : Json::array();
      ++p_;
      ws();
      if (peek() == (c == '{' ? '}' : ']')) {
        ++p_;
      } else {
        stack.push_back(static_cast<char>(c));
        if (slot) build_.push_back(slot);
        expect_key = c == '{';
        continue;
      }
    } else if (slot ? !keep_scalar(*slot) : !value(field)) {
      return false;
    }
    // After a value: ',' continues the container, a bracket closes it.
    for (;;) {
      ws();
      const int d = peek();
      if (d == ',') {
        ++p_;
        ws();
        expect_key = stack.back() == '{';
        break;
      }
      if (d != (stack.back() == '{' ? '}' : ']'))
        return syntax("expected ',' or a closing bracket");
      ++p_;
      stack.pop_back();
      if (!build_.empty()) build_.pop_back();
      if (stack.empty()) {
        ws();
        return p_ == end_ || syntax("text after the object");
      }
    }
  }
}

// Reads a key and its ':'. A top-level key names a chain field (verifier) or,
// in record mode, a field kept unless skipped; keys in kept objects are kept.
bool Scanner::key(bool top, Field& field, Json*& slot) {
  if (peek() != '"') return syntax("expected a key");
  if (!string(top || !build_.empty() ? &scratch_ : nullptr)) return false;
  if (!build_.empty()) {
    slot = &(*build_.back())[scratch_];
  } else if (top && record_) {
    if (std::find(skip_->begin(), skip_->end(), scratch_) == skip_->end()) {
      slot = &(*record_)[scratch_];
    }
  } else if (top) {
    field = scratch_ == "ts"      ? kTs
            : scratch_ == "seq"   ? kSeq
            : scratch_ == "event" ? kEvent
            : scratch_ == "prev"  ? kPrev
                                  : kOther;
    if (seen_ & field) return fail("field " + scratch_ + " appears twice");
    if (field == kOther && scratch_ == "recording") head_.recording = true;
  }
  ws();
  if (peek() != ':') return syntax("expected ':'");
  ++p_;
  ws();
  return true;
}

bool Scanner::value(Field field) {
  const int c = peek();
  if (c == '"') {
    if (field == kOther) return string(nullptr);
    if (!string(&scratch_)) return false;
    return typed(field, Kind::kString);
  }
  if (c == '-' || (c >= '0' && c <= '9')) {
    const unsigned char* start = p_;
    bool integer = false;
    if (!number(integer)) return false;
    if (field != kSeq) return field == kOther || typed(field, Kind::kNumber);
    if (!integer || *start == '-' || p_ - start > 20) return typed(field, Kind::kNumber);
    std::uint64_t v = 0;
    for (const unsigned char* q = start; q < p_; ++q) {
      const unsigned digit = *q - '0';
      if (v > (UINT64_MAX - digit) / 10) return typed(field, Kind::kNumber);
      v = v * 10 + digit;
    }
    head_.seq = v;
    return typed(field, Kind::kInteger);
  }
  const bool ok = c == 't'   ? literal("true")
                  : c == 'f' ? literal("false")
                  : c == 'n' ? literal("null")
                             : syntax("expected a value");
  return ok && (field == kOther || typed(field, Kind::kLiteral));
}

bool Scanner::typed(Field field, Kind kind) {
  const bool want_string = field != kSeq;
  if (want_string ? kind != Kind::kString : kind != Kind::kInteger) {
    const char* found = kind == Kind::kString      ? "a string"
                        : kind == Kind::kContainer ? "an object or array"
                        : kind == Kind::kLiteral   ? "true, false or null"
                                                   : "a number";
    return fail(std::string(field_name(field)) +
                (want_string ? " is not a string" : " is not a positive integer") + " (found " +
                found + ")");
  }
  if (field == kTs && !is_utc_time(scratch_)) return fail("ts is not an RFC 3339 UTC time");
  if (field == kEvent && scratch_.empty()) return fail("event is empty");
  if (field == kPrev) head_.prev = scratch_;
  seen_ |= field;
  return true;
}

// A kept string, number or literal, decoded as nlohmann would: integers as
// unsigned or signed 64-bit when they fit, else as doubles.
bool Scanner::keep_scalar(Json& slot) {
  const int c = peek();
  if (c == '"') {
    if (!string(&scratch_)) return false;
    slot = scratch_;
    return true;
  }
  const unsigned char* start = p_;
  if (c != '-' && (c < '0' || c > '9')) {
    if (!value(kOther)) return false;
    slot = c == 'n' ? Json() : Json(c == 't');
    return true;
  }
  bool integer = false;
  if (!number(integer)) return false;
  const char* first = reinterpret_cast<const char*>(start);
  const char* last = reinterpret_cast<const char*>(p_);
  if (integer && *first != '-') {
    std::uint64_t u = 0;
    if (const auto r = std::from_chars(first, last, u); r.ec == std::errc() && r.ptr == last) {
      return slot = u, true;
    }
  } else if (integer) {
    std::int64_t i = 0;
    if (const auto r = std::from_chars(first, last, i); r.ec == std::errc() && r.ptr == last) {
      return slot = i, true;
    }
  }
  slot = std::strtod(std::string(first, last).c_str(), nullptr);
  return true;
}

// At the opening quote; decodes into *out when given.
bool Scanner::string(std::string* out) {
  if (out) out->clear();
  ++p_;
  for (;;) {
    const unsigned char* run = p_;
    while (p_ < end_ && kPlain[*p_]) ++p_;
    if (out) out->append(reinterpret_cast<const char*>(run), static_cast<std::size_t>(p_ - run));
    if (p_ == end_) return syntax("unterminated string");
    const unsigned char c = *p_;
    if (c == '"') {
      ++p_;
      return true;
    }
    if (c < 0x20) return syntax("control character in a string");
    if (c == '\\') {
      if (!escape(out)) return false;
      continue;
    }
    const unsigned char* start = p_;
    if (!utf8()) return false;
    if (out)
      out->append(reinterpret_cast<const char*>(start), static_cast<std::size_t>(p_ - start));
  }
}

bool Scanner::escape(std::string* out) {
  ++p_;
  if (p_ == end_) return syntax("unterminated escape");
  const unsigned char c = *p_++;
  static constexpr std::string_view kFrom = "\"\\/bfnrt", kTo = "\"\\/\b\f\n\r\t";
  if (const auto i = kFrom.find(static_cast<char>(c)); i != std::string_view::npos) {
    if (out) *out += kTo[i];
    return true;
  }
  if (c != 'u') return syntax("bad escape");
  unsigned cp = 0;
  if (!hex4(cp)) return false;
  if (cp >= 0xdc00 && cp <= 0xdfff) return syntax("lone low surrogate");
  if (cp >= 0xd800 && cp <= 0xdbff) {
    unsigned low = 0;
    if (end_ - p_ < 2 || p_[0] != '\\' || p_[1] != 'u') return syntax("lone high surrogate");
    p_ += 2;
    if (!hex4(low)) return false;
    if (low < 0xdc00 || low > 0xdfff) return syntax("lone high surrogate");
    cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
  }
  if (out) put_utf8(*out, cp);
  return true;
}

bool Scanner::hex4(unsigned& v) {
  if (end_ - p_ < 4) return syntax("short \\u escape");
  v = 0;
  for (int i = 0; i < 4; ++i, ++p_) {
    const unsigned char c = *p_;
    const int d = c >= '0' && c <= '9'   ? c - '0'
                  : c >= 'a' && c <= 'f' ? c - 'a' + 10
                  : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                         : -1;
    if (d < 0) return syntax("bad \\u escape");
    v = v * 16 + static_cast<unsigned>(d);
  }
  return true;
}

// One multi-byte UTF-8 sequence: no overlong forms, surrogates or > U+10FFFF.
bool Scanner::utf8() {
  const unsigned char c = *p_;
  int len = 0;
  unsigned char lo = 0x80, hi = 0xbf;
  if (c >= 0xc2 && c <= 0xdf)
    len = 2;
  else if (c >= 0xe0 && c <= 0xef)
    len = 3, lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;
  else if (c >= 0xf0 && c <= 0xf4)
    len = 4, lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;
  else
    return syntax("invalid UTF-8");
  if (end_ - p_ < len) return syntax("invalid UTF-8");
  for (int i = 1; i < len; ++i) {
    const unsigned char b = p_[i];
    if (b < (i == 1 ? lo : 0x80) || b > (i == 1 ? hi : 0xbf)) return syntax("invalid UTF-8");
  }
  p_ += len;
  return true;
}

bool Scanner::number(bool& integer) {
  const auto digits = [this] {
    const unsigned char* start = p_;
    while (p_ < end_ && *p_ >= '0' && *p_ <= '9') ++p_;
    return p_ > start;
  };
  integer = true;
  if (peek() == '-') ++p_;
  if (peek() == '0') {
    ++p_;
  } else if (!digits()) {
    return syntax("bad number");
  }
  if (peek() == '.') {
    ++p_;
    integer = false;
    if (!digits()) return syntax("bad number");
  }
  if (peek() == 'e' || peek() == 'E') {
    ++p_;
    integer = false;
    if (peek() == '+' || peek() == '-') ++p_;
    if (!digits()) return syntax("bad number");
  }
  return true;
}

bool Scanner::literal(std::string_view word) {
  if (static_cast<std::size_t>(end_ - p_) < word.size() ||
      std::string_view(reinterpret_cast<const char*>(p_), word.size()) != word) {
    return syntax("expected a value");
  }
  p_ += word.size();
  return true;
}

}  // namespace

Result<RecordHead> scan_record(std::string_view line) {
  if (line.empty()) return make_error("empty line");
  return Scanner(line).run();
}

Result<Json> scan_fields(std::string_view line, const std::vector<std::string_view>& skip) {
  if (line.empty()) return make_error("empty line");
  Json record = Json::object();
  record.get_ref<Json::object_t&>().reserve(16);
  if (auto s = Scanner(line, &record, &skip).fields(); !s) return make_error(s.message());
  return record;
}

}  // namespace trex::audit
