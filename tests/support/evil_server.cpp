#include "support/evil_server.hpp"

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "trex/tls.hpp"

namespace trex::testing {

using Clock = std::chrono::steady_clock;

EvilServer::EvilServer(const Pki& pki, Script script, const std::string& name)
    : pki_(pki), script_(std::move(script)), name_(name) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 ||
      ::listen(listen_fd_, 64) != 0 ||
      ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    error_ = "cannot listen";
    return;
  }
  port_ = ntohs(a.sin_port);
  thread_ = std::thread([this] { serve(); });
}

EvilServer::~EvilServer() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  if (listen_fd_ >= 0) ::close(listen_fd_);
}

void EvilServer::serve() {
  auto ctx = tls::Context::server({pki_.ca(), pki_.cert(name_), pki_.key(name_), pki_.crl()});
  if (!ctx) {
    error_ = ctx.message();
    return;
  }
  while (!stop_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    auto hs = tls::Connection::accept(*ctx, fd, scaled(10s));
    if (std::holds_alternative<tls::HandshakeError>(hs)) continue;
    Channel ch(std::move(std::get<tls::Connection>(hs)));
    script_(*this, ch);
    ch.flush_all(std::chrono::seconds(2));
    ch.shutdown();
  }
  tls::release_thread_caches();
}

bool EvilServer::read_some(Channel& ch, int timeout_ms) {
  if (!ch.has_pending()) {
    pollfd p{ch.fd(), POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) <= 0) return !stop_;
  }
  const auto r = ch.receive(1 << 20);
  return r.status != tls::IoStatus::kClosed && r.status != tls::IoStatus::kError;
}

bool EvilServer::wait_for(Channel& ch, proto::FrameType type, proto::Frame* out) {
  while (!stop_) {
    proto::Frame f;
    const auto st = ch.next(f);
    if (st == proto::Decoder::State::kError) return false;
    if (st == proto::Decoder::State::kFrame) {
      if (f.type == proto::FrameType::kExec) ++execs;
      if (f.type == proto::FrameType::kSignal) ++signals;
      if (f.type == type) {
        if (out != nullptr) *out = std::move(f);
        return true;
      }
      continue;
    }
    if (!read_some(ch, 50)) return false;
  }
  return false;
}

bool EvilServer::send(Channel& ch, proto::FrameType type, std::string_view payload) {
  ch.send(type, payload);
  return ch.flush_all(scaled(10s));
}

void EvilServer::hold(Channel& ch) {
  while (!stop_) {
    proto::Frame f;
    while (ch.next(f) == proto::Decoder::State::kFrame) {
      if (f.type == proto::FrameType::kSignal) ++signals;
    }
    if (!read_some(ch, 50)) return;
  }
}

std::string exit_payload(int code, bool truncated, const std::string& message) {
  proto::ExitInfo e;
  e.kind = proto::ExitKind::kExited;
  e.code = code;
  e.truncated = truncated;
  e.message = message;
  return proto::encode(e);
}

}  // namespace trex::testing
