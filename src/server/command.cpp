#include "server/command.hpp"

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <optional>
#include <vector>

#include "server/command_loop.hpp"
#include "trex/audit_events.hpp"

namespace trex::server {
namespace {

using Clock = std::chrono::steady_clock;

// Output queued for a slow client beyond this stops reading the pipes: the
// command blocks on a full pipe (back-pressure) instead of the server buffering.
constexpr std::size_t kOutHighWater = 512 * 1024;
// Stdin buffered for a slow command beyond this stops reading the socket.
constexpr std::size_t kInHighWater = 1024 * 1024;
// After the command itself exits, how long its leftover children may keep
// the pipes open before they are killed (or, with linger, left alone).
constexpr auto kLinger = std::chrono::seconds(1);
// A signal from the client waits while the command's leader is busy, for at
// most this long: a shell that catches SIGINT (dash -c does) and gets it
// before it has forked its command defers it until that command ends by
// itself, so Ctrl-C pressed as a command starts would be lost for its whole
// run. Once the leader waits (for its child, input, a timer) the group, the
// child included, gets the signal.
constexpr auto kSignalHold = std::chrono::milliseconds(500);
constexpr auto kSignalRecheck = std::chrono::milliseconds(2);

}  // namespace

void CommandLoop::escalate(const char* why) {
  if (kill_at_) return;
  (void)why;
  proc_.signal_group(SIGTERM);
  kill_at_ = Clock::now() + lim_.kill_grace;
}

void CommandLoop::learn_status() {
  const bool had_status = status_.has_value();
  status_ = proc_.try_wait();
  // Leftover children holding the pipes get kLinger to finish their output.
  if (!had_status && status_ && (proc_.stdout_fd() >= 0 || proc_.stderr_fd() >= 0)) {
    linger_until_ = Clock::now() + kLinger;
  }
}

void CommandLoop::fail_session(SessionEnd why) {
  if (!session_ok_) return;
  // Deliver the error frame if the client still listens; never wait long.
  if (why.kind == EndKind::kProtocolError || why.kind == EndKind::kCertificate) {
    ch_.flush_all(std::chrono::seconds(1));
  }
  session_ok_ = false;
  out_.session_end = std::move(why);
  escalate("session ended");
}

void CommandLoop::on_frames() {
  proto::Frame f;
  for (;;) {
    const auto st = ch_.next(f);
    if (st == proto::Decoder::State::kNeedMore) return;
    if (st == proto::Decoder::State::kError) return protocol_failure(ch_.decode_error());
    if (lim_.terminal && on_terminal_frame(f)) {
      if (!session_ok_) return;
      continue;
    }
    if (f.type == proto::FrameType::kStdin && !lim_.terminal) {
      if (f.payload.empty()) {
        stdin_eof_ = true;
      } else if (!stdin_eof_ && proc_.stdin_fd() >= 0) {
        stdin_buf_.append(f.payload);
      }
      continue;  // stdin after EOF, or for a command without stdin, is dropped
    }
    if (f.type == proto::FrameType::kSignal) {
      auto sig = proto::decode_signal(f.payload);
      if (!sig) return protocol_failure(sig.message());
      if (held_signals_.empty()) held_since_ = Clock::now();
      held_signals_.push_back(*sig);
      continue;
    }
    const bool request = f.type == proto::FrameType::kExec || f.type == proto::FrameType::kTerminal;
    return protocol_failure(request
                                ? "a command is already running"
                                : "unexpected " + std::string(proto::type_name(f.type)) + " frame");
  }
}

void CommandLoop::protocol_failure(const std::string& what) {
  ch_.send(proto::FrameType::kError,
           proto::encode(proto::ErrorInfo{proto::ErrorCode::kProtocol, what}));
  fail_session({EndKind::kProtocolError, what});
}

void CommandLoop::on_session_ended() {
  const std::string why = lim_.live->why().value_or("ended by the server");
  ch_.send(proto::FrameType::kError, proto::encode(proto::ErrorInfo{proto::ErrorCode::kCertificate,
                                                                    LiveSession::message(why)}));
  fail_session({EndKind::kCertificate, why});
}

void CommandLoop::on_socket_readable() {
  auto r = ch_.receive(256 * 1024);
  if (r.status == tls::IoStatus::kClosed || r.status == tls::IoStatus::kError) {
    return fail_session({EndKind::kClientDisconnected, r.error});
  }
  on_frames();
}

// A full pipe (up to 1 MiB) is read in up to 4 frames per wake-up, so that
// one TLS write carries them all; a short read means the pipe is empty.
void CommandLoop::pump_pipe(bool is_stdout) {
  for (int i = 0; i < 4; ++i) {
    if (pump_pipe_once(is_stdout) < proto::kMaxPayload || ch_.queued() >= kOutHighWater) return;
  }
}

std::size_t CommandLoop::pump_pipe_once(bool is_stdout) {
  const int fd = is_stdout ? proc_.stdout_fd() : proc_.stderr_fd();
  if (fd < 0) return 0;
  const std::uint64_t used = out_.stdout_bytes + out_.stderr_bytes;
  if (used >= lim_.max_output) {
    // At the limit: one more byte means the output is cut. Closing our end
    // gives the command SIGPIPE, as `cmd | head -c N` would.
    char probe;
    const ssize_t n = ::read(fd, &probe, 1);
    if (n < 0 && errno == EAGAIN) return 0;
    if (n > 0) truncated_ = true;
    is_stdout ? proc_.close_stdout() : proc_.close_stderr();
    return 0;
  }
  std::string_view data;
  const auto type = lim_.terminal ? proto::FrameType::kTty
                    : is_stdout   ? proto::FrameType::kStdout
                                  : proto::FrameType::kStderr;
  const std::size_t room =
      static_cast<std::size_t>(std::min<std::uint64_t>(lim_.max_output - used, proto::kMaxPayload));
  const ssize_t n = lim_.recording != nullptr ? read_recorded(fd, room, &data)
                                              : ch_.send_from_fd(fd, type, room, &data);
  if (n > 0) {
    // Counted as sent: bytes the recording refused were not.
    (is_stdout ? out_.stdout_bytes : out_.stderr_bytes) += data.size();
    (is_stdout ? sha_out_ : sha_err_).update(data);
    return static_cast<std::size_t>(n);
  }
  if (n == 0 || errno != EAGAIN) is_stdout ? proc_.close_stdout() : proc_.close_stderr();
  return 0;
}

void CommandLoop::pump_stdin() {
  while (stdin_off_ < stdin_buf_.size()) {
    const ssize_t n =
        ::write(proc_.stdin_fd(), stdin_buf_.data() + stdin_off_, stdin_buf_.size() - stdin_off_);
    if (n < 0) {
      if (errno == EAGAIN) return;
      if (errno == EINTR) continue;
      proc_.close_stdin();  // the command closed its stdin (EPIPE): drop the rest
      stdin_buf_.clear();
      stdin_off_ = 0;
      return;
    }
    stdin_off_ += static_cast<std::size_t>(n);
    out_.stdin_bytes += static_cast<std::uint64_t>(n);
  }
  stdin_buf_.clear();
  stdin_off_ = 0;
}

void CommandLoop::deliver_signals() {
  if (held_signals_.empty()) return;
  if (!status_ && !proc_.leader_waits() && Clock::now() - held_since_ < kSignalHold) return;
  if (!status_) {
    for (const int sig : held_signals_) proc_.signal_group(sig);
  }
  held_signals_.clear();
}

int CommandLoop::poll_timeout_ms() const {
  auto next = deadline_;
  if (!held_signals_.empty()) next = std::min(next, Clock::now() + kSignalRecheck);
  for (const auto& t : {kill_at_, stop_at_, linger_until_}) {
    if (t) next = std::min(next, *t);
  }
  const auto ms = std::chrono::ceil<std::chrono::milliseconds>(next - Clock::now()).count();
  return static_cast<int>(std::clamp<long long>(ms, 0, 60'000));
}

void CommandLoop::check_deadlines() {
  const auto now = Clock::now();
  if (!status_ && !out_.timed_out && now >= deadline_) {
    out_.timed_out = true;
    escalate("timeout");
  }
  if (stop_at_ && now >= *stop_at_) {
    stop_at_.reset();
    escalate("shutdown");
  }
  if (kill_at_ && now >= *kill_at_) {
    kill_at_ = now + std::chrono::hours(24);  // once
    proc_.kill_group_now();
  }
  if (linger_until_ && now >= *linger_until_) {
    // Leftover children still hold the pipes: end them (or let them be) and
    // stop waiting.
    linger_until_.reset();
    end_tree();
    proc_.close_stdout();
    proc_.close_stderr();
  }
}

// One round's poll set: which slot watches what (-1: not this round).
struct CommandLoop::Round {
  pollfd fds[8];
  int n = 0;
  int sock = -1, out = -1, err = -1, in = -1, pid = -1, stop = -1, hard = -1, end = -1;
  bool in_room = false;   // stdin below its high-water mark: read the socket
  bool readable = false;  // the stream holds bytes poll() cannot see

  int add(int fd, short events) {
    if (fd < 0 || events == 0) return -1;
    fds[n] = pollfd{fd, events, 0};
    return n++;
  }
  bool ready(int i) const { return i >= 0 && fds[i].revents != 0; }
};

CommandLoop::Round CommandLoop::watch() const {
  Round r;
  const bool out_room = ch_.queued() < kOutHighWater;
  // Stdin beyond the high-water mark stops every read of the socket, the
  // TLS read-ahead included: the client meets TCP back-pressure and trexd's
  // buffer stays bounded (kInHighWater + one receive).
  r.in_room = stdin_buf_.size() - stdin_off_ < kInHighWater;
  short sock_ev = 0;
  if (session_ok_) {
    if (r.in_room) sock_ev |= POLLIN;
    if (ch_.queued() > 0) sock_ev |= ch_.flush_wants_write() ? POLLOUT : POLLIN;
  }
  const short out_ev = out_room || !session_ok_ ? POLLIN : 0;
  r.sock = r.add(ch_.fd(), sock_ev);
  r.out = r.add(proc_.stdout_fd(), out_ev);
  r.err = r.add(proc_.stderr_fd(), out_ev);
  r.in = r.add(proc_.stdin_fd(), stdin_off_ < stdin_buf_.size() ? POLLOUT : 0);
  r.pid = r.add(proc_.pid_fd(), POLLIN);
  r.stop = r.add(lim_.stop_fd, stop_at_ || out_.session_end ? 0 : POLLIN);
  r.hard = r.add(lim_.hard_stop_fd, hard_stopped_ ? 0 : POLLIN);
  r.end = r.add(lim_.live ? lim_.live->ended_fd() : -1, session_ok_ ? POLLIN : 0);
  r.readable = r.in_room && ch_.has_pending();
  return r;
}

void CommandLoop::serve(const Round& r) {
  const bool hung_up = r.sock >= 0 && (r.fds[r.sock].revents & (POLLHUP | POLLERR)) != 0;
  if (r.ready(r.end) && session_ok_) on_session_ended();
  if (session_ok_ && ((r.in_room && r.ready(r.sock)) || r.readable || hung_up)) {
    on_socket_readable();
  }
  deliver_signals();
  if (r.ready(r.out)) pump_pipe(true);
  if (r.ready(r.err)) pump_pipe(false);
  if (r.ready(r.in)) pump_stdin();
  // The events fd closes once all is known (possibly already at spawn).
  if (r.ready(r.pid) || proc_.pid_fd() < 0) learn_status();
  // The output ended: nothing left worth waiting for.
  if (status_ && proc_.stdout_fd() < 0 && proc_.stderr_fd() < 0) end_tree();
  if (r.ready(r.stop) && !stop_at_) stop_at_ = Clock::now() + lim_.kill_grace;
  if (r.ready(r.hard)) {
    hard_stopped_ = true;
    proc_.kill_group_now();
  }
  if (session_ok_ && ch_.queued() > 0) {
    auto res = ch_.flush();
    if (res.status == tls::IoStatus::kClosed || res.status == tls::IoStatus::kError) {
      fail_session({EndKind::kClientDisconnected, {}});
    }
  }
  // Nobody to send to: drop output so the command is never blocked on us.
  if (!session_ok_) ch_.discard_output();
  check_deadlines();
}

CommandOutcome CommandLoop::run() {
  if (proc_.stdin_fd() < 0) stdin_eof_ = true;
  // The reaper's records read at spawn may already hold the exit: the events
  // fd will not wake us for it, so learn it now.
  learn_status();
  // Frames that arrived with the exec request (stdin, even its EOF) are
  // already decoded: the socket will not wake us for them.
  on_frames();
  while (!finished()) {
    if (stdin_eof_ && stdin_off_ >= stdin_buf_.size() && proc_.stdin_fd() >= 0) proc_.close_stdin();
    Round r = watch();
    const int timeout = session_ok_ && r.readable ? 0 : poll_timeout_ms();
    if (::poll(r.fds, static_cast<nfds_t>(r.n), timeout) < 0 && errno != EINTR) break;
    serve(r);
  }
  return outcome();
}

CommandOutcome CommandLoop::outcome() {
  out_.duration = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start_);
  out_.lingered = proc_.settled().value_or(0);
  out_.stdout_sha256 = sha_out_.hex_digest();
  out_.stderr_sha256 = sha_err_.hex_digest();
  auto& e = out_.exit;
  e.truncated = truncated_;
  if (out_.timed_out) {
    e.kind = proto::ExitKind::kTimedOut;
    e.signal = status_ && status_->signaled ? status_->signal : 0;
    e.message = "timed out after " + std::to_string(lim_.timeout.count()) + " s";
  } else if (status_ && status_->signaled) {
    e.kind = proto::ExitKind::kSignaled;
    e.signal = status_->signal;
  } else {
    e.kind = proto::ExitKind::kExited;
    e.code = status_ ? status_->code : 0;
  }
  if (truncated_) e.message = "output cut at " + std::to_string(lim_.max_output) + " bytes";
  if (out_.recording_error) {
    // The signal that ended it stays for exec_end; trex exits 255 either way.
    e = proto::ExitInfo{
        proto::ExitKind::kFailed, 0, status_ && status_->signaled ? status_->signal : 0, truncated_,
        lim_.recording->full() ? "the session recording reached the server's size limit "
                                 "(max_recording), so it ended the command"
                               : "the server cannot write the session recording, so it ended "
                                 "the command"};
  }
  return out_;
}

std::string SessionEnd::text() const {
  switch (kind) {
    case EndKind::kClientClosed:
      return std::string(audit::kReasonClientClosed);
    case EndKind::kClientGone:
      return "client gone";
    case EndKind::kClientDisconnected:
      return detail.empty() ? "client disconnected" : "client disconnected: " + detail;
    case EndKind::kConnectionError:
      return "connection error: " + detail;
    case EndKind::kProtocolError:
      return "protocol error: " + detail;
    case EndKind::kIdleTimeout:
      return "idle timeout";
    case EndKind::kServerStopping:
      return "server stopping";
    case EndKind::kCertificate:
      return detail;
  }
  return "unknown";
}

CommandOutcome run_command(Channel& channel, exec::Process& process, const CommandLimits& limits) {
  return CommandLoop(channel, process, limits).run();
}

}  // namespace trex::server
