// Terminal session recordings (trex -t): asciicast v2 files, the format
// `asciinema play` reads. A header line (JSON object), then one JSON array
// per event: [seconds, "o", "screen bytes"], [seconds, "i", "keystrokes"]
// (only where the rule says record_input), [seconds, "r", "COLSxROWS"].
//
// CastEncoder is pure; Recording writes one file and fails closed: every
// write is checked and its error returned, so that a session whose recording
// cannot be written is ended rather than carried on unrecorded. The file's
// SHA-256 goes into exec_end, which ties it to the audit hash chain.
// Neither type is thread-safe; a Recording is owned by one session.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "trex/audit_events.hpp"
#include "trex/result.hpp"

namespace trex::audit {

struct CastHeader {
  unsigned width = 80, height = 24;  // columns, rows
  std::int64_t timestamp = 0;        // Unix seconds at the start
  std::string term;                  // $TERM; may be empty
};

class CastEncoder {
 public:
  static std::string header(const CastHeader& h);
  // The line for `bytes` of kind 'o' or 'i' at `seconds` from the start, or
  // "" when there is nothing whole to write yet. JSON strings hold text: a
  // UTF-8 sequence cut at the end of `bytes` is held for the next call of the
  // same kind; bytes that are not UTF-8 become U+FFFD (as asciinema does).
  std::string event(double seconds, char kind, std::string_view bytes);
  // The line for a held, never completed sequence of `kind` (U+FFFD), or "".
  std::string flush(double seconds, char kind);
  static std::string resize(double seconds, unsigned cols, unsigned rows);

 private:
  std::string held_out_, held_in_;
};

// Appends the JSON string body (no quotes) for the valid UTF-8 prefix of
// `bytes`; returns how many bytes it used (the rest is a cut sequence).
std::size_t append_json_text(std::string& out, std::string_view bytes);

// What a hostile terminal user could otherwise grow without end: window-size
// frames cost the client nothing, and every one would be an "r" line.
struct RecordingLimits {
  // The file never grows past this many bytes: the write that would is
  // refused (the file keeps what it had) and full() is true from then on.
  std::uint64_t max_bytes = UINT64_MAX;
  // Window sizes closer together than this are coalesced: the latest is held
  // and written before the next "o"/"i" event, the next resize after the
  // interval, or at finish(). A size equal to the last written is not written.
  std::chrono::milliseconds resize_interval{100};
};

class Recording {
 public:
  // Creates DIR/NAME (mode 0640, never over an existing file) and writes the
  // header. Errors name the file.
  static Result<Recording> create(const std::string& dir, const std::string& name,
                                  const CastHeader& header, const RecordingLimits& limits = {});
  Recording(Recording&&) noexcept;
  Recording& operator=(Recording&&) noexcept;
  ~Recording();

  Status output(std::string_view bytes) { return event('o', bytes); }
  Status input(std::string_view bytes) { return event('i', bytes); }
  Status resize(unsigned cols, unsigned rows);
  // Writes what is held (what still fits), syncs and closes; the summary for
  // exec_end. After a failed write the file holds the whole lines written
  // before it (a part written of the failed one is cut off again) and the
  // summary describes them, so that the trail still covers the file.
  Result<RecordingInfo> finish();
  const std::string& path() const;
  // Did a write find the file at its max_bytes?
  bool full() const;

 private:
  struct Impl;
  explicit Recording(std::unique_ptr<Impl> impl);
  Status event(char kind, std::string_view bytes);
  std::unique_ptr<Impl> impl_;
};

// ---- review: trex-audit verify and play ------------------------------------

// Is `name` a recording's file name as trexd makes them (tty-....cast, no
// folder)? A trail could name any path; only these are ever opened.
bool is_recording_name(std::string_view name);

// The recording an exec_end record names (none: success), checked against
// its recording_sha256 and recording_bytes; `dir` is the folder of the trail
// file that holds the record. The error names the file and what is wrong
// (missing, unreadable, changed).
Status check_recording(const std::string& dir, const Json& exec_end);

struct CastEvent {
  double seconds = 0;
  std::string kind;  // "o", "i", "r", ... as written
  std::string data;
};
// One event line of an asciicast v2 file.
Result<CastEvent> parse_cast_event(std::string_view line);

}  // namespace trex::audit
