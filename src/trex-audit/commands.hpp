// The trex-audit commands. Each returns the process exit status: 0 fine,
// 1 a broken chain / unreadable file / skipped lines, 2 no trail or a usage
// error.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "trex/audit_review.hpp"
#include "trex/audit_view.hpp"

namespace trex::trex_audit {

using audit::Anchor;
using audit::Filter;
using audit::Format;
using audit::Json;
using audit::Query;
using audit::TableOptions;

inline constexpr int kUsage = 2;

// Where the trail is: the FILEs given, else DIR/audit.jsonl and its rotated
// files for --log-dir, TREX_LOG_DIR, ./log, /var/log/trex (the first that
// holds a trail). Fails with "no trail at PATH" when there is none.
struct Trail {
  std::vector<std::string> files;  // oldest first
  std::string current;             // the file trexd appends to (followed by --follow)
};
Result<Trail> find_trail(const std::vector<std::string>& files, const std::string& log_dir);

struct ShowOptions {
  Query query;
  bool events = false;    // one line per record
  bool raw_json = false;  // --json, or --events --format json: the raw records
  Format format = Format::kTable;
  TableOptions table;
  bool follow = false;
  std::size_t backlog = 10;  // --follow without --since: the last N lines first
};

// With `expect`, the trail must reach that record with that hash.
// Also checks the recordings the trail names (RecordingCheck), in the same pass.
int run_verify(const Trail& trail, const Query& window, const std::optional<Anchor>& expect);

// verify's check of every recording an exec_end names against its digest,
// one line per missing or changed one on stderr. The chain's pass feeds it
// the lines that name one (audit::verify_files' on_recording); past a break
// in the chain, rest() reads the lines the chain's pass did not reach.
class RecordingCheck {
 public:
  void line(const std::string& file, std::uint64_t number, std::string_view line);
  void rest(const std::vector<std::string>& files, const audit::VerifyFailure& failure);
  // Says "ok: N recordings match" when there were some; 0 when all match.
  int finish() const;

 private:
  void check(const std::string& file, const Json& record);
  std::size_t checked_ = 0;
  std::size_t bad_ = 0;
  std::string last_file_;  // the last line line() saw, which rest() skips
  std::uint64_t last_number_ = 0;
};

struct PlayOptions {
  std::string id;         // a command id (the last such in the trail) or a recording's name
  double speed = 1;       // > 0
  double idle_limit = 0;  // seconds; 0: none
};
// Writes the recording's screen to stdout at its pace. 1 when there is none,
// or when it does not match its digest (it still plays, after a warning).
int run_play(const Trail& trail, const PlayOptions& options);

// FILE arguments as one chain per trail: a file and its rotated FILE.N, oldest
// first, named after their folder (HOST for HOST/audit.jsonl).
struct HostTrail {
  std::string host;
  std::vector<std::string> files;
};
std::vector<HostTrail> group_trails(const std::vector<std::string>& files);
// Verifies each trail; one line per host. 0 when every chain is intact.
int run_verify_hosts(const std::vector<HostTrail>& trails, RecordingCheck& recordings);
// One line of terminal-safe text (control characters escaped).
std::string printable_text(std::string_view s);
int run_show(const Trail& trail, const ShowOptions& options);
int run_follow(const Trail& trail, const ShowOptions& options);
int run_stats(const Trail& trail, const Query& query, Format format);
// Writes the HTML report of the entries `query` selects to `html` ('-':
// stdout); the window defaults to the last 7 days.
int run_report(const Trail& trail, const Query& query, const std::string& html);

// Feeds every well-formed record of the trail to fn(record, line); reports
// the rest on stderr. Returns false when anything was skipped or unreadable.
bool for_each_record(const std::vector<std::string>& files,
                     const std::function<void(const Json&, std::string_view)>& fn);

}  // namespace trex::trex_audit
