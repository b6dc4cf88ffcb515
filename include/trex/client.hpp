// The client side of a trex session: connect, run commands over one TLS
// session, deliver their output to an Output as it arrives. A Session is
// owned by one thread. Failures of trex's own (connection, TLS, protocol,
// server busy, audit) come back as Error values whose message is one line
// for the user.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "trex/channel.hpp"
#include "trex/client_terminal.hpp"
#include "trex/proto.hpp"
#include "trex/result.hpp"
#include "trex/tls.hpp"
#include "util/unique_fd.hpp"

namespace trex::client {

class Output {
 public:
  virtual ~Output() = default;
  virtual void write(bool is_stderr, std::string_view data) = 0;
};

// Writes to this process's stdout and stderr.
class StdOutput : public Output {
 public:
  void write(bool is_stderr, std::string_view data) override;
};

// Writes to the given descriptors (a connection master writes to the ones
// the trex it serves passed it); the caller keeps them open.
class FdOutput : public Output {
 public:
  FdOutput(int out_fd, int err_fd) : out_(out_fd), err_(err_fd) {}
  void write(bool is_stderr, std::string_view data) override;

 private:
  int out_, err_;
};

// Discards what it is given (frames that carry no output to show).
class NullOutput : public Output {
 public:
  void write(bool, std::string_view) override {}
};

// What trex does not leave to the server.
struct RunLimits {
  // trex's own clock: past it trex gives up on the command, whatever the
  // server does (a compromised one may send `started` and then nothing).
  std::optional<std::chrono::steady_clock::time_point> deadline;
  std::string deadline_reason;  // how it was set, for the message ("--timeout 1 + 15 s")
};

struct Target {
  std::string host;
  std::uint16_t port = 7443;
  std::string server_name;  // the server certificate's name; empty: host
  const std::string& expected_name() const { return server_name.empty() ? host : server_name; }
};

class Session {
 public:
  static Result<Session> open(std::shared_ptr<tls::Context> ctx, const Target& target,
                              std::chrono::milliseconds connect_timeout);

  // Runs one command. `stdin_fd` (-1: none) is forwarded until EOF; a byte
  // readable on `interrupt_fd` (-1: none) forwards SIGINT, a second one
  // gives up at once (then abandoned() is true), and so does its end (the
  // trex a connection master runs the command for is gone). Frames out of the
  // protocol's order are a protocol error that ends the session; text the
  // server sends for trex's messages comes back with its controls escaped.
  Result<proto::ExitInfo> run(const proto::ExecRequest& request, Output& out, int stdin_fd,
                              int interrupt_fd, const RunLimits& limits = {});
  // File transfers (README "File transfers"). `progress`, when set, is told
  // the bytes moved so far and the total. The exit frame says how it ended:
  // exited 0 done, exited 1 failed (its message says why), denied, failed.
  using Progress = std::function<void(std::uint64_t done, std::uint64_t total)>;
  // Sends req.size bytes read from `fd` once the server has started the put.
  // A file that changes size while read is not completed: the session ends
  // and the server keeps the old file.
  Result<proto::ExitInfo> put(const proto::PutRequest& req, int fd, const Progress& progress);
  // Writes the file's bytes to `fd`; `info` gets the server's description.
  Result<proto::ExitInfo> get(const proto::GetRequest& req, int fd, proto::FileInfo& info,
                              const Progress& progress);
  // A listing (req.list, get -r): each entry goes to `take` as it arrives;
  // entry paths are checked to stay below the folder listed.
  using Listing = std::function<void(const proto::TreeEntry&)>;
  Result<proto::ExitInfo> list(const proto::GetRequest& req, const Listing& take);
  // A terminal session (trex -t): the command, or a login shell, on a
  // pseudo-terminal of the server. `io`'s keystrokes go out as tty frames
  // (Ctrl-C among them: the remote line discipline makes it a signal), the
  // screen comes to `out` as stdout, window changes go out as window frames.
  // "~." at a line start ends the session at once (then disconnected()).
  Result<proto::ExitInfo> run_terminal(const proto::TerminalRequest& request, Output& out,
                                       const TerminalIo& io, const RunLimits& limits = {});
  bool disconnected() const { return disconnected_; }
  void close();
  // Whether another command may be sent: the session has not ended and the
  // server sent nothing since the last exit (else the error frame's text).
  Status ready() { return check_between_commands(); }
  bool broken() const { return broken_; }
  int fd() const { return ch_.fd(); }
  const Target& target() const { return target_; }
  // The person interrupted twice: trex stopped waiting for the command.
  bool abandoned() const { return abandoned_; }
  // The server's certificate and the cipher, as the handshake saw them.
  const tls::PeerIdentity& server() const { return server_; }
  const std::string& cipher() const { return cipher_; }
  // The id the server gave the last command (its audit records' `id`),
  // controls escaped; empty before a `started` frame.
  const std::string& command_id() const { return command_id_; }

 private:
  Session(Channel ch, Target t, tls::PeerIdentity server, std::string cipher)
      : ch_(std::move(ch)),
        target_(std::move(t)),
        server_(std::move(server)),
        cipher_(std::move(cipher)) {}
  Result<std::optional<proto::ExitInfo>> on_frame(const proto::Frame& f, Output& out);
  Result<std::optional<proto::ExitInfo>> take_frames(Output& out, bool& answered);
  // One receive from the server, then take_frames; a close without an
  // exit is the session's end.
  Result<std::optional<proto::ExitInfo>> read_frames(Output& out, bool& answered);
  Status check_between_commands();
  Status on_interrupt(int interrupt_fd, bool& forwarded);
  int poll_timeout(const RunLimits& limits) const;
  Error protocol_error(const std::string& what);
  Error closed_error(bool answered);
  // The next frame of a transfer (waiting for it when `wait`); nothing when
  // none is there yet. Error frames and broken connections are errors.
  Result<std::optional<proto::Frame>> transfer_frame(bool wait);
  Result<proto::Frame> next_transfer_frame();     // waits for one
  Status send_get(const proto::GetRequest& req);  // a get or a listing
  Status flush_some(bool wait);
  Result<std::optional<proto::ExitInfo>> transfer_exit(const proto::Frame& f);
  Channel ch_;
  Target target_;
  tls::PeerIdentity server_;
  std::string cipher_;
  std::string command_id_;
  NullOutput null_output_;
  // The session's end (an error frame: the server stopping, idle) that came
  // in the same read as the last command's exit; read before the next one.
  std::optional<proto::Frame> end_after_exit_;
  bool started_ = false;    // the current command's `started` came
  bool broken_ = false;     // the session cannot carry another command
  bool abandoned_ = false;  // see abandoned()
  bool terminal_ = false;   // a terminal session runs: tty frames are its screen
  bool disconnected_ = false;
  Status flush_queued();
  // One read of keystrokes: forwarded as tty frames, escapes acted on.
  Status on_keys(const TerminalIo& io, EscapeParser& escapes, bool& input_open);
};

// Connects a TCP socket to host:port within the timeout (each address in
// turn). The error names the host and the reason.
Result<util::UniqueFd> tcp_connect(const std::string& host, std::uint16_t port,
                                   std::chrono::milliseconds timeout);

}  // namespace trex::client
