#include "support/raw_client.hpp"

#include <poll.h>

#include <algorithm>

#include "trex/client.hpp"
#include "trex/tls.hpp"

namespace trex::testing {
namespace {

using Clock = std::chrono::steady_clock;
using proto::FrameType;

// wolfSSL initialised before any RawClient exists and cleaned up after.
const tls::Library& tls_library() {
  static const tls::Library library;
  return library;
}

}  // namespace

std::uint16_t port_of(const Trexd& server) {
  return static_cast<std::uint16_t>(std::stoi(server.port()));
}

std::string raw_frame(std::uint8_t type, std::uint32_t len, std::string_view payload) {
  std::string out(1, static_cast<char>(type));
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>(len >> shift));
  out.append(payload);
  return out;
}

RawClient::RawClient(const Trexd& server, const Pki& pki, const std::string& name) {
  (void)tls_library();
  auto ctx = tls::Context::client({pki.ca(), pki.cert(name), pki.key(name)});
  if (!ctx) {
    error_ = ctx.message();
    return;
  }
  auto fd = client::tcp_connect("127.0.0.1", port_of(server), scaled(5s));
  if (!fd) {
    error_ = fd.message();
    return;
  }
  auto hs = tls::Connection::connect(*ctx, fd->release(), "127.0.0.1", scaled(5s));
  if (auto* e = std::get_if<tls::HandshakeError>(&hs)) {
    error_ = e->reason();
    return;
  }
  ch_.emplace(std::move(std::get<tls::Connection>(hs)));
}

bool RawClient::send_raw(std::string_view data) {
  const auto deadline = Clock::now() + scaled(5s);
  auto& conn = ch_->stream();
  while (!data.empty()) {
    const std::size_t len = std::min<std::size_t>(data.size(), 16384);
    auto r = conn.write(data.data(), len);
    if (r.status == tls::IoStatus::kOk) {
      data.remove_prefix(r.bytes);
      continue;
    }
    if (r.status != tls::IoStatus::kWouldBlock || Clock::now() >= deadline) return false;
    pollfd p{conn.fd(), static_cast<short>(r.wants_write ? POLLOUT : POLLIN), 0};
    ::poll(&p, 1, 100);
  }
  return true;
}

bool RawClient::send(FrameType type, std::string_view payload) {
  std::string out;
  proto::append_frame(out, type, payload);
  return send_raw(out);
}

RawClient::Outcome RawClient::read(std::chrono::milliseconds timeout,
                                   const std::function<bool(const proto::Frame&)>& until) {
  Outcome out;
  const auto deadline = Clock::now() + scaled(timeout);
  for (;;) {
    proto::Frame f;
    auto st = ch_->next(f);
    if (st == proto::Decoder::State::kError) {
      out.ended = true;
      return out;
    }
    if (st == proto::Decoder::State::kFrame) {
      out.frames.push_back(f);
      if (f.type == FrameType::kError) {
        if (auto e = proto::decode_error(f.payload)) out.error = *e;
        out.ended = true;
        return out;
      }
      if (until && until(f)) return out;
      continue;
    }
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return out;
    if (!ch_->has_pending()) {
      pollfd p{ch_->fd(), POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    }
    auto r = ch_->receive(1 << 20);
    if (r.status == tls::IoStatus::kClosed || r.status == tls::IoStatus::kError) {
      // Take what was decoded before the end.
      while (ch_->next(f) == proto::Decoder::State::kFrame) {
        out.frames.push_back(f);
        if (f.type == FrameType::kError) {
          if (auto e = proto::decode_error(f.payload)) out.error = *e;
        }
      }
      out.ended = true;
      return out;
    }
  }
}

}  // namespace trex::testing
