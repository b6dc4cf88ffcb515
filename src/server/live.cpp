#include "server/live.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>

#include "server/state.hpp"

namespace trex::server {
namespace {

// What the session's end is called in session_close, exec_end and the log.
std::string end_text(const tls::HandshakeError& e) {
  if (e.kind == tls::HandshakeFailure::kRevoked || e.kind == tls::HandshakeFailure::kExpired) {
    return "certificate " + e.reason();
  }
  return "certificate no longer accepted: " + e.reason();
}

}  // namespace

LiveSession::LiveSession(const tls::PeerIdentity& peer, std::uint64_t conn)
    : peer_(peer), conn_(conn), ended_fd_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}

std::optional<std::string> LiveSession::why() const {
  std::lock_guard lock(mu_);
  return why_;
}

std::string LiveSession::message(const std::string& why) {
  return "the server ended this session: " + why +
         " (its certificate was checked again when the server reloaded its CA and CRL)";
}

void LiveSession::end(std::string why) {
  {
    std::lock_guard lock(mu_);
    if (why_) return;
    why_ = std::move(why);
  }
  const std::uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(ended_fd_.get(), &one, sizeof(one));
}

void LiveSessions::check(State& st, LiveSession& s, const tls::Context& ctx) {
  auto refused = ctx.recheck(s.peer_);
  if (!refused) return;
  const std::string why = end_text(*refused);
  st.log->warn("conn {}: cn={} serial={}: {}: ending the session [{}]", s.conn_, s.peer_.cn,
               s.peer_.serial, why, refused->detail);
  s.end(why);
}

void LiveSessions::recheck_all(State& st, const tls::Context& ctx) {
  std::lock_guard lock(mu_);
  for (auto* s : sessions_) check(st, *s, ctx);
}

LiveSessions::Registration::Registration(State& st, LiveSession& s,
                                         const tls::Context* handshake_ctx)
    : st_(st), s_(s) {
  {
    std::lock_guard lock(st.live.mu_);
    st.live.sessions_.push_back(&s);
  }
  // A reload after the push checks this session itself; one before it has
  // already swapped the context, which this comparison sees.
  const auto now = st.tls();
  if (now && now.get() != handshake_ctx) {
    std::lock_guard lock(st.live.mu_);
    st.live.check(st, s, *now);
  }
}

LiveSessions::Registration::~Registration() {
  std::lock_guard lock(st_.live.mu_);
  auto& v = st_.live.sessions_;
  v.erase(std::remove(v.begin(), v.end(), &s_), v.end());
}

}  // namespace trex::server
