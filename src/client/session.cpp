#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <csignal>
#include <cstring>

#include "trex/client.hpp"
#include "trex/client_text.hpp"
#include "trex/host.hpp"

namespace trex::client {
namespace {

using Clock = std::chrono::steady_clock;

void write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) {
        pollfd p{fd, POLLOUT, 0};
        ::poll(&p, 1, -1);
        continue;
      }
      return;  // stdout closed: drop the rest, the status still matters
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
}

Result<util::UniqueFd> connect_one(const addrinfo* ai, Clock::time_point deadline) {
  util::UniqueFd fd(::socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) return make_error(std::strerror(errno));
  if (::connect(fd.get(), ai->ai_addr, ai->ai_addrlen) == 0) return fd;
  if (errno != EINPROGRESS) return make_error(std::strerror(errno));
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  pollfd p{fd.get(), POLLOUT, 0};
  if (::poll(&p, 1, static_cast<int>(std::max<long long>(left.count(), 0))) <= 0) {
    return make_error("timed out");
  }
  int err = 0;
  socklen_t len = sizeof(err);
  getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
  if (err != 0) return make_error(std::strerror(err));
  return fd;
}

// A zone names an interface ("eth0") or gives its index ("2"); 0: none such.
unsigned interface_index(const std::string& zone) {
  if (const unsigned i = if_nametoindex(zone.c_str()); i != 0) return i;
  unsigned i = 0;
  const auto [end, ec] = std::from_chars(zone.data(), zone.data() + zone.size(), i);
  char name[IF_NAMESIZE];
  if (ec != std::errc() || end != zone.data() + zone.size() || if_indextoname(i, name) == nullptr) {
    return 0;
  }
  return i;
}

// An IP literal is connected to as it is, with no lookup: glibc's resolver
// refuses a zone on all but link-local addresses and answers an unknown
// interface with "Name or service not known".
Result<util::UniqueFd> connect_literal(const host::IpAddress& ip, std::uint16_t port,
                                       Clock::time_point deadline) {
  sockaddr_storage ss{};
  addrinfo ai{};
  if (ip.is_v4()) {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    a->sin_family = AF_INET;
    a->sin_port = htons(port);
    std::memcpy(&a->sin_addr, ip.bytes(), 4);
    ai.ai_addrlen = sizeof(sockaddr_in);
  } else {
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(port);
    std::memcpy(&a->sin6_addr, ip.bytes(), 16);
    if (!ip.zone().empty()) {
      a->sin6_scope_id = interface_index(ip.zone());
      if (a->sin6_scope_id == 0) {
        return make_error("no network interface '" + ip.zone() + "' (the zone after '%')");
      }
    }
    ai.ai_addrlen = sizeof(sockaddr_in6);
  }
  ai.ai_family = ss.ss_family;
  ai.ai_addr = reinterpret_cast<sockaddr*>(&ss);
  return connect_one(&ai, deadline);
}

}  // namespace

void StdOutput::write(bool is_stderr, std::string_view data) {
  write_all(is_stderr ? STDERR_FILENO : STDOUT_FILENO, data);
}

void FdOutput::write(bool is_stderr, std::string_view data) {
  write_all(is_stderr ? err_ : out_, data);
}

Result<util::UniqueFd> tcp_connect(const std::string& host, std::uint16_t port,
                                   std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  if (const auto ip = host::parse_ip(host)) {
    auto fd = connect_literal(*ip, port, deadline);
    if (fd) return fd;
    return make_error("cannot connect to " + host::join_host_port(host, port) + ": " +
                      fd.message());
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* res = nullptr;
  const std::string service = std::to_string(port);
  if (int rc = getaddrinfo(host.c_str(), service.c_str(), &hints, &res); rc != 0) {
    return make_error("cannot resolve " + host + ": " + gai_strerror(rc));
  }
  std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> guard(res, freeaddrinfo);
  std::string last = "no address";
  for (const addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    auto fd = connect_one(ai, deadline);
    if (fd) return fd;
    last = fd.message();
  }
  return make_error("cannot connect to " + host::join_host_port(host, port) + ": " + last);
}

Result<Session> Session::open(std::shared_ptr<tls::Context> ctx, const Target& target,
                              std::chrono::milliseconds connect_timeout) {
  auto fd = tcp_connect(target.host, target.port, connect_timeout);
  if (!fd) return fd.error();
  auto hs = tls::Connection::connect(std::move(ctx), fd->release(), target.expected_name(),
                                     connect_timeout);
  if (auto* err = std::get_if<tls::HandshakeError>(&hs)) {
    const std::string where = host::join_host_port(target.host, target.port);
    if (err->is_name_mismatch()) {
      return make_error("server certificate does not match " + target.expected_name() + " (" +
                        err->detail + ")");
    }
    if (err->kind == tls::HandshakeFailure::kTimeout) {
      return make_error("TLS handshake with " + where + " timed out");
    }
    // Only a CRL trex was given can say these: name what it means.
    if (err->kind == tls::HandshakeFailure::kRevoked) {
      return make_error("refused the server " + where + " (" + err->reason() +
                        ", on your CRL): its key may be in other hands; do not use that machine "
                        "until it has a new certificate");
    }
    if (err->kind == tls::HandshakeFailure::kNoValidCrl) {
      return make_error("refused the server " + where + ": your CRL file has " + err->reason() +
                        " of its certificate chain; ask your CA for that CRL");
    }
    return make_error("TLS handshake with " + where + " failed: " + err->reason());
  }
  auto& conn = std::get<tls::Connection>(hs);
  auto server = conn.peer();
  auto cipher = conn.cipher();
  return Session(Channel(std::move(conn)), target, std::move(server), std::move(cipher));
}

Result<std::optional<proto::ExitInfo>> Session::on_frame(const proto::Frame& f, Output& out) {
  // A compromised server must not shift results (output or a second exit
  // after an exit would land on the next command) nor forge trex's words.
  switch (f.type) {
    case proto::FrameType::kTty:
      if (!terminal_) return protocol_error("a tty frame outside a terminal session");
      [[fallthrough]];
    case proto::FrameType::kStdout:
    case proto::FrameType::kStderr:
      if (!started_) return protocol_error("output before the command started");
      out.write(f.type == proto::FrameType::kStderr, f.payload);
      return std::optional<proto::ExitInfo>();
    case proto::FrameType::kStarted:
      if (started_) return protocol_error("a second started frame");
      started_ = true;
      command_id_ = escape_controls(std::string_view(f.payload).substr(0, 128));
      return std::optional<proto::ExitInfo>();
    case proto::FrameType::kExit: {
      auto info = proto::decode_exit(f.payload);
      if (!info) return protocol_error(info.message());
      const bool ran = info->kind == proto::ExitKind::kExited ||
                       info->kind == proto::ExitKind::kSignaled ||
                       info->kind == proto::ExitKind::kTimedOut;
      if (ran && !started_) return protocol_error("the result of a command that never started");
      info->message = escape_controls(info->message);
      return std::optional<proto::ExitInfo>(*info);
    }
    case proto::FrameType::kError: {
      broken_ = true;  // it ends the session
      auto e = proto::decode_error(f.payload);
      if (!e) return protocol_error(e.message());
      // A trexd older than terminals knows no terminal frame (README "Wire protocol").
      if (terminal_ && !started_ && e->code == proto::ErrorCode::kProtocol) {
        return make_error(target_.host +
                          " refused the terminal request as a protocol error; its trexd may "
                          "predate trex -t (it said: " +
                          escape_controls(e->message) + ")");
      }
      return make_error(escape_controls(e->message));
    }
    default:
      return protocol_error("a " + std::string(proto::type_name(f.type)) + " frame");
  }
}

Error Session::protocol_error(const std::string& what) {
  broken_ = true;
  return make_error("protocol error from " + target_.host + ": " + escape_controls(what));
}

// Between commands a server may only end the session (an error frame, e.g.
// idle or stopping); anything else is left over from the last command.
Status Session::check_between_commands() {
  if (broken_) return make_error("the session with " + target_.host + " has ended");
  pollfd p{ch_.fd(), POLLIN, 0};
  bool closed = false;
  if (ch_.has_pending() || ::poll(&p, 1, 0) > 0) {
    auto r = ch_.receive(1U << 20);
    if (r.status == tls::IoStatus::kError) {
      broken_ = true;
      return make_error(r.error);
    }
    closed = r.status == tls::IoStatus::kClosed;
  }
  proto::Frame f;
  if (end_after_exit_) {
    f = std::move(*end_after_exit_);
    end_after_exit_.reset();
  } else {
    const auto st = ch_.next(f);
    if (st == proto::Decoder::State::kError) return protocol_error(ch_.decode_error());
    if (st == proto::Decoder::State::kNeedMore && closed) {
      broken_ = true;
      return make_error("the server closed the session with " + target_.host);
    }
    if (st == proto::Decoder::State::kNeedMore) return Status::success();
  }
  if (f.type == proto::FrameType::kError) {
    auto e = on_frame(f, null_output_);
    return e ? protocol_error("an unreadable error frame") : e.error();
  }
  return protocol_error("a " + std::string(proto::type_name(f.type)) +
                        " frame after the command's exit");
}

Result<std::optional<proto::ExitInfo>> Session::take_frames(Output& out, bool& answered) {
  proto::Frame f;
  for (;;) {
    const auto st = ch_.next(f);
    if (st == proto::Decoder::State::kNeedMore) return std::optional<proto::ExitInfo>();
    if (st == proto::Decoder::State::kError) return protocol_error(ch_.decode_error());
    answered = true;
    auto done = on_frame(f, out);
    if (!done || !done->has_value()) {
      if (!done) return done.error();
      continue;
    }
    // Only the session's end (an error frame: the server stopping) may
    // follow an exit in the same read; it is kept for the next command.
    const auto after = ch_.next(f);
    if (after == proto::Decoder::State::kError) return protocol_error(ch_.decode_error());
    if (after != proto::Decoder::State::kNeedMore) {
      if (f.type != proto::FrameType::kError) {
        return protocol_error("a frame after the command's exit");
      }
      end_after_exit_ = std::move(f);
    }
    return done;
  }
}

// A first interrupt is forwarded; another one means the person gives up.
Status Session::on_interrupt(int interrupt_fd, bool& forwarded) {
  char drain[64];
  const ssize_t n = ::read(interrupt_fd, drain, sizeof(drain));
  if (n < 0) return Status::success();
  if (n == 0) {  // the one who could interrupt is gone: nobody waits for the result
    abandoned_ = true;
    broken_ = true;
    return make_error("the trex that ran the command on " + target_.host + " is gone");
  }
  if (forwarded || n > 1) {
    abandoned_ = true;
    broken_ = true;
    return make_error("interrupted again: gave up waiting for " + target_.host +
                      " (the command may still be running there)");
  }
  forwarded = true;
  ch_.send(proto::FrameType::kSignal, proto::encode_signal(SIGINT));
  return Status::success();
}

int Session::poll_timeout(const RunLimits& limits) const {
  if (!limits.deadline) return -1;
  const auto left =
      std::chrono::ceil<std::chrono::milliseconds>(*limits.deadline - Clock::now()).count();
  return static_cast<int>(std::clamp<long long>(left, 0, 60'000));
}

Result<proto::ExitInfo> Session::run(const proto::ExecRequest& request, Output& out, int stdin_fd,
                                     int interrupt_fd, const RunLimits& limits) {
  if (auto s = check_between_commands(); !s) return s.error();
  auto payload = proto::encode(request);
  if (!payload) return payload.error();
  ch_.send(proto::FrameType::kExec, *payload);
  started_ = false;
  bool forwarding = request.stdin_open && stdin_fd >= 0;
  bool answered = false;  // any frame from the server for this command
  bool interrupted = false;
  for (;;) {
    if (ch_.queued() > 0) {
      auto r = ch_.flush();
      if (r.status == tls::IoStatus::kError || r.status == tls::IoStatus::kClosed) {
        broken_ = true;
        // A refused certificate can surface on a write: say so as it is.
        if (r.cause == tls::IoCause::kPeerAlert) return make_error(r.error);
        return make_error("connection to " + target_.host + " lost: " + r.error);
      }
    }
    if (limits.deadline && Clock::now() >= *limits.deadline) {
      broken_ = true;
      return make_error("no result from " + target_.host + " within " + limits.deadline_reason +
                        "; gave up (the command may still be running there)");
    }
    pollfd fds[3];
    short sock_ev = POLLIN;
    if (ch_.queued() > 0 && ch_.flush_wants_write()) sock_ev |= POLLOUT;
    fds[0] = {ch_.fd(), sock_ev, 0};
    const bool want_stdin = forwarding && ch_.queued() < (1U << 20);
    fds[1] = {want_stdin ? stdin_fd : -1, POLLIN, 0};
    fds[2] = {interrupt_fd, POLLIN, 0};
    if (!ch_.has_pending() && ::poll(fds, 3, poll_timeout(limits)) < 0 && errno != EINTR) {
      return make_error(std::string("poll: ") + std::strerror(errno));
    }
    if (fds[2].fd >= 0 && fds[2].revents != 0) {
      if (auto s = on_interrupt(interrupt_fd, interrupted); !s) return s.error();
    }
    if (want_stdin && fds[1].revents != 0) {
      const ssize_t got =
          ch_.send_from_fd(stdin_fd, proto::FrameType::kStdin, proto::kMaxPayload, nullptr);
      if (got <= 0 && !(got < 0 && (errno == EAGAIN || errno == EINTR))) {
        ch_.send(proto::FrameType::kStdin, "");  // EOF
        forwarding = false;
      }
    }
    if (fds[0].revents == 0 && !ch_.has_pending()) continue;
    auto done = read_frames(out, answered);
    if (!done) return done.error();
    if (done->has_value()) return **done;
  }
}

Result<std::optional<proto::ExitInfo>> Session::read_frames(Output& out, bool& answered) {
  auto r = ch_.receive(1U << 20);
  if (r.status == tls::IoStatus::kError) {
    broken_ = true;
    return make_error(r.error);
  }
  auto done = take_frames(out, answered);
  if (!done || done->has_value()) return done;
  if (r.status == tls::IoStatus::kClosed) return closed_error(answered);
  return std::optional<proto::ExitInfo>{};
}

Error Session::closed_error(bool answered) {
  broken_ = true;
  if (!answered) {
    return make_error(
        "the server closed the connection without answering (it may have "
        "refused this certificate; the server's log says why)");
  }
  return make_error("the server closed the connection before the command finished");
}

void Session::close() {
  ch_.flush_all(std::chrono::seconds(2));
  ch_.shutdown();
}

}  // namespace trex::client
