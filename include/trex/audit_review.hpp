// Reading the audit trail for people (trex-audit show/stats): time bounds,
// filters, one display row per record and per-client statistics. Everything
// here is pure except for_each_line; records are untrusted input, so no
// field's absence or type may crash a reader. Types are thread-compatible.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "trex/audit.hpp"
#include "trex/result.hpp"

namespace trex::audit {

using TimePoint = std::chrono::system_clock::time_point;

// Calls fn(line, 1-based number, complete) for each line of `file`; a last
// line without '\n' comes with complete=false. fn returns false to stop.
// Fails with "missing file" or the errno text.
using LineFn = std::function<bool(std::string_view, std::uint64_t, bool)>;
Status for_each_line(const std::string& file, const LineFn& fn);

// Where a time written without a zone is: UTC, or this host's zone (TZ).
enum class Zone { kUtc, kLocal };

// RFC 3339 ("2026-11-23T17:00:00Z", "...T19:00:00+02:00"; no zone means
// `zone`), a date ("2026-11-23", midnight in `zone`) or a span before `now`
// ("30m", "1h", "7d", "2w"; also "s").
Result<TimePoint> parse_time(std::string_view text, TimePoint now, Zone zone = Zone::kUtc);

// One line as a record for review: a JSON object with a string `event`.
Result<Json> parse_record(std::string_view line);

struct Filter {
  std::vector<std::string> clients;  // cn; empty: any
  std::vector<std::string> events;   // empty: any
  std::optional<TimePoint> since;    // inclusive
  std::optional<TimePoint> until;    // exclusive
  bool failed_only = false;
};

// auth_fail, exec_denied, and exec_end with a non-zero exit, a signal or a timeout.
bool is_failure(const Json& record);
bool matches(const Json& record, const Filter& filter);

// `argv` joined for a POSIX shell, quoting only the arguments that need it.
std::string shell_join(const Json& argv);
// "850ms", "4.2s", "3m07s", "2h05m", "3d04h".
std::string human_duration(std::uint64_t ms);

struct ClientStats {
  std::uint64_t sessions = 0;
  std::uint64_t commands = 0;
  std::uint64_t transfers = 0;       // file_put / file_get that ran (ok or failed)
  std::uint64_t transfer_bytes = 0;  // the files' bytes they moved
  std::uint64_t failures = 0;
  std::uint64_t denials = 0;
  std::uint64_t refused = 0;  // refused handshakes
  std::uint64_t run_ms = 0;
};

inline constexpr std::string_view kNoCertificate = "(no certificate)";
// Refusals of certificates that did not verify: what they claim (claimed_cn)
// is nobody's identity, so they are counted here and never under a client.
inline constexpr std::string_view kUnverified = "(unverified certificate)";
// Refusals past trexd's per-address rate, counted in auth_fail_summary records.
inline constexpr std::string_view kSummarized = "(counted in summaries)";

class Stats {
 public:
  void add(const Json& record);
  const std::map<std::string, ClientStats>& clients() const { return clients_; }
  void print(std::ostream& out) const;

 private:
  std::map<std::string, ClientStats> clients_;
};

}  // namespace trex::audit
