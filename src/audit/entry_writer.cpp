// Entries as a table that fits the terminal, as CSV, or as JSON Lines.
#include <algorithm>
#include <array>

#include "audit/fields.hpp"
#include "trex/audit_view.hpp"

namespace trex::audit {
namespace {

constexpr std::size_t kBlockRows = 256;
constexpr std::size_t kMinCommand = 12;  // never cut the command column narrower

enum Column : std::size_t {
  kTime,
  kEvent,
  kClient,
  kRunAs,
  kStatus,
  kDuration,
  kOut,
  kId,
  kCommand
};
constexpr std::size_t kColumns = 9;
// Widest a column may grow without --wide; the command takes what is left.
constexpr std::array<std::size_t, kColumns> kCaps = {0, 13, 16, 12, 24, 8, 6, 10, 0};
constexpr std::array<bool, kColumns> kRight = {false, false, false, false, false,
                                               true,  true,  false, false};

// Narrows the widest-text columns, down to a floor each, until the command
// column gets at least kMinCommand of `width`.
void narrow(std::vector<std::size_t>& widths, std::size_t width) {
  static constexpr std::pair<Column, std::size_t> kFloors[] = {
      {kStatus, 10}, {kClient, 8}, {kRunAs, 6}, {kId, 4}, {kEvent, 10}};
  std::size_t used = kMinCommand;
  for (std::size_t i = 0; i < kCommand; ++i) used += widths[i] ? widths[i] + 2 : 0;
  for (auto [column, floor] : kFloors) {
    if (used <= width) return;
    const std::size_t cut =
        std::min(used - width, widths[column] > floor ? widths[column] - floor : 0);
    widths[column] -= cut;
    used -= cut;
  }
}

std::string dash_if_empty(std::string s) { return s.empty() ? "-" : s; }

std::vector<std::string> header_cells(bool local) {
  return {time_header(local), "EVENT", "CLIENT", "RUN AS", "STATUS", "TOOK", "OUT", "ID",
          "COMMAND"};
}

std::vector<std::string> table_cells(const Entry& e, bool local) {
  return {display_time(e.ts, local),
          printable(e.event),
          dash_if_empty(printable(e.client)),
          dash_if_empty(printable(e.run_as)),
          dash_if_empty(printable(e.status)),
          e.duration_ms ? human_duration(
                              static_cast<std::uint64_t>(std::max<std::int64_t>(*e.duration_ms, 0)))
                        : "-",
          e.bytes_out ? human_bytes(*e.bytes_out) : "-",
          dash_if_empty(printable(e.id)),
          printable(e.command)};
}

const std::vector<std::string>& csv_header() {
  static const std::vector<std::string> h = {
      "time",      "kind", "client",  "run_as", "status", "exit_code", "signal", "duration_ms",
      "bytes_out", "id",   "command", "shell",  "peer",   "rule",      "event"};
  return h;
}

std::string opt_text(const std::optional<std::int64_t>& v) { return v ? std::to_string(*v) : ""; }

void print_csv(std::ostream& out, const std::vector<std::string>& cells) {
  std::string line;
  for (std::size_t i = 0; i < cells.size(); ++i) {
    if (i) line += ',';
    line += csv_field(cells[i]);
  }
  out << line << "\r\n";  // RFC 4180
}

std::vector<std::string> csv_cells(const Entry& e) {
  return {e.ts,
          std::string(kind_name(e.kind)),
          e.client,
          e.run_as,
          e.status,
          opt_text(e.exit_code),
          opt_text(e.signal),
          opt_text(e.duration_ms),
          opt_text(e.bytes_out),
          e.id,
          e.command,
          e.shell ? "true" : "false",
          e.peer,
          e.rule,
          e.event};
}

}  // namespace

std::string fit(std::string_view s, std::size_t width) {
  if (display_width(s) <= width) return std::string(s);
  if (width == 0) return "";
  std::size_t cols = 0, i = 0;
  for (; i < s.size(); ++i) {
    const bool starts = (static_cast<unsigned char>(s[i]) & 0xc0) != 0x80;
    if (starts && ++cols == width) break;  // room for width-1 characters and the ellipsis
  }
  return std::string(s.substr(0, i)) + "\xe2\x80\xa6";
}

std::string csv_field(std::string_view s) {
  // A CSV is read in terminals and pagers too: controls are escaped as in the table.
  std::string v = printable(s);
  if (!v.empty() && std::string_view("=+-@\t\r").find(v.front()) != std::string_view::npos) {
    v.insert(v.begin(), '\'');
  }
  if (v.find_first_of(",\"\r\n") == std::string::npos) return v;
  std::string out = "\"";
  for (char c : v) {
    out += c;
    if (c == '"') out += '"';
  }
  return out + "\"";
}

Json entry_json(const Entry& e) {
  Json j{{"ts", e.ts}, {"kind", kind_name(e.kind)}, {"event", e.event}};
  const auto put = [&](const char* key, const std::string& v) {
    if (!v.empty()) j[key] = v;
  };
  put("client", e.client);
  put("run_as", e.run_as);
  if (!e.argv.is_null()) j[e.shell ? "shell" : "argv"] = e.argv;
  put("status", e.status);
  if (e.exit_code) j["exit_code"] = *e.exit_code;
  if (e.signal) j["signal"] = *e.signal;
  if (e.kind == Kind::kCommand && !e.running) j["timed_out"] = e.timed_out;
  if (e.duration_ms) j["duration_ms"] = *e.duration_ms;
  if (e.bytes_out) j["bytes_out"] = *e.bytes_out;
  put("id", e.id);
  put("peer", e.peer);
  put("rule", e.rule);
  if (e.kind != Kind::kCommand && e.kind != Kind::kDenied) put("detail", e.command);
  j["failed"] = e.failed;
  return j;
}

EntryWriter::EntryWriter(std::ostream& out, Format format, TableOptions options)
    : out_(out), format_(format), options_(options) {}

void EntryWriter::add(const Entry& entry) {
  if (format_ == Format::kJson) {
    out_ << entry_json(entry).dump(-1, ' ', false, Json::error_handler_t::replace) << '\n';
    return;
  }
  if (format_ == Format::kCsv) {
    if (!header_done_) print_csv(out_, csv_header());
    header_done_ = true;
    print_csv(out_, csv_cells(entry));
    return;
  }
  pending_.push_back(table_cells(entry, options_.local_time));
  if (pending_.size() >= kBlockRows) flush();
}

void EntryWriter::flush() {
  if (format_ == Format::kTable) {
    print_table();
  } else if (format_ == Format::kCsv && !header_done_) {
    print_csv(out_, csv_header());
    header_done_ = true;
  }
  out_.flush();
}

void EntryWriter::print_table() {
  if (pending_.empty() && header_done_) return;
  if (!header_done_) pending_.insert(pending_.begin(), header_cells(options_.local_time));
  header_done_ = true;
  widths_.resize(kColumns, 0);
  const auto shown = [&](std::size_t i) { return i != kEvent || options_.events; };
  for (const Cells& r : pending_) {
    for (std::size_t i = 0; i < kColumns; ++i) {
      std::size_t w = display_width(r[i]);
      if (!options_.wide && kCaps[i]) w = std::min(w, kCaps[i]);
      widths_[i] = std::max(widths_[i], w);
    }
  }
  const bool limit = !options_.wide && options_.width > 0;
  std::vector<std::size_t> widths = widths_;
  if (!options_.events) widths[kEvent] = 0;
  if (limit) narrow(widths, options_.width);
  std::size_t used = 0;
  for (std::size_t i = 0; i < kCommand; ++i) used += shown(i) ? widths[i] + 2 : 0;
  const std::size_t room =
      limit ? std::max(kMinCommand, options_.width > used ? options_.width - used : 0) : 0;
  for (const Cells& r : pending_) {
    std::string line;
    for (std::size_t i = 0; i < kColumns; ++i) {
      if (!shown(i)) continue;
      const std::string cell = i == kCommand ? (limit ? fit(r[i], room) : r[i])
                                             : (options_.wide ? r[i] : fit(r[i], widths[i]));
      const std::size_t w = display_width(cell);
      const std::string pad(widths[i] > w ? widths[i] - w : 0, ' ');
      line += kRight[i] ? pad + cell : (i == kCommand ? cell : cell + pad);
      if (i + 1 < kColumns) line += "  ";
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out_ << line << '\n';
  }
  pending_.clear();
}

}  // namespace trex::audit
