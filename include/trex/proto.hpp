// The trex wire protocol (ALPN "trex/1"): typed, length-prefixed frames and
// the messages they carry. Pure: no I/O, no global state; every decode has a
// hard size limit and returns an error value for hostile bytes.
//
// Frame: type (1 byte) | payload length (4 bytes, big-endian) | payload.
// A payload is at most kMaxPayload bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "trex/result.hpp"

namespace trex::proto {

inline constexpr std::string_view kAlpn = "trex/1";
inline constexpr std::size_t kHeaderSize = 5;
inline constexpr std::size_t kMaxPayload = 64 * 1024;

enum class FrameType : std::uint8_t {
  kExec = 0x01,      // client -> server: ExecRequest
  kStdin = 0x02,     // client -> server: bytes for the command; empty payload = EOF
  kSignal = 0x03,    // client -> server: one byte, a signal for the command's group
  kPut = 0x04,       // client -> server: PutRequest; data frames follow once started
  kGet = 0x05,       // client -> server: GetRequest
  kData = 0x06,      // either way: a file's bytes; an empty payload ends the file
  kTerminal = 0x07,  // client -> server: TerminalRequest (a command or a login shell on a pty)
  kWindow = 0x08,    // client -> server: WindowSize, the terminal's new size
  kTty = 0x09,       // either way: the terminal's bytes (keystrokes in, screen out)
  kStarted = 0x10,   // server -> client: the command's id (audit `id`)
  kStdout = 0x11,    // server -> client: bytes the command wrote to stdout
  kStderr = 0x12,    // server -> client: bytes the command wrote to stderr
  kExit = 0x13,      // server -> client: ExitInfo; ends the command
  kFile = 0x14,      // server -> client: FileInfo of the file a get sends next
  kEntry = 0x15,     // server -> client: TreeEntry of a listing (get -r)
  kError = 0x20,     // server -> client: ErrorInfo; ends the session
};

bool is_known_type(std::uint8_t type);
std::string_view type_name(FrameType type);

struct Frame {
  FrameType type = FrameType::kError;
  std::string payload;
};

// Appends one frame to `out`. A payload above kMaxPayload is a caller bug.
void append_frame(std::string& out, FrameType type, std::string_view payload);
std::string encode_frame(FrameType type, std::string_view payload);

// Incremental decoder: feed bytes as they arrive, take frames out.
class Decoder {
 public:
  enum class State { kNeedMore, kFrame, kError };

  void feed(std::string_view bytes);
  // Takes the next complete frame into `out`. After kError the decoder stays
  // in error: the stream cannot be resynchronised.
  State next(Frame& out);
  const std::string& error() const { return error_; }
  std::size_t buffered() const { return buf_.size() - pos_; }

 private:
  std::string buf_;
  std::size_t pos_ = 0;
  std::string error_;
};

// ---- messages -------------------------------------------------------------

inline constexpr std::size_t kMaxArgs = 4096;

struct ExecRequest {
  bool shell = false;             // run `command` through /bin/sh -c
  std::vector<std::string> argv;  // argv mode: argv[0] is the program
  std::string command;            // shell mode
  std::uint32_t timeout_s = 0;    // 0: the server's own limit
  bool stdin_open = true;         // false: the command's stdin is /dev/null

  friend bool operator==(const ExecRequest&, const ExecRequest&) = default;
};
// Fails when the request cannot fit in one frame (argv too long).
Result<std::string> encode(const ExecRequest& request);
Result<ExecRequest> decode_exec(std::string_view payload);

enum class ExitKind : std::uint8_t {
  kExited = 0,    // code is the exit status
  kSignaled = 1,  // signal killed it
  kTimedOut = 2,  // killed at the time limit
  kDenied = 3,    // policy refused; message says why
  kNotFound = 4,  // could not be found or executed
  kFailed = 5,    // the server could not run it (e.g. audit trail); message says why
};

struct ExitInfo {
  ExitKind kind = ExitKind::kExited;
  std::int32_t code = 0;
  std::int32_t signal = 0;
  bool truncated = false;  // output was cut at the server's max-output
  std::string message;

  friend bool operator==(const ExitInfo&, const ExitInfo&) = default;
};
std::string encode(const ExitInfo& info);
Result<ExitInfo> decode_exit(std::string_view payload);

// The client's exit status for a command result (README's table).
int client_exit_status(const ExitInfo& info);

enum class ErrorCode : std::uint8_t {
  kProtocol = 1,     // the peer broke the protocol
  kBusy = 2,         // every session slot is taken
  kAudit = 3,        // the server cannot write its audit trail
  kInternal = 4,     // the server failed
  kIdle = 5,         // idle timeout
  kShutdown = 6,     // the server is stopping
  kCertificate = 7,  // the client's certificate was refused after the handshake
};

struct ErrorInfo {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;

  friend bool operator==(const ErrorInfo&, const ErrorInfo&) = default;
};
std::string encode(const ErrorInfo& info);
Result<ErrorInfo> decode_error(std::string_view payload);

// Signals a client may forward to its command.
bool is_forwardable_signal(int signo);
std::string encode_signal(int signo);
Result<int> decode_signal(std::string_view payload);

// ---- file transfers (trex put / trex get) ----------------------------------

inline constexpr std::size_t kMaxPath = 4096;
inline constexpr std::uint32_t kMaxFileMode = 07777;

// A file to write on the server. `size` bytes follow in data frames after the
// server's `started`, then an empty data frame.
struct PutRequest {
  std::string path;  // absolute path on the server
  std::uint64_t size = 0;
  std::uint32_t mode = 0644;  // permission bits of the local file
  bool preserve = false;      // -p: keep mode exactly, and the times below
  std::int64_t mtime_s = 0;
  std::uint32_t mtime_ns = 0;
  bool folder = false;  // -r: make the folder `path` (no data follows); with
                        // `preserve` on an existing folder, set its mode and times

  friend bool operator==(const PutRequest&, const PutRequest&) = default;
};
std::string encode(const PutRequest& request);
Result<PutRequest> decode_put(std::string_view payload);

// A file to read on the server: it answers started, file, data*, "" and exit.
struct GetRequest {
  std::string path;
  bool list = false;  // -r: list the folder tree at `path` (entry frames) instead

  friend bool operator==(const GetRequest&, const GetRequest&) = default;
};
std::string encode(const GetRequest& request);
Result<GetRequest> decode_get(std::string_view payload);

// What a get is about to send.
struct FileInfo {
  std::uint64_t size = 0;
  std::uint32_t mode = 0;
  std::int64_t mtime_s = 0;
  std::uint32_t mtime_ns = 0;

  friend bool operator==(const FileInfo&, const FileInfo&) = default;
};
std::string encode(const FileInfo& info);
Result<FileInfo> decode_file(std::string_view payload);

// One entry of a listing (get -r): the server walks the folder depth-first,
// names in byte order, and never follows a symbolic link. The first entry is
// the folder itself, a kFolder of path ".".
struct TreeEntry {
  enum class Kind : std::uint8_t { kFile = 0, kFolder = 1, kSkipped = 2 };
  Kind kind = Kind::kFile;
  std::string path;  // relative to the listed folder: clean, no '.', '..' or '//'
  std::uint64_t size = 0;
  std::uint32_t mode = 0;
  std::int64_t mtime_s = 0;
  std::uint32_t mtime_ns = 0;
  std::string note;  // kSkipped: why it is not part of the copy

  friend bool operator==(const TreeEntry&, const TreeEntry&) = default;
};
std::string encode(const TreeEntry& entry);
// Refuses a path that could leave the folder it is written under.
Result<TreeEntry> decode_entry(std::string_view payload);

// ---- terminals (trex -t) ---------------------------------------------------

inline constexpr std::size_t kMaxTerm = 64;
inline constexpr std::uint32_t kMaxWindow = 65535;

struct WindowSize {
  std::uint32_t rows = 0, cols = 0;  // 0..kMaxWindow; 0: unknown

  friend bool operator==(const WindowSize&, const WindowSize&) = default;
};
std::string encode(const WindowSize& size);
Result<WindowSize> decode_window(std::string_view payload);

// A command, or with no command the run_as user's login shell, on a
// pseudo-terminal. The server answers as for exec: started, tty frames, exit.
struct TerminalRequest {
  std::string term;  // $TERM: printable ASCII, at most kMaxTerm bytes; may be empty
  WindowSize size;
  std::optional<ExecRequest> command;  // none: a login shell

  friend bool operator==(const TerminalRequest&, const TerminalRequest&) = default;
};
Result<std::string> encode(const TerminalRequest& request);
Result<TerminalRequest> decode_terminal(std::string_view payload);

}  // namespace trex::proto
