#include <cstdio>

#include "audit/fields.hpp"
#include "trex/audit_events.hpp"
#include "trex/audit_review.hpp"

namespace trex::audit {
namespace {

// "ou ops,lab" from the session_open record's array (a string is accepted too).
std::string ou_text(const Json& r) {
  const auto it = r.find("ou");
  if (it == r.end()) return "";
  if (it->is_string()) return "ou " + it->get<std::string>();
  if (!it->is_array() || it->empty()) return "";
  std::string out = "ou ";
  for (const auto& v : *it) {
    if (!v.is_string()) continue;
    if (out.size() > 3) out += ",";
    out += v.get<std::string>();
  }
  return out.size() > 3 ? out : "";
}

constexpr std::size_t kBlockRows = 256;
Row header_row() {
  return {"TIME (UTC)", "EVENT", "CLIENT", "PEER", "STATUS", "DURATION", "COMMAND"};
}

// One character of `s` at `i`: a code point of valid UTF-8, or one byte
// that is not (`valid` false).
struct Char {
  char32_t cp = 0;
  std::size_t len = 1;
  bool valid = true;
};

Char char_at(std::string_view s, std::size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  if (c < 0x80) return {c, 1, true};
  const std::size_t len = (c & 0xE0u) == 0xC0u ? 2 : (c & 0xF0u) == 0xE0u ? 3 : 4;
  if ((c & 0xF8u) == 0xF8u || i + len > s.size() || !is_utf8(s.substr(i, len))) {
    return {c, 1, false};
  }
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

std::string command_of(const Json& record) {
  if (const auto path = record.find("path"); path != record.end()) {
    const bool put = text_of(record, "event") == event::kFilePut;
    return std::string(put ? "put " : "get ") + shell_join(Json::array({*path}));
  }
  const auto argv = record.find("argv");
  if (argv != record.end() && argv->is_array()) return shell_join(*argv);
  const auto shell = record.find("shell");
  if (shell == record.end()) return "";
  // Bytes that are not UTF-8 ({"hex": ...}) are shown as $'...' escapes.
  if (auto bytes = field_bytes(*shell)) return shell->is_string() ? *bytes : quote_arg(*bytes);
  return text_of(record, "shell");
}

std::string exec_status(const Json& r) {
  std::string s;
  if (true_of(r, "timed_out")) {
    s = "timeout";
  } else if (const auto sig = int_of(r, "signal"); sig && *sig != 0) {
    s = "signal " + std::to_string(*sig);
  } else if (const auto code = int_of(r, "exit_code")) {
    s = "exit " + std::to_string(*code);
  } else {
    s = "?";
  }
  return true_of(r, "truncated") ? s + " (output truncated)" : s;
}

std::string status_of(const std::string& event, const Json& r) {
  if (event == event::kExecEnd) return exec_status(r);
  if (event == event::kFilePut || event == event::kFileGet) {
    const std::string result = text_of(r, "result");
    if (result == "ok") return "ok " + text_of(r, "size") + " B sha256 " + text_of(r, "sha256");
    return result + ": " + text_of(r, "error");
  }
  if (event == event::kExecDenied) return "denied: " + text_of(r, "reason");
  if (event == event::kExecStart) return "started";
  if (event == event::kAuthFail && r.contains("claimed_cn")) {
    // Never in the CLIENT column: nobody proved to be this name.
    return text_of(r, "reason") + "; unverified certificate claims cn=" + text_of(r, "claimed_cn") +
           ", issuer " + text_of(r, "issuer") + ", sha256 " + text_of(r, "fingerprint");
  }
  if (event == event::kAuthFail || event == event::kSessionClose) return text_of(r, "reason");
  if (event == event::kAuthFailSummary) {
    return text_of(r, "count") + " refusals from " + text_of(r, "peer") + ", " +
           text_of(r, "window_start") + " to " + text_of(r, "window_end");
  }
  if (event == event::kSessionOpen) return ou_text(r);
  if (event == event::kServerStart || event == event::kServerStop) {
    std::string s = "version " + text_of(r, "version") + ", pid " + text_of(r, "pid");
    const auto rec = r.find("recovered");
    if (rec != r.end() && rec->is_object()) {
      s += ", set aside " + text_of(*rec, "torn_bytes") + " torn bytes in " +
           text_of(*rec, "saved_to");
    }
    return s;
  }
  if (event == event::kReload) {
    return text_of(r, "what") + (true_of(r, "ok") ? ": ok" : ": failed: " + text_of(r, "reason"));
  }
  return "";
}

// "2026-11-23T17:49:07.123456Z" -> "2026-11-23 17:49:07"
std::string display_time(const std::string& ts) {
  if (ts.size() < 20 || ts[10] != 'T' || ts.back() != 'Z') return ts;
  return ts.substr(0, 10) + " " + ts.substr(11, 8);
}

}  // namespace

// A table cell must stay on one line and must not carry terminal controls.
std::string printable(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size();) {
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

void Describer::Recent::put(const std::string& key, std::string value) {
  if (map_.insert_or_assign(key, std::move(value)).second) order_.push_back(key);
  while (map_.size() > kLimit && !order_.empty()) {
    map_.erase(order_.front());
    order_.pop_front();
  }
  if (order_.size() > 2 * kLimit) {  // drop keys already taken
    std::deque<std::string> live;
    for (auto& k : order_) {
      if (map_.count(k)) live.push_back(std::move(k));
    }
    order_.swap(live);
  }
}

std::optional<std::string> Describer::Recent::take(const std::string& key, bool erase) {
  const auto it = map_.find(key);
  if (it == map_.end()) return std::nullopt;
  std::string value = erase ? std::move(it->second) : it->second;
  if (erase) map_.erase(it);
  return value;
}

Row Describer::describe(const Json& r) {
  Row row;
  row.event = text_of(r, "event");
  row.time = display_time(text_of(r, "ts"));
  row.client = text_of(r, "cn");
  const std::string conn = text_of(r, "conn");
  const std::string exec_key = conn + "/" + text_of(r, "id");
  row.peer = text_of(r, "peer");
  if (row.peer.empty() && !conn.empty()) row.peer = peers_.take(conn, false).value_or("");
  row.command = command_of(r);
  if (row.event == event::kSessionOpen && !conn.empty()) peers_.put(conn, row.peer);
  if (row.event == event::kSessionClose) peers_.take(conn, true);
  if (row.event == event::kExecStart) commands_.put(exec_key, row.command);
  if (row.event == event::kExecEnd) row.command = commands_.take(exec_key, true).value_or("");
  row.status = status_of(row.event, r);
  if (const auto ms = int_of(r, "duration_ms"); ms && *ms >= 0) {
    row.duration = human_duration(static_cast<std::uint64_t>(*ms));
  }
  for (std::string* cell :
       {&row.time, &row.event, &row.client, &row.peer, &row.status, &row.duration, &row.command}) {
    *cell = printable(*cell);
    if (cell->empty() && cell != &row.command) *cell = "-";
  }
  return row;
}

void TableWriter::add(Row row) {
  pending_.push_back(std::move(row));
  if (pending_.size() >= kBlockRows) flush();
}

void TableWriter::flush() {
  if (pending_.empty() && header_done_) return;
  const auto cells = [](const Row& r) {
    return std::vector<const std::string*>{&r.time,   &r.event,    &r.client, &r.peer,
                                           &r.status, &r.duration, &r.command};
  };
  if (!header_done_) pending_.insert(pending_.begin(), header_row());
  for (const Row& r : pending_) {
    const auto c = cells(r);
    widths_.resize(c.size(), 0);
    for (std::size_t i = 0; i < c.size(); ++i) {
      widths_[i] = std::max(widths_[i], display_width(*c[i]));
    }
  }
  header_done_ = true;
  for (const Row& r : pending_) {
    const auto c = cells(r);
    std::string line;
    for (std::size_t i = 0; i < c.size(); ++i) {
      line += *c[i];
      if (i + 1 < c.size()) line += std::string(widths_[i] - display_width(*c[i]) + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out_ << line << '\n';
  }
  pending_.clear();
}

}  // namespace trex::audit
