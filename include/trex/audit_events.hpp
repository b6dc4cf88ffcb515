// The audit trail's events: one type per event with the fields it records, in
// the order README's "Audit trail" gives them, and one to_json each. The
// server builds these; describe, stats and review name events through the
// constants below. Pure value types.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "trex/audit.hpp"

namespace trex::audit {

namespace event {
inline constexpr std::string_view kServerStart = "server_start";
inline constexpr std::string_view kServerStop = "server_stop";
inline constexpr std::string_view kReload = "reload";
inline constexpr std::string_view kAuthFail = "auth_fail";
inline constexpr std::string_view kAuthFailSummary = "auth_fail_summary";
inline constexpr std::string_view kSessionOpen = "session_open";
inline constexpr std::string_view kSessionClose = "session_close";
inline constexpr std::string_view kExecStart = "exec_start";
inline constexpr std::string_view kExecDenied = "exec_denied";
inline constexpr std::string_view kExecEnd = "exec_end";
inline constexpr std::string_view kFilePut = "file_put";
inline constexpr std::string_view kFileGet = "file_get";
}  // namespace event

// session_close's reason for the common, quiet end: the client said goodbye.
// The server writes it, show leaves such records out.
inline constexpr std::string_view kReasonClientClosed = "client closed";

// What a client asked to run: `shell` for a shell command, else `argv`.
struct CommandText {
  bool shell = false;
  std::vector<std::string> argv;
  std::string command;
};

// server_start and server_stop.
struct ServerLife {
  std::string version;
  std::string listen;
  long pid = 0;
  Json recovery;  // what Writer::open repaired (server_start only), or null
  Json to_json() const;
};

struct Reload {
  std::string what;  // "tls" or "policy"
  bool ok = false;
  std::string reason;  // why it failed; "" when ok
  static constexpr std::string_view kName = event::kReload;
  Json to_json() const;
};

struct AuthFail {
  std::uint64_t conn = 0;
  std::string peer;
  std::string reason;
  // Only for a certificate that verified (then refused for ALPN or key usage).
  std::optional<std::string> cn, serial;
  // What a certificate that did not verify says about itself: nobody's identity.
  struct Claim {
    std::string cn, issuer, fingerprint;  // fingerprint: SHA-256 of the DER, hex
  };
  std::optional<Claim> claimed;
  static constexpr std::string_view kName = event::kAuthFail;
  Json to_json() const;
};

// Refusals from one address beyond the per-address rate, counted rather than
// recorded one by one: how many, why, and the window they fell in.
struct AuthFailSummary {
  std::string peer;  // the address, without a port
  std::uint64_t count = 0;
  std::map<std::string, std::uint64_t> reasons;  // reason -> how many
  std::string window_start, window_end;          // RFC 3339 UTC
  static constexpr std::string_view kName = event::kAuthFailSummary;
  Json to_json() const;
};

struct SessionOpen {
  std::uint64_t conn = 0;
  std::string peer, cn;
  std::vector<std::string> ou;
  std::string serial, fingerprint, not_after;
  std::string issuer{};  // the issuing CA's subject (RFC 4514): serials are unique per CA
  static constexpr std::string_view kName = event::kSessionOpen;
  Json to_json() const;
};

struct SessionClose {
  std::uint64_t conn = 0;
  std::string cn, reason;
  std::uint64_t commands = 0;
  static constexpr std::string_view kName = event::kSessionClose;
  Json to_json() const;
};

struct ExecStart {
  std::uint64_t conn = 0;
  std::string id, cn;
  CommandText command;
  std::string cwd, run_as;
  std::string rule;  // the policy rule that allowed it; "" without a policy
  Json tty;          // a terminal session: {term, rows, cols, login}; else null
  static constexpr std::string_view kName = event::kExecStart;
  Json to_json() const;
};

struct ExecDenied {
  std::uint64_t conn = 0;
  std::string cn;
  CommandText command;
  std::string rule, reason;
  static constexpr std::string_view kName = event::kExecDenied;
  Json to_json() const;
};

// A terminal session's recording (include/trex/recording.hpp), in exec_end.
struct RecordingInfo {
  std::string file;    // its name in the log directory
  std::string sha256;  // of the whole file, hex
  std::uint64_t bytes = 0;
  std::int64_t duration_ms = 0;
};

struct ExecEnd {
  std::uint64_t conn = 0;
  std::string id, cn;
  std::optional<int> exit_code;  // null unless the command exited
  std::optional<int> signal;     // null unless a signal ended it
  bool timed_out = false;
  std::int64_t duration_ms = 0;
  std::uint64_t stdout_bytes = 0, stderr_bytes = 0, stdin_bytes = 0;
  std::string stdout_sha256, stderr_sha256;
  bool truncated = false;
  int lingered = 0;                        // processes left running by a rule's linger
  std::optional<std::string> ended_by;     // why the session could not go on
  std::optional<std::string> error;        // why the command could not start
  std::optional<RecordingInfo> recording;  // terminal sessions
  static constexpr std::string_view kName = event::kExecEnd;
  Json to_json() const;

  // The record of a command that never started: exit 127, nothing moved.
  static ExecEnd not_started(std::uint64_t conn, std::string id, std::string cn, std::string error);
};

// file_put and file_get: one record per transfer, written before the server
// acts on its end (a put's rename, a get's exit frame).
struct FileTransfer {
  std::uint64_t conn = 0;
  std::string id;  // "CONN.N" like a command's; "" for a refused request
  std::string cn, path;
  std::string rule;        // the rule that granted or refused it; "" without a policy
  std::string run_as;      // the account the file was opened as
  std::uint64_t size = 0;  // bytes written (put) or sent (get)
  unsigned mode = 0;       // the permission bits of the file written or read
  std::string sha256;      // of those bytes
  std::int64_t duration_ms = 0;
  enum class Result { kOk, kDenied, kFailed } result = Result::kOk;
  std::string error;  // why it was refused or failed; "" when ok
  // A folder (-r): file_put made it or set its mode and times; file_get
  // listed it, `size` counting the entries sent and `sha256` their bytes.
  bool folder = false;
  Json to_json() const;
};

struct FilePut : FileTransfer {
  static constexpr std::string_view kName = event::kFilePut;
};

struct FileGet : FileTransfer {
  static constexpr std::string_view kName = event::kFileGet;
};

}  // namespace trex::audit
