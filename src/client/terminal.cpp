// Session::run_terminal: one terminal session over the open session.
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "trex/client.hpp"

namespace trex::client {
namespace {

using Clock = std::chrono::steady_clock;

void write_all(int fd, std::string_view data) {
  while (fd >= 0 && !data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
}

// A changed window: the pipe's bytes say only that it changed.
void drain(int fd) {
  char buf[64];
  while (::read(fd, buf, sizeof buf) > 0) {
  }
}

}  // namespace

Status Session::flush_queued() {
  if (ch_.queued() == 0) return Status::success();
  auto r = ch_.flush();
  if (r.status == tls::IoStatus::kError || r.status == tls::IoStatus::kClosed) {
    broken_ = true;
    if (r.cause == tls::IoCause::kPeerAlert) return make_error(r.error);
    return make_error("connection to " + target_.host + " lost: " + r.error);
  }
  return Status::success();
}

Status Session::on_keys(const TerminalIo& io, EscapeParser& escapes, bool& input_open) {
  char buf[4096];
  const ssize_t n = ::read(io.input_fd, buf, sizeof buf);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return Status::success();
  if (n <= 0) {
    input_open = false;  // no more keystrokes; the screen still comes
    return Status::success();
  }
  const std::string_view keys(buf, static_cast<std::size_t>(n));
  std::vector<EscapeAction> actions;
  const std::string send = io.escapes ? escapes.feed(keys, actions) : std::string(keys);
  for (const EscapeAction a : actions) {
    if (a == EscapeAction::kDisconnect) {
      broken_ = true;
      disconnected_ = true;
      return make_error("disconnected from " + target_.host + " (~.)");
    }
    write_all(io.message_fd, EscapeParser::help());
  }
  if (!send.empty()) ch_.send(proto::FrameType::kTty, send);
  return Status::success();
}

Result<proto::ExitInfo> Session::run_terminal(const proto::TerminalRequest& request, Output& out,
                                              const TerminalIo& io, const RunLimits& limits) {
  if (auto s = check_between_commands(); !s) return s.error();
  auto payload = proto::encode(request);
  if (!payload) return payload.error();
  ch_.send(proto::FrameType::kTerminal, *payload);
  started_ = false;
  terminal_ = true;
  struct Reset {
    bool& flag;
    ~Reset() { flag = false; }
  } reset{terminal_};
  EscapeParser escapes;
  bool input_open = io.input_fd >= 0;
  bool answered = false;
  for (;;) {
    if (auto s = flush_queued(); !s) return s.error();
    if (limits.deadline && Clock::now() >= *limits.deadline) {
      broken_ = true;
      return make_error("no result from " + target_.host + " within " + limits.deadline_reason);
    }
    const bool want_keys = input_open && ch_.queued() < (1U << 20);
    short sock_ev = POLLIN;
    if (ch_.queued() > 0 && ch_.flush_wants_write()) sock_ev |= POLLOUT;
    pollfd fds[3] = {{ch_.fd(), sock_ev, 0},
                     {want_keys ? io.input_fd : -1, POLLIN, 0},
                     {io.window_fd, POLLIN, 0}};
    if (!ch_.has_pending() && ::poll(fds, 3, poll_timeout(limits)) < 0 && errno != EINTR) {
      return make_error(std::string("poll: ") + std::strerror(errno));
    }
    if (fds[2].fd >= 0 && fds[2].revents != 0) {
      drain(io.window_fd);
      if (io.window) ch_.send(proto::FrameType::kWindow, proto::encode(io.window()));
    }
    if (want_keys && fds[1].revents != 0) {
      if (auto s = on_keys(io, escapes, input_open); !s) return s.error();
    }
    if (fds[0].revents == 0 && !ch_.has_pending()) continue;
    auto done = read_frames(out, answered);
    if (!done) return done.error();
    if (done->has_value()) return **done;
  }
}

}  // namespace trex::client
