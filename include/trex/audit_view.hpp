// The reviewer's view of the audit trail (trex-audit show, stats, follow):
// one Entry per command (exec_start joined with its exec_end), per denial,
// per session, per refused handshake and per server event; the filters that
// select entries; and the table, CSV and JSON writers. Pure apart from the
// ostream given to a writer. Records are untrusted input: no field's absence
// or type may crash a reader. Types are thread-compatible.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "trex/audit.hpp"
#include "trex/audit_review.hpp"
#include "trex/result.hpp"

namespace trex::audit {

// The event names trexd writes, for checking --event.
const std::vector<std::string_view>& known_events();
// Fails naming the first unknown name and listing the known ones.
Status check_event_names(const std::vector<std::string>& names);

enum class Kind { kCommand, kDenied, kSession, kRefused, kServer, kOther };
std::string_view kind_name(Kind kind);

struct Entry {
  Kind kind = Kind::kOther;
  std::string event;   // the deciding record's event (exec_end for a finished command)
  std::string ts;      // RFC 3339 UTC; a command's is its exec_start's
  std::string client;  // a verified `cn` only, never a refused certificate's claim
  std::string run_as, peer, rule, id;
  std::string status;   // "exit 0", "timeout", "denied: REASON", "refused: REASON", ...
  std::string command;  // argv joined for a shell, or "sh -c 'STRING'"; else what happened
  Json argv;            // the record's argv array or shell string (null if neither)
  bool shell = false;
  bool failed = false;   // a failed command, a denial or a refused handshake
  bool running = false;  // exec_start without exec_end (yet)
  std::optional<std::int64_t> exit_code, signal, duration_ms, bytes_out;
  bool timed_out = false;
  std::int64_t refusals = 1;  // how many refusals a kRefused entry stands for
};

// One record as an entry of its own (the event view).
Entry entry_of(const Json& record);

// Joins exec_start with exec_end (by conn and id) and folds session_close
// ("client closed") and exec_start into the lines they belong to. Feed it
// every record in trail order, including those a filter hides.
class CommandView {
 public:
  // Appends the entries `record` completes (none for an exec_start).
  void add(const Json& record, std::vector<Entry>& out);
  // Commands started but not ended, oldest first; they stay open.
  std::vector<Entry> open_commands() const;

 private:
  void remember(const std::string& key, Entry start);
  static constexpr std::size_t kMaxOpen = 10000;
  std::map<std::string, Entry> open_;
  std::deque<std::string> order_;
};

// What selects entries. Lists are "any of"; empty means any.
struct Query {
  std::vector<std::string> clients, events, statuses, rules;
  std::optional<TimePoint> since, until;  // [since, until)
  bool failed_only = false;
};

// Checks --status words: ok, failed, timeout, signal, denied, refused,
// running, or an exit code.
Status check_status_words(const std::vector<std::string>& words);
bool matches(const Entry& entry, const Query& query);

// Display: the record time in UTC ("2026-11-23 17:49:07") or local time.
std::string display_time(const std::string& ts, bool local);
// The header of the time column: "TIME (UTC)" or "TIME (CET)".
std::string time_header(bool local);
// "0", "812", "1.2K", "34K", "5.0M", "2.1G".
std::string human_bytes(std::int64_t bytes);

enum class Format { kTable, kCsv, kJson };

struct TableOptions {
  std::size_t width = 0;  // terminal columns; 0: no limit
  bool wide = false;      // no truncation at all
  bool local_time = false;
  bool events = false;  // an EVENT column (one line per record)
};

// Writes entries as one line each: an aligned table whose last column
// (COMMAND) is cut with an ellipsis to fit the width, CSV with a header, or
// JSON Lines. Columns widen as wider rows arrive (up to a cap unless wide);
// rows are printed in blocks so memory stays bounded.
class EntryWriter {
 public:
  EntryWriter(std::ostream& out, Format format, TableOptions options);
  ~EntryWriter() { flush(); }
  EntryWriter(const EntryWriter&) = delete;
  EntryWriter& operator=(const EntryWriter&) = delete;
  void add(const Entry& entry);
  void flush();

 private:
  using Cells = std::vector<std::string>;
  void print_table();
  std::ostream& out_;
  Format format_;
  TableOptions options_;
  std::vector<Cells> pending_;
  std::vector<std::size_t> widths_;
  bool header_done_ = false;
};

// Entry as a JSON object (for --format json).
Json entry_json(const Entry& entry);
// One CSV field: terminal controls escaped (as printable()), quoted when
// needed; text that a spreadsheet would run as a formula (=, +, -, @ first)
// gets a leading apostrophe.
std::string csv_field(std::string_view s);
// Cuts `s` to `width` display columns, ending in "…" when cut.
std::string fit(std::string_view s, std::size_t width);

// stats beyond the per-client table: per program, per rule, and the peers
// whose handshakes were refused most. Fed entries (CommandView's).
class Breakdown {
 public:
  struct Counts {
    std::uint64_t runs = 0, failures = 0, denials = 0;
    std::uint64_t run_ms = 0;
  };
  struct Peer {
    std::uint64_t refused = 0;
    std::string last_reason, last_ts;
  };
  void add(const Entry& entry);
  const std::map<std::string, Counts>& commands() const { return commands_; }
  const std::map<std::string, Counts>& rules() const { return rules_; }
  // The `limit` peers with the most refusals, most first.
  std::vector<std::pair<std::string, Peer>> top_peers(std::size_t limit) const;
  void print(std::ostream& out) const;

 private:
  std::map<std::string, Counts> commands_, rules_;
  std::map<std::string, Peer> peers_;
};

// The program a command ran: argv[0], or "sh -c" for a shell string.
std::string program_of(const Entry& entry);
// "10.0.0.5:41234" -> "10.0.0.5", "[::1]:5000" -> "::1".
std::string peer_host(std::string_view peer);

}  // namespace trex::audit
