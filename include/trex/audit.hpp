// Audit trail: one JSON object per line, hash-chained (see README "Audit
// trail"). Record building, the chain and verification are pure; Writer is
// the file sink (O_APPEND, one write(2) per record, optional fdatasync,
// rotation by rename). Writer is thread-safe: all sessions share one, so
// records never interleave and seq never repeats or skips.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "trex/result.hpp"
#include "util/unique_fd.hpp"

namespace trex::audit {

using Json = nlohmann::ordered_json;

inline constexpr std::string_view kGenesis =
    "0000000000000000000000000000000000000000000000000000000000000000";

// "2026-11-23T17:49:07.123456Z"
std::string rfc3339_utc(std::chrono::system_clock::time_point t);

// Command bytes (an argument, a shell string) as recorded, losslessly: a JSON
// string when they are valid UTF-8, else {"hex": "<every byte, lower-case
// hex>"}, which no string can be confused with (README "Audit trail").
Json bytes_field(std::string_view bytes);
Json argv_field(const std::vector<std::string>& argv);
// The bytes a bytes_field() value stands for; nullopt for any other value.
std::optional<std::string> field_bytes(const Json& value);
bool is_utf8(std::string_view bytes);
std::string sha256_hex(std::string_view data);

// The chain's state: the next seq and the hash of the last line.
class Chain {
 public:
  Chain() = default;
  Chain(std::uint64_t next_seq, std::string prev) : next_seq_(next_seq), prev_(std::move(prev)) {}
  // Resumes after an existing record line; fails if it is not a record.
  static Result<Chain> after_line(std::string_view last_line);

  // Builds one record line (no newline): ts, seq, event, the fields in their
  // order, prev. Does not advance: call advance(line) once it is written.
  std::string seal(std::string_view event, const Json& fields,
                   std::chrono::system_clock::time_point now) const;
  void advance(std::string_view written_line);

  std::uint64_t next_seq() const { return next_seq_; }
  const std::string& prev() const { return prev_; }

 private:
  std::uint64_t next_seq_ = 1;
  std::string prev_{kGenesis};
};

// A point of the chain: record `seq` and the SHA-256 of its line, written
// "SEQ:HASH" (what verify prints, what trexd's state file and syslog hold).
struct Anchor {
  std::uint64_t seq = 0;
  std::string hash;
  std::string text() const { return std::to_string(seq) + ":" + hash; }
};
// "SEQ:HASH" with a 64-digit lowercase hex hash; surrounding blanks ignored.
Result<Anchor> parse_anchor(std::string_view text);

// Checks lines one by one against the chain. Pure.
// Why a chain check failed. kIncomplete: a last line without its newline;
// kUnreadable: a file missing or unreadable; kNotExpected / kCutOff: the
// trail does not reach the --expect record with its hash.
enum class VerifyFault { kRecord, kSeq, kPrev, kIncomplete, kUnreadable, kNotExpected, kCutOff };

class Verifier {
 public:
  // Returns the reason when `line` breaks the chain (bad JSON, missing field,
  // seq gap, prev mismatch), nothing when it is good.
  std::optional<std::string> check(std::string_view line);
  // What the last failed check() found: kSeq or kPrev for a broken link,
  // kRecord for a line that is not a record.
  VerifyFault fault() const { return fault_; }
  std::uint64_t records() const { return records_; }
  // Whether the last good line has a top-level "recording" field (the
  // exec_end of a terminal session), so a review can check the file it names.
  bool names_recording() const { return names_recording_; }
  // The last good record, once there is one.
  std::optional<Anchor> head() const {
    if (records_ == 0) return std::nullopt;
    return Anchor{next_seq_ - 1, prev_};
  }

 private:
  std::uint64_t records_ = 0;
  std::uint64_t next_seq_ = 1;
  std::string prev_{kGenesis};
  VerifyFault fault_ = VerifyFault::kRecord;
  bool names_recording_ = false;
};

struct VerifyFailure {
  std::string file;
  std::uint64_t line = 0;  // 1-based within `file`; 0 when the file is missing
  std::string reason;      // for people; callers branch on `kind`
  VerifyFault kind = VerifyFault::kRecord;
};

struct VerifyReport {
  std::uint64_t records = 0;
  std::optional<Anchor> head;  // the last good record; none in an empty trail
  std::optional<VerifyFailure> failure;
  bool ok() const { return !failure; }
};

// Called with each good line that names a recording (see names_recording),
// its file and its 1-based number there.
using RecordingLineFn =
    std::function<void(const std::string& file, std::uint64_t number, std::string_view line)>;

// Verifies files as one chain, in the given order. With `expect`, the trail
// must also reach that record, with that hash: a trail cut short of it (or
// changed at it) fails. `on_recording` lets a review check recordings in the
// same pass: reading a large trail twice doubled verify's time.
VerifyReport verify_files(const std::vector<std::string>& files,
                          const std::optional<Anchor>& expect = std::nullopt,
                          const RecordingLineFn& on_recording = {});

// `path` and its rotated files (path.1, path.2, ...), oldest first, current last.
std::vector<std::string> trail_files(const std::string& path);

class HeadFile;

class Writer {
 public:
  struct Options {
    std::string path = "log/audit.jsonl";
    bool fsync = false;
    std::uint64_t max_bytes = 64ULL * 1024 * 1024;  // rotate when exceeded
    // Called with each record line (no newline) once it is in the file, in
    // chain order, under the writer's lock: it must not block (--audit-syslog).
    std::function<void(std::string_view event, std::string_view line)> mirror;
    // The state file that keeps the last record's SEQ:HASH (rewritten after
    // every record); empty: none. open() refuses a trail that no longer
    // reaches the head it holds (cut short, rolled back, replaced) ...
    std::string head_path{};
    // ... unless this is set: then it goes on from the trail as it is and
    // recovery() says what was expected and what was found.
    bool accept_shortened = false;
    // Called (under the writer's lock) with the head of a file just rotated.
    std::function<void(const Anchor&)> on_rotate{};
  };

  // Opens (creating 0640) and resumes the chain from the last record of the
  // trail. A torn last line (crash mid-write) is moved aside and described in
  // recovery(). Fails with a reason naming the file.
  static Result<std::unique_ptr<Writer>> open(const Options& options);

  // Appends one record. On failure nothing was recorded (the chain did not
  // advance) and the caller must not act on the event: fail closed.
  Status write(std::string_view event, const Json& fields);
  // Appends one of the events of trex/audit_events.hpp.
  template <class Event>
  Status record(const Event& e) {
    return write(Event::kName, e.to_json());
  }

  // What open() repaired or found, as fields for server_start (recovered,
  // trail_shortened, head_missing); null when nothing.
  const Json& recovery() const { return recovery_; }
  // The last record written; nothing while the trail is empty.
  std::optional<Anchor> head() const;
  const std::string& path() const { return options_.path; }

  ~Writer();
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

 private:
  explicit Writer(Options options);
  Status open_current();
  Status rotate();
  // Helpers of open() and write(); callers hold mu_ (or own the writer alone).
  Status resume();
  Status set_aside(std::uint64_t good_end);
  Status ensure_current();
  Status reserve(std::size_t bytes);
  void release_reserve();
  Status append(std::string_view record);
  Status check_head();
  std::optional<Anchor> last_record() const;

  Options options_;
  mutable std::mutex mu_;
  util::UniqueFd fd_;
  std::uint64_t size_ = 0;
  std::uint64_t reserved_ = 0;       // blocks allocated up to here (fallocate, KEEP_SIZE)
  std::uint64_t dev_ = 0, ino_ = 0;  // the file fd_ holds, as opened
  Chain chain_;
  Json recovery_;
  std::unique_ptr<HeadFile> head_;  // the state file, when Options::head_path is set
};

}  // namespace trex::audit
