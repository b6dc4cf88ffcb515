// Private: runs one approved command for a session. One loop polls the TLS
// socket, the child's pipes and its pidfd; it forwards output as frames,
// stdin and signals to the child, and enforces the time limit, the output
// limit, the client's disconnect and the server's shutdown.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "server/live.hpp"
#include "trex/channel.hpp"
#include "trex/exec.hpp"
#include "trex/proto.hpp"
#include "trex/recording.hpp"

namespace trex::server {

// Why a session ends; the text (the audit's `reason` and `ended_by`, the
// log) is derived from the kind, so callers branch on the kind only.
enum class EndKind {
  kClientClosed,        // the client closed the connection between commands
  kClientGone,          // the client stopped reading (a flush did not finish)
  kClientDisconnected,  // the connection broke while a command ran
  kConnectionError,     // the connection failed between commands
  kProtocolError,       // the client broke the protocol (it got an error frame)
  kIdleTimeout,
  kServerStopping,
  kCertificate,  // a reload found the certificate revoked, expired or untrusted
};

struct SessionEnd {
  EndKind kind;
  std::string detail;  // what happened, for the kinds that say more
  std::string text() const;
};

struct CommandLimits {
  std::chrono::seconds timeout{3600};
  std::uint64_t max_output = 1ULL << 30;
  std::chrono::seconds kill_grace{5};
  int stop_fd = -1;       // readable once the server is stopping: drain
  int hard_stop_fd = -1;  // readable on a second stop: kill now
  // After a normal exit, leave the processes the command started running
  // (the rule's `linger`); a timeout, a lost client or a stop still kills them.
  bool linger = false;
  // The session's registration: once it is ended (its certificate no longer
  // valid), the command is killed as on client loss, after an error frame.
  const LiveSession* live = nullptr;
  // A terminal session: output and input travel as tty frames, window frames
  // resize the pty, and every byte shown goes to `recording` first (its
  // input too with record_input); a recording that cannot be written ends
  // the command (fails closed).
  bool terminal = false;
  bool record_input = false;
  audit::Recording* recording = nullptr;
};

struct CommandOutcome {
  proto::ExitInfo exit;
  bool timed_out = false;
  std::uint64_t stdout_bytes = 0, stderr_bytes = 0, stdin_bytes = 0;
  std::string stdout_sha256, stderr_sha256;
  std::chrono::milliseconds duration{0};
  // Why the session cannot go on; nothing when it can.
  std::optional<SessionEnd> session_end;
  // An error frame was the session's last word: no exit frame follows.
  bool error_sent() const {
    return session_end && (session_end->kind == EndKind::kProtocolError ||
                           session_end->kind == EndKind::kCertificate);
  }
  int lingered = 0;                            // processes left running (linger)
  std::optional<std::string> recording_error;  // the recording failed: the command was ended
};

CommandOutcome run_command(Channel& channel, exec::Process& process, const CommandLimits& limits);

}  // namespace trex::server
